import { describe, expect, it } from 'vitest';
import { batchLines, createLogger, withFields } from '../../../src/log.js';
import { RuntimeError } from '../../../src/runtime/errors.js';
import { parseDuration } from '../../../src/util/duration.js';

const now = () => new Date('2026-11-25T12:00:00.000Z');

describe('batchLines', () => {
  it('writes the lines of one event-loop turn in one write, in order, and flush writes what is pending', async () => {
    const writes: string[] = [];
    const lines = batchLines((text) => writes.push(text));
    lines.write('a\n');
    lines.write('b\n');
    expect(writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual(['a\nb\n']);
    lines.write('c\n');
    lines.flush();
    expect(writes).toEqual(['a\nb\n', 'c\n']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(2);
  });
});

describe('logs', () => {
  it('writes one JSON object per line, errors with code, command and answer', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l), now });
    log.info('member.rejected', { member: JSON.stringify('x\ny'), reason: 'name: bad' });
    log.error('step.failed', {
      error: new RuntimeError('RUNTIME_NO_SUCH_SERVER', 'm', { command: 'del server nodes/a', answer: 'No such server.' }),
    });
    log.debug('hidden');
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual({
      time: '2026-11-25T12:00:00.000Z',
      level: 'info',
      event: 'member.rejected',
      member: '"x\\ny"',
      reason: 'name: bad',
    });
    expect((JSON.parse(lines[1]!) as { error: unknown }).error).toEqual({
      message: 'm',
      code: 'RUNTIME_NO_SUCH_SERVER',
      command: 'del server nodes/a',
      answer: 'No such server.',
    });
  });

  it('writes a field named like a line member (time, level, event) as field.NAME, and drops undefined fields', () => {
    const lines: string[] = [];
    createLogger({ write: (l) => lines.push(l), now }).info('x', { event: 'e', time: 1, level: 'l', gone: undefined, n: [1] });
    expect(JSON.parse(lines[0]!)).toEqual({
      time: '2026-11-25T12:00:00.000Z',
      level: 'info',
      event: 'x',
      'field.event': 'e',
      'field.time': 1,
      'field.level': 'l',
      n: [1],
    });
    expect(lines[0]).toBe(
      '{"time":"2026-11-25T12:00:00.000Z","level":"info","event":"x","field.event":"e","field.time":1,"field.level":"l","n":[1]}\n',
    );
  });

  it('stamps lines with the current time when no clock is given (one formatted string per millisecond)', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    const before = Date.now();
    log.info('a');
    log.info('b');
    const after = Date.now();
    const times = lines.map((l) => Date.parse((JSON.parse(l) as { time: string }).time));
    expect(times.every((t) => t >= before && t <= after)).toBe(true);
    expect(lines[1]).toMatch(/^\{"time":"\d{4}-\d\d-\d\dT[\d:.]+Z","level":"info","event":"b"\}\n$/);
  });

  it("withFields puts its fields on every line, first; a line's own field of the same name wins", () => {
    const lines: string[] = [];
    const log = withFields(withFields(createLogger({ write: (l) => lines.push(l), now }), { backend: 'nodes' }), { shard: 2 });
    log.info('a', { server: 'web-1' });
    log.info('b', { backend: 'other', server: 'web-2' });
    log.info('c');
    expect(lines[0]).toBe('{"time":"2026-11-25T12:00:00.000Z","level":"info","event":"a","backend":"nodes","shard":2,"server":"web-1"}\n');
    expect(JSON.parse(lines[1]!)).toEqual({
      time: '2026-11-25T12:00:00.000Z',
      level: 'info',
      event: 'b',
      backend: 'other',
      shard: 2,
      server: 'web-2',
    });
    expect(lines[1]!.match(/"backend"/g)).toHaveLength(1);
    expect(lines[2]).toBe('{"time":"2026-11-25T12:00:00.000Z","level":"info","event":"c","backend":"nodes","shard":2}\n');
    const pretty: string[] = [];
    withFields(createLogger({ format: 'pretty', write: (l) => pretty.push(l), now }), { backend: 'nodes' }).info('d', { n: 1 });
    expect(pretty).toEqual(['12:00:00.000 INFO  d backend=nodes n=1\n']);
  });

  it('withFields over any other logger copies its fields into each line', () => {
    const seen: unknown[] = [];
    const log = withFields(
      { debug: () => {}, info: (event, fields) => seen.push({ event, ...fields }), warn: () => {}, error: () => {} },
      { backend: 'nodes' },
    );
    withFields(log, { shard: 2 }).info('a', { backend: 'other' });
    expect(seen).toEqual([{ event: 'a', backend: 'other', shard: 2 }]);
  });

  it('writes readable single lines in pretty format, quoting anything unusual', () => {
    const lines: string[] = [];
    createLogger({ format: 'pretty', level: 'debug', write: (l) => lines.push(l), now }).warn('x', { name: 'a\rb', n: 3, ok: 'web-1' });
    expect(lines).toEqual(['12:00:00.000 WARN  x name="a\\rb" n=3 ok=web-1\n']);
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['3', 3000],
    ['1.5s', 1500],
    ['ten', Number.NaN],
    ['-1s', Number.NaN],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
