/**
 * What a suite needs before it can run at all (root, programs on PATH). A suite that cannot run never
 * passes quietly: under CI=true it fails with one line saying why; elsewhere it is skipped under a
 * test named `cannot run: …`, which test/helpers/skip-reporter.ts lists at the end of the run.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';

export interface Needs {
  root?: boolean;
  /** Programs looked up on PATH (and in the sbin directories, where root's tools live). */
  programs?: readonly string[];
}

const SEARCH = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function onPath(program: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...SEARCH].filter(Boolean);
  return dirs.some((dir) => {
    try {
      accessSync(path.join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** What is missing, in words; [] when the suite can run. */
export function unmetNeeds(needs: Needs, uid = process.getuid?.(), found: (program: string) => boolean = onPath): string[] {
  const unmet: string[] = [];
  if (needs.root && uid !== 0) unmet.push(`needs root (uid ${uid ?? 'unknown'})`);
  const missing = (needs.programs ?? []).filter((p) => !found(p));
  if (missing.length > 0) unmet.push(`not installed: ${missing.join(', ')}`);
  return unmet;
}

/** CI=true (or 1) as CI services set it. */
export const inCi = (env: NodeJS.ProcessEnv = process.env) => ['true', '1'].includes((env.CI ?? '').toLowerCase());

/** `describe(name, body)` when `needs` are met; otherwise one failing test (CI) or one skipped test (elsewhere) that says why. */
export function describeIfCan(needs: Needs, name: string, body: () => void): void {
  const unmet = unmetNeeds(needs);
  if (unmet.length === 0) {
    describe(name, body);
    return;
  }
  const reason = `cannot run: ${unmet.join('; ')}`;
  describe(name, () => {
    if (inCi()) {
      it(reason, () => {
        throw new Error(`${reason} (CI=true: a suite that cannot run fails)`);
      });
    } else {
      it.skip(reason, () => undefined);
    }
  });
}

/** The balancer tier (src/lab/cluster/balancer-tier.ts): namespaces and iptables need root; every host runs real programs. */
export const TIER_NEEDS: Needs = {
  root: true,
  programs: ['ip', 'iptables', 'keepalived', 's6-svscan', 's6-svc', 'haproxy', 'serf', 'curl'],
};
