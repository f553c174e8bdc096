/**
 * Structured logs: one JSON object per line (`--log-format json`, the default) or one readable
 * line (`pretty`). Every value is serialised, so a hostile name cannot forge a line.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'pretty';
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: Fields): void;
  info(event: string, fields?: Fields): void;
  warn(event: string, fields?: Fields): void;
  error(event: string, fields?: Fields): void;
  /** The same logger with `fields` on every line, when it can add them without a copy per line (see withFields). */
  child?(fields: Fields): Logger;
}

const rank: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const { code, command, answer, address } = value as Error & Record<string, unknown>;
    return { message: value.message, code, command, answer, address };
  }
  return value;
}

function pretty(time: string, level: Level, event: string, fields: Fields): string {
  const parts = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => {
      const v = serialise(value);
      return `${key}=${typeof v === 'string' && /^[\w.:/@+-]+$/.test(v) ? v : JSON.stringify(v)}`;
    });
  return `${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${event}${parts.length ? ` ${parts.join(' ')}` : ''}\n`;
}

/** The line's own members: a field of the same name is written as `field.NAME` rather than twice. */
const reserved = new Set(['time', 'level', 'event']);

/**
 * The fields as JSON members (`,"key":value…`), each value serialised. Fields without an Error among them (nearly
 * every line) are stringified as they are, not copied first: a burst of 1,000 joins writes ~7,000 lines.
 */
function jsonMembers(fields: Fields): string {
  let copy: Fields | undefined;
  for (const key in fields) {
    if (fields[key] instanceof Error || reserved.has(key)) {
      copy = {};
      for (const k in fields) copy[reserved.has(k) ? `field.${k}` : k] = serialise(fields[k]);
      break;
    }
  }
  const body = JSON.stringify(copy ?? fields);
  return body.length > 2 ? `,${body.slice(1, -1)}` : '';
}

/** ISO time of the current millisecond: the lines of one burst share one string instead of each formatting a Date. */
function isoClock(): () => string {
  let lastMs = Number.NaN;
  let lastIso = '';
  return () => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
}

export function createLogger(
  options: { format?: LogFormat; level?: Level; write?: (line: string) => void; now?: () => Date } = {},
): Logger {
  const { format = 'json', level = 'info', write = (line) => process.stdout.write(line), now } = options;
  const time = now ? () => now().toISOString() : isoClock();
  /** `base`: fields on every line, already written as JSON members (`prefix`); a line's own field of the same name wins. */
  const logger = (base: Fields, prefix: string): Logger => {
    const log =
      (at: Level) =>
      (event: string, fields: Fields = {}) => {
        if (rank[at] < rank[level]) return;
        if (format === 'pretty') {
          write(pretty(time(), at, event, prefix === '' ? fields : { ...base, ...fields }));
          return;
        }
        const merge = prefix !== '' && overlaps(base, fields);
        const members = merge ? jsonMembers({ ...base, ...fields }) : `${prefix}${jsonMembers(fields)}`;
        write(`{"time":"${time()}","level":"${at}","event":${JSON.stringify(event)}${members}}\n`);
      };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (fields) => {
        const merged = { ...base, ...fields };
        return logger(merged, jsonMembers(merged));
      },
    };
  };
  return logger({}, '');
}

/** Whether a line's own fields name one of the base fields (then the line is written from a merged copy). */
function overlaps(base: Fields, fields: Fields): boolean {
  for (const key in base) if (Object.hasOwn(fields, key)) return true;
  return false;
}

/** Line writers holding lines not yet written: each is flushed on exit, so no line of a crashing process is lost. */
const unflushed = new Set<() => void>();
let flushOnExit = false;

/**
 * Gathers the lines written during one turn of the event loop into one `write`. stdout to a pipe is
 * synchronous on Linux: the few thousand lines of 1,000 joins would otherwise be as many blocking
 * writes on the path of the joins. `flush` writes what is pending now; an exit or a crash flushes too.
 */
export function batchLines(write: (text: string) => void): { write: (line: string) => void; flush: () => void } {
  let lines: string[] = [];
  const flush = () => {
    unflushed.delete(flush);
    if (lines.length === 0) return;
    const text = lines.join('');
    lines = [];
    write(text);
  };
  if (!flushOnExit) {
    flushOnExit = true;
    const flushAll = () => {
      for (const pending of unflushed) pending();
    };
    process.on('exit', flushAll);
    // Before Node.js prints a crash's stack (to stderr, unbatched), so the lines that led to it come first.
    process.on('uncaughtExceptionMonitor', flushAll);
  }
  return {
    write: (line) => {
      if (lines.push(line) > 1) return;
      unflushed.add(flush);
      setImmediate(flush);
    },
    flush,
  };
}

/** Swallows everything: for tests and library use. */
export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/**
 * The same logger with `fields` on every line (e.g. the backend a reconciler owns); a line's own fields come after
 * them. A logger that can (createLogger's, observe's) writes them without copying them into every line's fields:
 * with 1,000 joins, a copy per line was a large share of the log lines' cost.
 */
export function withFields(log: Logger, fields: Fields): Logger {
  if (log.child) return log.child(fields);
  return {
    debug: (event, own = {}) => log.debug(event, { ...fields, ...own }),
    info: (event, own = {}) => log.info(event, { ...fields, ...own }),
    warn: (event, own = {}) => log.warn(event, { ...fields, ...own }),
    error: (event, own = {}) => log.error(event, { ...fields, ...own }),
    child: (more) => withFields(log, { ...fields, ...more }),
  };
}
