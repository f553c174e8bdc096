import { describe, expect, it } from 'vitest';
import { createLogger, silentLogger, withFields } from '../../../src/log.js';
import { observe, type Health } from '../../../src/metrics/observe.js';
import { Registry } from '../../../src/metrics/registry.js';

describe('metrics', () => {
  it('renders counters, gauges and histograms in Prometheus text format, escaping label values', () => {
    const registry = new Registry();
    registry.inc('x_total', 'X things', { kind: 'a"b' });
    registry.inc('x_total', 'X things', { kind: 'a"b' }, 2);
    registry.set('up', 'Is it up', 1);
    registry.observe('wait_seconds', 'Waits', 0.3, [0.1, 0.5, 1]);
    expect(registry.render()).toBe(
      [
        '# HELP x_total X things',
        '# TYPE x_total counter',
        'x_total{kind="a\\"b"} 3',
        '# HELP up Is it up',
        '# TYPE up gauge',
        'up 1',
        '# HELP wait_seconds Waits',
        '# TYPE wait_seconds histogram',
        'wait_seconds_bucket{le="0.1"} 0',
        'wait_seconds_bucket{le="0.5"} 1',
        'wait_seconds_bucket{le="1"} 1',
        'wait_seconds_bucket{le="+Inf"} 1',
        'wait_seconds_sum 0.3',
        'wait_seconds_count 1',
        '',
      ].join('\n'),
    );
  });

  it('names a series by its labels in any order, escaping backslash, quote and line break', () => {
    const registry = new Registry();
    registry.inc('y_total', 'Y', { kind: 'k', backend: 'b\\1\n"x"' });
    registry.inc('y_total', 'Y', { backend: 'b\\1\n"x"', kind: 'k' });
    expect(registry.get('y_total', { kind: 'k', backend: 'b\\1\n"x"' })).toBe(2);
    expect(registry.render()).toContain('y_total{backend="b\\\\1\\n\\"x\\"",kind="k"} 2');
  });

  it("labels a reconciler's steps with the backend its logger puts on every line, or the line's own", () => {
    const registry = new Registry();
    const health: Health = { runtime: false, serf: false, configError: undefined, foreign: undefined, stale: undefined };
    const lines: string[] = [];
    const log = withFields(observe(createLogger({ write: (l) => lines.push(l) }), registry, health), { backend: 'nodes' });
    log.info('step.finished', { step: 'add' });
    log.info('step.finished', { step: 'add', backend: 'api' });
    log.error('step.failed', { step: 'del' });
    expect(registry.get('ha_agent_steps_total', { kind: 'add', backend: 'nodes' })).toBe(1);
    expect(registry.get('ha_agent_steps_total', { kind: 'add', backend: 'api' })).toBe(1);
    expect(registry.get('ha_agent_steps_failed_total', { kind: 'del', backend: 'nodes' })).toBe(1);
    expect(lines.map((l) => (JSON.parse(l) as { backend: string }).backend)).toEqual(['nodes', 'api', 'nodes']);
  });

  it('counts the agent log events, and tracks health from them', () => {
    const registry = new Registry();
    const health: Health = { runtime: false, serf: false, configError: undefined, foreign: undefined, stale: undefined };
    const log = observe(silentLogger, registry, health);
    log.info('serf.event', { type: 'member-join', members: ['a'] });
    log.warn('member.rejected', { member: '"a;b"', reason: 'name: must be 1-64 characters' });
    log.warn('member.rejected', { member: '"c"', reason: 'port: must be 1-65535' });
    log.info('step.finished', { step: 'add', command: 'add server …' });
    log.error('step.failed', { step: 'del' });
    log.info('drain.finished', { waitedMs: 1500 });
    log.info('runtime.connected', {});
    log.info('serf.connected', {});
    log.error('config.write-failed', { error: new Error('EROFS') });
    expect(registry.get('ha_agent_serf_events_total', { type: 'member-join' })).toBe(1);
    expect(registry.get('ha_agent_members_rejected_total', { reason: 'name' })).toBe(1);
    expect(registry.get('ha_agent_members_rejected_total', { reason: 'port' })).toBe(1);
    expect(registry.get('ha_agent_steps_total', { kind: 'add' })).toBe(1);
    expect(registry.get('ha_agent_steps_failed_total', { kind: 'del' })).toBe(1);
    expect(registry.render()).toContain('ha_agent_drain_seconds_sum{outcome="drained"} 1.5');
    expect(health).toEqual({ runtime: true, serf: true, configError: 'EROFS', foreign: undefined, stale: undefined });
    log.warn('serf.disconnected', {});
    expect(health.serf).toBe(false);
    expect(registry.get('ha_agent_serf_connected')).toBe(0);
  });

  it('tracks failing first checks by backend/server until one passes or its member leaves during the wait', () => {
    const registry = new Registry();
    const health: Health = { runtime: true, serf: true, configError: undefined, foreign: undefined, stale: undefined };
    const nodes = withFields(observe(silentLogger, registry, health), { backend: 'nodes' });
    const failing = { check: 'L7STS 404', message: '404 on /health: is --health-path right?' };
    nodes.warn('check.failing', { server: 'web-1', ...failing });
    nodes.warn('check.failing', { server: 'web-2', check: 'L4CON', message: 'connection refused' });
    nodes.warn('check.timeout', { server: 'web-1', ...failing }); // rolled back, retried: still failing
    expect([...health.failingChecks!]).toEqual([
      ['nodes/web-1', 'L7STS 404: 404 on /health: is --health-path right?'],
      ['nodes/web-2', 'L4CON: connection refused'],
    ]);
    expect(registry.get('ha_agent_checks_failing')).toBe(2);
    nodes.info('check.passed', { server: 'web-2' });
    nodes.info('check.abandoned', { server: 'web-1' });
    expect(health.failingChecks!.size).toBe(0);
    expect(registry.get('ha_agent_checks_failing')).toBe(0);
  });

  it("tracks another deployment's HAProxy and stale boot settings until a check clears them", () => {
    const registry = new Registry();
    const health: Health = { runtime: true, serf: true, configError: undefined, foreign: undefined, stale: undefined };
    const log = observe(silentLogger, registry, health);
    log.error('runtime.foreign', { address: 'tcp://127.0.0.1:9999', expected: 'ha-b', found: 'ha-a' });
    expect(health.foreign).toBe('HAProxy at tcp://127.0.0.1:9999 belongs to deployment ha-a, not ha-b');
    expect(registry.get('ha_agent_runtime_foreign')).toBe(1);
    log.info('runtime.verified', { deployment: 'ha-b', stale: true });
    log.warn('config.stale', { changes: ['backend.healthPath: /health → /'] });
    expect(health).toMatchObject({ foreign: undefined, stale: ['backend.healthPath: /health → /'] });
    expect(registry.get('ha_agent_runtime_foreign')).toBe(0);
    expect(registry.get('ha_agent_config_stale')).toBe(1);
    log.info('runtime.verified', { deployment: 'ha-b', stale: false });
    expect(health.stale).toBeUndefined();
    expect(registry.get('ha_agent_config_stale')).toBe(0);
  });

  it('labels step metrics with the backend, and tracks services whose backend HAProxy lacks until a check finds them', () => {
    const registry = new Registry();
    const health: Health = { runtime: true, serf: true, configError: undefined, foreign: undefined, stale: undefined };
    const log = observe(silentLogger, registry, health);
    log.info('step.finished', { backend: 'api', step: 'add' });
    log.info('step.finished', { backend: 'nodes', step: 'add' });
    expect(registry.get('ha_agent_steps_total', { backend: 'api', kind: 'add' })).toBe(1);
    log.warn('services.checked', { present: ['api'], missing: ['other'], apply: 'restart HAProxy' });
    expect(health.missing).toEqual({ services: ['other'], apply: 'restart HAProxy' });
    expect(registry.get('ha_agent_service_missing', { backend: 'other' })).toBe(1);
    expect(registry.get('ha_agent_service_missing', { backend: 'api' })).toBe(0);
    log.info('services.checked', { present: ['api', 'other'], missing: [] });
    expect(health.missing).toBeUndefined();
    expect(registry.get('ha_agent_service_missing', { backend: 'other' })).toBe(0);
    log.warn('member.unknown-service', { member: '"x"', service: '"nope"' });
    log.info('route.finished', { map: '/m', command: 'add map /m a/ api', answer: '' });
    log.error('route.failed', { map: '/m', error: new Error('no such map') });
    expect(registry.get('ha_agent_members_unknown_service_total')).toBe(1);
    log.info('services.unknown', { members: ['"x" (service "nope")'] });
    expect(health.unknown).toEqual(['"x" (service "nope")']);
    log.info('services.unknown', { members: [] });
    expect(health.unknown).toBeUndefined();
    expect(registry.get('ha_agent_route_steps_total', { outcome: 'applied' })).toBe(1);
    expect(registry.get('ha_agent_route_steps_total', { outcome: 'failed' })).toBeUndefined(); // a map read, not a command
  });
});
