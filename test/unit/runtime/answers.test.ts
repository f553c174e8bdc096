import { describe, expect, it } from 'vitest';
import { checkAnswer } from '../../../src/runtime/answers.js';
import type { Command } from '../../../src/runtime/commands.js';
import { answerTo, haproxyTranscript } from '../../helpers/fixtures.js';

const { transcript } = haproxyTranscript();

function judge(command: Command['expect'], pattern: string | RegExp, index = 0) {
  const answer = answerTo(transcript, pattern, index);
  const text = transcript.filter((e) => (typeof pattern === 'string' ? e.command === pattern : pattern.test(e.command)))[index]!.command;
  return () => checkAnswer({ text, mutation: true, expect: command, responses: 1 }, answer, 'tcp://127.0.0.1:1');
}

const added = { kind: 'exact', text: 'New server registered.' } as const;
const deleted = { kind: 'exact', text: 'Server deleted.' } as const;
const empty = { kind: 'empty' } as const;
const addr = { kind: 'addr' } as const;
const read = { kind: 'read' } as const;

describe('checkAnswer over answers recorded from HAProxy 2.6', () => {
  it.each([
    ['add server', added, /^add server nodes\/s1 .* check/],
    ['enable health', empty, 'enable health nodes/s1'],
    ['set state ready', empty, 'set server nodes/s1 state ready'],
    ['set weight', empty, 'set server nodes/s1 weight 50'],
    ['set addr (unchanged)', addr, /addr 127\.0\.0\.1 port/],
    ['set addr (changed)', addr, /addr 127\.0\.0\.2 port/],
    ['shutdown sessions', empty, 'shutdown sessions server nodes/s1'],
    ['show servers state', read, 'show servers state nodes'],
  ] as const)('accepts %s', (_, expectation, pattern) => {
    expect(judge(expectation, pattern)).not.toThrow();
  });

  it('accepts the first del server and refuses the second', () => {
    expect(judge(deleted, 'del server nodes/s1', 1)).not.toThrow();
    expect(judge(deleted, 'del server nodes/s1', 2)).toThrow(expect.objectContaining({ code: 'RUNTIME_NO_SUCH_SERVER' }));
  });

  it.each<[string, Command['expect'], string | RegExp, number?]>([
    ['RUNTIME_SERVER_EXISTS', added, /^add server nodes\/s1 127\.0\.0\.1:\d+$/],
    ['RUNTIME_SERVER_NOT_IN_MAINT', deleted, 'del server nodes/s1'],
    ['RUNTIME_NO_SUCH_SERVER', empty, 'set server nodes/nope state ready'],
    ['RUNTIME_NO_SUCH_BACKEND', added, 'add server nope/s2 127.0.0.1:1'],
    ['RUNTIME_COMMAND_REJECTED', empty, 'set server nodes/s1 weight 300'],
    ['RUNTIME_COMMAND_REJECTED', added, /weight 300$/],
    ['RUNTIME_COMMAND_REJECTED', addr, /addr 999/],
    ['RUNTIME_HEALTH_NOT_CONFIGURED', empty, 'enable health nodes/s4', 1],
    ['RUNTIME_NO_SUCH_BACKEND', read, 'show servers state nope'],
    ['RUNTIME_NO_SUCH_BACKEND', read, 'show stat nope 4 -1'],
    ['RUNTIME_UNKNOWN_COMMAND', read, 'frobnicate'],
  ])('maps the refusal to %s, carrying the command and the answer', (code, expectation, pattern, index = 0) => {
    expect(judge(expectation, pattern, index)).toThrow(
      expect.objectContaining({ code, command: expect.any(String), answer: expect.any(String), address: 'tcp://127.0.0.1:1' }),
    );
  });

  it('returns raw answers verbatim', () => {
    const answer = answerTo(transcript, 'frobnicate');
    expect(checkAnswer({ text: 'frobnicate', mutation: true, expect: { kind: 'raw' }, responses: 1 }, answer)).toBe(answer);
  });
});

/** Answers recorded by hand from HAProxy 2.6.12 and 3.0.11 (identical on both) for the driver's map, ACL, table and agent commands. */
describe('checkAnswer over map, ACL, table and agent answers', () => {
  it.each([
    ['RUNTIME_NO_SUCH_MAP', empty, 'Unknown map identifier. Please use #<id> or <file>.\n'],
    ['RUNTIME_NO_SUCH_ACL', read, 'Unknown ACL identifier. Please use #<id> or <file>.\n'],
    ['RUNTIME_NO_SUCH_ENTRY', empty, 'entry not found.\n'],
    ['RUNTIME_NO_SUCH_ENTRY', empty, 'Key not found.\n'],
    ['RUNTIME_NO_SUCH_TABLE', read, 'No such table\n'],
    ['RUNTIME_AGENT_NOT_CONFIGURED', empty, 'Agent was not configured on this server, cannot enable.\n\n'],
    ['RUNTIME_AGENT_NOT_ENABLED', empty, 'agent checks are not enabled on this server.\n'],
    ['RUNTIME_COMMAND_REJECTED', { kind: 'read', starts: '# table:' }, 'Filter entry #1: Unknown data type\n'],
    [
      'RUNTIME_COMMAND_REJECTED',
      empty,
      "This ACL is shared with a map containing samples. You must use the command 'add map' to add values.\n",
    ],
  ] as const)('maps the refusal to %s', (code, expectation, answer) => {
    expect(() => checkAnswer({ text: 'x', mutation: true, expect: expectation, responses: 1 }, answer)).toThrow(
      expect.objectContaining({ code }),
    );
  });

  it('accepts a table dump, and the nothing HAProxy answers for a key with no entry', () => {
    const table = { kind: 'read', starts: '# table:' } as const;
    const dump = '# table: www, type: ip, size:100, used:1\n0x55df1186ad78: key=127.0.0.1 use=0 exp=56667 gpc0=0 http_req_cnt=1\n';
    expect(checkAnswer({ text: 'show table www', mutation: false, expect: table, responses: 1 }, dump)).toBe(dump.trimEnd());
    expect(checkAnswer({ text: 'show table www key 10.0.0.9', mutation: false, expect: table, responses: 1 }, '')).toBe('');
  });
});
