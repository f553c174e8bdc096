/** The prompt-mode connection on fake time over an in-memory duplex: deadlines exact to the millisecond, no port. */
import type { Duplex } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { parseRuntimeUrl } from '../../../src/runtime/address.js';
import { PromptConnection } from '../../../src/runtime/connection.js';
import { duplexPair, fakeClock, onLines } from '../../helpers/in-memory.js';

const address = parseRuntimeUrl('tcp://127.0.0.1:9999');

/**
 * A stand-in stats socket in prompt mode on the server end of a duplex pair: `answer(line)` says what to answer
 * and after how many ms of the fake clock (undefined: never). `lines`: every line it read, in order.
 */
function fakeSocket(answer: (line: string) => { text: string; afterMs: number } | undefined) {
  const time = fakeClock();
  const { client, server } = duplexPair();
  const lines: string[] = [];
  onLines(server, (line) => {
    lines.push(line);
    const reply = line === 'prompt' ? { text: '', afterMs: 0 } : answer(line);
    if (reply) time.clock.setTimeout(() => void (server.destroyed || server.write(`${reply.text}\n> `)), reply.afterMs);
  });
  const open = async (responseTimeoutMs: number) => {
    const opening = PromptConnection.open(address, {
      connectTimeoutMs: 1_000,
      responseTimeoutMs,
      openStream: () => Promise.resolve(client),
      clock: time.clock,
    });
    await time.advance(0);
    return opening;
  };
  return { time, server, lines, open };
}

const socketOf = (connection: PromptConnection) => (connection as unknown as { socket: Duplex }).socket;

describe('PromptConnection response deadline', () => {
  it('counts each command from its own send: a command sent late is not failed by an earlier deadline', async () => {
    const { time, open } = fakeSocket((line) => ({ text: `answer to ${line}`, afterMs: 400 }));
    const connection = await open(700);
    // b is sent when a is answered (400 ms): its answer (800 ms) comes after a's deadline (700 ms), within its own (1,100 ms).
    const b = connection.send('a', 1).then(() => connection.send('b', 1));
    await time.advance(799);
    expect(connection.closed).toBe(false);
    await time.advance(1);
    await expect(b).resolves.toEqual(['answer to b']);
    expect(connection.closed).toBe(false);
    connection.close();
  });

  it('fails the oldest unanswered command with RUNTIME_RESPONSE_TIMEOUT at its deadline and drops the ones behind it', async () => {
    const { time, open } = fakeSocket((line) => (line === 'answered' ? { text: 'ok', afterMs: 0 } : undefined));
    const connection = await open(200);
    const [answered, silent, behind] = [connection.send('answered', 1), connection.send('silent', 1), connection.send('behind', 1)];
    const outcomes = Promise.allSettled([silent, behind]);
    await time.advance(199);
    await expect(answered).resolves.toEqual(['ok']);
    expect(connection.closed).toBe(false);
    await time.advance(1);
    expect(connection.closed).toBe(true);
    const [silentOutcome, behindOutcome] = await outcomes;
    expect(silentOutcome).toMatchObject({ status: 'rejected', reason: { code: 'RUNTIME_RESPONSE_TIMEOUT', command: 'silent' } });
    expect(behindOutcome).toMatchObject({ status: 'rejected', reason: { code: 'RUNTIME_DISCONNECTED', command: 'behind' } });
    expect(time.pending).toBe(0);
  });

  it('writes a burst of lines in order, all answered in order', async () => {
    const { time, open } = fakeSocket((line) => ({ text: line.toUpperCase(), afterMs: 0 }));
    const connection = await open(2_000);
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
    const answers = Promise.all(lines.map((line) => connection.send(line, 1)));
    await time.advance(0);
    expect(await answers).toEqual(lines.map((line) => [line.toUpperCase()]));
    connection.close();
  });

  it('joins the lines sent in one tick into writes of 32 lines, in order, and writes nothing after close', async () => {
    const { time, open, lines: read } = fakeSocket((line) => ({ text: line, afterMs: 0 }));
    const connection = await open(2_000);
    const write = vi.spyOn(socketOf(connection), 'write');
    const written = () => write.mock.calls.map(([text]) => String(text).split('\n').slice(0, -1));
    const lines = Array.from({ length: 70 }, (_, i) => `line ${i}`);
    const answers = Promise.all(lines.map((line) => connection.send(line, 1)));
    expect(written().map((batch) => batch.length)).toEqual([32, 32]); // full batches leave at once
    await time.advance(0);
    await expect(answers).resolves.toEqual(lines.map((line) => [line]));
    expect(written().map((batch) => batch.length)).toEqual([32, 32, 6]); // the rest at the end of the tick
    expect(written().flat()).toEqual(lines);

    write.mockClear();
    const dropped = lines.map((line) => connection.send(line, 1));
    connection.close();
    for (const send of dropped) await expect(send).rejects.toMatchObject({ code: 'RUNTIME_DISCONNECTED' });
    await time.advance(0);
    expect(written().map((batch) => batch.length)).toEqual([32, 32]); // the last 6 never leave
    expect(read.slice(1 + 70)).toEqual(lines.slice(0, 64));
  });

  it('fails every command of a batch still being joined when HAProxy closes the connection, and sends none of its rest', async () => {
    const { time, server, open, lines: read } = fakeSocket(() => undefined);
    const connection = await open(2_000);
    const closed = new Promise((resolve) => connection.once('close', resolve));
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i}`);
    const sends = lines.map((line) => connection.send(line, 1));
    server.destroy(); // the peer closes while the last 8 lines wait for the end of the tick
    await expect(closed).resolves.toMatchObject({ code: 'RUNTIME_DISCONNECTED' });
    for (const send of sends) await expect(send).rejects.toMatchObject({ code: 'RUNTIME_DISCONNECTED' });
    await time.advance(0);
    expect(read).toEqual(['prompt', ...lines.slice(0, 32)]);
    await expect(connection.send('after', 1)).rejects.toMatchObject({ code: 'RUNTIME_DISCONNECTED' });
  });
});
