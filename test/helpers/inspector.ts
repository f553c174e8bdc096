/**
 * The memory a Node.js process started with `--inspect=127.0.0.1:0` keeps, read through its inspector
 * right after a full collection. Unlike RSS, which swings with V8's collections and heap sizing, two
 * such readings taken in the same state differ only by what the process kept.
 */
import WebSocket from 'ws';

/** How long the inspector may take to connect, and to answer each call (a full collection included). */
const TIMEOUT_MS = 10_000;

/** The inspector's address as the process prints it to stderr ("Debugger listening on ws://…"). */
export function inspectorUrl(output: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
}

export interface KeptMemory {
  /** Bytes in use on the JavaScript heap. */
  heapUsed: number;
  /** Bytes of C++ objects bound to JavaScript ones: Buffers, sockets' native parts. */
  external: number;
}

/** What the process keeps after a full garbage collection (`process.memoryUsage()` read in the process itself). */
export async function keptMemory(url: string): Promise<KeptMemory> {
  const socket = new WebSocket(url, { handshakeTimeout: TIMEOUT_MS });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let next = 0;
  // A process that dies mid-call (say, out of memory) closes the socket: its pending call fails at once.
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = (next += 1);
      const done = () => {
        clearTimeout(timer);
        socket.off('message', onMessage);
        socket.off('close', onClose);
      };
      const onMessage = (data: WebSocket.RawData) => {
        const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Uint8Array)).toString();
        const message = JSON.parse(text) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
        if (message.id !== id) return;
        done();
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result ?? {});
      };
      const onClose = () => (done(), reject(new Error(`${method}: the inspector closed the connection`)));
      const timer = setTimeout(() => (done(), reject(new Error(`${method}: no answer in ${TIMEOUT_MS} ms`))), TIMEOUT_MS);
      socket.on('message', onMessage);
      socket.once('close', onClose);
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    const { result } = await call('Runtime.evaluate', { expression: 'process.memoryUsage()', returnByValue: true });
    const value = (result as { value?: Partial<KeptMemory> } | undefined)?.value;
    if (typeof value?.heapUsed !== 'number' || typeof value.external !== 'number') {
      throw new Error(`process.memoryUsage() through the inspector answered ${JSON.stringify(result)}`);
    }
    return { heapUsed: value.heapUsed, external: value.external };
  } finally {
    socket.close();
  }
}
