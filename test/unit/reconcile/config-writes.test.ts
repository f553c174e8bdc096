/** ConfigWrites (config-writes.ts): a pass's write waits for its actions' first answers, and writes keep pass order. */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { ConfigWrites } from '../../../src/reconcile/config-writes.js';
import type { ConfigServer } from '../../../src/render/template.js';

const server = (name: string): ConfigServer => ({ name, address: '10.0.0.1', port: 3000, weight: 100 });
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('ConfigWrites', () => {
  it('writes a pass’s servers once each of its actions has its first answer, after the previous pass’s write', async () => {
    const written: string[][] = [];
    const writes = new ConfigWrites(async (servers) => written.push(servers.map((s) => s.name)), silentLogger);
    const first = writes.after(['a', 'b'], [server('a'), server('b')]);
    writes.after([], [server('a'), server('b'), server('c')]);
    await turn();
    expect(written).toEqual([]);
    first('a');
    first('a');
    await turn();
    expect(written).toEqual([]);
    first('b');
    await writes.settled;
    expect(written).toEqual([
      ['a', 'b'],
      ['a', 'b', 'c'],
    ]);
  });

  it('logs a write that rejects and goes on', async () => {
    const errors: string[] = [];
    const log = { ...silentLogger, error: (event: string) => void errors.push(event) };
    const writes = new ConfigWrites(() => Promise.reject(new Error('disk full')), log);
    writes.after([], []);
    await writes.settled;
    expect(errors).toEqual(['config.write-failed']);
  });
});
