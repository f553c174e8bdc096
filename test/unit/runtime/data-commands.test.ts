import { describe, expect, it } from 'vitest';
import {
  addAcl,
  addMap,
  clearAcl,
  clearMap,
  clearTable,
  delAcl,
  delMap,
  setMap,
  showAcl,
  showErrors,
  showMap,
  showSess,
  showTable,
} from '../../../src/runtime/data-commands.js';

const invalid = expect.objectContaining({ code: 'RUNTIME_INVALID_ARGUMENT' });
const map = '/etc/haproxy/hosts.map';

describe('map and ACL commands', () => {
  it('builds each command, escaping free text for the CLI', () => {
    expect(showMap()).toMatchObject({ text: 'show map', mutation: false });
    expect(showMap('#3').text).toBe('show map #3');
    expect(addMap(map, 'a.example', 'two words; \\')).toMatchObject({
      text: `add map ${map} a.example two\\ words\\;\\ \\\\`,
      mutation: true,
      expect: { kind: 'empty' },
    });
    expect(setMap(map, 'k;x', 'v').text).toBe(`set map ${map} k\\;x v`);
    expect(setMap(map, { ref: '0x55d1c0ffee00' }, 'v').text).toBe(`set map ${map} #0x55d1c0ffee00 v`);
    expect(delMap(map, 'k').text).toBe(`del map ${map} k`);
    expect(clearMap('virt@flags').text).toBe('clear map virt@flags');
    expect(showAcl('#0').text).toBe('show acl #0');
    expect(addAcl(map, 'Mozilla/5.0 (X11)').text).toBe(`add acl ${map} Mozilla/5.0\\ (X11)`);
    expect(delAcl(map, { ref: '0xabc' }).text).toBe(`del acl ${map} #0xabc`);
    expect(clearAcl(map).text).toBe(`clear acl ${map}`);
  });

  it.each([
    ['a map name with a space', () => showMap('/etc/my map')],
    ['a map name with ;', () => clearMap('x;show info')],
    ['a bad #id', () => showMap('#x')],
    ['an empty key', () => addMap(map, '', 'v')],
    ['a key with whitespace (show map could not tell it from the value)', () => addMap(map, 'a b', 'v')],
    ["a key starting with '#' (HAProxy reads it as a reference)", () => delMap(map, '#0x1')],
    ['a pattern starting with #', () => addAcl(map, '#x')],
    ['a value with LF', () => addMap(map, 'k', 'v\nclear map x')],
    ['a value with CR', () => setMap(map, 'k', 'v\r')],
    ['an empty value', () => setMap(map, 'k', '')],
    ['a reference that is not one', () => delAcl(map, { ref: '12;show info' })],
  ])('refuses %s', (_, build) => {
    expect(build).toThrow(invalid);
  });
});

describe('stick-table commands', () => {
  it('builds show and clear with key and data filters', () => {
    expect(showTable()).toMatchObject({ text: 'show table', mutation: false, expect: { kind: 'read', starts: '# table:' } });
    expect(showTable('www').text).toBe('show table www');
    expect(showTable('www', { key: '127.0.0.1' }).text).toBe('show table www key 127.0.0.1');
    expect(showTable('www', { key: 'a;b' }).text).toBe('show table www key a\\;b');
    expect(
      showTable('www', [
        { data: 'gpc0', op: 'gt', value: 0 },
        { data: 'conn_rate', op: 'le', value: 10 },
      ]).text,
    ).toBe('show table www data.gpc0 gt 0 data.conn_rate le 10');
    expect(showTable('www', { data: 'gpc(1)', op: 'eq', value: -1 }).text).toBe('show table www data.gpc(1) eq -1');
    expect(clearTable('www')).toMatchObject({ text: 'clear table www', mutation: true, expect: { kind: 'empty' } });
    expect(clearTable('www', { key: '::1' }).text).toBe('clear table www key ::1');
    expect(clearTable('www', { data: 'gpc0', op: 'ge', value: 5 }).text).toBe('clear table www data.gpc0 ge 5');
  });

  it.each([
    ['a table name with ;', () => showTable('www;show info')],
    ['a key with whitespace', () => showTable('www', { key: 'a b' })],
    ['a key with LF', () => clearTable('www', { key: 'a\nclear table x' })],
    ['an unknown operator', () => showTable('www', { data: 'gpc0', op: 'like' as 'eq', value: 1 })],
    ['a data type with a space', () => showTable('www', { data: 'gpc0 eq 1 data.x', op: 'eq', value: 1 })],
    ['a fractional value', () => clearTable('www', { data: 'gpc0', op: 'eq', value: 1.5 })],
    ['more than four filters', () => showTable('www', Array(5).fill({ data: 'gpc0', op: 'eq', value: 1 }))],
    ['several filters on clear', () => clearTable('www', Array(2).fill({ data: 'gpc0', op: 'eq', value: 1 }) as never)],
  ])('refuses %s', (_, build) => {
    expect(build).toThrow(invalid);
  });
});

describe('raw dumps', () => {
  it('reads sessions and errors', () => {
    expect(showSess()).toMatchObject({ text: 'show sess', mutation: false, expect: { kind: 'read' } });
    expect(showErrors().text).toBe('show errors');
  });
});
