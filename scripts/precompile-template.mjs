#!/usr/bin/env node
// Rewrites src/render/default-template.ts, the default template precompiled: `npm run precompile-template` builds, runs it, builds again.
// test/unit/render/precompiled.test.ts fails when it and ha/config/haproxy.cfg.hbs disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { precompiledModule } from '../dist/render/compile.js';

const root = path.resolve(import.meta.dirname, '..');
const from = 'ha/config/haproxy.cfg.hbs';
writeFileSync(path.join(root, 'src/render/default-template.ts'), precompiledModule(readFileSync(path.join(root, from), 'utf8'), from));
console.log('src/render/default-template.ts written');
