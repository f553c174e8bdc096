import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ActualServer } from '../../src/reconcile/actual.js';

export interface Recorded {
  command: string;
  raw: string;
}

/** Real answers recorded from HAProxy `version` by test/fixtures/haproxy/record.ts. */
export function haproxyTranscript(version = '2.6'): { backend: string; transcript: Recorded[] } {
  const file = path.resolve(import.meta.dirname, '../fixtures/haproxy', version, 'transcript.json');
  return JSON.parse(readFileSync(file, 'utf8')) as { backend: string; transcript: Recorded[] };
}

/** The answer body to the `index`-th command matching `command` (prompt removed, as the framer yields it). */
export function answerTo(transcript: Recorded[], command: string | RegExp, index = 0): string {
  const matches = transcript.filter((entry) => (typeof command === 'string' ? entry.command === command : command.test(entry.command)));
  const entry = matches[index];
  if (!entry) throw new Error(`no recorded answer to ${String(command)}`);
  return entry.raw.slice(0, entry.raw.lastIndexOf('\n> '));
}

/** A server as the agent reads it from HAProxy: ready, checked and up, with nothing in flight, unless `extra` says otherwise. */
export function actualServer(name: string, extra: Partial<ActualServer> = {}): ActualServer {
  return {
    name,
    address: '127.0.0.2',
    port: 3000,
    weight: 100,
    mode: 'ready',
    checkEnabled: true,
    checkPassed: true,
    checkFailed: false,
    checkStatus: 0,
    running: true,
    sessions: 0,
    queue: 0,
    sessionsTotal: 0,
    lastSessionSec: -1,
    status: 'UP',
    ...extra,
  };
}
