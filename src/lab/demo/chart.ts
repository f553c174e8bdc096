/**
 * The demo's timeline as inline SVG (pure), drawn the same on the live page and in the report. The main panel is
 * what the users got: requests/s per server as the load's own clients saw them (the server that answered each
 * request), so a planned reload or a restart is drawn as it was for them. HAProxy's own counters stay beside it
 * in a smaller panel: they reset with each new HAProxy process, so there a reload looks like a dip to 0.
 */
import type { Outcome } from './load.js';
import type { Sample } from './monitor.js';

/** Where each phase starts: a finished phase's result, or the one running now. */
export interface PhaseMark {
  name: string;
  startedAt: number;
}

export interface ChartInput {
  startedAt: number;
  samples: readonly Sample[];
  outcomes: readonly Outcome[];
  phases: readonly PhaseMark[];
}

export const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

/** `web-1`, or `api/api-1` once servers of more than one backend show. */
export function serverLabels<T extends { backend: string; name: string }>(servers: readonly T[]): Array<T & { label: string }> {
  const several = new Set(servers.map((s) => s.backend)).size > 1;
  return servers.map((s) => ({ ...s, label: several ? `${s.backend}/${s.name}` : s.name }));
}

/** The users' view is counted in buckets this long (the monitor samples HAProxy as often). */
export const USER_BUCKET_MS = 500;

type Point = { at: number; rates: Map<string, number> };

/** Requests/s per answering server, from the load's own outcomes (failed ones are marked apart). */
export function userRates(outcomes: readonly Outcome[], startedAt: number, end: number): Point[] {
  const buckets = Math.max(1, Math.ceil((end - startedAt) / USER_BUCKET_MS));
  const counts = Array.from({ length: buckets }, () => new Map<string, number>());
  for (const o of outcomes) {
    if (!o.ok || o.by === '' || o.by === '?' || o.at < startedAt) continue;
    const bucket = counts[Math.min(buckets - 1, Math.floor((o.at - startedAt) / USER_BUCKET_MS))] as Map<string, number>;
    bucket.set(o.by, (bucket.get(o.by) ?? 0) + 1);
  }
  // The last bucket is still filling while the run goes on: it is not drawn.
  return counts.slice(0, -1).map((count, i) => ({
    at: startedAt + (i + 0.5) * USER_BUCKET_MS,
    rates: new Map([...count].map(([name, n]) => [name, n / (USER_BUCKET_MS / 1000)])),
  }));
}

/** Requests/s per server between consecutive samples of HAProxy's counters (a new process starts them at 0). */
export function counterRates(samples: readonly Sample[]): Point[] {
  const points: Point[] = [];
  for (let i = 1; i < samples.length; i += 1) {
    const previous = samples[i - 1] as Sample;
    const sample = samples[i] as Sample;
    const before = new Map(previous.servers.map((server) => [server.name, server.total]));
    const seconds = (sample.at - previous.at) / 1000;
    points.push({
      at: sample.at,
      rates: new Map(
        sample.servers.map((server) => [server.name, Math.max(0, (server.total - (before.get(server.name) ?? server.total)) / seconds)]),
      ),
    });
  }
  return points;
}

/** A label's width at font-size 10: ~5.2 px a character measured in chromium (DejaVu Sans), with a margin. */
const textWidth = (text: string) => [...text].length * 5.6 + 2;

export interface PlacedLabel {
  /** The phase's index. */
  phase: number;
  text: string;
  x: number;
  row: number;
  anchor: 'start' | 'end';
  from: number;
  to: number;
}

/**
 * Phase labels: each beside its own line (right, else left of it), in the first of `rows` rows where it overlaps no
 * other label and crosses no other phase's line; where the name has no such room, its number (the key below the
 * chart names it); where not even that fits, none (the line's tooltip names it).
 */
export function placeLabels(lines: readonly { x: number; name: string }[], left: number, right: number, rows = 4): PlacedLabel[] {
  const taken: Array<Array<[number, number]>> = Array.from({ length: rows }, () => []);
  const placed: PlacedLabel[] = [];
  lines.forEach(({ x, name }, phase) => {
    const others = lines.filter((_, i) => i !== phase).map((l) => l.x);
    const fits = (from: number, to: number, row: number) =>
      from >= left &&
      to <= right &&
      !others.some((o) => o >= from - 2 && o <= to + 2) &&
      !(taken[row] as Array<[number, number]>).some(([a, b]) => from < b + 4 && to > a - 4);
    for (const text of [name, String(phase + 1)]) {
      const width = textWidth(text);
      const options = [
        { anchor: 'start' as const, from: x + 3, to: x + 3 + width, at: x + 3 },
        { anchor: 'end' as const, from: x - 3 - width, to: x - 3, at: x - 3 },
      ];
      for (let row = 0; row < rows; row += 1) {
        const option = options.find((o) => fits(o.from, o.to, row));
        if (!option) continue;
        (taken[row] as Array<[number, number]>).push([option.from, option.to]);
        placed.push({ phase, text, x: option.at, row, anchor: option.anchor, from: option.from, to: option.to });
        return;
      }
    }
  });
  return placed;
}

/** The timeline as inline SVG, with its legend: requests/s per server as the users saw them, HAProxy's counters below. */
export function chart(input: ChartInput): { svg: string; legend: string } {
  const width = 1000;
  const pad = { left: 50, right: 20 };
  const band = { top: 20, rowHeight: 12, rows: 4 };
  const users = { top: band.top + band.rows * band.rowHeight + 6, height: 240 };
  const failRow = users.top + users.height + 10;
  const counters = { top: failRow + 30, height: 90 };
  const height = counters.top + counters.height + 26;
  // A loop, not Math.max(...): a long run has more outcomes than a call may take arguments.
  let end = input.startedAt + 1000;
  for (const s of input.samples) end = Math.max(end, s.at);
  for (const o of input.outcomes) end = Math.max(end, o.at);
  const x = (at: number) => pad.left + ((at - input.startedAt) / (end - input.startedAt)) * (width - pad.left - pad.right);
  const userPoints = userRates(input.outcomes, input.startedAt, end);
  const counterPoints = counterRates(input.samples);
  // One color per server in both panels; the legend names each server's backend once there is more than one.
  const labels = new Map(serverLabels(input.samples.flatMap((sample) => sample.servers)).map((s) => [s.name, s.label]));
  for (const point of userPoints) for (const name of point.rates.keys()) if (!labels.has(name)) labels.set(name, name);
  const names = [...labels.keys()];
  const color = (name: string) => colors[names.indexOf(name) % colors.length] as string;

  const stacked = (points: readonly Point[], panel: { top: number; height: number }) => {
    const peak = Math.max(10, ...points.map((p) => [...p.rates.values()].reduce((a, b) => a + b, 0)));
    const y = (rate: number) => panel.top + panel.height - (rate / peak) * panel.height;
    const lower = points.map(() => 0);
    const areas = names.map((name) => {
      const upper = points.map((p, j) => (lower[j] as number) + (p.rates.get(name) ?? 0));
      const top = points.map((p, j) => `${x(p.at).toFixed(1)},${y(upper[j] as number).toFixed(1)}`);
      const bottom = points.map((p, j) => `${x(p.at).toFixed(1)},${y(lower[j] as number).toFixed(1)}`).reverse();
      upper.forEach((value, j) => (lower[j] = value));
      const c = color(name);
      return points.length === 0
        ? ''
        : `<polygon points="${[...top, ...bottom].join(' ')}" fill="${c}" fill-opacity="0.75" stroke="${c}" stroke-width="0.5"><title>${escape(labels.get(name) ?? name)}</title></polygon>`;
    });
    const axis = [0, 0.5, 1].map(
      (f) =>
        `<text x="${pad.left - 6}" y="${(y(peak * f) + 4).toFixed(1)}" font-size="10" text-anchor="end">${(peak * f).toFixed(0)}</text>`,
    );
    const frame = `<rect x="${pad.left}" y="${panel.top}" width="${width - pad.left - pad.right}" height="${panel.height}" fill="#fafafa" stroke="#ddd"/>`;
    return [frame, ...axis, ...areas.filter((a) => a !== '')].join('\n');
  };

  const lineXs = input.phases.map((p) => ({ x: x(p.startedAt), name: p.name }));
  const placed = placeLabels(lineXs, pad.left, width - pad.right, band.rows);
  /** A phase's dashed line over a span of the chart: through the label band and the users' panel, then the counters'. */
  const dashed = (at: number, y1: number, y2: number, extra = '') =>
    `<line x1="${at.toFixed(1)}" x2="${at.toFixed(1)}" y1="${y1}" y2="${y2}" stroke="#999" stroke-dasharray="4 3"${extra}/>`;
  const phaseLines = lineXs.map(({ x: at, name }) =>
    dashed(at, band.top, users.top + users.height, ' class="phase"').replace('/>', `><title>${escape(name)}</title></line>`),
  );
  const phaseLabels = placed.map(
    (l) =>
      `<text x="${l.x.toFixed(1)}" y="${band.top + 9 + l.row * band.rowHeight}" font-size="10" fill="#333" text-anchor="${l.anchor}" class="phase-label" data-phase="${l.phase}" data-from="${l.from.toFixed(1)}" data-to="${l.to.toFixed(1)}">${escape(l.text)}</text>`,
  );
  const numbered = placed.filter((l) => l.text !== input.phases[l.phase]?.name);

  // Failed requests, one mark per 250 ms that had any, sized by how many.
  const buckets = new Map<number, { count: number; errors: Set<string> }>();
  for (const o of input.outcomes) {
    if (o.ok) continue;
    const key = Math.floor(o.at / 250) * 250;
    const bucket = buckets.get(key) ?? { count: 0, errors: new Set<string>() };
    bucket.count += 1;
    bucket.errors.add(o.error ?? `HTTP ${o.status}`);
    buckets.set(key, bucket);
  }
  const failures = [...buckets.entries()].map(
    ([at, b]) =>
      `<circle cx="${x(at + 125).toFixed(1)}" cy="${failRow}" r="${Math.min(7, 2 + Math.log2(b.count)).toFixed(1)}" fill="#d62728" class="failed"><title>${b.count} failed: ${escape([...b.errors].join('; '))}</title></circle>`,
  );
  const title = (y: number, text: string) => `<text x="${pad.left}" y="${y}" font-size="11" fill="#444">${escape(text)}</text>`;
  const seconds = ((end - input.startedAt) / 1000).toFixed(0);
  const key = numbered.map((l) => `${l.text} ${input.phases[l.phase]?.name ?? ''}`).join(' · ');
  return {
    legend: names.map((name) => `<span style="color:${color(name)}">■ ${escape(labels.get(name) ?? name)}</span>`).join(' '),
    svg: `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">
<g id="users">${stacked(userPoints, users)}</g>
${title(12, 'requests/s per server as the users saw them (the server that answered each request)')}
<g id="counters">${stacked(counterPoints, counters)}</g>
${title(counters.top - 6, "HAProxy's counters (per process: a reload or restart starts them at 0)")}
<g id="phase-lines">${phaseLines.join('\n')}</g>
${lineXs.map(({ x: at }) => dashed(at, counters.top, counters.top + counters.height)).join('\n')}
${phaseLabels.join('\n')}
${failures.join('\n')}
<text x="${width / 2}" y="${height - 8}" font-size="11" text-anchor="middle">seconds since start (${seconds} s in all)${key ? `; phases: ${escape(key)}` : ''}</text>
</svg>`,
  };
}
