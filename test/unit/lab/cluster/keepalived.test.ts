import { describe, expect, it } from 'vitest';
import { keepalivedConfig, type KeepalivedSettings } from '../../../../src/lab/cluster/keepalived.js';

const settings: KeepalivedSettings = {
  routerId: 'lb1',
  device: 'eth0',
  address: '10.231.0.11',
  peers: ['10.231.0.12', '10.231.0.13'],
  vip: '10.231.0.10/24',
  vrid: 51,
  check: ['/app/ha/keepalived/check-balancer.sh', 'http://127.0.0.1:80/health', 'http://127.0.0.1:8404/;csv'],
  downFile: '/run/lb1/haproxy-down',
};

describe("the lab's keepalived.conf", () => {
  it('floats the VIP over unicast between BACKUP nodes of one priority, tracking the check and the down file', () => {
    const text = keepalivedConfig(settings);
    expect(text).toContain('unicast_src_ip 10.231.0.11');
    expect(text).toMatch(/unicast_peer \{\s+10\.231\.0\.12\s+10\.231\.0\.13\s+\}/);
    expect(text).toMatch(/virtual_ipaddress \{\s+10\.231\.0\.10\/24 dev eth0\s+\}/);
    expect(text).toContain('state BACKUP');
    expect(text).not.toContain('nopreempt');
    expect(text).toContain('script "/app/ha/keepalived/check-balancer.sh http://127.0.0.1:80/health http://127.0.0.1:8404/;csv"');
    expect(text).toMatch(/track_file haproxy_down \{\s+file \/run\/lb1\/haproxy-down\s+weight 0\s+\}/);
    expect(text).toMatch(/track_script \{\s+balancer_ready\s+\}/);
    // Adverts on time under load: the VRRP process is real-time, so a busy machine does not fake a dead holder.
    expect(text).toMatch(/global_defs \{[^}]*vrrp_rt_priority \d+/);
    expect(text).toMatch(/global_defs \{[^}]*vrrp_rlimit_rttime 200000\n/);
  });

  it('refuses values that would break out of the config (spaces, quotes, a bad address)', () => {
    expect(() => keepalivedConfig({ ...settings, check: ['/bin/sh -c "x"'] })).toThrow();
    expect(() => keepalivedConfig({ ...settings, peers: ['10.231.0.12 }'] })).toThrow();
    expect(() => keepalivedConfig({ ...settings, peers: [] })).toThrow();
  });
});
