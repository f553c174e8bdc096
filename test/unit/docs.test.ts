import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { haAgentCli } from '../../src/main.js';
import { serfErrorCodes } from '../../src/membership/errors.js';
import { reloadErrorCodes } from '../../src/reload/reload.js';
import { runtimeErrorCodes } from '../../src/runtime/errors.js';

const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
const { subcommands } = await haAgentCli();
const options = subcommands.flatMap(({ spec }) => spec.options.map((option) => ({ command: spec.name, option })));
/** The rows of the README's flag table: | `--name VALUE` | `ENV` | default | meaning | commands | */
const flagRows = [...readme.matchAll(/^\| `--([a-z-]+)[^`]*` \| (?:`([A-Z_]+)`)? *\|[^|]*\|[^|]*\| ([a-z, ]+) \|$/gm)].map((m) => ({
  name: m[1]!,
  env: m[2],
  commands: m[3]!.split(', '),
}));

describe('README', () => {
  it.each([...Object.keys(runtimeErrorCodes), ...Object.keys(serfErrorCodes), ...Object.keys(reloadErrorCodes)])(
    'documents the error code %s',
    (code) => {
      expect(readme).toContain(`\`${code}\``);
    },
  );

  it.each(options.map(({ command, option }) => [command, option.name, option.env] as const))(
    'lists %s --%s with its env var',
    (command, name, env) => {
      const row = flagRows.find((r) => r.name === name);
      expect(row, `--${name} is missing from the README's flag table`).toBeDefined();
      expect(row?.commands).toContain(command);
      expect(row?.env).toBe(env);
    },
  );

  it('lists no flag that does not exist', () => {
    for (const row of flagRows) {
      for (const command of row.commands) {
        expect(
          options.some((o) => o.command === command && o.option.name === row.name),
          `README lists ${command} --${row.name}`,
        ).toBe(true);
      }
    }
  });
});

describe('README library section', () => {
  it('shows examples/library.ts verbatim, the code test/integration/package.test.ts compiles and runs', () => {
    const example = readFileSync(path.resolve(import.meta.dirname, '../../examples/library.ts'), 'utf8');
    const section = readme.slice(readme.indexOf('## Use it as a library'));
    expect(/```ts\n([\s\S]*?)```/.exec(section)?.[1]).toBe(example);
  });
});

describe('README log reference', () => {
  it('lists every log event the code emits', () => {
    const files = (readdirSync(path.resolve(import.meta.dirname, '../../src'), { recursive: true }) as string[]).filter((f) =>
      f.endsWith('.ts'),
    );
    const events = new Set<string>();
    for (const file of files) {
      const text = readFileSync(path.resolve(import.meta.dirname, '../../src', file), 'utf8');
      for (const m of text.matchAll(
        /\.(?:debug|info|warn|error)\('([a-z][a-z.-]+)'|\[[^\]]+\]\('([a-z][a-z.-]+)'|\? '([a-z]+\.[a-z-]+)' : '([a-z]+\.[a-z-]+)'/g,
      )) {
        for (const name of m.slice(1)) if (name) events.add(name);
      }
    }
    expect(events.size).toBeGreaterThan(30);
    const logs = readme.slice(readme.indexOf('### Logs'), readme.indexOf('## Security'));
    for (const event of events) expect(logs, `log event ${event}`).toContain(`\`${event}\``);
  });
});
