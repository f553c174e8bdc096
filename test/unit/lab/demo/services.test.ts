import { describe, expect, it } from 'vitest';
import { serviceWindows, type Outcome } from '../../../../src/lab/demo/load.js';
import type { Sample } from '../../../../src/lab/demo/monitor.js';
import { frame, htmlReport, serviceSummaries, summaryTable } from '../../../../src/lab/demo/report.js';
import { scenario, scenarioFor, verdict, type PhaseResult } from '../../../../src/lab/demo/scenario.js';
import { frameState, phaseResult, reportInput } from './fixtures.js';

const backends = new Map([
  ['web', 'nodes'],
  ['api', 'api'],
] as const);

const answer = (at: number, by: string, service?: 'api', ok = true): Outcome => ({
  at,
  latencyMs: 1,
  ok,
  status: ok ? 200 : 0,
  by: ok ? by : '',
  keepAlive: true,
  ...(service ? { service } : {}),
});

const sample = (at: number, servers: Array<[string, string]>): Sample => ({
  at,
  process: '1@1',
  servers: servers.map(([backend, name]) => ({ backend, name, status: 'UP', total: 0 })),
});

const phase = (name: string, extra: Partial<PhaseResult>): PhaseResult =>
  phaseResult(name, {
    startedAt: 0,
    endedAt: 10,
    requests: 0,
    p50: 1,
    p99: 2,
    convergeMs: 0,
    sessions: { users: 0, kept: 0, renewed: 0, movedFrom: [] },
    ...extra,
  });

describe('the demo with a second service', () => {
  it('adds api scale phases, N → N+2 → N, after the web servers’ scale phases; none without api servers', () => {
    expect(scenarioFor(0)).toBe(scenario);
    const names = scenarioFor(2).map((p) => p.name);
    expect(names.slice(1, 6)).toEqual(['scale 1 → 5', 'scale 5 → 2', 'scale 2 → 4', 'scale api 2 → 4', 'scale api 4 → 2']);
    expect(names).toHaveLength(scenario.length + 2);
    expect(
      scenarioFor(1)
        .filter((p) => p.step.kind === 'scale' && p.step.service === 'api')
        .map((p) => p.step),
    ).toEqual([
      { kind: 'scale', service: 'api', to: 3 },
      { kind: 'scale', service: 'api', to: 1 },
    ]);
  });

  it('adds a graceful rolling update after the scale phases (api ones included) for a driver that has one (Swarm)', () => {
    const names = scenarioFor(2, true).map((p) => p.name);
    expect(names.slice(4, 8)).toEqual([
      'scale api 2 → 4',
      'scale api 4 → 2',
      'rolling update of the web servers',
      'SIGKILL one web server',
    ]);
    expect(scenarioFor(0, true).find((p) => p.step.kind === 'rolling-update')).toMatchObject({ graceful: true, keepsSessions: false });
    expect(scenarioFor(0, true)).toHaveLength(scenario.length + 1);
  });

  it("counts each service's requests, and as misrouted those answered by a server HAProxy lists under another backend", () => {
    const samples = [
      sample(0, [
        ['nodes', 'web-1'],
        ['api', 'api-1'],
      ]),
      sample(8, [
        ['nodes', 'web-1'],
        ['nodes', 'web-2'],
        ['api', 'api-1'],
      ]),
    ];
    const outcomes = [
      answer(1, 'web-1'),
      answer(2, 'web-2'),
      answer(3, 'api-1', 'api'),
      answer(4, 'web-1', 'api'), // a request for api answered by a web server
      answer(5, 'api-1'), // and one for the web servers answered by api
      answer(6, 'web-9'), // a server HAProxy was never seen to list: not counted
      answer(7, '', 'api', false),
      answer(20, 'web-1', 'api'), // after the window
    ];
    expect(serviceWindows(outcomes, samples, backends, 0, 10)).toEqual([
      { service: 'web', backend: 'nodes', servers: 2, requests: 4, failed: 0, errors: [], p50: 1, p99: 1, misrouted: 1 },
      { service: 'api', backend: 'api', servers: 1, requests: 3, failed: 1, errors: ['HTTP 0'], p50: 1, p99: 1, misrouted: 1 },
    ]);
  });

  it('fails the demo on a misrouted request, even in a phase allowed to fail requests', () => {
    const services = (misrouted: number) => [
      { service: 'web' as const, backend: 'nodes', servers: 1, requests: 10, failed: 0, errors: [], p50: 1, p99: 1, misrouted: 0 },
      { service: 'api' as const, backend: 'api', servers: 2, requests: 5, failed: 0, errors: [], p50: 1, p99: 1, misrouted },
    ];
    expect(verdict([phase('scale api 2 → 4', { services: services(0) })])).toEqual([]);
    expect(verdict([phase('SIGKILL one web server', { graceful: false, failed: 3, services: services(2) })])).toEqual([
      'SIGKILL one web server: 2 api requests misrouted',
    ]);
  });

  it("shows each service's backend in the summary and the HTML report: servers, requests, failed, misrouted, converged in", () => {
    const window = (service: 'web' | 'api', servers: number, requests: number, failed = 0) => ({
      service,
      backend: service === 'web' ? 'nodes' : 'api',
      servers,
      requests,
      failed,
      errors: [],
      p50: 1,
      p99: 1,
      misrouted: 0,
    });
    const results = [
      phase('scale 1 → 5', { requests: 30, scaled: 'web', convergeMs: 1200, services: [window('web', 5, 20), window('api', 2, 10)] }),
      phase('scale api 2 → 4', { requests: 30, scaled: 'api', convergeMs: 800, services: [window('web', 5, 20), window('api', 4, 10)] }),
      phase('SIGKILL one web server', {
        graceful: false,
        requests: 31,
        failed: 1,
        services: [window('web', 4, 20, 1), window('api', 4, 11)],
      }),
    ];
    expect(serviceSummaries(results)).toEqual([
      { service: 'web', backend: 'nodes', servers: '4–5', requests: 60, failed: 1, misrouted: 0, convergedIn: '1.20 s' },
      { service: 'api', backend: 'api', servers: '2–4', requests: 31, failed: 0, misrouted: 0, convergedIn: '0.80 s' },
    ]);
    const text = summaryTable(results, 'the change');
    expect(text).toContain('phase                   requests  failed  misrouted');
    expect(text).toContain('service  backend  servers  requests  failed  misrouted  converged in (its scale phases)');
    expect(text).toContain('web      nodes        4–5        60       1          0                           1.20 s');
    expect(text).toContain('api      api          2–4        31       0          0                           0.80 s');
    const html = htmlReport(
      reportInput({
        samples: [
          sample(0, [
            ['nodes', 'web-1'],
            ['api', 'api-1'],
          ]),
        ],
        results,
      }),
    );
    expect(html).toContain('<h2>Services</h2>');
    expect(html).toContain('<tr class=""><td>api</td><td>api</td><td>2–4</td><td>31</td><td>0</td><td>0</td><td>0.80 s</td></tr>');
    expect(html).toContain('■ api/api-1');
    // One service: no services table, no misrouted column (the report as it was).
    expect(summaryTable([phase('scale 1 → 5', {})], 'x')).not.toContain('misrouted');
  });

  it("names each server's backend in the live frame once there are two", () => {
    const state = frameState({
      phase: 'scale api 2 → 4',
      servers: [
        { backend: 'nodes', name: 'web-1', status: 'UP', rate: 100 },
        { backend: 'api', name: 'api-1', status: 'UP', rate: 50 },
      ],
      totalRate: 150,
      requests: 10,
    });
    expect(frame(state)).toContain('  nodes/web-1    UP            100 req/s');
    expect(frame(state)).toContain('  api/api-1      UP             50 req/s');
  });
});
