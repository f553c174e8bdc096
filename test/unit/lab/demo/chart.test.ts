import { describe, expect, it } from 'vitest';
import { chart, counterRates, placeLabels, userRates, USER_BUCKET_MS } from '../../../../src/lab/demo/chart.js';
import type { Outcome } from '../../../../src/lab/demo/load.js';
import type { Sample } from '../../../../src/lab/demo/monitor.js';

/** 20 s of load, 100 requests/s answered alternately by web-1 and web-2; HAProxy reloads at 10 s (its counters start at 0). */
function plannedReload(): { outcomes: Outcome[]; samples: Sample[] } {
  const outcomes: Outcome[] = [];
  for (let at = 0; at < 20_000; at += 10) {
    outcomes.push({ at, latencyMs: 1, ok: true, status: 200, by: at % 20 === 0 ? 'web-1' : 'web-2', keepAlive: true });
  }
  const samples: Sample[] = [];
  for (let at = 0; at <= 20_000; at += 500) {
    // The new worker's counters: what it served since 10 s.
    const served = at < 10_000 ? at / 20 : (at - 10_000) / 20;
    const process = at < 10_000 ? '1@1' : '2@11';
    samples.push({
      at,
      process,
      servers: [
        { backend: 'nodes', name: 'web-1', status: 'UP', total: served },
        { backend: 'nodes', name: 'web-2', status: 'UP', total: served },
      ],
    });
  }
  return { outcomes, samples };
}

describe('the demo chart', () => {
  it('draws what the users got: a planned reload shows no dip where HAProxy’s counters fall to 0', () => {
    const { outcomes, samples } = plannedReload();
    const users = userRates(outcomes, 0, 20_000);
    expect(users).toHaveLength(20_000 / USER_BUCKET_MS - 1);
    for (const point of users) expect([...point.rates.values()].reduce((a, b) => a + b, 0)).toBe(100);
    const counters = counterRates(samples);
    expect(Math.min(...counters.map((p) => [...p.rates.values()].reduce((a, b) => a + b, 0)))).toBe(0);
    const { svg, legend } = chart({ startedAt: 0, samples, outcomes, phases: [{ name: 'planned HAProxy reload', startedAt: 10_000 }] });
    expect(svg).toContain('<g id="users">');
    expect(svg).toContain('<g id="counters">');
    expect(svg).toContain('HAProxy&#39;s counters');
    expect(legend).toContain('■ web-1');
    expect(legend).toContain('■ web-2');
  });

  it('a failed request is not drawn as served: it is a red mark', () => {
    const outcomes: Outcome[] = [
      { at: 100, latencyMs: 1, ok: false, status: 0, by: '', error: 'ECONNRESET', keepAlive: true },
      { at: 200, latencyMs: 1, ok: true, status: 200, by: 'web-1', keepAlive: true },
    ];
    expect(userRates(outcomes, 0, 1_500)[0]?.rates).toEqual(new Map([['web-1', 2]]));
    expect(chart({ startedAt: 0, samples: [], outcomes, phases: [] }).svg).toContain('1 failed: ECONNRESET');
  });

  it('places phase labels so that none overlaps another or crosses another phase’s line, near the right edge too', () => {
    const names = [
      'scale 1 → 5',
      'scale 5 → 2',
      'SIGKILL a web server',
      'restart ha-agent',
      'planned HAProxy reload',
      'restart HAProxy (SIGKILL)',
    ];
    const xs = [60, 300, 700, 900, 930, 975];
    const lines = names.map((name, i) => ({ name, x: xs[i]! }));
    const placed = placeLabels(lines, 50, 980, 4);
    for (const label of placed) {
      for (const [i, { x }] of lines.entries()) if (i !== label.phase) expect(x < label.from - 2 || x > label.to + 2).toBe(true);
      for (const other of placed) {
        if (other === label || other.row !== label.row) continue;
        expect(label.to < other.from || label.from > other.to).toBe(true);
      }
      expect(label.from).toBeGreaterThanOrEqual(50);
      expect(label.to).toBeLessThanOrEqual(980);
    }
    // Every phase has a label; one squeezed between close lines gets its number (the chart's key names it).
    expect(placed.map((l) => l.phase).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(placed.find((l) => l.phase === 0)?.text).toBe('scale 1 → 5');
    const svg = chart({
      startedAt: 0,
      samples: [],
      outcomes: [{ at: 1_000, latencyMs: 1, ok: true, status: 200, by: 'web-1', keepAlive: true }],
      phases: names.map((name, i) => ({ name, startedAt: xs[i]! })),
    }).svg;
    expect(svg.match(/class="phase-label"/g)).toHaveLength(6);
  });
});
