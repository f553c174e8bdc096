#!/usr/bin/env node
// Rewrites the flag table of docs/reference.md from the CLI's own option definitions (run `npm run build` first).
// test/unit/docs.test.ts fails when the table and the code disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { haAgentCli } from '../dist/main.js';

const { subcommands } = await haAgentCli();
const reference = path.resolve(import.meta.dirname, '../docs/reference.md');
const rows = [];
const seen = new Set();
for (const { spec } of subcommands) {
  for (const option of spec.options) {
    if (seen.has(option.name)) continue;
    seen.add(option.name);
    const commands = subcommands.filter((s) => s.spec.options.some((o) => o.name === option.name)).map((s) => s.spec.name);
    const flag = `--${option.name}${option.type === 'string' ? ` ${option.valueName ?? 'VALUE'}` : ''}`;
    const fallback = option.default === undefined ? '' : `\`${option.default.replace(/.*\/ha\/config/, 'ha/config')}\``;
    const defaults = option.name === 'backend' ? `${fallback} (status: all)` : fallback;
    rows.push(`| \`${flag}\` | ${option.env ? `\`${option.env}\`` : ''} | ${defaults} | ${option.description} | ${commands.join(', ')} |`);
  }
}
const table = ['| flag | env | default | meaning | commands |', '|---|---|---|---|---|', ...rows].join('\n');
const text = readFileSync(reference, 'utf8');
const updated = text.replace(/<!-- flags:start -->[\s\S]*<!-- flags:end -->/, `<!-- flags:start -->\n${table}\n<!-- flags:end -->`);
writeFileSync(reference, updated);
console.log(`${rows.length} flags written to docs/reference.md`);
