/**
 * A stand-in for a Serf agent's RPC, for scale benchmarks where running hundreds of real agents
 * is not the point: it speaks the same wire protocol (msgpack header+body, handshake, auth,
 * stream ack then header+record pairs, members, members-filtered, stats, monitor), and lets the caller set the member list and
 * push coalesced member events exactly as Serf's stream delivers them. As in Serf, `stats` counts
 * members and advances a member clock on every change to the list, events or not, and its log (to
 * `monitor` clients) has a line for each member changed, as Serf logs them: `serf: EventMemberJoin`
 * (alive), `serf: messageLeaveType` (leaving), `serf: EventMemberLeave` (left), `serf: EventMemberFailed`.
 * It logs nothing else (real Serf also logs its gossip, e.g. push/pull connections at DEBUG).
 */
import net from 'node:net';
import { Packr } from 'msgpackr';
import { MsgpackFramer } from '../../src/membership/rpc-codec.js';

const packr = new Packr({ useRecords: false });

export interface FakeMember {
  name: string;
  address: string;
  tags: Record<string, string>;
  status: 'alive' | 'leaving' | 'left' | 'failed';
}

function wire(member: FakeMember) {
  return {
    Name: member.name,
    Addr: Buffer.from(member.address.split('.').map(Number)),
    Port: 7946,
    Tags: member.tags,
    Status: member.status,
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  };
}

/** Serf's log line for a member that changed to this status. */
const LOG_LINE: Record<FakeMember['status'], (m: FakeMember) => string> = {
  alive: (m) => `[INFO] serf: EventMemberJoin: ${m.name} ${m.address}`,
  leaving: (m) => `[DEBUG] serf: messageLeaveType: ${m.name}`,
  left: (m) => `[INFO] serf: EventMemberLeave: ${m.name} ${m.address}`,
  failed: (m) => `[INFO] serf: EventMemberFailed: ${m.name} ${m.address}`,
};

interface MemberFilter {
  Status?: string;
  Name?: string;
  Tags?: Record<string, string>;
}

/** Serf's members-filtered: each filter given is a regular expression the whole value must match. */
function matches(filter: MemberFilter): (member: FakeMember) => boolean {
  const whole = (pattern: string | undefined) => (pattern ? new RegExp(`^${pattern}$`) : undefined);
  const status = whole(filter.Status);
  const name = whole(filter.Name);
  const tags = Object.entries(filter.Tags ?? {}).map(([key, pattern]) => [key, whole(pattern) as RegExp] as const);
  return (member) =>
    (status?.test(member.status) ?? true) &&
    (name?.test(member.name) ?? true) &&
    tags.every(([key, pattern]) => pattern.test(member.tags[key] ?? ''));
}

export class FakeSerf {
  readonly members = new Map<string, FakeMember>();
  private readonly streams = new Set<{ socket: net.Socket; seq: number }>();
  private readonly monitors = new Set<{ socket: net.Socket; seq: number }>();
  private server!: net.Server;
  private memberTime = 1;
  address = '';
  /** `stats` requests answered (the agent's change poll). */
  statsRequests = 0;

  /** Whether a client has subscribed to the event stream. */
  get streaming(): boolean {
    return this.streams.size > 0;
  }

  async listen(): Promise<void> {
    this.server = net.createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.address = `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** Changes the member list (and stats) without an event, as Serf does during its 1–3 s batching. */
  set(changed: FakeMember[]): void {
    for (const member of changed) this.members.set(member.name, member);
    this.memberTime += 1;
    if (this.monitors.size === 0) return;
    const time = new Date().toISOString().slice(0, 19).replace('T', ' ').replaceAll('-', '/');
    const lines = changed.map((m) => `${time} ${LOG_LINE[m.status](m)}`);
    for (const monitor of this.monitors) {
      const header = packr.pack({ Seq: monitor.seq, Error: '' });
      monitor.socket.write(Buffer.concat(lines.flatMap((Log) => [header, packr.pack({ Log })])));
    }
  }

  /** Sets members and pushes one coalesced event naming them, as Serf's stream would. */
  event(type: 'member-join' | 'member-leave' | 'member-failed' | 'member-update', changed: FakeMember[]): void {
    this.set(changed);
    for (const stream of this.streams) {
      stream.socket.write(
        Buffer.concat([packr.pack({ Seq: stream.seq, Error: '' }), packr.pack({ Event: type, Members: changed.map(wire) })]),
      );
    }
  }

  /** Drops every stream connection (a lost stream, as when Serf's buffer fills or the agent restarts). */
  dropStreams(): void {
    for (const stream of this.streams) stream.socket.destroy();
    this.streams.clear();
    this.monitors.clear();
  }

  async close(): Promise<void> {
    this.dropStreams();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private stats(): unknown {
    const all = [...this.members.values()];
    const count = (status: FakeMember['status']) => String(all.filter((m) => m.status === status).length);
    return {
      agent: { name: 'fake' },
      serf: {
        members: String(all.length),
        failed: count('failed'),
        left: count('left'),
        member_time: String(this.memberTime),
        health_score: '0',
      },
    };
  }

  private serve(socket: net.Socket): void {
    const framer = new MsgpackFramer();
    let pending: { Command: string; Seq: number } | undefined;
    const reply = (seq: number, body?: unknown) =>
      socket.write(
        body === undefined ? packr.pack({ Seq: seq, Error: '' }) : Buffer.concat([packr.pack({ Seq: seq, Error: '' }), packr.pack(body)]),
      );
    socket.on('error', () => undefined);
    socket.on('close', () => {
      for (const stream of this.streams) if (stream.socket === socket) this.streams.delete(stream);
      for (const monitor of this.monitors) if (monitor.socket === socket) this.monitors.delete(monitor);
    });
    socket.on('data', (chunk) => {
      for (const value of framer.push(chunk)) {
        const header = pending ?? (value as { Command: string; Seq: number });
        const takesBody = ['handshake', 'auth', 'stream', 'members-filtered', 'monitor'].includes(header.Command);
        if (!pending && takesBody) {
          pending = header;
          continue;
        }
        pending = undefined;
        if (header.Command === 'members') reply(header.Seq, { Members: [...this.members.values()].map(wire) });
        else if (header.Command === 'members-filtered')
          reply(header.Seq, { Members: [...this.members.values()].filter(matches(value as MemberFilter)).map(wire) });
        else if (header.Command === 'stats') {
          this.statsRequests += 1;
          reply(header.Seq, this.stats());
        } else if (header.Command === 'stream') {
          reply(header.Seq);
          this.streams.add({ socket, seq: header.Seq });
        } else if (header.Command === 'monitor') {
          reply(header.Seq);
          this.monitors.add({ socket, seq: header.Seq });
        } else reply(header.Seq);
      }
    });
  }
}
