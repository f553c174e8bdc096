/** The parsers that read bytes from the network never hang or crash: they parse, or throw a typed error. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SerfError } from '../../src/membership/errors.js';
import { RpcDecoder } from '../../src/membership/rpc-codec.js';
import { RuntimeError } from '../../src/runtime/errors.js';
import { PromptFramer } from '../../src/runtime/framing.js';
import { parseInfo, parseServersState, parseStat } from '../../src/runtime/parse.js';
import { haproxyTranscript } from '../helpers/fixtures.js';

const parsers = [parseServersState, parseStat, parseInfo];
const { transcript } = haproxyTranscript();
const realAnswers = transcript.map((entry) => entry.raw);

function typedOrParsed(run: () => unknown, type: typeof RuntimeError | typeof SerfError): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
  }
}

describe('fuzzing the Runtime API parsers', () => {
  it('frames random bytes in random chunks without throwing anything but RUNTIME_PROTOCOL', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }), (bytes, sizes) => {
        const framer = new PromptFramer();
        typedOrParsed(() => {
          for (let at = 0, i = 0; at < bytes.length; i += 1) {
            const size = sizes[i % sizes.length] as number;
            framer.push(bytes.subarray(at, at + size));
            at += size;
          }
        }, RuntimeError);
      }),
      { numRuns: 500 },
    );
  });

  it('parses random text, and mangled real answers, or throws RUNTIME_PARSE', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 500 }),
      fc.tuple(fc.constantFrom(...realAnswers), fc.nat(), fc.nat(), fc.string({ maxLength: 20 })).map(([answer, a, b, junk]) => {
        const cut = answer.slice(0, a % (answer.length + 1));
        return cut.slice(0, b % (cut.length + 1)) + junk + cut.slice(b % (cut.length + 1));
      }),
    );
    fc.assert(
      fc.property(text, (answer) => {
        for (const parse of parsers) typedOrParsed(() => parse(answer), RuntimeError);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('fuzzing the Serf RPC decoder', () => {
  it('decodes random bytes and truncated msgpack, or throws SERF_PROTOCOL', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), fc.array(fc.integer({ min: 1, max: 32 }), { minLength: 1 }), (bytes, sizes) => {
        const decoder = new RpcDecoder();
        decoder.dispatcher.expect(0, 'body');
        decoder.dispatcher.expect(1, 'stream');
        typedOrParsed(() => {
          for (let at = 0, i = 0; at < bytes.length; i += 1) {
            const size = sizes[i % sizes.length] as number;
            decoder.push(bytes.subarray(at, at + size));
            at += size;
          }
        }, SerfError);
      }),
      { numRuns: 1000 },
    );
  });
});
