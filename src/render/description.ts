/**
 * An identity as the rendered config's `global` `description` carries it (pure): written by the template,
 * read back from `show info`. Who owns an HAProxy, and how settings are compared: identity.ts.
 */
import { z } from 'zod';

export const deploymentSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . -');

export interface Identity {
  deployment: string;
  /** The fingerprint of the BootSettings the config was rendered with. */
  settings: string;
}

const DESCRIPTION = /^ha-agent deployment=([A-Za-z0-9_.-]{1,64}) settings=([0-9a-f]{12})$/;

export function describeIdentity(identity: Identity): string {
  return `ha-agent deployment=${identity.deployment} settings=${identity.settings}`;
}

/** The identity in `show info`'s `description`, or undefined for a config ha-agent did not mark. */
export function parseIdentity(description: string | undefined): Identity | undefined {
  const match = DESCRIPTION.exec(description?.trim() ?? '');
  return match ? { deployment: match[1] as string, settings: match[2] as string } : undefined;
}
