import { describe, expect, it } from 'vitest';
import { parseServices, routeKeys } from '../../../src/model/service.js';

describe('parseServices (--services)', () => {
  it('reads entries separated by spaces or ;, with repeatable host= and path=', () => {
    expect(
      parseServices(
        'api:host=API.example,host=api2.example,path=/v1,port=8080 ; admin:path=/admin,health=/ok,balance=leastconn,sticky=cookie',
        'nodes',
      ),
    ).toEqual([
      { name: 'api', hosts: ['api.example', 'api2.example'], paths: ['/v1'], port: 8080 },
      { name: 'admin', hosts: [], paths: ['/admin'], healthPath: '/ok', balance: 'leastconn', sticky: 'cookie' },
    ]);
    expect(parseServices('', 'nodes')).toEqual([]);
    expect(parseServices('  ', 'nodes')).toEqual([]);
  });

  it.each([
    ['api', 'at least one host= or path='],
    ['api:host=a.example,color=blue', "'color=blue' is not one of"],
    ['api:host', "'host' is not one of"],
    ['api:host=a b', 'at least one'], // two entries: 'b' has no route
    ['api:host=bad_host', 'host name'],
    ['api:host=x.example/;shutdown', 'host name'],
    ['api:path=api', 'URL path'],
    ['api:path=/a%0a', 'URL path'],
    ['api:host=a.example,port=70000', '1-65535'],
    ['api:host=a.example,port=1,port=2', 'port= given twice'],
    ['api:host=a.example,balance=static-rr', 'balance'],
    ['a;b:host=a.example', 'at least one'],
    ['x/y:host=a.example', 'name'],
    ['nodes:host=a.example', 'the default backend'],
    ['api:host=a.example api:host=b.example', 'declared twice'],
    ['api:host=a.example web:host=a.example', 'both route a.example/'],
    ['api:path=/x web:path=/x', 'both route /x/'],
    ['api:path=/x web:path=/x/', 'both route /x/'], // the same prefix, element by element
  ])('refuses %j', (text, message) => {
    expect(() => parseServices(text, 'nodes')).toThrow(message);
  });

  it('keys a route by host and path prefix ending in one /, element by element: host/ when no path, the path key alone with no host', () => {
    expect(routeKeys({ hosts: ['a.example'], paths: [] })).toEqual(['a.example/']);
    expect(routeKeys({ hosts: ['a.example', 'b.example'], paths: ['/v1', '/v2/'] })).toEqual([
      'a.example/v1/',
      'a.example/v2/',
      'b.example/v1/',
      'b.example/v2/',
    ]);
    expect(routeKeys({ hosts: [], paths: ['/admin', '/Docs//', '/'] })).toEqual(['/admin/', '/Docs/', '/']);
    // One route, once: a service never clashes with itself.
    expect(routeKeys({ hosts: ['a.example', 'a.example'], paths: ['/api', '/api/'] })).toEqual(['a.example/api/']);
    expect(parseServices('api:host=a.example,path=/api,path=/api/', 'nodes').map(routeKeys)).toEqual([['a.example/api/']]);
  });
});
