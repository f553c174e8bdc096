/**
 * The agent's ledger, in a small file beside the rendered config (`<config>.ledger.json`): which servers the
 * agent itself put in MAINT or DRAIN (a join, a removal) and the holds it has seen, with since when. A file,
 * not HAProxy: a server line has no field to mark who set its state, and the ledger must outlive the agent
 * (a restart mid-join resumes the join) and name a hold's start after a restart. Written before the agent
 * sends a command that puts a server in a transitional state, so a crash never leaves such a server
 * unrecorded. Without --config-out it lives in memory only (a restart then takes such servers for holds).
 */
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { serverName } from '../model/values.js';
import { emptyLedger, type BackendLedger } from './holds.js';

export const ledgerPath = (configOut: string) => `${configOut}.ledger.json`;

const holdSchema = z.object({ state: z.enum(['maint', 'drain']), since: z.number().int().nonnegative() });
const fileSchema = z.object({
  backends: z.record(z.string(), z.object({ own: z.record(serverName, z.string().max(20)), holds: z.record(serverName, holdSchema) })),
});

type LedgerFile = z.infer<typeof fileSchema>;

export class LedgerStore {
  private readonly backends = new Map<string, BackendLedger>();
  private writing: Promise<void> = Promise.resolve();
  private written = '';

  /** `file`: none keeps the ledger in memory. */
  constructor(private readonly file: string | undefined) {}

  /** Reads the file once at start; a missing or damaged file is an empty ledger (a damaged one is reported). */
  async load(): Promise<string | undefined> {
    if (this.file === undefined) return undefined;
    const text = await fs.readFile(this.file, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    let parsed;
    try {
      parsed = fileSchema.safeParse(JSON.parse(text));
    } catch (error) {
      return (error as Error).message;
    }
    if (!parsed.success) return parsed.error.message;
    for (const [backend, { own, holds }] of Object.entries(parsed.data.backends)) {
      this.backends.set(backend, { own: new Map(Object.entries(own)), holds: new Map(Object.entries(holds)) });
    }
    this.written = text;
    return undefined;
  }

  get(backend: string): BackendLedger {
    let ledger = this.backends.get(backend);
    if (ledger === undefined) this.backends.set(backend, (ledger = emptyLedger()));
    return ledger;
  }

  set(backend: string, ledger: BackendLedger): void {
    this.backends.set(backend, ledger);
  }

  /** Writes the whole ledger if it changed (atomically, one write at a time); resolves once it is on disk. */
  save(): Promise<void> {
    const file = this.file;
    if (file === undefined) return Promise.resolve();
    const body: LedgerFile = { backends: {} };
    for (const [backend, { own, holds }] of this.backends) {
      if (own.size > 0 || holds.size > 0) body.backends[backend] = { own: Object.fromEntries(own), holds: Object.fromEntries(holds) };
    }
    const text = `${JSON.stringify(body, null, 2)}\n`;
    const write = this.writing.then(async () => {
      if (text === this.written) return;
      const tmp = `${file}.${process.pid}.tmp`;
      await fs.writeFile(tmp, text, { mode: 0o644 });
      await fs.rename(tmp, file);
      this.written = text;
    });
    // A failed write fails its caller; the next one still runs.
    this.writing = write.catch(() => {});
    return write;
  }

  /** Every backend's ledger. */
  entries(): IterableIterator<[string, BackendLedger]> {
    return this.backends.entries();
  }
}

/** The holds recorded for `status` (no agent needed): backend → server → hold. */
export async function recordedHolds(configOut: string): Promise<Map<string, BackendLedger['holds']>> {
  const store = new LedgerStore(ledgerPath(configOut));
  await store.load();
  return new Map([...store.entries()].map(([backend, ledger]) => [backend, ledger.holds]));
}
