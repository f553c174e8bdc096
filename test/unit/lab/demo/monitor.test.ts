import { describe, expect, it } from 'vitest';
import { Monitor } from '../../../../src/lab/demo/monitor.js';

describe('the demo monitor', () => {
  it('forgets samples older than a time, keeping the rest for the rates', () => {
    const monitor = new Monitor('tcp://127.0.0.1:9'); // never started: no connection
    for (const at of [1000, 1500, 2000, 2500]) {
      monitor.samples.push({ at, process: '1@1', servers: [{ backend: 'nodes', name: 'web-1', status: 'UP', total: at }] });
    }
    monitor.forget(2000);
    expect(monitor.samples.map((s) => s.at)).toEqual([2000, 2500]);
    expect(monitor.rates().get('web-1')).toBe(1000);
    monitor.forget(9000);
    expect(monitor.samples).toEqual([]);
  });
});
