import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADMIN, CHECK_RESULT, parseInfo, parseServersState, parseStat, splitAddress, streamsOnServer } from '../../../src/runtime/parse.js';
import { answerTo, haproxyTranscript } from '../../helpers/fixtures.js';
import {
  parseAclEntries,
  parseAclList,
  parseBackendList,
  parseMapEntries,
  parseMapList,
  parseTable,
  parseTableList,
} from '../../../src/runtime/parse.js';

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
      expect.objectContaining({
        backend,
        name: 's1',
        address: '127.0.0.1',
        port,
        adminState: 0,
        userWeight: 50,
        checkResult: CHECK_RESULT.PASSED,
      }),
    ]);
  });

  it('parses only the rows asked for, the same as in a full parse', () => {
    /** The answer with a second server: s1's row again, renamed (field by field, so no other field changes). */
    const twoServers = (text: string, separator: string, nameAt: number) => {
      const lines = text.trimEnd().split('\n');
      const row = lines.at(-1)!.split(separator);
      row[nameAt] = 's10';
      return `${[...lines, row.join(separator)].join('\n')}\n`;
    };
    const state = twoServers(answerTo(transcript, `show servers state ${backend}`), ' ', 3);
    expect(parseServersState(state).map((r) => r.name)).toEqual(['s1', 's10']);
    expect(parseServersState(state, new Set(['s10']))).toEqual(parseServersState(state).filter((r) => r.name === 's10'));
    expect(parseServersState(state, new Set(['s1'])).map((r) => r.name)).toEqual(['s1']);
    expect(parseServersState(state, new Set(['s']))).toEqual([]);
    const stat = twoServers(answerTo(transcript, `show stat ${backend} 4 -1`, 0), ',', 1);
    expect(parseStat(stat).map((r) => r.name)).toEqual(['s1', 's10']);
    expect(parseStat(stat, new Set(['s10']))).toEqual(parseStat(stat).filter((r) => r.name === 's10'));
    expect(parseStat(stat, new Set(['s1', 'BACKEND'])).map((r) => r.name)).toEqual(['s1']);
  });

  it('reads the drain bit after set server state drain', () => {
    const [row] = parseServersState(answerTo(transcript, `show servers state ${backend}`, 1));
    expect(row?.adminState && row.adminState & ADMIN.FDRAIN).toBeTruthy();
    expect(row?.address).toBe('127.0.0.2');
  });

  it('reads show stat: a new server in MAINT with a passing check, then UP', () => {
    const [maint] = parseStat(answerTo(transcript, `show stat ${backend} 4 -1`, 0));
    expect(maint).toMatchObject({
      backend,
      name: 's1',
      status: 'MAINT',
      checkStatus: 'L7OK',
      checkCode: '200',
      address: `127.0.0.1:${port}`,
      lastSessionSec: -1, // never had a session
    });
    const [up] = parseStat(answerTo(transcript, `show stat ${backend} 4 -1`, 1));
    expect(up?.status).toMatch(/^UP/);
    expect(up).toMatchObject({ weight: 50, sessions: 0, queue: 0 });
    expect(maint?.checkRunning).toBe(false);
  });

  it('reads a check running now (`* L7STS`, code 0, as HAProxy 2.6 shows it mid-check): its status, and that it runs', () => {
    const answer = answerTo(transcript, `show stat ${backend} 4 -1`, 0).replace(',L7OK,200,', ',* L7STS,0,');
    expect(answer).toContain('* L7STS');
    expect(parseStat(answer)[0]).toMatchObject({ checkStatus: 'L7STS', checkRunning: true, checkCode: '0' });
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

/** Answers recorded by hand from HAProxy 2.6.12 and 3.0.11 (3.0 adds `shard=` to table entries). */
describe('parsers for maps, ACLs and stick tables', () => {
  it('reads the lists of maps and ACLs', () => {
    const maps =
      "# id (file) description\n2 (/tmp/p/hosts.map) pattern loaded from file '/tmp/p/hosts.map' used by map at file 'cfg' line 13. curr_ver=0 next_ver=0 entry_cnt=1\n";
    expect(parseMapList(maps)).toEqual([
      { id: 2, file: '/tmp/p/hosts.map', description: expect.stringMatching(/^pattern loaded from file/) },
    ]);
    const acls =
      "# id (file) description\n0 (/tmp/p/block.acl) pattern loaded from file '/tmp/p/block.acl' used by acl at file 'cfg' line 12. curr_ver=0 next_ver=0 entry_cnt=1\n1 () acl 'src' file 'cfg' line 12. curr_ver=0 next_ver=0 entry_cnt=0\n";
    expect(parseAclList(acls).map((a) => [a.id, a.file])).toEqual([
      [0, '/tmp/p/block.acl'],
      [1, ''],
    ]);
    expect(() => parseMapList('Unknown map identifier. Please use #<id> or <file>.\n')).toThrow(
      expect.objectContaining({ code: 'RUNTIME_PARSE' }),
    );
  });

  it('reads map entries whose value holds spaces, and ACL entries', () => {
    expect(
      parseMapEntries('0x55df1168db90 a.example 1\n0x55df1186fd20 b.example two words\n0x55df1186fe10 semi;colon back\\\\slash\n'),
    ).toEqual([
      { ref: '0x55df1168db90', key: 'a.example', value: '1' },
      { ref: '0x55df1186fd20', key: 'b.example', value: 'two words' },
      { ref: '0x55df1186fe10', key: 'semi;colon', value: 'back\\\\slash' },
    ]);
    expect(parseMapEntries('')).toEqual([]);
    expect(parseAclEntries('0x55df1168e560 10.0.0.1\n')).toEqual([{ ref: '0x55df1168e560', pattern: '10.0.0.1' }]);
  });

  it.each([
    ['2.6', '0x55df1186ad78: key=127.0.0.1 use=0 exp=56667 gpc0=0 http_req_cnt=1'],
    ['3.0', '0x7f157ea82c88: key=127.0.0.1 use=0 exp=56667 shard=0 gpc0=0 http_req_cnt=1'],
  ])('reads a stick table as %s prints it', (_, row) => {
    const { table, entries } = parseTable(`# table: www, type: ip, size:100, used:1\n${row}\n`);
    expect(table).toEqual({ name: 'www', type: 'ip', size: 100, used: 1 });
    expect(entries).toEqual([
      { ref: expect.stringMatching(/^0x/), key: '127.0.0.1', use: 0, exp: 56667, data: { gpc0: '0', http_req_cnt: '1' } },
    ]);
  });

  it('reads rate counters, string keys with spaces, the list of tables, and the empty answer to a key with no entry', () => {
    const [entry] = parseTable('# table: t, type: string, size:10, used:1\n0x1: key=a b use=1 exp=0 conn_rate(30000)=10\n').entries;
    expect(entry).toMatchObject({ key: 'a b', use: 1, data: { 'conn_rate(30000)': '10' } });
    expect(
      parseTableList('# table: nodes, type: string, size:10, used:0\n# table: www, type: ip, size:100, used:1\n').map((t) => t.name),
    ).toEqual(['nodes', 'www']);
    expect(parseTable('')).toEqual({ table: undefined, entries: [] });
    expect(() => parseTable('# table: www, type: ip, size:100, used:1\ngarbage\n')).toThrow(
      expect.objectContaining({ code: 'RUNTIME_PARSE' }),
    );
  });

  it('parses random text and mangled real answers, or throws RUNTIME_PARSE', () => {
    const real = [
      '# id (file) description\n2 (/x.map) pattern loaded\n',
      '0x55df1168db90 a.example 1\n',
      '# table: www, type: ip, size:100, used:1\n0x1: key=127.0.0.1 use=0 exp=56667 shard=0 gpc0=0\n',
    ];
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.tuple(fc.constantFrom(...real), fc.nat(), fc.string({ maxLength: 20 })).map(([t, at, junk]) => t.slice(0, at % t.length) + junk),
    );
    fc.assert(
      fc.property(text, (input) => {
        for (const parse of [parseMapList, parseAclList, parseMapEntries, parseAclEntries, parseTableList, parseTable]) {
          try {
            parse(input);
          } catch (error) {
            expect(error).toMatchObject({ code: 'RUNTIME_PARSE' });
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseBackendList', () => {
  it("reads `show backend`'s names (HAProxy 2.6.12's answer)", () => {
    expect(parseBackendList('# name\nnodes\nbe_a\nbe_b\n')).toEqual(['nodes', 'be_a', 'be_b']);
    expect(parseBackendList('# name\n')).toEqual([]);
  });
});

describe('streamsOnServer', () => {
  // The line format of HAProxy 2.6's `show sess` (src/stream.c): ` src=… fe=… be=… srv=… ts=…`.
  const sess = [
    '0x55d0c8a1f000: proto=tcpv4 src=127.0.0.1:40512 fe=www be=nodes srv=web-1 ts=00 epoch=0x3 age=1s calls=4 rate=0 cpu=0 lat=0 rq[f=848000h,i=0,an=00h,rx=,wx=,ax=] rp[f=80048000h,i=0,an=00h,rx=,wx=,ax=] s0=[8,200008h,fd=23,ex=] s1=[8,10h,fd=-1,ex=] exp=988ms rc=0 c_exp=',
    '0x55d0c8a2f000: proto=tcpv4 src=127.0.0.1:40514 fe=www be=nodes srv=web-10 ts=00 epoch=0x3 age=0s calls=2',
    '0x55d0c8a3f000: proto=tcpv4 src=127.0.0.1:40516 fe=www be=nodes2 srv=web-1 ts=00 epoch=0x3 age=0s calls=2',
    '0x55d0c8a4f000: proto=tcpv4 src=127.0.0.1:40518 fe=GLOBAL be=<NONE> srv=<none> ts=00 epoch=0x4 age=0s calls=1',
    '',
  ].join('\n');

  it('counts the streams of that very backend and server, and no other', () => {
    expect(streamsOnServer(sess, 'nodes', 'web-1')).toBe(1);
    expect(streamsOnServer(sess, 'nodes', 'web-10')).toBe(1);
    expect(streamsOnServer(sess, 'nodes', 'web-2')).toBe(0);
    expect(streamsOnServer(sess, 'nodes2', 'web-1')).toBe(1);
  });
});
