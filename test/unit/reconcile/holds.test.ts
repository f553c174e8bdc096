import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Server } from '../../../src/model/server.js';
import { emptyLedger, heldStates, judgeHolds, type BackendLedger } from '../../../src/reconcile/holds.js';
import { LedgerStore, recordedHolds } from '../../../src/reconcile/ledger.js';
import { plan } from '../../../src/reconcile/plan.js';
import { dynamicMode } from '../../../src/reconcile/plan-mode.js';
import { actualServer as actual } from '../../helpers/fixtures.js';

const server = (name: string, extra: Partial<Server> = {}): Server => ({ name, address: '127.0.0.2', port: 3000, weight: 100, ...extra });
const map = <T extends { name: string }>(...items: T[]) => new Map(items.map((i) => [i.name, i]));
const ledger = (own: Record<string, string> = {}, holds: BackendLedger['holds'] = new Map()): BackendLedger => ({
  own: new Map(Object.entries(own)),
  holds,
});

describe('judgeHolds: a person’s MAINT or DRAIN, told from the agent’s own', () => {
  it('takes a MAINT or DRAIN the agent did not set for a hold, with since when', () => {
    const { next, started } = judgeHolds(
      map(actual('a', { mode: 'maint' }), actual('b', { mode: 'drain' }), actual('c')),
      emptyLedger(),
      new Set(),
      5000,
    );
    expect(started).toEqual([
      { server: 'a', state: 'maint', since: 5000 },
      { server: 'b', state: 'drain', since: 5000 },
    ]);
    expect(heldStates(next)).toEqual(
      new Map([
        ['a', 'maint'],
        ['b', 'drain'],
      ]),
    );
  });

  it('never takes the agent’s own transitional state for a hold: in flight, or recorded (a restart mid-join)', () => {
    const servers = map(actual('joining', { mode: 'maint' }), actual('recorded', { mode: 'maint' }), actual('draining', { mode: 'drain' }));
    const { next, started } = judgeHolds(servers, ledger({ recorded: 'join', draining: 'remove' }), new Set(['joining']), 0);
    expect(started).toEqual([]);
    expect([...next.own.keys()]).toEqual(['recorded', 'draining']);
  });

  it('forgets an own entry once the server is ready or gone (and nothing runs for it)', () => {
    const { next } = judgeHolds(map(actual('ready')), ledger({ ready: 'join', gone: 'remove' }), new Set(), 0);
    expect(next.own.size).toBe(0);
  });

  it('keeps a hold and its start across reads; ends it when a person sets the server ready, or it is deleted', () => {
    const holds = new Map([
      ['kept', { state: 'maint' as const, since: 1 }],
      ['readied', { state: 'maint' as const, since: 2 }],
      ['deleted', { state: 'drain' as const, since: 3 }],
    ]);
    const { next, started, released } = judgeHolds(
      map(actual('kept', { mode: 'maint' }), actual('readied')),
      ledger({}, holds),
      new Set(),
      10,
    );
    expect(started).toEqual([]);
    expect(next.holds).toEqual(new Map([['kept', { state: 'maint', since: 1 }]]));
    expect(released).toEqual([
      { server: 'readied', heldMs: 8, why: 'ready' },
      { server: 'deleted', heldMs: 7, why: 'deleted' },
    ]);
  });

  it('a held drain that HAProxy booted with (weight 0 in the rendered file) is still held', () => {
    const holds = new Map([['a', { state: 'drain' as const, since: 1 }]]);
    const { next, released } = judgeHolds(map(actual('a', { weight: 0 })), ledger({}, holds), new Set(), 10);
    expect(released).toEqual([]);
    expect(heldStates(next)).toEqual(new Map([['a', 'drain']]));
  });
});

describe('plan with holds', () => {
  it('keeps a held server as the person set it while its member is alive: no resume', () => {
    const held = new Map([
      ['a', 'maint' as const],
      ['b', 'drain' as const],
    ]);
    expect(plan(map(server('a'), server('b')), map(actual('a', { mode: 'maint' }), actual('b', { mode: 'drain' })), { held })).toEqual([]);
  });

  it('still updates the address and weight of a held server', () => {
    const [action] = plan(map(server('a', { weight: 7, port: 3001 })), map(actual('a', { mode: 'maint' })), {
      held: new Map([['a', 'maint']]),
    });
    expect(action).toMatchObject({ kind: 'update' });
    expect(action?.steps).toEqual([
      { kind: 'set-addr', address: '127.0.0.2', port: 3001 },
      { kind: 'set-weight', weight: 7 },
    ]);
    expect(action?.rollback).toBeUndefined();
  });

  it('still removes a held server whose member left', () => {
    const [action] = plan(new Map(), map(actual('a', { mode: 'maint' })), { held: new Map([['a', 'maint']]) });
    expect(action).toMatchObject({ kind: 'remove' });
    expect(action?.steps.map((s) => s.kind)).toEqual(['shutdown-sessions', 'del']);
  });

  it('restores a held drain HAProxy booted with at weight 0: drain first, then the weight', () => {
    const [action] = plan(map(server('a')), map(actual('a', { weight: 0 })), { held: new Map([['a', 'drain']]) });
    expect(action?.steps).toEqual([
      { kind: 'set-state', state: 'drain' },
      { kind: 'set-weight', weight: 100 },
    ]);
  });

  it('renders a held server held for the next boot: MAINT disabled, DRAIN at weight 0', () => {
    const held = new Map([
      ['a', 'maint' as const],
      ['b', 'drain' as const],
    ]);
    const { persisted } = dynamicMode.plan(map(server('a'), server('b'), server('c')), new Map(), { held });
    expect(persisted).toEqual([{ ...server('a'), disabled: true }, { ...server('b'), weight: 0 }, server('c')]);
  });
});

describe('LedgerStore', () => {
  it('writes what it holds beside the config, reads it back, and status reads the holds', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-ledger-'));
    const file = path.join(dir, 'haproxy.cfg.ledger.json');
    const store = new LedgerStore(file);
    store.get('nodes').own.set('w1', 'join');
    store.get('nodes').holds.set('w2', { state: 'maint', since: 42 });
    await store.save();
    const again = new LedgerStore(file);
    expect(await again.load()).toBeUndefined();
    expect(again.get('nodes')).toEqual(store.get('nodes'));
    expect(await recordedHolds(path.join(dir, 'haproxy.cfg'))).toEqual(
      new Map([['nodes', new Map([['w2', { state: 'maint', since: 42 }]])]]),
    );
  });

  it('reports a damaged file and starts empty; a name that could not be a server is refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-ledger-'));
    const file = path.join(dir, 'l.json');
    writeFileSync(file, JSON.stringify({ backends: { nodes: { own: { 'a;b': 'join' }, holds: {} } } }));
    const store = new LedgerStore(file);
    expect(await store.load()).toMatch(/must be/);
    expect(store.get('nodes').own.size).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('a;b');
  });
});
