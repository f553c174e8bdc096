/** `ha-agent exec` with no command: an interactive session, driven through stdin against a real HAProxy. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binPath } from '../helpers/cli.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { start, stopAll, type Started } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

let haproxy: TestHaproxy;

beforeAll(async () => {
  haproxy = await startHaproxy();
});

afterAll(async () => {
  await stopAll();
});

function session(...flags: string[]): { process: Started; type: (text: string) => void; stdout: () => string; stderr: () => string } {
  const started = start(process.execPath, [binPath, 'exec', '--runtime', haproxy.tcpUrl, ...flags], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, HA_AGENT_RUNTIME: '', HA_AGENT_TRACE: '' },
  });
  let [stdout, stderr] = ['', ''];
  started.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  started.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { process: started, type: (text) => started.child.stdin?.write(text), stdout: () => stdout, stderr: () => stderr };
}

describe('ha-agent exec (interactive)', () => {
  it('answers each line, aligns tables, refuses what would break the session, survives a restart, and leaves on quit', async () => {
    const s = session('--trace');
    const answered = (what: string, pattern: RegExp) => waitFor(what, () => pattern.test(s.stdout()));

    s.type(`show servers state ${haproxy.backend}\n`);
    await answered('show servers state', /^# be_id {2}be_name {2}srv_id {2}srv_name/m);

    s.type(`show stat ${haproxy.backend} 4 -1;show info\n`);
    await answered('both answers of a ; batch', /^# pxname {2}svname {2}qcur[\s\S]*^Name: HAProxy$/m);

    s.type('prompt\n');
    await answered('prompt refused', /^! RUNTIME_INVALID_ARGUMENT: refused 'prompt' and 'quit'/m);

    // A CR inside a line ends it, as LF does: two commands, each sent and answered on its own.
    s.type(`add server ${haproxy.backend}/s1 127.0.0.1:1\rshow servers state ${haproxy.backend}\n`);
    await answered('the server added by the first half', /^ {2}\d+ +nodes +\d+ +s1 /m);
    expect(s.stderr()).toContain(`> add server ${haproxy.backend}/s1 127.0.0.1:1  (`);
    expect(s.stderr()).toContain(`> show servers state ${haproxy.backend}  (`);
    expect(s.stderr()).not.toMatch(/^> [^\n]*\r/m);

    // The session reconnects when the connection is gone (HAProxy restarted, or `stats timeout` closed it).
    const before = haproxy.process.pid;
    await haproxy.restart();
    expect(haproxy.process.pid).not.toBe(before);
    s.type('show info\n');
    await answered('show info from the new process', new RegExp(`^Pid: ${haproxy.process.pid}$`, 'm'));

    s.type('quit\n');
    expect(await s.process.exited).toBe(0);
  });

  it('ends with 0 at the end of its input (Ctrl-D), printing no prompt when stdin is not a terminal', async () => {
    const s = session();
    s.type('show info\n');
    s.process.child.stdin?.end();
    expect(await s.process.exited).toBe(0);
    expect(s.stdout()).toMatch(/^Name: HAProxy\n/);
    expect(s.stdout()).not.toContain('> ');
  });

  it('fails like any command when HAProxy cannot be reached', async () => {
    const s = session('--runtime', 'tcp://127.0.0.1:1');
    expect(await s.process.exited).toBe(1);
    expect(s.stderr()).toMatch(/RUNTIME_CONNECT_FAILED/);
  });
});
