// Rewrites docs/log-events.md from src/log-events.ts; test/unit/log-events.test.ts fails when they disagree.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { logEventsDoc } from '../src/log-events.js';

writeFileSync(path.resolve(import.meta.dirname, '../docs/log-events.md'), logEventsDoc());
