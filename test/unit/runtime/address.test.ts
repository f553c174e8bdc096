import { describe, expect, it } from 'vitest';
import { parseRuntimeUrl } from '../../../src/runtime/address.js';

describe('parseRuntimeUrl', () => {
  it.each([
    ['tcp://127.0.0.1:9999', { kind: 'tcp', host: '127.0.0.1', port: 9999, url: 'tcp://127.0.0.1:9999' }],
    ['127.0.0.1:9999', { kind: 'tcp', host: '127.0.0.1', port: 9999, url: 'tcp://127.0.0.1:9999' }],
    ['tcp://[::1]:9999', { kind: 'tcp', host: '::1', port: 9999, url: 'tcp://[::1]:9999' }],
    ['unix:///run/haproxy/admin.sock', { kind: 'unix', path: '/run/haproxy/admin.sock', url: 'unix:///run/haproxy/admin.sock' }],
    ['/run/haproxy/admin.sock', { kind: 'unix', path: '/run/haproxy/admin.sock', url: 'unix:///run/haproxy/admin.sock' }],
  ])('reads %s', (text, address) => {
    expect(parseRuntimeUrl(text)).toEqual(address);
  });

  it.each(['tcp://127.0.0.1', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:70000', 'unix://relative.sock', 'http://x:1/', ''])(
    'refuses %j',
    (text) => {
      expect(() => parseRuntimeUrl(text)).toThrow(expect.objectContaining({ code: 'RUNTIME_INVALID_URL' }));
    },
  );
});
