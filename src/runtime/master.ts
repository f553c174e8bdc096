/**
 * HAProxy's master CLI (`haproxy -W -S PATH`): the master process of master-worker mode, which
 * starts the workers and reloads them. `reload` makes the master re-execute itself with the same
 * command line; the new worker reads the config again and takes the listening sockets over from the
 * old one, which finishes its connections (bounded by `hard-stop-after`) and exits.
 */
import { openSocket, SocketOpenError } from '../util/socket.js';
import { parseRuntimeUrl } from './address.js';
import { RuntimeError } from './errors.js';

const CONNECT_TIMEOUT_MS = 2_000;

/**
 * Sends `reload` to the master at `url` (unix:///PATH or tcp://HOST:PORT). Resolves once the master
 * has taken it: it closes the connection as it re-executes (HAProxy 2.6); newer masters first print
 * the outcome, which is returned.
 */
export async function reloadMaster(url: string, timeoutMs = 10_000): Promise<string> {
  const address = parseRuntimeUrl(url);
  const target = address.kind === 'unix' ? { path: address.path } : { host: address.host, port: address.port };
  const socket = await openSocket(target, CONNECT_TIMEOUT_MS).catch((error: unknown) => {
    const reason = error instanceof SocketOpenError ? error.reason : String(error);
    throw new RuntimeError('RUNTIME_CONNECT_FAILED', `no HAProxy master CLI at ${url} (${reason}): is HAProxy running with -W -S?`, {
      address: url,
      command: 'reload',
      cause: error,
    });
  });
  return new Promise((resolve, reject) => {
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new RuntimeError('RUNTIME_RESPONSE_TIMEOUT', `the master at ${url} did not take 'reload' within ${timeoutMs} ms`, {
          address: url,
          command: 'reload',
        }),
      );
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined); // the master may reset the connection as it re-executes: 'close' follows
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    // Not `end()`: a master that sees the end of its input may close the session before it reloads.
    socket.write('reload\n');
  });
}
