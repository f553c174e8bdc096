/**
 * Time and streams for port-free unit tests of the connections: a clock that moves only when the test
 * says so, and a pair of in-memory duplex streams (what one end writes, the other reads), as a socket pair.
 */
import { Duplex } from 'node:stream';
import type { Clock } from '../../src/util/clock.js';

/** Lets every promise and nextTick the last step started settle (the streams deliver on nextTick). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Timer {
  at: number;
  seq: number;
  run: () => void;
}

/** A Clock at 0 ms that moves only by `advance(ms)`, firing each timer due on the way, in order, at its time. */
export function fakeClock() {
  let now = 0;
  let seq = 0;
  const timers = new Set<Timer>();
  const clock: Clock = {
    now: () => now,
    setTimeout: (run, ms) => {
      const timer = { at: now + Math.max(0, ms), seq: seq++, run };
      timers.add(timer);
      return timer;
    },
    clearTimeout: (handle) => void timers.delete(handle as Timer),
  };
  const advance = async (ms: number) => {
    const until = now + ms;
    await settle();
    for (;;) {
      const next = [...timers].filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      timers.delete(next);
      now = next.at;
      next.run();
      await settle();
    }
    now = until;
    await settle();
  };
  return {
    clock,
    advance,
    get now() {
      return now;
    },
    get pending() {
      return timers.size;
    },
  };
}

class End extends Duplex {
  other!: End;
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.other.push(chunk);
    callback();
  }
  override _final(callback: (error?: Error | null) => void): void {
    this.other.push(null);
    callback();
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // As a socket's peer sees a closed connection: its reading side ends, and it closes.
    if (!this.other.destroyed) this.other.destroy();
    callback(error);
  }
}

/** Two connected ends: `client` for the code under test, `server` for the test's stand-in. */
export function duplexPair(): { client: Duplex; server: Duplex } {
  const client = new End();
  const server = new End();
  client.other = server;
  server.other = client;
  return { client, server };
}

/** Calls `line` with each line (without its newline) the stream reads: a stand-in stats socket's reader. */
export function onLines(stream: Duplex, line: (text: string) => void): void {
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
      const text = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      line(text);
    }
  });
}
