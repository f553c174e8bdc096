/**
 * The package as a user gets it: `npm pack`, the tarball installed into a fresh project, docs/library.md's
 * example (examples/library.ts) compiled with strict NodeNext TypeScript and run against a real
 * HAProxy. Dependencies come from the npm registry (or npm's cache).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/runtime/client.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { startHttpBackend, type HttpBackend } from '../helpers/http-backend.js';
import { stopAll } from '../helpers/processes.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const version = (name: string): string =>
  (JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

let project: string;
let haproxy: TestHaproxy;
let web: HttpBackend;

/** Runs in `project`; a failure shows the command's own output. */
async function sh(command: string, args: string[], timeout = 240_000): Promise<string> {
  try {
    return (await run(command, args, { cwd: project, timeout, maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
}

beforeAll(async () => {
  project = mkdtempSync(path.join(tmpdir(), 'ha-agent-package-'));
  // `npm pack` runs `prepare` (the build), so the tarball holds what this checkout compiles to.
  const [packed] = JSON.parse(
    (await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: root, timeout: 240_000 })).stdout,
  ) as {
    filename: string;
    files: { path: string }[];
  }[];
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-ha-agent', private: true, type: 'module' }));
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        types: ['node'],
        skipLibCheck: false,
      },
    }),
  );
  await sh('npm', [
    'install',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    path.join(project, packed!.filename),
    `typescript@${version('typescript')}`,
    `@types/node@${version('@types/node')}`,
  ]);
  haproxy = await startHaproxy();
  web = await startHttpBackend('web-1');
}, 600_000);

afterAll(async () => {
  await web?.close();
  await stopAll();
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('compiles the library example (docs/library.md) with strict NodeNext TypeScript and runs it against a real HAProxy', async () => {
    copyFileSync(path.join(root, 'examples/library.ts'), path.join(project, 'example.ts'));
    writeFileSync(
      path.join(project, 'surface.ts'),
      [
        "import { RuntimeClient, addMap, parseTable, type RuntimeErrorCode } from 'ha-agent/runtime';",
        "import { SerfMembership, silentLogger, type Member } from 'ha-agent/serf';",
        "import * as all from 'ha-agent';",
        "const code: RuntimeErrorCode = 'RUNTIME_NO_SUCH_MAP';",
        'const member: Member | undefined = undefined;',
        'export const used = [RuntimeClient, addMap, parseTable, SerfMembership, silentLogger, all.RuntimeClient === RuntimeClient, code, member];',
        '// Internals stay internal: only the exported entry points resolve.',
        '// @ts-expect-error',
        "import('ha-agent/dist/runtime/commands.js');",
      ].join('\n'),
    );
    await sh(path.join(project, 'node_modules/.bin/tsc'), ['-p', '.']);

    const stdout = await sh(process.execPath, ['example.js', haproxy.tcpUrl, haproxy.backend, web.address, String(web.port)], 60_000);
    expect(stdout).toMatch(/^ready: UP( \d\/\d)?\nServer deleted\.\n$/);

    const client = new RuntimeClient({ url: haproxy.tcpUrl });
    await client.connect();
    expect((await client.serversState(haproxy.backend)).map((s) => s.name)).not.toContain('web-1');
    await client.close();
  });

  it('has a working bin', async () => {
    const stdout = await sh(
      path.join(project, 'node_modules/.bin/ha-agent'),
      ['exec', '--runtime', haproxy.tcpUrl, '--', 'show info'],
      30_000,
    );
    expect(stdout).toMatch(/^Name: HAProxy$/m);
  });

  it('starts nothing on import: no env read by its own code, no signal handler, nothing keeping the process alive', async () => {
    // Every read of process.env is recorded with its stack, so reads by ha-agent's files can be told from its dependencies'.
    const probe = `
      const reads = [];
      process.env = new Proxy(process.env, { get(target, key) { if (typeof key === 'string') reads.push(new Error(key).stack); return target[key]; } });
      const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection'];
      const count = () => events.map((e) => process.listenerCount(e)).join(',');
      // One-shot requests (a file read the module loader has in flight) end by themselves; handles and timers do not.
      const resources = () => process.getActiveResourcesInfo().filter((r) => !/Req/.test(r)).join(',');
      const before = { listeners: count(), resources: resources() };
      await import('ha-agent'); await import('ha-agent/runtime'); await import('ha-agent/serf');
      const ours = reads.filter((stack) => stack.includes('node_modules/ha-agent/'));
      console.log(JSON.stringify({ ours, before, after: { listeners: count(), resources: resources() } }));
    `;
    const script = path.join(project, 'probe.mjs');
    writeFileSync(script, probe);
    // The process must end on its own: a timer, socket or server left behind would keep it past the timeout.
    const result = JSON.parse(await sh(process.execPath, [script], 10_000)) as {
      ours: string[];
      before: { listeners: string; resources: string };
      after: { listeners: string; resources: string };
    };
    expect(result.ours).toEqual([]);
    expect(result.after).toEqual(result.before);
  });
});
