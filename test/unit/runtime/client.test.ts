/** RuntimeClient on fake time over in-memory duplexes: connect, checked answers, traces, reconnect, restart and reload. */
import { describe, expect, it } from 'vitest';
import { RuntimeClient, type TraceEvent } from '../../../src/runtime/client.js';
import { setWeight } from '../../../src/runtime/commands.js';
import type { RuntimeError } from '../../../src/runtime/errors.js';
import { duplexPair, fakeClock, onLines } from '../../helpers/in-memory.js';

/**
 * A stand-in HAProxy process behind the stats socket: each openStream gives a new connection to it. It answers
 * `show info` with its pid and `Stopping`, and every other line with `answers[line]` after `delayMs` (default empty).
 */
function fakeHaproxy() {
  const time = fakeClock();
  const process = { pid: 100, stopping: false, delayMs: 0, answers: new Map<string, string>() };
  const lines: string[] = [];
  let connections = 0;
  let refuse = false;
  const ends: Array<{ destroy: () => void }> = [];
  const openStream = () => {
    if (refuse) return Promise.reject(new Error('ECONNREFUSED'));
    connections += 1;
    const { client, server } = duplexPair();
    ends.push(server);
    onLines(server, (line) => {
      lines.push(line);
      const text =
        line === 'prompt'
          ? ''
          : line === 'show info'
            ? `Name: HAProxy\nVersion: 2.6.12\nPid: ${process.pid}\nStopping: ${process.stopping ? 1 : 0}\n`
            : (process.answers.get(line) ?? '\n');
      time.clock.setTimeout(() => void (server.destroyed || server.write(`${text}\n> `)), line === 'prompt' ? 0 : process.delayMs);
    });
    return Promise.resolve(client);
  };
  return {
    time,
    process,
    lines,
    openStream,
    get connections() {
      return connections;
    },
    /** HAProxy goes away: every connection drops, and new ones are refused until `back()`. */
    die() {
      refuse = true;
      for (const end of ends.splice(0)) end.destroy();
    },
    back() {
      refuse = false;
    },
  };
}

function client(haproxy: ReturnType<typeof fakeHaproxy>, options: { heartbeatMs?: number } = {}) {
  const runtime = new RuntimeClient({
    url: 'tcp://127.0.0.1:9999',
    responseTimeoutMs: 1_000,
    reconnectStrategy: () => 100,
    heartbeatMs: options.heartbeatMs ?? 0,
    openStream: haproxy.openStream,
    clock: haproxy.time.clock,
  });
  const traces: TraceEvent[] = [];
  runtime.on('trace', (event) => traces.push(event));
  return { runtime, traces };
}

describe('RuntimeClient', () => {
  it('connects in prompt mode, reads show info, and runs a command with its checked answer and exact latency', async () => {
    const haproxy = fakeHaproxy();
    const { runtime, traces } = client(haproxy);
    const connected: number[] = [];
    runtime.on('connected', (info) => connected.push(info.pid));
    const info = runtime.connect();
    await haproxy.time.advance(0);
    await expect(info).resolves.toMatchObject({ pid: 100, version: '2.6.12', stopping: false });
    expect([runtime.connected, runtime.pid, runtime.version, connected]).toEqual([true, 100, '2.6.12', [100]]);

    haproxy.process.delayMs = 25;
    const done = runtime.run(setWeight('web', 's1', 50));
    await haproxy.time.advance(25);
    await expect(done).resolves.toBe('');
    expect(haproxy.lines).toEqual(['prompt', 'show info', 'set server web/s1 weight 50']);
    expect(traces.at(-1)).toEqual({ command: 'set server web/s1 weight 50', answers: ['\n'], latencyMs: 25 });
    await runtime.close();
  });

  it("rejects HAProxy's refusal with its code, the command and the answer, and traces it", async () => {
    const haproxy = fakeHaproxy();
    haproxy.process.answers.set('set server web/s9 weight 50', 'No such server.\n');
    const { runtime, traces } = client(haproxy);
    const connecting = runtime.connect();
    await haproxy.time.advance(0);
    await connecting;
    const refused = expect(runtime.run(setWeight('web', 's9', 50))).rejects.toMatchObject({
      code: 'RUNTIME_NO_SUCH_SERVER',
      command: 'set server web/s9 weight 50',
      answer: 'No such server.',
    });
    await haproxy.time.advance(0);
    await refused;
    expect(traces.at(-1)).toMatchObject({ command: 'set server web/s9 weight 50', answers: ['No such server.\n'] });
    await runtime.close();
  });

  it('fails fast while disconnected: nothing is written, the refusal is traced', async () => {
    const haproxy = fakeHaproxy();
    const { runtime, traces } = client(haproxy);
    await expect(runtime.run(setWeight('web', 's1', 50))).rejects.toMatchObject({ code: 'RUNTIME_DISCONNECTED' });
    expect(haproxy.connections).toBe(0);
    expect(traces).toEqual([{ command: 'set server web/s1 weight 50', answers: [], latencyMs: 0, error: expect.anything() as unknown }]);
  });

  it('started: reconnects on its strategy after HAProxy comes back, and reports the restart', async () => {
    const haproxy = fakeHaproxy();
    const { runtime } = client(haproxy);
    const events: string[] = [];
    runtime.on('connected', (info) => events.push(`connected ${info.pid}`));
    runtime.on('disconnected', (error: RuntimeError) => events.push(`disconnected ${error.code}`));
    runtime.on('restarted', ({ previousPid, pid }) => events.push(`restarted ${previousPid} → ${pid}`));
    runtime.start();
    await haproxy.time.advance(0);
    expect(events).toEqual(['connected 100']);

    haproxy.die();
    await haproxy.time.advance(0);
    expect([runtime.connected, events.at(-1)]).toEqual([false, 'disconnected RUNTIME_DISCONNECTED']);
    await haproxy.time.advance(250); // attempts at 100 and 200 ms are refused
    expect(haproxy.connections).toBe(1);
    haproxy.process.pid = 200;
    haproxy.back();
    await haproxy.time.advance(49);
    expect(runtime.connected).toBe(false);
    await haproxy.time.advance(1); // the attempt at 300 ms
    expect(events.slice(-2)).toEqual(['connected 200', 'restarted 100 → 200']);
    expect(runtime.connected).toBe(true);
    await runtime.close();
    expect(haproxy.time.pending).toBe(0);
  });

  it('started: the heartbeat drops a connection to a stopping (reloaded) process, and the client reconnects', async () => {
    const haproxy = fakeHaproxy();
    const { runtime } = client(haproxy, { heartbeatMs: 2_000 });
    runtime.start();
    await haproxy.time.advance(0);
    expect(haproxy.connections).toBe(1);
    await haproxy.time.advance(2_000);
    expect(haproxy.lines.filter((l) => l === 'show info')).toHaveLength(2);
    expect(haproxy.connections).toBe(1);

    haproxy.process.stopping = true;
    await haproxy.time.advance(2_000);
    haproxy.process.stopping = false;
    expect(runtime.connected).toBe(false);
    await haproxy.time.advance(100);
    expect([haproxy.connections, runtime.connected]).toEqual([2, true]);
    await runtime.close();
    expect(haproxy.time.pending).toBe(0);
  });
});
