/**
 * Writes the rendered haproxy.cfg so that a restarted HAProxy boots with the current servers:
 * render, validate with `haproxy -c` when the binary is present, then replace the target
 * atomically (write + fsync + rename). A failed validation or write keeps the previous file.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { Service } from '../model/service.js';
import { mapFileText, routingTable, type RoutingMaps } from './routes.js';
import { ensureServerStateFile } from './server-state.js';
import type { ConfigModel, ConfigServer, RenderConfig } from './template.js';

/** Natural order (m2 before m10); one collator, not one per comparison: 1,000 servers take ~10,000 comparisons. */
const byName = new Intl.Collator('en', { numeric: true });

export type WriteOutcome = 'written' | 'unchanged' | 'invalid' | 'failed';

export interface ConfigWriterOptions {
  render: RenderConfig;
  /** Everything in the model but the servers. */
  base: Omit<ConfigModel, 'servers'>;
  outPath: string;
  log: Logger;
  haproxyBin?: string;
}

export class ConfigWriter {
  private last: string | undefined;
  /** The servers behind `last`: the same servers again are not rendered again (every pass and resync persists). */
  private lastInput: string | undefined;
  private queue: Promise<WriteOutcome> = Promise.resolve('unchanged');
  /** The write waiting behind the one running, if any: it renders the latest servers when it starts, so later callers share it. */
  private waiting: Promise<WriteOutcome> | undefined;
  /** The latest servers of each backend (the default one and each service's), as their reconcilers persisted them. */
  private readonly servers = new Map<string, ConfigServer[]>();

  constructor(private readonly options: ConfigWriterOptions) {}

  /** Records `backend`'s servers for the next write, writing nothing (a caller that writes several backends at once). */
  stage(servers: readonly ConfigServer[], backend: string): void {
    this.servers.set(
      backend,
      [...servers].sort((a, b) => byName.compare(a.name, b.name)),
    );
  }

  /**
   * Writes are serialised, and at most one waits: it renders the servers given here for `backend`
   * (default: the default backend's) and the others' latest, or those of a later call that joined it.
   */
  write(servers: readonly ConfigServer[], backend = this.options.base.backend.name): Promise<WriteOutcome> {
    this.stage(servers, backend);
    const run = () => {
      this.waiting = undefined;
      return this.writeNow();
    };
    // A write that failed never holds the next one back.
    this.waiting ??= this.queue = this.queue.then(run, run);
    return this.waiting;
  }

  private async writeNow(): Promise<WriteOutcome> {
    const { outPath, log, base } = this.options;
    const servers = this.servers.get(base.backend.name) ?? [];
    const serviceServers = base.services && Object.fromEntries(base.services.map((s) => [s.name, this.servers.get(s.name) ?? []]));
    const count = [...this.servers.values()].reduce((sum, list) => sum + list.length, 0);
    const input = JSON.stringify([servers, serviceServers]);
    if (input === this.lastInput) return 'unchanged';
    let text: string;
    try {
      text = this.options.render({ ...base, servers, ...(serviceServers ? { serviceServers } : {}) });
    } catch (error) {
      log.error('config.render-failed', { path: outPath, error });
      return 'failed';
    }
    this.last ??= await fs.readFile(outPath, 'utf8').catch(() => undefined);
    if (text === this.last) {
      this.lastInput = input;
      return 'unchanged';
    }
    let alert: string | undefined;
    try {
      alert = await writeAtomic(outPath, text, async (tmp) => {
        // The config names it: HAProxy would warn about a missing one on every check and start.
        if (this.options.base.serverStateFile !== undefined) await ensureServerStateFile(this.options.base.serverStateFile);
        return this.validate(tmp);
      });
    } catch (error) {
      log.error('config.write-failed', { path: outPath, error });
      return 'failed';
    }
    if (alert !== undefined) {
      log.error('config.invalid', { path: outPath, alert });
      return 'invalid';
    }
    this.last = text;
    this.lastInput = input;
    log.info('config.written', { path: outPath, servers: count });
    return 'written';
  }

  /** HAProxy's alert text, or undefined when valid (or when there is no haproxy binary to ask). */
  private validate(file: string): Promise<string | undefined> {
    const bin = this.options.haproxyBin ?? 'haproxy';
    return new Promise((resolve) => {
      execFile(bin, ['-c', '-f', file], (error, stdout, stderr) => {
        if (!error) return resolve(undefined);
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return resolve(undefined);
        resolve(`${stderr}${stdout}`.trim() || error.message);
      });
    });
  }
}

/**
 * Replaces `target` with `text` atomically (write + fsync + rename), or leaves it alone when `check`
 * (given the temporary file) returns a reason to refuse it, which is returned.
 */
export async function writeAtomic(
  target: string,
  text: string,
  check: (tmp: string) => Promise<string | undefined> = () => Promise.resolve(undefined),
): Promise<string | undefined> {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    const handle = await fs.open(tmp, 'w', 0o644);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const refused = await check(tmp);
    if (refused !== undefined) {
      await fs.rm(tmp, { force: true });
      return refused;
    }
    await fs.rename(tmp, target);
    await syncDirectory(path.dirname(target));
    return undefined;
  } catch (error) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The routing maps a (re)started HAProxy loads, written before any config that names them is validated. */
export async function writeRoutingMaps(maps: RoutingMaps, services: readonly Service[]): Promise<void> {
  const table = routingTable(services);
  await writeAtomic(maps.hosts, mapFileText(table.hosts));
  await writeAtomic(maps.paths, mapFileText(table.paths));
}
