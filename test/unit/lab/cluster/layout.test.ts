import { describe, expect, it } from 'vitest';
import { API_SERVICE, apiAddress, haSpec, webAddress, webSpec } from '../../../../src/lab/cluster/layout.js';
import { parseServices } from '../../../../src/model/service.js';

const options = { home: '/repo', stateDir: '/tmp/c', port: 8080 };

describe('the local cluster with a second service', () => {
  it('declares the api service in the balancer, as compose does', () => {
    expect(haSpec(options).env.HA_AGENT_SERVICES).toBe(API_SERVICE);
    expect(parseServices(API_SERVICE, 'nodes')).toEqual([{ name: 'api', hosts: ['api.localhost'], paths: [] }]);
  });

  it('tags api servers service=api on addresses of their own; web servers carry no service tag', () => {
    const api = webSpec(options, 2, 'api');
    expect(api).toMatchObject({ name: 'api-2', kind: 'api', address: '127.0.3.2' });
    expect(api.env).toMatchObject({ SERF_TAG_SERVICE: 'api', SERF_BIND: '127.0.3.2:7946', HOST: '127.0.3.2' });
    expect(webSpec(options, 2).env.SERF_TAG_SERVICE).toBeUndefined();
    expect(webSpec(options, 2).name).toBe('web-2');
    const addresses = new Set([
      ...Array.from({ length: 600 }, (_, i) => apiAddress(i + 1)),
      ...Array.from({ length: 600 }, (_, i) => webAddress(i + 1)),
    ]);
    expect(addresses.size).toBe(1200);
    expect(apiAddress(255)).toBe('127.0.4.1');
  });
});
