import { Packr, Unpackr } from 'msgpackr';
import { MsgpackFramer } from './src/membership/rpc-codec.js';
const packr = new Packr({ useRecords: false, variableMapSize: true });
const values: unknown[] = [ 'z'.repeat(70_000), Buffer.alloc(70_000, 3), [1, 2 ** 70], new Date(0)];
for (const v of values) { const w = packr.pack(v); console.log(w[0]!.toString(16), w.length); const t = performance.now(); const out = new MsgpackFramer().push(w); console.log(performance.now() - t, typeof out[0]); }
