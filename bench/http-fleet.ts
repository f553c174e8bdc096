/**
 * Many real HTTP servers in a process of their own, so that their answers to HAProxy's health checks
 * do not wait on the benchmark's own polling: `tsx bench/http-fleet.ts COUNT` (forked with IPC).
 * Sends back [{id, address, port}] once all listen; closes them all on 'stop'.
 */
import { startHttpBackend, type HttpBackend } from '../test/helpers/http-backend.js';

const count = Number(process.argv[2]);
if (!process.send || !(count > 0)) throw new Error('usage: forked with IPC, argument COUNT');
const webs: HttpBackend[] = [];
for (let i = 0; i < count; i += 1) webs.push(await startHttpBackend(`m${i}`, `127.0.${2 + Math.floor(i / 250)}.${1 + (i % 250)}`));
process.send(webs.map(({ id, address, port }) => ({ id, address, port })));
process.on('message', (message) => {
  if (message !== 'stop') return;
  void Promise.all(webs.map((w) => w.close())).finally(() => process.exit(0));
});
