#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (prepare) or `npm run build`.
import { setFlagsFromString } from 'node:v8';

// msgpackr's optional native decoder costs ~6 MB of memory and buys nothing at Serf's message rates.
process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true';
// V8 favours memory over speed in its heap (compacts more, grows the old generation less): after a burst of
// joins the agent keeps ~15 MB less heap committed, for no measurable cost in the join (docs/benchmarks.md,
// "1,000 members at once"). Set here, for every way the agent is started: NODE_OPTIONS refuses this flag, and
// V8 reads it at each collection, so setting it before anything is loaded takes effect.
setFlagsFromString('--optimize-for-size');
const { main } = await import('../dist/main.js');

process.exitCode = await main(process.argv.slice(2));
