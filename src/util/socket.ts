/** One TCP or unix-socket connection attempt with a deadline; callers turn the failure into their own typed error. */
import net from 'node:net';

export type SocketTarget = { host: string; port: number } | { path: string };

/** Why a connection attempt failed: `timeout`, or the system's error (ECONNREFUSED, ENOENT…). */
export class SocketOpenError extends Error {
  constructor(
    readonly timedOut: boolean,
    readonly reason: string,
    options?: { cause: unknown },
  ) {
    super(reason, options);
  }
}

export function openSocket(target: SocketTarget, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(target);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SocketOpenError(true, `no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (cause: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new SocketOpenError(false, cause.code ?? cause.message, { cause }));
    });
  });
}
