/**
 * One backend's decisions, pass after pass (decide.ts): the member list the next pass decides from, what the last
 * decision remembers, and the members already judged. The ledger in that memory is the agent's ledger store's entry
 * for the backend, saved with it (ledger.ts).
 */
import type { Member } from '../membership/member.js';
import { decide, freshMemory, type DecideSettings, type Decision, type Look, type Memory } from './decide.js';
import type { LedgerStore } from './ledger.js';

export class Decider {
  /** The latest full member list and when it arrived (clock.now()). */
  listed: { members: readonly Member[]; at: number } | undefined;
  private memory: Memory;
  private readonly settings: DecideSettings;

  constructor(
    private readonly ledger: LedgerStore,
    private readonly backend: string,
    settings: Omit<DecideSettings, 'memo'>,
  ) {
    this.memory = freshMemory(ledger.get(backend));
    this.settings = { ...settings, memo: new WeakMap() };
  }

  decide(look: Look): Decision {
    const decision = decide(this.memory, look, this.settings);
    this.memory = decision.memory;
    this.ledger.set(this.backend, decision.memory.ledger);
    return decision;
  }

  /** An action on `server` is done: its state is now the one it meant, so from here a MAINT or DRAIN is a person's. */
  done(server: string): void {
    this.memory.ledger.own.delete(server);
  }

  /** Resolves once the ledger is on disk (ledger.ts). */
  saveLedger(): Promise<void> {
    return this.ledger.save();
  }
}
