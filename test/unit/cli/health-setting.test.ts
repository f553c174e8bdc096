import { describe, expect, it } from 'vitest';
import { healthSetting, type AgentConfig } from '../../../src/cli/agent-config.js';
import type { Service } from '../../../src/model/service.js';

const config = {
  base: {
    backend: { healthPath: '/' },
    services: [
      { name: 'api', healthPath: '/ready' },
      { name: 'admin', healthPath: '/' },
    ],
  },
} as unknown as Pick<AgentConfig, 'base'>;
const api: Service = { name: 'api', hosts: ['api.example'], paths: [], healthPath: '/ready' };
const admin: Service = { name: 'admin', hosts: [], paths: ['/admin'] };

describe('healthSetting: the path a failing check names', () => {
  it('is the configured one, with its flag, while HAProxy booted with it or its boot settings are unknown', () => {
    expect(healthSetting(config, undefined)).toEqual({ path: '/', setting: '--health-path' });
    expect(healthSetting(config, undefined, { 'backend.healthPath': '/' })).toEqual({ path: '/', setting: '--health-path' });
    expect(healthSetting(config, api)).toEqual({ path: '/ready', setting: '--services api:health=' });
    expect(healthSetting(config, admin, { 'service.admin': 'balance=roundrobin health=/ sticky=none' })).toEqual({
      path: '/',
      setting: '--health-path',
    });
  });

  it('is the path HAProxy booted with when that is another, saying when the configured one applies', () => {
    expect(healthSetting(config, undefined, { 'backend.healthPath': '/health' })).toEqual({
      path: '/health',
      setting: 'the path HAProxy booted with (--health-path / applies at its next boot)',
    });
    expect(healthSetting(config, api, { 'service.api': 'balance=roundrobin health=/health sticky=none' })).toEqual({
      path: '/health',
      setting: 'the path HAProxy booted with (--services api:health= /ready applies at its next boot)',
    });
  });
});
