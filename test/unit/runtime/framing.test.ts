import { describe, expect, it } from 'vitest';
import { PromptFramer, PROMPT } from '../../../src/runtime/framing.js';
import { RuntimeError } from '../../../src/runtime/errors.js';
import { haproxyTranscript } from '../../helpers/fixtures.js';

const { transcript } = haproxyTranscript();
/** Answers as HAProxy sent them back to back on one connection, and the bodies they must frame into. */
const stream = transcript.map((entry) => entry.raw).join('');
const expected = transcript.flatMap((entry) => entry.raw.split(PROMPT).slice(0, -1));

function frameAll(chunks: Iterable<Uint8Array | string>): string[] {
  const framer = new PromptFramer();
  const answers: string[] = [];
  for (const chunk of chunks) answers.push(...framer.push(chunk));
  expect(framer.pending).toBe('');
  return answers;
}

describe('PromptFramer over a recorded HAProxy 2.6 session', () => {
  it('frames the whole session fed as one chunk', () => {
    const answers = frameAll([Buffer.from(stream)]);
    expect(answers).toEqual(expected);
    expect(answers[0]).toBe(''); // the reply to `prompt`
    expect(answers).toContain('New server registered.\n');
    expect(answers).toContain('Server deleted.');
  });

  it('frames the whole session fed byte by byte', () => {
    const bytes = Buffer.from(stream);
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    expect(frameAll(chunks)).toEqual(expected);
  });

  it('frames the mutation answers split at every boundary', () => {
    const small = transcript.filter((entry) => !entry.command.startsWith('show') && entry.command !== 'frobnicate');
    const bytes = Buffer.from(small.map((entry) => entry.raw).join(''));
    const want = small.flatMap((entry) => entry.raw.split(PROMPT).slice(0, -1));
    for (let cut = 0; cut <= bytes.length; cut += 1) {
      expect(frameAll([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(want);
    }
  });

  it('keeps a multi-byte character split across chunks whole', () => {
    const bytes = Buffer.from('Server ünï deleted.\n> ');
    const at = bytes.indexOf(0xc3) + 1;
    expect(frameAll([bytes.subarray(0, at), bytes.subarray(at)])).toEqual(['Server ünï deleted.']);
  });

  it('holds an incomplete answer until its prompt arrives', () => {
    const framer = new PromptFramer();
    expect(framer.push('New server registered.\n\n')).toEqual([]);
    expect(framer.pending).toBe('New server registered.\n\n');
    expect(framer.push('> ')).toEqual(['New server registered.\n']);
  });

  it('fails with RUNTIME_PROTOCOL when a peer never sends a prompt', () => {
    const framer = new PromptFramer();
    const chunk = 'x'.repeat(1024 * 1024);
    expect(() => {
      for (let i = 0; i < 65; i += 1) framer.push(chunk);
    }).toThrow(expect.objectContaining({ code: 'RUNTIME_PROTOCOL' }) as RuntimeError);
  });
});
