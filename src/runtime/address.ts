import { RuntimeError } from './errors.js';

export type RuntimeAddress = { kind: 'tcp'; host: string; port: number; url: string } | { kind: 'unix'; path: string; url: string };

export const DEFAULT_RUNTIME_URL = 'tcp://127.0.0.1:9999';

/** `tcp://HOST:PORT` or `unix:///PATH`; a bare `/PATH` is a unix socket and a bare `HOST:PORT` is TCP. */
export function parseRuntimeUrl(text: string): RuntimeAddress {
  const fail = (): never => {
    throw new RuntimeError('RUNTIME_INVALID_URL', `invalid runtime address '${text}': use tcp://HOST:PORT or unix:///PATH`, {
      address: text,
    });
  };
  if (text.startsWith('unix://')) {
    const path = text.slice('unix://'.length);
    if (!path.startsWith('/')) fail();
    return { kind: 'unix', path, url: text };
  }
  if (text.startsWith('/')) return { kind: 'unix', path: text, url: `unix://${text}` };
  const hostPort = text.startsWith('tcp://') ? text.slice('tcp://'.length) : text;
  const match = /^\[?([^\]\s/]+?)\]?:(\d{1,5})$/.exec(hostPort);
  if (!match) return fail();
  const host = match[1] as string;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) fail();
  return { kind: 'tcp', host, port, url: `tcp://${host.includes(':') ? `[${host}]` : host}:${port}` };
}
