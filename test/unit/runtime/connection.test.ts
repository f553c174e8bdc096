import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseRuntimeUrl } from '../../../src/runtime/address.js';
import { PromptConnection } from '../../../src/runtime/connection.js';

/** A stand-in stats socket in prompt mode: `answer(line)` says what to answer and after how many ms (undefined: never). */
async function fakeSocket(answer: (line: string) => { text: string; afterMs: number } | undefined) {
  const server = net.createServer((socket) => {
    let buffer = '';
    // A client that closed while its answers were on the way (EPIPE) is no failure of the stand-in.
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        const reply = line === 'prompt' ? { text: '', afterMs: 0 } : answer(line);
        if (reply) setTimeout(() => socket.write(`${reply.text}\n> `), reply.afterMs);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return parseRuntimeUrl(`tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
}

const servers: net.Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

describe('PromptConnection response deadline', () => {
  it('counts each command from its own send: a command sent late is not failed by an earlier deadline', async () => {
    const address = await fakeSocket((line) => ({ text: `answer to ${line}`, afterMs: 400 }));
    const connection = await PromptConnection.open(address, { connectTimeoutMs: 1_000, responseTimeoutMs: 700 });
    // b is sent when a is answered (~400 ms): its answer (~800 ms) comes after a's deadline (700 ms), within its own;
    // 300 ms of slack on each side for a busy machine.
    const b = connection.send('a', 1).then(() => connection.send('b', 1));
    await expect(b).resolves.toEqual(['answer to b']);
    expect(connection.closed).toBe(false);
    connection.close();
  });

  it('fails the oldest unanswered command with RUNTIME_RESPONSE_TIMEOUT and drops the ones behind it', async () => {
    const address = await fakeSocket((line) => (line === 'answered' ? { text: 'ok', afterMs: 0 } : undefined));
    const connection = await PromptConnection.open(address, { connectTimeoutMs: 1_000, responseTimeoutMs: 200 });
    const [answered, silent, behind] = [connection.send('answered', 1), connection.send('silent', 1), connection.send('behind', 1)];
    await expect(answered).resolves.toEqual(['ok']);
    await expect(silent).rejects.toMatchObject({ code: 'RUNTIME_RESPONSE_TIMEOUT', command: 'silent' });
    await expect(behind).rejects.toMatchObject({ code: 'RUNTIME_DISCONNECTED', command: 'behind' });
    expect(connection.closed).toBe(true);
  });

  it('writes a burst of lines in order, all answered in order', async () => {
    const address = await fakeSocket((line) => ({ text: line.toUpperCase(), afterMs: 0 }));
    const connection = await PromptConnection.open(address, { connectTimeoutMs: 1_000, responseTimeoutMs: 2_000 });
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
    const answers = await Promise.all(lines.map((line) => connection.send(line, 1)));
    expect(answers).toEqual(lines.map((line) => [line.toUpperCase()]));
    connection.close();
  });

  it('joins the lines sent in one tick into writes of 32 lines, in order, and writes nothing after close', async () => {
    const address = await fakeSocket((line) => ({ text: line, afterMs: 0 }));
    const connection = await PromptConnection.open(address, { connectTimeoutMs: 1_000, responseTimeoutMs: 2_000 });
    const write = vi.spyOn((connection as unknown as { socket: net.Socket }).socket, 'write');
    const written = () => write.mock.calls.map(([text]) => String(text).split('\n').slice(0, -1));
    const lines = Array.from({ length: 70 }, (_, i) => `line ${i}`);
    const answers = Promise.all(lines.map((line) => connection.send(line, 1)));
    expect(written().map((batch) => batch.length)).toEqual([32, 32]); // full batches leave at once
    await expect(answers).resolves.toEqual(lines.map((line) => [line]));
    expect(written().map((batch) => batch.length)).toEqual([32, 32, 6]); // the rest at the end of the tick
    expect(written().flat()).toEqual(lines);

    write.mockClear();
    const dropped = lines.map((line) => connection.send(line, 1));
    connection.close();
    for (const send of dropped) await expect(send).rejects.toMatchObject({ code: 'RUNTIME_DISCONNECTED' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(written().map((batch) => batch.length)).toEqual([32, 32]); // the last 6 never leave
  });
});
