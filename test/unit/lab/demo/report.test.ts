import { describe, expect, it } from 'vitest';
import { frame, htmlReport, lastCommands, liveFragment, plainLine, summaryTable } from '../../../../src/lab/demo/report.js';
import { CookieJar, sessionsIn, summarise, type Outcome } from '../../../../src/lab/demo/load.js';
import { verdict } from '../../../../src/lab/demo/scenario.js';
import { frameState, phaseResult, reportInput } from './fixtures.js';

const result = phaseResult;

describe('demo outputs', () => {
  it('judges the phases: graceful ones lose nothing, only the HAProxy reload and restart phases may see a new process', () => {
    expect(
      verdict([
        result('scale 1 → 5'),
        result('planned HAProxy reload', { newHaproxy: true, haproxyProcesses: 1 }),
        result('restart HAProxy (SIGKILL)', { graceful: false, failed: 9, haproxyProcesses: 1, newHaproxy: true }),
      ]),
    ).toEqual([]);
    expect(
      verdict([result('scale 5 → 2', { failed: 2, errors: ['read ECONNRESET'] }), result('scale 2 → 4', { haproxyProcesses: 1 })]),
    ).toEqual(['scale 5 → 2: 2 failed requests (read ECONNRESET)', 'scale 2 → 4: HAProxy reloaded or restarted 1 time(s)']);
    const lost = { users: 8, kept: 6, renewed: 2, movedFrom: ['web-3', 'web-3'] };
    expect(verdict([result('scale 1 → 5', { sessions: lost }), result('scale 5 → 2', { keepsSessions: false, sessions: lost })])).toEqual([
      'scale 1 → 5: 2 users lost their session',
    ]);
  });

  it('counts the users who kept their session in a window: a session is new when its sessionViews did not grow', () => {
    const o = (at: number, user: number, views: number, by: string, ok = true): Outcome => ({
      at,
      latencyMs: 1,
      ok,
      status: ok ? 200 : 0,
      by,
      keepAlive: true,
      user,
      views,
    });
    const outcomes: Outcome[] = [
      o(1, 0, 1, 'web-1'),
      o(2, 1, 4, 'web-2'),
      { at: 5, latencyMs: 1, ok: true, status: 200, by: 'web-1', keepAlive: false }, // anonymous: not a user
      o(10, 0, 2, 'web-1'),
      o(11, 1, 1, 'web-3'), // web-2 left: a new session on web-3
      o(12, 2, 1, 'web-3'), // a user's first request: not a lost session
      o(13, 1, 9, 'web-3', false), // a failed request does not count
      o(30, 0, 1, 'web-2'), // after the window
    ];
    expect(sessionsIn(outcomes, 10, 20)).toEqual({ users: 3, kept: 2, renewed: 1, movedFrom: ['web-2'] });
    expect(sessionsIn(outcomes, 21, 40)).toEqual({ users: 1, kept: 0, renewed: 1, movedFrom: ['web-1'] });
  });

  it('keeps cookies like a browser: set, replaced, removed when empty or expired', () => {
    const jar = new CookieJar();
    jar.store(['NODESESSID=abc; Path=/; HttpOnly', 'SERVERID=0123456789abcdef; path=/']);
    expect(jar.header()).toBe('NODESESSID=abc; SERVERID=0123456789abcdef');
    jar.store(['SERVERID=fedcba9876543210; path=/']);
    expect(jar.header()).toBe('NODESESSID=abc; SERVERID=fedcba9876543210');
    jar.store(['SERVERID=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/', 'NODESESSID=abc; Expires=Thu, 01-Jan-1970 00:00:01 GMT']);
    expect(jar.header()).toBe('');
  });

  it('prints the summary table', () => {
    expect(
      summaryTable(
        [
          result('scale 1 → 5'),
          result('restart HAProxy (SIGKILL)', { graceful: false, failed: 9, haproxyProcesses: 1, convergeMs: 0, newHaproxy: true }),
        ],
        'the change',
      ),
    ).toBe(
      [
        'phase                      requests  failed  p50 ms  p99 ms      reloads  converged in  sessions kept  new',
        'scale 1 → 5                     100       0     0.7     5.3            0        1.50 s            8/8    0',
        'restart HAProxy (SIGKILL)       100       9     0.7     5.3  restart (1)             -            8/8    0',
        "converged in: from the change (other phases: from the kill, reload or restart) to HAProxy's backend holding exactly the running web servers, all UP",
        '',
      ].join('\n'),
    );
  });

  it('summarises outcomes with percentiles and distinct errors', () => {
    const outcomes: Outcome[] = [1, 2, 3, 4, 100].map((latencyMs, i) => ({
      at: i,
      latencyMs,
      ok: i !== 4,
      status: i === 4 ? 0 : 200,
      by: 'a',
      keepAlive: true,
      ...(i === 4 ? { error: 'ECONNREFUSED' } : {}),
    }));
    expect(summarise(outcomes)).toEqual({ requests: 5, failed: 1, errors: ['ECONNREFUSED'], p50: 3, p99: 100 });
  });

  it('picks the last runtime commands from the agent log', () => {
    const lines = [
      '{"event":"step.finished","command":"add server nodes/web-1 127.0.0.11:3000","answer":"New server registered."}',
      'not json',
      '{"event":"check.passed","server":"web-1"}',
      '{"event":"step.finished","command":"set server nodes/web-1 state ready","answer":""}',
    ];
    expect(lastCommands(lines)).toEqual([
      'add server nodes/web-1 127.0.0.11:3000  → New server registered.',
      'set server nodes/web-1 state ready  → (done)',
    ]);
  });

  it('draws a frame and a plain line', () => {
    const state = {
      label: 'local cluster',
      frontendUrl: 'http://127.0.0.1:8080',
      elapsedMs: 12_300,
      phase: 'scale 1 → 5',
      servers: [{ backend: 'nodes', name: 'web-1', status: 'UP', rate: 420.4 }],
      totalRate: 420.4,
      requests: 5000,
      failed: 0,
      process: '42@1795600000',
      commands: ['set server nodes/web-1 state ready  → (done)'],
    };
    expect(frame(state)).toContain('  web-1          UP            420 req/s');
    expect(frame(state)).toContain('total 420 req/s   requests 5000   failed 0   HAProxy 42@1795600000');
    expect(plainLine(state)).toBe('[12.3s] scale 1 → 5 | 420 req/s, 5000 requests, 0 failed | web-1=UP\n');
  });

  it('writes one self-contained HTML file with an inline SVG, escaping names', () => {
    const html = htmlReport(
      reportInput({
        samples: [
          { at: 0, process: '1@1', servers: [{ backend: 'nodes', name: '<web-1>', status: 'UP', total: 0 }] },
          { at: 1000, process: '1@1', servers: [{ backend: 'nodes', name: '<web-1>', status: 'UP', total: 500 }] },
        ],
        outcomes: [{ at: 500, latencyMs: 1, ok: false, status: 0, by: '', error: 'ECONNREFUSED', keepAlive: false }],
        results: [result('scale 1 → 5', { startedAt: 0 })],
      }),
    );
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(html).toContain('&#60;web-1&#62;');
    expect(html).not.toContain('<web-1>');
    expect(html).toContain('1 failed: ECONNREFUSED');
    expect(html).toContain('converged in: from the change');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it("renders the live page's body with the report's chart, the servers' states and the commands, escaped", () => {
    const state = frameState({
      elapsedMs: 5_000,
      servers: [
        { backend: 'nodes', name: '<web-1>', status: 'UP', rate: 120 },
        { backend: 'nodes', name: 'web-2', status: 'MAINT (resolution)', rate: 0 },
      ],
      totalRate: 120,
      requests: 600,
      failed: 3,
      process: '42@1',
      commands: ['add server nodes/web-2 127.0.0.12:3000  → New server registered.'],
    });
    const input = {
      frame: state,
      startedAt: 0,
      samples: [
        { at: 0, process: '42@1', servers: [{ backend: 'nodes', name: '<web-1>', status: 'UP', total: 0 }] },
        { at: 1000, process: '42@1', servers: [{ backend: 'nodes', name: '<web-1>', status: 'UP', total: 120 }] },
      ],
      outcomes: [{ at: 700, latencyMs: 1, ok: false, status: 0, by: '', error: 'ECONNRESET', keepAlive: true }],
      phases: [{ name: 'scale 1 → 5', startedAt: 200 }],
    };
    const html = liveFragment(input);
    expect(html).toContain('<b>scale 1 → 5</b>');
    expect(html).toContain('<tr class="state-up"><td>&#60;web-1&#62;</td><td>UP</td><td>120</td></tr>');
    expect(html).toContain('<tr class="state-maint"><td>web-2</td>');
    expect(html).toContain('<li><code>add server nodes/web-2 127.0.0.12:3000  → New server registered.</code></li>');
    expect(html).toContain('<circle'); // the failed request's mark, as in the report
    expect(html).toContain('1 failed: ECONNRESET');
    expect(html).not.toContain('<web-1>');
    expect(html).not.toContain('<h2>Phases</h2>');
    const done = liveFragment({ ...input, done: { results: [result('scale 1 → 5')], problems: [] } });
    expect(done).toContain('<b>finished</b>');
    expect(done).toContain('<h2>Phases</h2>');
    expect(done).toContain(
      'Every graceful phase: 0 failed requests; no HAProxy reload but the planned one; every phase where no server left: 0 sessions lost.',
    );
    expect(done).toContain('<td>8 of 8</td><td>0</td>');
  });
});
