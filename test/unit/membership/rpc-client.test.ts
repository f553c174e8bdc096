/** The Serf RPC client on fake time over an in-memory duplex: the request deadline, exact and port-free. */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MsgpackFramer } from '../../../src/membership/rpc-codec.js';
import { parseSerfAddress, SerfRpcClient } from '../../../src/membership/rpc-client.js';
import { duplexPair, fakeClock } from '../../helpers/in-memory.js';

const packr = new Packr({ useRecords: false });

/** A stand-in Serf agent that answers the handshake and `stats`, and never answers `members`. */
async function connected(timeoutMs: number) {
  const time = fakeClock();
  const { client, server } = duplexPair();
  const framer = new MsgpackFramer();
  const commands: string[] = [];
  let withBody: { Command: string; Seq: number } | undefined;
  server.on('data', (chunk: Buffer) => {
    for (const value of framer.push(chunk)) {
      const header = withBody ?? (value as { Command: string; Seq: number });
      if (!withBody && header.Command === 'handshake') {
        withBody = header;
        continue;
      }
      withBody = undefined;
      commands.push(header.Command);
      if (header.Command === 'members') continue;
      const body = header.Command === 'stats' ? [packr.pack({ serf: { members: '1' } })] : [];
      server.write(Buffer.concat([packr.pack({ Seq: header.Seq, Error: '' }), ...body]));
    }
  });
  const connecting = SerfRpcClient.connect({
    address: parseSerfAddress('127.0.0.1:7373'),
    timeoutMs,
    openStream: () => Promise.resolve(client),
    timers: time.clock,
  });
  await time.advance(0);
  return { time, commands, rpc: await connecting };
}

describe('SerfRpcClient request timeout', () => {
  it('fails an unanswered request with SERF_TIMEOUT at its deadline, and closes the connection', async () => {
    const { time, commands, rpc } = await connected(500);
    const closed: string[] = [];
    rpc.once('close', (error) => closed.push(error.code));
    const members = expect(rpc.members()).rejects.toMatchObject({ code: 'SERF_TIMEOUT', command: 'members' });
    await time.advance(100);
    await expect(rpc.stats()).resolves.toEqual({ serf: { members: '1' } }); // answered: its own deadline is cleared
    await time.advance(399);
    expect([rpc.closed, closed]).toEqual([false, []]);
    await time.advance(1);
    await members;
    expect([rpc.closed, closed]).toEqual([true, ['SERF_TIMEOUT']]);
    expect(commands).toEqual(['handshake', 'members', 'stats']);
    await expect(rpc.stats()).rejects.toMatchObject({ code: 'SERF_TIMEOUT' });
    expect(time.pending).toBe(0);
  });
});
