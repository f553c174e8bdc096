import { setTimeout as sleep } from 'node:timers/promises';
import { addServer, delServer, enableHealth, RuntimeClient, RuntimeError, setState } from 'ha-agent';

const [url = 'tcp://127.0.0.1:9999', backend = 'nodes', address = '127.0.0.1', port = '8080'] = process.argv.slice(2);
const haproxy = new RuntimeClient({ url });
const web1 = async () => (await haproxy.stat(backend)).find((server) => server.name === 'web-1');
await haproxy.connect();
try {
  await haproxy.run(addServer(backend, 'web-1', { address, port: Number(port), weight: 100 })); // starts in MAINT
  await haproxy.run(enableHealth(backend, 'web-1'));
  while ((await web1())?.checkStatus !== 'L7OK') await sleep(100); // its first check passed
  await haproxy.run(setState(backend, 'web-1', 'ready'));
  console.log('ready:', (await web1())?.status); // UP (UP 1/2 until its next check confirms it)
  await haproxy.run(setState(backend, 'web-1', 'drain')); // no new requests; in-flight ones finish
  while ((await web1())?.sessions) await sleep(100);
  await haproxy.run(setState(backend, 'web-1', 'maint'));
  console.log(await haproxy.run(delServer(backend, 'web-1'))); // Server deleted.
} catch (error) {
  if (!(error instanceof RuntimeError)) throw error;
  console.error(error.code, error.answer ?? error.message); // e.g. RUNTIME_SERVER_EXISTS
  process.exitCode = 1;
} finally {
  await haproxy.close();
}
