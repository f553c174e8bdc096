import { describe, expect, it } from 'vitest';
import { alignTable } from '../../../src/cli/align.js';
import { answerTo, haproxyTranscript } from '../../helpers/fixtures.js';

const { transcript, backend } = haproxyTranscript();

/** Cuts each line after the header at the header's column starts: aligned lines give back every field exactly. */
function cells(aligned: string, headerAt: number): string[][] {
  const lines = aligned.replace(/\n$/, '').split('\n').slice(headerAt);
  const starts = [...lines[0]!.matchAll(/(?<=^# | {2})\S/g)].map((m) => m.index);
  return lines.map((line) => starts.map((start, i) => line.slice(start, starts[i + 1]).trimEnd()));
}

describe('alignTable over answers recorded from HAProxy 2.6', () => {
  it('pads show servers state into columns and keeps the version line', () => {
    const answer = answerTo(transcript, `show servers state ${backend}`);
    const aligned = alignTable(answer);
    const lines = aligned.split('\n');
    expect(lines[0]).toBe('1');
    expect(lines[1]).toMatch(/^# be_id {2}be_name {2}srv_id/);
    const fields = answer
      .replace(/\n+$/, '')
      .split('\n')
      .slice(1)
      .map((line) => line.replace(/^# /, '').split(' '));
    expect(cells(aligned, 1)).toEqual(fields);
  });

  it('pads show stat (comma-separated, trailing comma dropped)', () => {
    const answer = answerTo(transcript, `show stat ${backend} 4 -1`);
    const aligned = alignTable(answer);
    const fields = answer
      .replace(/\n+$/, '')
      .split('\n')
      .map((line) => line.replace(/^# /, '').split(',').slice(0, -1));
    expect(cells(aligned, 0)).toEqual(fields);
  });

  it('pads show servers conn, whose rows may carry a column more or fewer than the header', () => {
    const aligned = alignTable(answerTo(transcript, `show servers conn ${backend}`));
    expect(aligned).toMatch(/^# bkname\/svname {2}bkid\/svid/);
  });

  it.each([
    ['show info', answerTo(transcript, 'show info')],
    ['a refusal', 'No such server.\n'],
    ['a stick table', '# table: www, type: ip, size:100, used:1\n0x1: key=127.0.0.1 use=0 exp=56667 gpc0=0 http_req_cnt=1\n'],
    ['the list of maps', "# id (file) description\n2 (/x.map) pattern loaded from file '/x.map' used by map at file 'cfg' line 13.\n"],
  ])('leaves %s unchanged', (_, answer) => {
    expect(alignTable(answer)).toBe(answer);
  });
});
