/**
 * The allow-lists every value passes before it reaches a runtime command or a template.
 * HAProxy runs whatever follows a `;` or a newline as another command, and a space shifts
 * arguments, so names are allow-listed, never escaped.
 */
import { z } from 'zod';
import { isIP } from 'node:net';

export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export const serverName = z.string().regex(NAME_PATTERN, 'must be 1-64 characters of A-Z a-z 0-9 _ . -');

export const backendName = serverName;

/** The backend ha-agent owns unless told otherwise (`--backend`); the template and the lab use it too. */
export const DEFAULT_BACKEND = 'nodes';

export const ipAddress = z.string().refine((value) => isIP(value) !== 0, 'must be an IPv4 or IPv6 literal');

export const port = z.number().int('must be a whole number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535');

export const weight = z.number().int('must be a whole number').min(0, 'must be 0-256').max(256, 'must be 0-256');

/** Durations on the wire to HAProxy are whole milliseconds. */
export const milliseconds = z.number().int().min(1).max(86_400_000);

/** One line of the issues' first zod message, for log lines and CLI errors. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
}
