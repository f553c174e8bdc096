import { describe, expect, it } from 'vitest';
import { actualServers, adminMode } from '../../../src/reconcile/actual.js';
import { parseServersState, parseStat } from '../../../src/runtime/parse.js';
import { answerTo, haproxyTranscript } from '../../helpers/fixtures.js';

const { transcript, backend } = haproxyTranscript();

describe('actualServers over answers recorded from HAProxy 2.6', () => {
  it('sees a ready server with a passing check, its weight and sessions', () => {
    const servers = actualServers(
      backend,
      parseServersState(answerTo(transcript, `show servers state ${backend}`, 0)),
      parseStat(answerTo(transcript, `show stat ${backend} 4 -1`, 1)),
    );
    expect(servers.get('s1')).toMatchObject({
      mode: 'ready',
      checkEnabled: true,
      checkPassed: true,
      running: true,
      weight: 50,
      sessions: 0,
      queue: 0,
    });
    expect(servers.get('s1')?.status).toMatch(/^UP/);
  });

  it('sees a draining server', () => {
    const servers = actualServers(backend, parseServersState(answerTo(transcript, `show servers state ${backend}`, 1)), []);
    expect(servers.get('s1')?.mode).toBe('drain');
  });

  it('ignores other backends', () => {
    expect(actualServers('other', parseServersState(answerTo(transcript, `show servers state ${backend}`, 0)), []).size).toBe(0);
  });

  it.each([
    [0, 'ready'],
    [1, 'maint'], // FMAINT: a new dynamic server
    [4, 'ready'], // CMAINT alone: a filled template slot
    [5, 'maint'], // FMAINT|CMAINT: an empty template slot
    [8, 'drain'],
    [12, 'drain'],
    [0x20, 'maint'],
  ])('reads admin state %d as %s', (bits, mode) => {
    expect(adminMode(bits)).toBe(mode);
  });
});
