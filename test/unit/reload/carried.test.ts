import { describe, expect, it } from 'vitest';
import { differences } from '../../../src/reload/carried.js';
import { ADMIN, OP_STATE, parseServersState, type ServerStateRow } from '../../../src/runtime/parse.js';
import { answerTo, haproxyTranscript } from '../../helpers/fixtures.js';

const { backend, transcript } = haproxyTranscript('2.6');
/** Real rows, recorded from HAProxy 2.6 (a server in drain among them). */
const recorded = parseServersState(answerTo(transcript, `show servers state ${backend}`, 1));

describe('differences between the old and the new worker', () => {
  it('finds none when every server was carried over', () => {
    expect(recorded.length).toBeGreaterThan(0);
    expect(
      differences(
        backend,
        recorded,
        recorded.map((row) => ({ ...row })),
      ),
    ).toEqual([]);
  });

  it('names each server that lost its address, weight, admin state or health, went missing, or appeared', () => {
    const [first] = recorded as [ServerStateRow];
    const changed: ServerStateRow = {
      ...first,
      port: first.port + 1,
      userWeight: first.userWeight + 1,
      adminState: first.adminState ^ ADMIN.FDRAIN,
      opState: first.opState === OP_STATE.RUNNING ? OP_STATE.STOPPED : OP_STATE.RUNNING,
    };
    const extra: ServerStateRow = { ...first, name: 'newcomer' };
    expect(differences(backend, [first], [changed, extra])).toEqual([
      `${first.name}: endpoint ${first.address}:${first.port} → ${first.address}:${first.port + 1}`,
      `${first.name}: weight ${first.userWeight} → ${first.userWeight + 1}`,
      `${first.name}: mode drain → ready`,
      `${first.name}: up ${String(first.opState === OP_STATE.RUNNING)} → ${String(first.opState !== OP_STATE.RUNNING)}`,
      'newcomer: not there before the reload',
    ]);
    expect(differences(backend, [first], [])).toEqual([`${first.name}: missing after the reload`]);
    expect(differences(backend, [first], [{ ...changed, backend: 'other' }])).toEqual([`${first.name}: missing after the reload`]);
  });
});
