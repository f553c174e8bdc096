import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultServerPolicy } from '../../../src/model/server.js';
import {
  addServer,
  assertSendable,
  cliWord,
  computesDynamicCookieOnAdd,
  delServer,
  disableAgent,
  disableHealth,
  enableAgent,
  enableDynamicCookie,
  enableHealth,
  MAX_COMMAND_BYTES,
  raw,
  setAddr,
  setAgent,
  setAgentAddr,
  setAgentPort,
  setAgentSend,
  setHealth,
  setState,
  setWeight,
  showStat,
  shutdownSessions,
  splitCommands,
  supportsWaitRemovable,
  waitRemovable,
} from '../../../src/runtime/commands.js';

const spec = { address: '127.0.0.2', port: 3000, weight: 100, policy: defaultServerPolicy };
const invalid = expect.objectContaining({ code: 'RUNTIME_INVALID_ARGUMENT' });

describe('command builder', () => {
  it('builds add server with every parameter explicit and never `enabled`', () => {
    const command = addServer('nodes', 'web-1', spec);
    expect(command.text).toBe(
      'add server nodes/web-1 127.0.0.2:3000 check inter 1000 fastinter 200 downinter 50 rise 1 fall 2 observe layer4 error-limit 1 on-error mark-down weight 100 pool-max-conn -1 pool-purge-delay 5000',
    );
    expect(command.text).not.toMatch(/\benabled\b/);
    expect(command).toMatchObject({ mutation: true, responses: 1, expect: { kind: 'exact', text: 'New server registered.' } });
  });

  it('brackets IPv6 addresses', () => {
    expect(addServer('nodes', 'v6', { ...spec, address: '::1' }).text).toContain(' [::1]:3000 ');
  });

  it('builds the rest of the lifecycle', () => {
    expect(enableHealth('nodes', 'a').text).toBe('enable health nodes/a');
    expect(setState('nodes', 'a', 'drain').text).toBe('set server nodes/a state drain');
    expect(setWeight('nodes', 'a', 0).text).toBe('set server nodes/a weight 0');
    expect(setAddr('nodes', 'a', '10.0.0.1', 8080).text).toBe('set server nodes/a addr 10.0.0.1 port 8080');
    expect(shutdownSessions('nodes', 'a').text).toBe('shutdown sessions server nodes/a');
    expect(delServer('nodes', 'a')).toMatchObject({ text: 'del server nodes/a', expect: { kind: 'exact', text: 'Server deleted.' } });
    expect(showStat()).toMatchObject({ text: 'show stat -1 4 -1', mutation: false });
  });

  it.each([
    'x;shutdown sessions server nodes/s1',
    'a b',
    'cr\rname',
    'lf\nname',
    'tab\tname',
    'nul\0',
    'ünï',
    'a@b',
    'back\\slash',
    '{{name}}',
    '',
    'x'.repeat(65),
  ])('refuses the server name %j before anything is sent', (name) => {
    expect(() => addServer('nodes', name, spec)).toThrow(invalid);
    expect(() => setState('nodes', name, 'ready')).toThrow(invalid);
    expect(() => delServer('nodes', name)).toThrow(invalid);
  });

  it.each(['nodes;show info', 'no des', 'nodes\n'])('refuses the backend name %j', (backend) => {
    expect(() => enableHealth(backend, 'a')).toThrow(invalid);
  });

  it.each(['999.1.1.1', 'localhost', '127.0.0.1;show info', '', '1.2.3.4 ', 'x.invalid'])('refuses the address %j', (address) => {
    expect(() => addServer('nodes', 'a', { ...spec, address })).toThrow(invalid);
    expect(() => setAddr('nodes', 'a', address, 80)).toThrow(invalid);
  });

  it.each([0, 65536, 70000, -1, 1.5, Number.NaN])('refuses the port %d', (port) => {
    expect(() => addServer('nodes', 'a', { ...spec, port })).toThrow(invalid);
    expect(() => setAddr('nodes', 'a', '127.0.0.1', port)).toThrow(invalid);
  });

  it.each([-1, 257, 1000, 2.5])('refuses the weight %d', (weight) => {
    expect(() => addServer('nodes', 'a', { ...spec, weight })).toThrow(invalid);
    expect(() => setWeight('nodes', 'a', weight)).toThrow(invalid);
  });

  it('refuses settings unlike the ones it has built before, each time it is asked', () => {
    expect(addServer('nodes', 'a', spec).text).toContain(' weight 100 ');
    const bad = [
      { ...spec, weight: 100.5 },
      { ...spec, policy: { ...defaultServerPolicy, check: { ...defaultServerPolicy.check, inter: '1000; show info' } } },
      { ...spec, policy: { ...defaultServerPolicy, check: { ...defaultServerPolicy.check, rise: 0 } } },
      { ...spec, policy: { pool: defaultServerPolicy.pool } },
    ] as (typeof spec)[];
    for (let i = 0; i < 2; i += 1) for (const settings of bad) expect(() => addServer('nodes', 'a', settings)).toThrow(invalid);
    // A policy that is not the same object but makes the same text makes the same command.
    const copy = { ...spec, policy: structuredClone(defaultServerPolicy) };
    expect(addServer('nodes', 'a', copy).text).toBe(addServer('nodes', 'a', spec).text);
  });

  it('refuses a state HAProxy does not know', () => {
    expect(() => setState('nodes', 'a', 'up' as 'ready')).toThrow(invalid);
  });

  it('builds commands for a pair it has seen before, and keeps refusing an invalid pair each time it is asked', () => {
    expect(setState('nodes', 'memo-a', 'drain').text).toBe('set server nodes/memo-a state drain');
    expect(setState('nodes', 'memo-a', 'ready').text).toBe('set server nodes/memo-a state ready');
    expect(delServer('nodes', 'memo-a').text).toBe('del server nodes/memo-a');
    for (let i = 0; i < 2; i += 1) {
      expect(() => setState('nodes', 'memo a;quit', 'drain')).toThrow(invalid);
      expect(() => setState('no/des', 'memo-a', 'drain')).toThrow(invalid);
    }
    // The same server name is valid under one backend, never under one that is itself invalid.
    expect(() => delServer('nodes;x', 'memo-a')).toThrow(invalid);
  });

  it('never lets a separator or line break into a built command, whatever the name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (name) => {
        let text: string;
        try {
          text = addServer('nodes', name, spec).text;
        } catch (error) {
          expect(error).toMatchObject({ code: 'RUNTIME_INVALID_ARGUMENT' });
          return;
        }
        expect(text).not.toMatch(/[;\r\n\0\t]/);
        expect(text.split(' ')).toHaveLength(27);
      }),
    );
  });
});

describe('raw commands (ha-agent exec)', () => {
  it('counts one answer per unescaped ;', () => {
    expect(raw('show info;show stat').responses).toBe(2);
    expect(raw('set map x a\\;b').responses).toBe(1);
  });

  it.each(['show info\nshutdown sessions server nodes/a', 'show info\r', 'show info;', ';show info'])('refuses %j', (line) => {
    expect(() => raw(line)).toThrow(invalid);
  });

  it('refuses a single command HAProxy would never answer, but not a long batch of short ones', () => {
    expect(() => assertSendable(raw(`show info ${'x'.repeat(MAX_COMMAND_BYTES)}`))).toThrow(
      expect.objectContaining({ code: 'RUNTIME_COMMAND_TOO_LONG' }),
    );
    expect(() => assertSendable(raw(Array(2000).fill('show info').join(';')))).not.toThrow();
    // Just past the limit in bytes while short in characters: 5,001 three-byte characters.
    expect(() => assertSendable(raw(`show info ${'€'.repeat(5_001)}`))).toThrow(
      expect.objectContaining({ code: 'RUNTIME_COMMAND_TOO_LONG' }),
    );
  });
});

describe('wait srv-removable (HAProxy >= 2.8)', () => {
  it('builds the command and expects Done.', () => {
    expect(waitRemovable('nodes', 'a', 2000)).toMatchObject({
      text: 'wait 2000 srv-removable nodes/a',
      expect: { kind: 'exact', text: 'Done.' },
    });
    expect(() => waitRemovable('nodes', 'a;b', 2000)).toThrow(invalid);
  });

  it.each([
    ['2.6.12-1+deb12u4', false],
    ['2.7.1', false],
    ['2.8.3', true],
    ['3.0.11-1+deb13u4', true],
    [undefined, false],
  ])('knows whether %s has it', (version, supported) => {
    expect(supportsWaitRemovable(version)).toBe(supported);
  });
});

describe('agent and health checks', () => {
  it('builds each command with its checked values', () => {
    expect(enableAgent('nodes', 'a')).toMatchObject({ text: 'enable agent nodes/a', mutation: true, expect: { kind: 'empty' } });
    expect(disableAgent('nodes', 'a').text).toBe('disable agent nodes/a');
    expect(disableHealth('nodes', 'a').text).toBe('disable health nodes/a');
    expect(setAgentAddr('nodes', 'a', '::1').text).toBe('set server nodes/a agent-addr ::1');
    expect(setAgentAddr('nodes', 'a', '10.0.0.1', 5555).text).toBe('set server nodes/a agent-addr 10.0.0.1 port 5555');
    expect(setAgentPort('nodes', 'a', 5555).text).toBe('set server nodes/a agent-port 5555');
    expect(setAgentSend('nodes', 'a', 'hello there; x\\').text).toBe('set server nodes/a agent-send hello\\ there\\;\\ x\\\\');
    expect(setHealth('nodes', 'a', 'stopping').text).toBe('set server nodes/a health stopping');
    expect(setAgent('nodes', 'a', 'down').text).toBe('set server nodes/a agent down');
  });

  it('refuses what HAProxy would misread', () => {
    expect(() => setAgentAddr('nodes', 'a', 'agent.example')).toThrow(invalid);
    expect(() => setAgentAddr('nodes', 'a', '10.0.0.1', 0)).toThrow(invalid);
    expect(() => setAgentPort('nodes', 'a', 70000)).toThrow(invalid);
    expect(() => setAgentSend('nodes', 'a', 'ready\n')).toThrow(invalid);
    expect(() => setAgentSend('nodes', 'a', '')).toThrow(invalid);
    expect(() => setHealth('nodes', 'a', 'ready' as 'up')).toThrow(invalid);
    expect(() => setAgent('nodes', 'a', 'stopping' as 'up')).toThrow(invalid);
    expect(() => enableAgent('nodes', 'a;b')).toThrow(invalid);
  });
});

/** HAProxy's reading of one word: a backslash makes the next character literal. */
const unescape = (word: string) => word.replace(/\\(.)/g, '$1');

describe('cliWord', () => {
  it('escapes backslash, semicolon, space and tab, and refuses line breaks and control characters', () => {
    expect(cliWord('a b;c\\d\te', 'x')).toBe('a\\ b\\;c\\\\d\\\te');
    for (const bad of ['', 'a\nb', 'a\rb', 'a\0b', '\x1b[31m', 'del\x7f']) expect(() => cliWord(bad, 'x')).toThrow(invalid);
  });

  it('makes any other text one word HAProxy reads back exactly, inside one command', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), (text) => {
        let word: string;
        try {
          word = cliWord(text, 'x');
        } catch (error) {
          expect(error).toMatchObject({ code: 'RUNTIME_INVALID_ARGUMENT' });
          expect([...text].some((c) => c !== '\t' && (c < ' ' || c === '\x7f'))).toBe(true);
          return;
        }
        expect(splitCommands(`add map m k ${word}`)).toHaveLength(1);
        expect(word).not.toMatch(/(^|[^\\])(\\\\)*[ \t;]/);
        expect(unescape(word)).toBe(text);
      }),
    );
  });
});

describe('splitCommands', () => {
  it.each([
    ['show info;show stat', ['show info', 'show stat']],
    ['add map m k a\\;b', ['add map m k a\\;b']],
    ['add map m k v\\\\;show info', ['add map m k v\\\\', 'show info']],
    ['add map m k v\\\\\\;x', ['add map m k v\\\\\\;x']],
  ])('splits %j where HAProxy does', (line, parts) => {
    expect(splitCommands(line)).toEqual(parts);
  });

  it("refuses 'prompt' and 'quit' in a raw line: they would end prompt mode", () => {
    expect(() => raw('prompt')).toThrow(invalid);
    expect(() => raw('show info; quit')).toThrow(invalid);
    expect(raw('show quitters').text).toBe('show quitters');
  });
});

describe('dynamic cookies', () => {
  it('builds enable dynamic-cookie for a validated backend', () => {
    const command = enableDynamicCookie('nodes');
    expect(command).toMatchObject({ text: 'enable dynamic-cookie backend nodes', mutation: true, expect: { kind: 'empty' } });
    expect(() => enableDynamicCookie('nodes;del server nodes/a')).toThrow(invalid);
  });

  it.each([
    ['2.6.12-1+deb12u4', false],
    ['2.8.3', false],
    ['3.0.11-1+deb13u4', true],
    ['3.2.0', true],
    [undefined, false],
  ])('knows whether %s sets the cookie on add server', (version, computes) => {
    expect(computesDynamicCookieOnAdd(version)).toBe(computes);
  });
});
