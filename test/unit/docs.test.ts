import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { haAgentCli } from '../../src/main.js';
import { serfErrorCodes } from '../../src/membership/errors.js';
import { reloadErrorCodes } from '../../src/reload/reload.js';
import { runtimeErrorCodes } from '../../src/runtime/errors.js';

const doc = (file: string) => readFileSync(path.resolve(import.meta.dirname, '../..', file), 'utf8');
/** The reference: every flag, log event and error code (README links to it). */
const reference = doc('docs/reference.md');
const { subcommands } = await haAgentCli();
const options = subcommands.flatMap(({ spec }) => spec.options.map((option) => ({ command: spec.name, option })));
/** The rows of the reference's flag table: | `--name VALUE` | `ENV` | default | meaning | commands | */
const flagRows = [...reference.matchAll(/^\| `--([a-z-]+)[^`]*` \| (?:`([A-Z_]+)`)? *\|[^|]*\|[^|]*\| ([a-z, ]+) \|$/gm)].map((m) => ({
  name: m[1]!,
  env: m[2],
  commands: m[3]!.split(', '),
}));

describe('docs/reference.md', () => {
  it.each([...Object.keys(runtimeErrorCodes), ...Object.keys(serfErrorCodes), ...Object.keys(reloadErrorCodes)])(
    'documents the error code %s',
    (code) => {
      expect(reference).toContain(`\`${code}\``);
    },
  );

  it.each(options.map(({ command, option }) => [command, option.name, option.env] as const))(
    'lists %s --%s with its env var',
    (command, name, env) => {
      const row = flagRows.find((r) => r.name === name);
      expect(row, `--${name} is missing from the reference's flag table`).toBeDefined();
      expect(row?.commands).toContain(command);
      expect(row?.env).toBe(env);
    },
  );

  it('lists no flag that does not exist', () => {
    for (const row of flagRows) {
      for (const command of row.commands) {
        expect(
          options.some((o) => o.command === command && o.option.name === row.name),
          `the reference lists ${command} --${row.name}`,
        ).toBe(true);
      }
    }
  });
});

describe('docs/library.md', () => {
  it('shows examples/library.ts verbatim, the code test/integration/package.test.ts compiles and runs', () => {
    const example = readFileSync(path.resolve(import.meta.dirname, '../../examples/library.ts'), 'utf8');
    const section = doc('docs/library.md');
    expect(/```ts\n([\s\S]*?)```/.exec(section)?.[1]).toBe(example);
  });
});

describe('README', () => {
  const readme = doc('README.md');
  it('stays a page a newcomer reads in ten minutes (at most 250 lines)', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(250);
  });
  it('links only to files that exist', () => {
    for (const [, target] of readme.matchAll(/\]\(((?:docs|examples)\/[^)#]+)/g)) expect(() => doc(target!), target).not.toThrow();
  });
});
