/**
 * The driver commands beyond the agent's own — maps, ACLs, stick tables, weights, agent and health
 * checks, `show sess`/`show errors` — against a real HAProxy: the host's 2.6 by default, another
 * version with HAPROXY_BIN (scripts/haproxy-from-image.sh prints one for the image's 3.0).
 * Each change is read back through HAProxy itself, and maps and ACLs also through live traffic.
 */
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient, type TraceEvent } from '../../src/runtime/client.js';
import * as cmd from '../../src/runtime/commands.js';
import * as data from '../../src/runtime/data-commands.js';
import { haproxyBin, startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { freePort } from '../helpers/ports.js';
import { stopAll } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-data-'));
const hostsMap = path.join(dir, 'hosts.map');
const blockAcl = path.join(dir, 'block.acl');
let haproxy: TestHaproxy;
let client: RuntimeClient;
let lookupsPort: number;
const sent: TraceEvent[] = [];

/** One request on its own connection (no keep-alive: a pooled connection would keep its stick-table entry in use). */
function get(key: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port: lookupsPort, path: '/', agent: false, headers: { 'x-key': key, connection: 'close' } },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
  });
}

beforeAll(async () => {
  writeFileSync(hostsMap, 'a.example one\n');
  writeFileSync(blockAcl, '10.0.0.1\n');
  lookupsPort = await freePort();
  const [agentsServerPort, agentPort] = [await freePort(), await freePort()];
  haproxy = await startHaproxy({
    extraConfig: `
frontend lookups
    bind 127.0.0.1:${lookupsPort}
    stick-table type ip size 100 expire 10m store http_req_cnt,gpc0
    http-request track-sc0 src
    http-request deny deny_status 403 if { src -f ${blockAcl} }
    http-request return status 200 content-type text/plain lf-string "%[req.hdr(x-key),map(${hostsMap},none)]"

backend agents
    stick-table type string len 32 size 10
    server a1 127.0.0.1:${agentsServerPort} agent-check agent-port ${agentPort} agent-inter 60s
`,
  });
  client = new RuntimeClient({ url: haproxy.tcpUrl });
  client.on('trace', (event) => sent.push(event));
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await stopAll();
});

const sentSince = (mark: number) => sent.slice(mark).map((event) => event.command);

it('talks to the HAProxy binary under test (2.6 or 3.0)', () => {
  const printed = /HAProxy version (\S+)/.exec(execFileSync(haproxyBin, ['-v']).toString())?.[1];
  expect(client.version).toBe(printed);
  expect(client.version).toMatch(/^(2\.6|3\.0)\./);
});

describe('maps', () => {
  it('lists, adds, sets, deletes and clears entries, and traffic sees each change', async () => {
    const [listed] = (await client.maps()).filter((m) => m.file === hostsMap);
    expect(listed).toBeDefined();
    expect(await client.mapEntries(hostsMap)).toEqual([expect.objectContaining({ key: 'a.example', value: 'one' })]);

    // `;`, `\` and spaces are escaped for the CLI, and arrive as typed.
    const value = 'two words; a \\ backslash\\';
    await client.run(data.addMap(hostsMap, 'b.example', value));
    expect((await client.mapEntries(hostsMap)).find((e) => e.key === 'b.example')?.value).toBe(value);
    expect(await get('b.example')).toEqual({ status: 200, body: value });

    await client.run(data.setMap(`#${listed!.id}`, 'b.example', 'three'));
    expect((await get('b.example')).body).toBe('three');
    await client.run(data.addMap(hostsMap, 'b.example', 'shadowed'));
    const [first, second] = (await client.mapEntries(hostsMap)).filter((e) => e.key === 'b.example');
    await client.run(data.setMap(hostsMap, { ref: second!.ref }, 'changed'));
    expect((await client.mapEntries(hostsMap)).filter((e) => e.key === 'b.example').map((e) => e.value)).toEqual(['three', 'changed']);
    await client.run(data.delMap(hostsMap, { ref: first!.ref }));
    expect((await get('b.example')).body).toBe('changed');
    await client.run(data.delMap(hostsMap, 'b.example'));
    expect((await get('b.example')).body).toBe('none');

    await client.run(data.clearMap(hostsMap));
    expect(await client.mapEntries(hostsMap)).toEqual([]);
  });

  it('round-trips any printable key and value exactly', async () => {
    const key = fc.string({ minLength: 1, maxLength: 40 }).filter((k) => !/\s/.test(k) && !k.startsWith('#'));
    const value = fc.string({ minLength: 1, maxLength: 80 });
    await fc.assert(
      fc.asyncProperty(key, value, async (k, v) => {
        await client.run(data.addMap(hostsMap, k, v));
        const entries = await client.mapEntries(hostsMap);
        expect(entries).toEqual([expect.objectContaining({ key: k, value: v })]);
        await client.run(data.delMap(hostsMap, { ref: entries[0]!.ref }));
      }),
      { numRuns: 60 },
    );
  });

  it('judges refusals into codes, and never sends a value that could start another command', async () => {
    await expect(client.run(data.delMap(hostsMap, 'missing'))).rejects.toMatchObject({ code: 'RUNTIME_NO_SUCH_ENTRY' });
    await expect(client.run(data.setMap(hostsMap, 'missing', 'x'))).rejects.toMatchObject({ code: 'RUNTIME_NO_SUCH_ENTRY' });
    await expect(client.run(data.showMap('/no/such.map'))).rejects.toMatchObject({ code: 'RUNTIME_NO_SUCH_MAP' });
    await expect(client.run(data.addMap('#99999', 'k', 'v'))).rejects.toMatchObject({ code: 'RUNTIME_NO_SUCH_MAP' });
    const mark = sent.length;
    for (const build of [
      () => data.addMap(hostsMap, 'k', 'v\nclear map ' + hostsMap),
      () => data.addMap(hostsMap, 'k', 'v\rdel server nodes/x'),
      () => data.addMap(hostsMap, 'two words', 'v'),
      () => data.delMap(hostsMap, '#0x1'),
      () => data.showMap('hosts.map;show info'),
    ]) {
      expect(build).toThrow(expect.objectContaining({ code: 'RUNTIME_INVALID_ARGUMENT' }));
    }
    expect(sentSince(mark)).toEqual([]);
  });
});

describe('ACLs', () => {
  it('adds a pattern that traffic obeys, deletes it, clears, and judges refusals', async () => {
    expect((await client.acls()).some((a) => a.file === blockAcl)).toBe(true);
    expect((await get('x')).status).toBe(200);
    await client.run(data.addAcl(blockAcl, '127.0.0.1'));
    expect((await client.aclEntries(blockAcl)).map((e) => e.pattern)).toEqual(['10.0.0.1', '127.0.0.1']);
    expect((await get('x')).status).toBe(403);
    await client.run(data.delAcl(blockAcl, '127.0.0.1'));
    expect((await get('x')).status).toBe(200);

    await expect(client.run(data.delAcl(blockAcl, '127.0.0.1'))).rejects.toMatchObject({ code: 'RUNTIME_NO_SUCH_ENTRY' });
    await expect(client.run(data.addAcl(blockAcl, 'not an address'))).rejects.toMatchObject({ code: 'RUNTIME_COMMAND_REJECTED' });
    await expect(client.run(data.showAcl('/no/such.acl'))).rejects.toMatchObject({ code: 'RUNTIME_NO_SUCH_ACL' });
    const [entry] = await client.aclEntries(blockAcl);
    await client.run(data.delAcl(blockAcl, { ref: entry!.ref }));
    await client.run(data.addAcl(blockAcl, '10.0.0.2'));
    await client.run(data.clearAcl(blockAcl));
    expect(await client.aclEntries(blockAcl)).toEqual([]);
  });
});

describe('stick tables', () => {
  it('shows entries by key and by data filter, and clears them', async () => {
    await get('x');
    const tables = await client.tables();
    expect(tables).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'lookups', type: 'ip', size: 100 }),
        expect.objectContaining({ name: 'agents', type: 'string' }),
      ]),
    );
    // The entry is in use until HAProxy has closed the request's session.
    const [entry] = await waitFor('the entry is no longer in use', async () => {
      const { entries } = await client.table('lookups');
      return entries[0]?.use === 0 ? entries : undefined;
    });
    expect(entry).toMatchObject({ key: '127.0.0.1', data: { gpc0: '0', http_req_cnt: expect.stringMatching(/^[1-9]\d*$/) } });
    expect((await client.table('lookups', { key: '127.0.0.1' })).entries).toHaveLength(1);
    // A key with no entry gets no answer at all, not even the table's header.
    expect(await client.table('lookups', { key: '127.0.0.9' })).toEqual({ table: undefined, entries: [] });
    expect(
      (
        await client.table('lookups', [
          { data: 'gpc0', op: 'eq', value: 0 },
          { data: 'http_req_cnt', op: 'ge', value: 1 },
        ])
      ).entries,
    ).toHaveLength(1);
    expect((await client.table('lookups', { data: 'http_req_cnt', op: 'gt', value: 1_000_000 })).entries).toHaveLength(0);
    expect((await client.table('agents', { key: 'a;b\\c' })).entries).toEqual([]);

    await client.run(data.clearTable('lookups', { data: 'http_req_cnt', op: 'gt', value: 1_000_000 }));
    expect((await client.table('lookups')).table?.used).toBe(1);
    await client.run(data.clearTable('lookups', { key: '127.0.0.1' }));
    expect((await client.table('lookups')).entries).toEqual([]);
    await get('x');
    await waitFor('entry idle', async () => (await client.table('lookups')).entries[0]?.use === 0);
    await client.run(data.clearTable('lookups'));
    expect((await client.table('lookups')).table?.used).toBe(0);

    await expect(client.run(data.showTable('nope'))).rejects.toMatchObject({ code: 'RUNTIME_NO_SUCH_TABLE' });
    await expect(client.run(data.showTable('lookups', { data: 'nope', op: 'eq', value: 0 }))).rejects.toMatchObject({
      code: 'RUNTIME_COMMAND_REJECTED',
    });
  });
});

describe('server weights, agent and health checks', () => {
  it('sets the weight and the agent check, and judges servers without one', async () => {
    await client.run(cmd.setWeight('agents', 'a1', 7));
    expect((await client.serversState('agents'))[0]).toMatchObject({ name: 'a1', userWeight: 7 });

    await client.run(cmd.enableAgent('agents', 'a1'));
    const agentPort = await freePort();
    await client.run(cmd.setAgentAddr('agents', 'a1', '127.0.0.3', agentPort));
    expect((await client.serversState('agents'))[0]).toMatchObject({ agentAddress: '127.0.0.3', agentPort });
    await client.run(cmd.setAgentPort('agents', 'a1', agentPort + 1));
    expect((await client.serversState('agents'))[0]?.agentPort).toBe(agentPort + 1);
    await client.run(cmd.setAgentSend('agents', 'a1', 'weight please; now'));
    await client.run(cmd.setAgent('agents', 'a1', 'up'));
    await client.run(cmd.disableAgent('agents', 'a1'));
    await expect(client.run(cmd.setAgentPort('agents', 'a1', agentPort))).rejects.toMatchObject({ code: 'RUNTIME_AGENT_NOT_ENABLED' });

    await client.run(cmd.setHealth('agents', 'a1', 'up'));
    await client.run(cmd.disableHealth('agents', 'a1'));

    const spec = { address: '127.0.0.1', port: 1, weight: 1 };
    await client.run(cmd.addServer(haproxy.backend, 'no-agent', spec));
    await expect(client.run(cmd.enableAgent(haproxy.backend, 'no-agent'))).rejects.toMatchObject({ code: 'RUNTIME_AGENT_NOT_CONFIGURED' });
    await client.run(cmd.delServer(haproxy.backend, 'no-agent'));
  });

  it('pipelines mutations, each judged on its own', async () => {
    const results = await client.runMany([
      cmd.setWeight('agents', 'a1', 11),
      cmd.setWeight('agents', 'ghost', 11),
      data.addMap(hostsMap, 'p', 'q'),
      data.showMap(hostsMap),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'RUNTIME_NO_SUCH_SERVER' });
    expect((results[3] as PromiseFulfilledResult<string>).value).toMatch(/ p q$/);
    expect((await client.serversState('agents'))[0]?.userWeight).toBe(11);
  });
});

describe('raw dumps', () => {
  it('shows sessions and captured errors as HAProxy prints them', async () => {
    expect(await client.run(data.showSess())).toMatch(/proto=/);
    expect(await client.run(data.showErrors())).toMatch(/^Total events captured/);
  });
});
