/**
 * Writes the rendered haproxy.cfg so that a restarted HAProxy boots with the current servers:
 * render, validate with `haproxy -c` when the binary is present, then replace the target
 * atomically (write + fsync + rename). A failed validation or write keeps the previous file.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { ensureServerStateFile } from './server-state.js';
import type { ConfigModel, ConfigServer, RenderConfig } from './template.js';

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
  private queue: Promise<WriteOutcome> = Promise.resolve('unchanged');

  constructor(private readonly options: ConfigWriterOptions) {}

  /** Writes are serialised; each renders the servers it is given. */
  write(servers: readonly ConfigServer[]): Promise<WriteOutcome> {
    const sorted = [...servers].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    this.queue = this.queue.then(() => this.writeNow(sorted));
    return this.queue;
  }

  private async writeNow(servers: ConfigServer[]): Promise<WriteOutcome> {
    const { outPath, log } = this.options;
    let text: string;
    try {
      text = this.options.render({ ...this.options.base, servers });
    } catch (error) {
      log.error('config.render-failed', { path: outPath, error });
      return 'failed';
    }
    this.last ??= await fs.readFile(outPath, 'utf8').catch(() => undefined);
    if (text === this.last) return 'unchanged';
    const tmp = path.join(path.dirname(outPath), `.${path.basename(outPath)}.${process.pid}.tmp`);
    try {
      const handle = await fs.open(tmp, 'w', 0o644);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      // The config names it: HAProxy would warn about a missing one on every check and start.
      if (this.options.base.serverStateFile !== undefined) await ensureServerStateFile(this.options.base.serverStateFile);
      const alert = await this.validate(tmp);
      if (alert !== undefined) {
        await fs.rm(tmp, { force: true });
        log.error('config.invalid', { path: outPath, alert });
        return 'invalid';
      }
      await fs.rename(tmp, outPath);
      await syncDirectory(path.dirname(outPath));
    } catch (error) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      log.error('config.write-failed', { path: outPath, error });
      return 'failed';
    }
    this.last = text;
    log.info('config.written', { path: outPath, servers: servers.length });
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

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
