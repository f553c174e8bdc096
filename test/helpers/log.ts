import type { Logger } from '../../src/log.js';

export interface LogLine {
  event: string;
  level: string;
  [field: string]: unknown;
}

/** A logger that keeps every line (its fields flat beside `event` and `level`) for a test to read. */
export function recordLogs(): { lines: LogLine[]; log: Logger; events: (event: string, server?: string) => LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (event: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ ...fields, event, level });
  return {
    lines,
    log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    events: (event, server) => lines.filter((l) => l.event === event && (server === undefined || l.server === server)),
  };
}
