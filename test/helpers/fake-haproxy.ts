/**
 * An in-memory stand-in for one HAProxy backend behind the Runtime API, for unit tests of the
 * stateful core only (integration tests run the real haproxy). It keeps the states the agent
 * reads and changes, answers the commands the agent sends with HAProxy's rules (a new server
 * starts in MAINT, only a MAINT server without connections can be deleted), and lets a test
 * refuse a command, drop the connection or restart the process at any point.
 */
import type { RuntimeApi } from '../../src/reconcile/runtime-api.js';
import type { Command } from '../../src/runtime/commands.js';
import { RuntimeError, type RuntimeErrorCode } from '../../src/runtime/errors.js';
import { ADMIN, CHECK_RESULT, OP_STATE, type ServerStateRow, type StatRow } from '../../src/runtime/parse.js';

export interface FakeServer {
  name: string;
  address: string;
  port: number;
  weight: number;
  mode: 'ready' | 'drain' | 'maint';
  checkEnabled: boolean;
  sessions: number;
  /** Sessions HAProxy ever gave the server (`stot`): a test raises it to show a sticky user's new request. */
  sessionsTotal: number;
  /**
   * Streams waiting to be redispatched from the server (HAProxy's connect-retry turn-around): counted in no
   * session or queue, but listed by `show sess`; `shutdown sessions` kills them. A test sets it.
   */
  streams?: number;
}

interface Refusal {
  match: RegExp;
  code: RuntimeErrorCode;
  times: number;
}

export class FakeHaproxy implements RuntimeApi {
  readonly servers = new Map<string, FakeServer>();
  /** Every mutation sent, in order, whether HAProxy accepted it or not. */
  readonly sent: string[] = [];
  /** Endpoints (`address:port`) whose health check passes once checks are enabled. */
  readonly healthy = new Set<string>();
  /**
   * How the check of an endpoint that is not healthy fails, as `show stat` says it (default L4CON), and HAProxy's
   * number for that status in `show servers state` (`srv_check_status`).
   */
  readonly failures = new Map<string, { status: string; code: string; number: number }>();
  connected = true;
  pid = 100;
  version = '2.6.12-1+deb12u1';
  /** Runs after each accepted mutation: the place to change the world "mid-action". */
  afterCommand: ((text: string) => void) | undefined;
  private readonly refusals: Refusal[] = [];

  constructor(readonly backend = 'nodes') {}

  /** A server HAProxy already has (booted from the config), ready and checked. */
  boot(name: string, address: string, port: number, options: Partial<FakeServer> = {}): void {
    this.servers.set(name, {
      name,
      address,
      port,
      weight: 100,
      mode: 'ready',
      checkEnabled: true,
      sessions: 0,
      sessionsTotal: 0,
      ...options,
    });
    this.healthy.add(`${address}:${port}`);
  }

  /** The next `times` commands matching `match` are refused with `code`. */
  refuse(match: RegExp, code: RuntimeErrorCode, times = 1): void {
    this.refusals.push({ match, code, times });
  }

  /** A new process from the rendered config: a new Pid, and only the servers the config lists. */
  restart(config: Array<{ name: string; address: string; port: number; weight: number }>): void {
    this.pid += 1;
    this.servers.clear();
    for (const s of config) this.boot(s.name, s.address, s.port, { weight: s.weight });
  }

  async run(command: Command): Promise<string> {
    await Promise.resolve();
    this.assertConnected(command.text);
    if (command.text === 'show sess') return this.showSess();
    if (!command.mutation) throw new Error(`the fake answers no read '${command.text}' through run()`);
    this.sent.push(command.text);
    const refusal = this.refusals.find((r) => r.times > 0 && r.match.test(command.text));
    if (refusal) {
      refusal.times -= 1;
      throw new RuntimeError(refusal.code, `HAProxy refused '${command.text}'`, { command: command.text, answer: 'refused by the test' });
    }
    const answer = this.apply(command.text);
    this.afterCommand?.(command.text);
    return answer;
  }

  async serversState(backend: string): Promise<ServerStateRow[]> {
    await Promise.resolve();
    this.assertConnected(`show servers state ${backend}`);
    return [...this.servers.values()].map((s) => ({
      backend: this.backend,
      name: s.name,
      address: s.address,
      port: s.port,
      opState: this.up(s) ? OP_STATE.RUNNING : OP_STATE.STOPPED,
      adminState: s.mode === 'maint' ? ADMIN.FMAINT : s.mode === 'drain' ? ADMIN.FDRAIN : 0,
      userWeight: s.weight,
      checkResult: !s.checkEnabled ? CHECK_RESULT.UNKNOWN : this.passing(s) ? CHECK_RESULT.PASSED : CHECK_RESULT.FAILED,
      checkStatus: !s.checkEnabled || this.passing(s) ? 0 : (this.failure(s)?.number ?? 8),
      checkState: s.checkEnabled ? 0x04 : 0,
      agentState: 0,
      agentAddress: '-',
      agentPort: 0,
      fqdn: '-',
    }));
  }

  async stat(backend: string): Promise<StatRow[]> {
    await Promise.resolve();
    this.assertConnected(`show stat ${backend}`);
    return [...this.servers.values()].map((s) => ({
      backend: this.backend,
      name: s.name,
      queue: 0,
      sessions: s.sessions,
      status: s.mode === 'maint' ? 'MAINT' : s.mode === 'drain' ? 'DRAIN' : this.up(s) ? 'UP' : 'DOWN',
      weight: s.weight,
      checkStatus: this.passing(s) ? 'L7OK' : (this.failure(s)?.status ?? 'L4CON'),
      checkRunning: false,
      checkCode: this.passing(s) ? '200' : (this.failure(s)?.code ?? ''),
      checkDescription: '',
      address: `${s.address}:${s.port}`,
      sessionsTotal: s.sessionsTotal,
      lastSessionSec: s.sessionsTotal > 0 ? 0 : -1,
    }));
  }

  /** One line per stream, as HAProxy 2.6 prints them (this command's own stream first). */
  private showSess(): string {
    const line = (i: number, be: string, srv: string) =>
      `0x${i.toString(16)}: proto=tcpv4 src=127.0.0.1:4000${i} fe=www be=${be} srv=${srv} ts=00`;
    const lines = ['0x1: proto=tcpv4 src=127.0.0.1:9999 fe=GLOBAL be=<NONE> srv=<none> ts=00'];
    for (const s of this.servers.values()) {
      for (let i = 0; i < s.sessions + (s.streams ?? 0); i += 1) lines.push(line(lines.length + 1, this.backend, s.name));
    }
    return `${lines.join('\n')}\n`;
  }

  private failure(s: FakeServer) {
    return this.failures.get(`${s.address}:${s.port}`);
  }

  private passing(s: FakeServer): boolean {
    return s.checkEnabled && this.healthy.has(`${s.address}:${s.port}`);
  }

  private up(s: FakeServer): boolean {
    return s.mode !== 'maint' && this.passing(s);
  }

  private assertConnected(text: string): void {
    if (!this.connected) throw new RuntimeError('RUNTIME_DISCONNECTED', `not connected; '${text}' was not sent`, { command: text });
  }

  private server(ref: string, text: string): FakeServer {
    const name = ref.slice(ref.indexOf('/') + 1);
    const server = this.servers.get(name);
    if (!server) throw new RuntimeError('RUNTIME_NO_SUCH_SERVER', `no such server ${ref}`, { command: text, answer: 'No such server.' });
    return server;
  }

  private apply(text: string): string {
    let m: RegExpExecArray | null;
    if ((m = /^add server \S+?\/(\S+) (\S+):(\d+) .*\bweight (\d+)/.exec(text))) {
      const [, name, address, port, weight] = m as unknown as [string, string, string, string, string];
      if (this.servers.has(name)) throw new RuntimeError('RUNTIME_SERVER_EXISTS', `server ${name} exists`, { command: text });
      const added = { name, address, port: Number(port), weight: Number(weight) };
      this.servers.set(name, { ...added, mode: 'maint', checkEnabled: false, sessions: 0, sessionsTotal: 0 });
      return 'New server registered.';
    }
    if ((m = /^enable health (\S+)$/.exec(text))) {
      this.server(m[1]!, text).checkEnabled = true;
      return '';
    }
    if ((m = /^set server (\S+) state (ready|drain|maint)$/.exec(text))) {
      this.server(m[1]!, text).mode = m[2] as FakeServer['mode'];
      return '';
    }
    if ((m = /^set server (\S+) weight (\d+)$/.exec(text))) {
      this.server(m[1]!, text).weight = Number(m[2]);
      return '';
    }
    if ((m = /^set server (\S+) addr (\S+) port (\d+)$/.exec(text))) {
      Object.assign(this.server(m[1]!, text), { address: m[2], port: Number(m[3]) });
      return 'IP changed';
    }
    if (/^enable dynamic-cookie backend \S+$/.test(text)) return '';
    if ((m = /^shutdown sessions server (\S+)$/.exec(text))) {
      Object.assign(this.server(m[1]!, text), { sessions: 0, streams: 0 });
      return '';
    }
    if ((m = /^wait \d+ srv-removable (\S+)$/.exec(text))) {
      const server = this.server(m[1]!, text);
      if (server.sessions + (server.streams ?? 0) > 0)
        throw new RuntimeError('RUNTIME_COMMAND_REJECTED', 'Wait delay expired.', { command: text, answer: 'Wait delay expired.' });
      return 'Done.';
    }
    if ((m = /^del server (\S+)$/.exec(text))) {
      const server = this.server(m[1]!, text);
      if (server.mode !== 'maint') throw new RuntimeError('RUNTIME_SERVER_NOT_IN_MAINT', 'only servers in maintenance', { command: text });
      if (server.sessions > 0) throw new RuntimeError('RUNTIME_SERVER_HAS_CONNECTIONS', 'connections attached', { command: text });
      this.servers.delete(server.name);
      return 'Server deleted.';
    }
    throw new RuntimeError('RUNTIME_UNKNOWN_COMMAND', `the fake does not know '${text}'`, { command: text });
  }
}
