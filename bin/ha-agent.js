#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (prepare) or `npm run build`.
// msgpackr's optional native decoder costs ~6 MB of memory and buys nothing at Serf's message rates.
process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true';
const { main } = await import('../dist/main.js');

process.exitCode = await main(process.argv.slice(2));
