import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Fields, Logger } from '../../../src/log.js';
import { applyHint, OwnershipCheck } from '../../../src/reconcile/ownership.js';
import type { BootSettings } from '../../../src/render/identity.js';
import { parseInfo } from '../../../src/runtime/parse.js';

const ours = { deployment: 'ha-b', settings: 'bbbbbbbbbbbb' };
const settings: BootSettings = { 'backend.healthPath': '/' };

/** A stand-in for the Runtime API client: `show info` answers as HAProxy 2.6 prints them. */
function fakeClient() {
  const client = Object.assign(new EventEmitter(), {
    address: { url: 'tcp://127.0.0.1:9999' },
    description: undefined as string | undefined,
    pid: 100,
    asked: 0,
    info: async () => {
      client.asked += 1;
      return parseInfo(`Name: HAProxy\nPid: ${client.pid}\n${client.description ? `description: ${client.description}\n` : ''}`);
    },
  });
  return client;
}

function recorder() {
  const lines: { level: string; event: string; fields: Fields }[] = [];
  const at =
    (level: string) =>
    (event: string, fields: Fields = {}) =>
      void lines.push({ level, event, fields });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { lines, log };
}

function check(
  client: ReturnType<typeof fakeClient>,
  log: Logger,
  recorded: BootSettings | undefined = { 'backend.healthPath': '/health' },
  probeNextBoot?: () => Promise<{ failing: string[]; lost: string[] }>,
) {
  return new OwnershipCheck({
    client,
    identity: ours,
    settings,
    recorded: async () => recorded,
    apply: applyHint('/x.cfg'),
    configOut: '/x.cfg',
    ...(probeNextBoot ? { probeNextBoot } : {}),
    log,
  });
}

describe('OwnershipCheck', () => {
  it("refuses another deployment's HAProxy, logs it once, and asks again on every pass until its own answers", async () => {
    const client = fakeClient();
    const { lines, log } = recorder();
    const ownership = check(client, log);
    client.description = 'ha-agent deployment=ha-a settings=aaaaaaaaaaaa';
    expect(await ownership.allows()).toBe(false);
    expect(await ownership.allows()).toBe(false);
    expect(client.asked).toBe(2);
    expect(lines).toEqual([
      {
        level: 'error',
        event: 'runtime.foreign',
        fields: expect.objectContaining({ address: 'tcp://127.0.0.1:9999', pid: 100, expected: 'ha-b', found: 'ha-a' }),
      },
    ]);
    client.pid = 200;
    client.description = 'ha-agent deployment=ha-b settings=bbbbbbbbbbbb';
    client.emit('connected');
    expect(await ownership.allows()).toBe(true);
    expect(await ownership.allows()).toBe(true);
    expect(client.asked).toBe(3); // once verified, not asked again until the next connect
    expect(lines.at(-1)).toEqual({
      level: 'info',
      event: 'runtime.verified',
      fields: { address: 'tcp://127.0.0.1:9999', pid: 200, deployment: 'ha-b', stale: false },
    });
  });

  it('drives an HAProxy whose config carries no identity', async () => {
    const client = fakeClient();
    const { lines, log } = recorder();
    expect(await check(client, log).allows()).toBe(true);
    expect(lines).toEqual([
      { level: 'info', event: 'runtime.verified', fields: expect.objectContaining({ deployment: null, stale: false }) },
    ]);
  });

  it('drives its own HAProxy on old boot settings, and names them old → new once per process', async () => {
    const client = fakeClient();
    const { lines, log } = recorder();
    const ownership = check(client, log);
    client.description = 'ha-agent deployment=ha-b settings=cccccccccccc';
    expect(await ownership.allows()).toBe(true);
    client.emit('connected'); // the same process again: nothing new to say
    expect(await ownership.allows()).toBe(true);
    const stale = lines.filter((l) => l.event === 'config.stale');
    expect(stale).toEqual([
      {
        level: 'warn',
        event: 'config.stale',
        fields: {
          address: 'tcp://127.0.0.1:9999',
          pid: 100,
          changes: ['backend.healthPath: /health → /'],
          nextBoot: expect.stringMatching(
            /^HAProxy's next boot reads \/x\.cfg and uses backend\.healthPath \/: .*s6.* checks nothing first$/,
          ),
          apply: expect.stringContaining('ha-agent reload'),
        },
      },
    ]);
  });

  it('says what the next boot would do to the servers UP now when a check setting changed', async () => {
    const client = fakeClient();
    const { lines, log } = recorder();
    let probed = 0;
    const failing = ['nodes: GET / expecting status 200 fails on 1 of 1 servers UP now: web-1 (127.0.0.2:3000 answered 404)'];
    const ownership = check(client, log, undefined, async () => {
      probed += 1;
      return { failing, lost: ['nodes'] };
    });
    client.description = 'ha-agent deployment=ha-b settings=cccccccccccc';
    expect(await ownership.allows()).toBe(true);
    // Unrecorded old values name only fingerprints: the template or a check may have changed, so it is tried.
    await new Promise((resolve) => setImmediate(resolve));
    expect(probed).toBe(1);
    expect(lines.find((l) => l.event === 'config.next-boot')).toEqual({
      level: 'warn',
      event: 'config.next-boot',
      fields: { pid: 100, failing, lost: ['nodes'], what: expect.stringContaining('would put every server of nodes DOWN') },
    });
  });

  it('tries no check when only a setting outside the checks changed', async () => {
    const client = fakeClient();
    const { lines, log } = recorder();
    let probed = 0;
    const ownership = check(client, log, { 'backend.healthPath': '/', 'frontend.bind': '*:81' }, async () => {
      probed += 1;
      return { failing: [], lost: [] };
    });
    client.description = 'ha-agent deployment=ha-b settings=cccccccccccc';
    expect(await ownership.allows()).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.some((l) => l.event === 'config.stale')).toBe(true);
    expect(probed).toBe(0);
  });

  it('changes nothing while HAProxy cannot be asked', async () => {
    const client = fakeClient();
    client.info = async () => {
      throw new Error('RUNTIME_DISCONNECTED');
    };
    const { lines, log } = recorder();
    expect(await check(client, log).allows()).toBe(false);
    expect(lines).toEqual([]);
  });
});
