/** The new checks tried on the servers UP now: which servers answer what, and when a backend would lose them all. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsLost, describeProbe, probeChecks, type BackendProbe } from '../../../src/reload/probe.js';
import { ADMIN, CHECK_RESULT, OP_STATE, type ServerStateRow } from '../../../src/runtime/parse.js';

let server: http.Server;
let port: number;

beforeAll(async () => {
  // Serves /health only; anything else is a 404.
  server = http.createServer((request, response) => {
    response.statusCode = request.url === '/health' && request.method === 'GET' ? 200 : 404;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const row = (name: string, extra: Partial<ServerStateRow> = {}): ServerStateRow => ({
  backend: 'nodes',
  name,
  address: '127.0.0.1',
  port,
  opState: OP_STATE.RUNNING,
  adminState: 0,
  userWeight: 100,
  checkResult: CHECK_RESULT.PASSED,
  checkState: 0x04,
  agentState: 0,
  fqdn: '-',
  agentAddress: '-',
  agentPort: 0,
  ...extra,
});
const config = (path: string) => `backend nodes\n    option httpchk GET ${path}\n    http-check expect status 200\n`;

describe('probeChecks', () => {
  it('asks each server UP (not DOWN, not in MAINT) what the check would ask, and judges the answer', async () => {
    const rows = [row('web-1'), row('down', { opState: OP_STATE.STOPPED }), row('maint', { adminState: ADMIN.FMAINT })];
    const [ok] = await probeChecks(config('/health'), rows, ['nodes'], 1000);
    expect(ok).toEqual({
      backend: 'nodes',
      check: 'GET /health expecting status 200',
      servers: [{ server: 'web-1', endpoint: `127.0.0.1:${port}`, verdict: 'pass', answer: '200' }],
    });
    const [wrong] = await probeChecks(config('/ready'), rows, ['nodes'], 1000);
    expect(wrong?.servers).toEqual([{ server: 'web-1', endpoint: `127.0.0.1:${port}`, verdict: 'fail', answer: '404' }]);
    expect(backendsLost([wrong!])).toEqual([wrong]);
    expect(describeProbe(wrong!)).toBe(
      `nodes: GET /ready expecting status 200 fails on 1 of 1 servers UP now: web-1 (127.0.0.1:${port} answered 404)`,
    );
  });

  it('does not judge a server it cannot reach, nor a backend without an HTTP check', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = http.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const probes = await probeChecks(
      `${config('/ready')}backend tcp\n    balance roundrobin\n`,
      [row('web-1', { port: closed }), row('t', { backend: 'tcp' })],
      ['nodes', 'tcp'],
      1000,
    );
    expect(probes).toEqual([
      { backend: 'nodes', check: 'GET /ready expecting status 200', servers: [expect.objectContaining({ verdict: 'unreachable' })] },
      { backend: 'tcp', check: 'not tried: no option httpchk (TCP checks)', servers: [] },
    ]);
    expect(backendsLost(probes)).toEqual([]);
  });
});

describe('backendsLost', () => {
  const probe = (...verdicts: Array<'pass' | 'fail' | 'unreachable'>): BackendProbe => ({
    backend: 'nodes',
    check: 'GET / expecting status 200',
    servers: verdicts.map((verdict, i) => ({ server: `web-${i}`, endpoint: `10.0.0.${i}:3000`, verdict, answer: '' })),
  });
  it.each([
    [['fail', 'fail'], true],
    [['fail', 'pass'], false],
    [['fail', 'unreachable'], false], // one this host cannot reach may still pass in HAProxy
    [[], false], // nothing UP now: nothing to lose
  ] as const)('%o → lost: %s', (verdicts, lost) => {
    expect(backendsLost([probe(...verdicts)]).length > 0).toBe(lost);
  });
});
