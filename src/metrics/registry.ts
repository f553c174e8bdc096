/** Counters, gauges and histograms with labels, rendered in Prometheus' text format (pure). */
type Labels = Record<string, string>;

/** A label value as Prometheus' text format writes it; most values need no escaping and are returned as they are. */
const escape = (value: string) => (/[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value);

// Code-unit order (sort's default), not localeCompare: it runs for every counted event (thousands of lines for 1,000 joins).
const key = (labels: Labels) => {
  const names = Object.keys(labels).sort();
  let out = '';
  for (const name of names) out += `${out === '' ? '' : ','}${name}="${escape(labels[name] as string)}"`;
  return out;
};

interface Family {
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: Map<string, number>;
  buckets?: number[];
  histograms?: Map<string, { counts: number[]; sum: number; count: number }>;
}

export class Registry {
  private readonly families = new Map<string, Family>();

  private family(name: string, help: string, type: Family['type'], buckets?: number[]): Family {
    let family = this.families.get(name);
    if (!family) {
      family = { help, type, values: new Map(), ...(buckets ? { buckets, histograms: new Map() } : {}) };
      this.families.set(name, family);
    }
    return family;
  }

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const { values } = this.family(name, help, 'counter');
    const k = key(labels);
    values.set(k, (values.get(k) ?? 0) + by);
  }

  set(name: string, help: string, value: number, labels: Labels = {}): void {
    this.family(name, help, 'gauge').values.set(key(labels), value);
  }

  observe(name: string, help: string, value: number, buckets: number[], labels: Labels = {}): void {
    const family = this.family(name, help, 'histogram', buckets);
    const k = key(labels);
    const h = family.histograms!.get(k) ?? { counts: buckets.map(() => 0), sum: 0, count: 0 };
    buckets.forEach((bound, i) => {
      if (value <= bound) h.counts[i] = (h.counts[i] ?? 0) + 1;
    });
    h.sum += value;
    h.count += 1;
    family.histograms!.set(k, h);
  }

  get(name: string, labels: Labels = {}): number | undefined {
    return this.families.get(name)?.values.get(key(labels));
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.families) {
      lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`);
      for (const [labels, value] of family.values) lines.push(`${name}${labels ? `{${labels}}` : ''} ${value}`);
      for (const [labels, h] of family.histograms ?? []) {
        const prefix = labels ? `${labels},` : '';
        family.buckets!.forEach((bound, i) => lines.push(`${name}_bucket{${prefix}le="${bound}"} ${h.counts[i]}`));
        lines.push(
          `${name}_bucket{${prefix}le="+Inf"} ${h.count}`,
          `${name}_sum${labels ? `{${labels}}` : ''} ${h.sum}`,
          `${name}_count${labels ? `{${labels}}` : ''} ${h.count}`,
        );
      }
    }
    return `${lines.join('\n')}\n`;
  }
}
