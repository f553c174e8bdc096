import { describe, expect, it } from 'vitest';
import {
  checkPassedOrPending,
  declaredChecks,
  describeCheckFailure,
  describeHttpCheck,
  passes,
  type HttpCheck,
} from '../../../src/model/check.js';
import * as defaultTemplate from '../../../src/render/default-template.js';
import { precompiledTemplate, renderer } from '../../../src/render/template.js';
import { defaultServerPolicy } from '../../../src/model/server.js';

const target = { path: '/health', endpoint: '10.0.0.1:3000', pathSetting: '--health-path' };

describe('describeCheckFailure: which path answered what, as show stat reports it (HAProxy 2.6)', () => {
  it.each([
    [{ status: 'L7STS', code: '404', description: 'Layer7 wrong status' }, 'L7STS 404', '404 on /health: is --health-path right?'],
    [
      { status: 'L7STS', code: '503', description: 'Layer7 wrong status' },
      'L7STS 503',
      '503 on /health: the app answers its health path with an error (is it ready?)',
    ],
    [
      { status: 'L4CON', code: '', description: 'Layer4 connection problem' },
      'L4CON',
      'connection refused at 10.0.0.1:3000: is the app listening on that port (Serf tag port, --default-port)?',
    ],
    [
      { status: 'L4TOUT', code: '', description: 'Layer4 timeout' },
      'L4TOUT',
      'no connection to 10.0.0.1:3000 within the check timeout: is the address reachable from HAProxy?',
    ],
    [
      { status: 'L7TOUT', code: '', description: 'Layer7 timeout' },
      'L7TOUT',
      'no answer on /health within the check timeout: the app took the connection but did not answer',
    ],
    [
      { status: 'L7RSP', code: '', description: 'Layer7 invalid response' },
      'L7RSP',
      'not an HTTP answer on /health: is an HTTP server on 10.0.0.1:3000?',
    ],
    [
      { status: 'L6RSP', code: '', description: 'Layer6 invalid response' },
      'L6RSP',
      'L6RSP (Layer6 invalid response) on /health at 10.0.0.1:3000',
    ],
  ])('%o', (result, check, message) => {
    expect(checkPassedOrPending(result)).toBe(false);
    expect(describeCheckFailure(result, target)).toEqual({ check, message });
  });

  it('names the service setting that sets the path', () => {
    const failure = describeCheckFailure(
      { status: 'L7STS', code: '404', description: '' },
      { ...target, pathSetting: '--services api:health=' },
    );
    expect(failure.message).toBe('404 on /health: is --services api:health= right?');
  });

  it('has nothing to report for a passing or pending check', () => {
    for (const status of ['', 'INI', 'L7OK', 'L4OK', 'L6OK'])
      expect(checkPassedOrPending({ status, code: '', description: '' })).toBe(true);
    // A server re-added a moment ago: `show stat` says L7STS before any answer came.
    expect(checkPassedOrPending({ status: 'L7STS', code: '0', description: '' })).toBe(true);
    expect(checkPassedOrPending({ status: 'L7STS', code: '404', description: '' })).toBe(false);
  });
});

describe('declaredChecks: each backend check of a config', () => {
  it("reads the default template's check for the default backend and each service", () => {
    const render = renderer(precompiledTemplate(defaultTemplate.spec));
    const text = render({
      runtime: { tcp: '127.0.0.1:9999' },
      frontend: { bind: '*:80' },
      backend: { name: 'nodes', balance: 'roundrobin', healthPath: '/nope' },
      services: [{ name: 'api', balance: 'roundrobin', healthPath: '/ready' }],
      routing: { hosts: '/tmp/h.map', paths: '/tmp/p.map' },
      policy: defaultServerPolicy,
      servers: [],
    });
    const checks = declaredChecks(text);
    expect(checks.get('nodes')).toMatchObject({ method: 'GET', path: '/nope' });
    expect(describeHttpCheck(checks.get('nodes') as HttpCheck)).toBe('GET /nope expecting status 200');
    expect(checks.get('api')).toMatchObject({ method: 'GET', path: '/ready' });
  });

  it('follows defaults, http-check send, expect lists and ranges; names what it cannot judge', () => {
    const checks = declaredChecks(
      [
        'defaults',
        '    option httpchk /ping',
        'backend inherits',
        '    balance roundrobin',
        'backend sends',
        '    option httpchk GET /a',
        '    http-check send meth HEAD uri /b ver HTTP/1.1',
        '    http-check expect status 200-299,301',
        'backend negated',
        '    option httpchk GET /',
        '    http-check expect ! status 500',
        'backend body',
        '    option httpchk GET /',
        '    http-check expect string ok',
        'defaults',
        '    mode tcp',
        'backend tcp',
        '    server s 127.0.0.1:1 check',
      ].join('\n'),
    );
    const inherits = checks.get('inherits') as HttpCheck;
    expect(inherits).toMatchObject({ method: 'OPTIONS', path: '/ping' });
    expect([200, 302, 404].map((code) => passes(inherits, code))).toEqual([true, true, false]);
    const sends = checks.get('sends') as HttpCheck;
    expect(sends).toMatchObject({ method: 'HEAD', path: '/b' });
    expect([200, 299, 301, 302].map((code) => passes(sends, code))).toEqual([true, true, true, false]);
    expect([200, 500].map((code) => passes(checks.get('negated') as HttpCheck, code))).toEqual([true, false]);
    expect(checks.get('body')).toEqual({ unsupported: "http-check expect string ok (only 'status' is judged here)" });
    expect(checks.get('tcp')).toEqual({ unsupported: 'no option httpchk (TCP checks)' });
  });
});
