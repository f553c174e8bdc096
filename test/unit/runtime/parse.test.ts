import { describe, expect, it } from 'vitest';
import {
  ADMIN,
  CHECK_RESULT,
  parseInfo,
  parseServersState,
  parseStat,
  splitAddress,
} from '../../../src/runtime/parse.js';
import { answerTo, haproxyTranscript } from '../../helpers/fixtures.js';

const { transcript, backend } = haproxyTranscript();
const port = Number(/:(\d+)/.exec(transcript.find((e) => e.command.startsWith('add server'))!.command)![1]);

describe('parsers over answers recorded from HAProxy 2.6', () => {
  it('reads show info', () => {
    const info = parseInfo(answerTo(transcript, 'show info'));
    expect(info.pid).toBeGreaterThan(1);
    expect(info.version).toMatch(/^2\.6\./);
    expect(info.stopping).toBe(false);
    expect(info.fields.Nbthread).toBeDefined();
  });

  it('reads show servers state of a ready server with a passing check', () => {
    const rows = parseServersState(answerTo(transcript, `show servers state ${backend}`));
    expect(rows).toEqual([
      expect.objectContaining({ backend, name: 's1', address: '127.0.0.1', port, adminState: 0, userWeight: 50, checkResult: CHECK_RESULT.PASSED }),
    ]);
  });

  it('reads the drain bit after set server state drain', () => {
    const [row] = parseServersState(answerTo(transcript, `show servers state ${backend}`, 1));
    expect(row?.adminState && row.adminState & ADMIN.FDRAIN).toBeTruthy();
    expect(row?.address).toBe('127.0.0.2');
  });

  it('reads show stat: a new server in MAINT with a passing check, then UP', () => {
    const [maint] = parseStat(answerTo(transcript, `show stat ${backend} 4 -1`, 0));
    expect(maint).toMatchObject({ backend, name: 's1', status: 'MAINT', checkStatus: 'L7OK', checkCode: '200', address: `127.0.0.1:${port}` });
    const [up] = parseStat(answerTo(transcript, `show stat ${backend} 4 -1`, 1));
    expect(up?.status).toMatch(/^UP/);
    expect(up).toMatchObject({ weight: 50, sessions: 0, queue: 0 });
  });

  it.each([
    ['show servers state', () => parseServersState("Can't find backend.\n")],
    ['show stat', () => parseStat('No such proxy.\n')],
    ['show info', () => parseInfo('nothing here')],
    [
      'show servers state with a bad number',
      () =>
        parseServersState(
          '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_check_result srv_check_state ' +
            'srv_agent_state srv_fqdn srv_port\n3 be 1 s 1.2.3.4 x 0 1 0 0 0 - 80\n',
        ),
    ],
  ])('throws RUNTIME_PARSE for an unexpected %s answer', (_, parse) => {
    expect(parse).toThrow(expect.objectContaining({ code: 'RUNTIME_PARSE' }));
  });

  it.each([
    ['127.0.0.1:80', '127.0.0.1', 80],
    ['[::1]:3000', '::1', 3000],
    ['-', '-', undefined],
  ])('splits %s', (text, address, portNumber) => {
    expect(splitAddress(text)).toEqual({ address, port: portNumber });
  });
});
