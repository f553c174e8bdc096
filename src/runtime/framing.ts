/**
 * Splits a prompt-mode byte stream into answers. In prompt mode every answer ends with `\n> `;
 * the blank line the manual promises is not reliable in 2.6 (`Server deleted.` and several errors end
 * with a single LF), so it is not used.
 */
import { RuntimeError } from './errors.js';

export const PROMPT = '\n> ';

/** Far above `show stat` for 1,000 servers (~231 KB): past this the peer is not HAProxy in prompt mode. */
export const MAX_ANSWER_CHARS = 64 * 1024 * 1024;

export class PromptFramer {
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';

  /** Feeds bytes as they arrive; returns every answer completed by them, in order. */
  push(chunk: Uint8Array | string): string[] {
    // The prompt is looked for only where it can end in the new text: a 150 KB answer comes in several chunks.
    const from = Math.max(0, this.buffer.length - PROMPT.length + 1);
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const answers: string[] = [];
    let start = 0;
    for (let end = this.buffer.indexOf(PROMPT, from); end !== -1; end = this.buffer.indexOf(PROMPT, start)) {
      answers.push(this.buffer.slice(start, end));
      start = end + PROMPT.length;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length > MAX_ANSWER_CHARS) {
      throw new RuntimeError('RUNTIME_PROTOCOL', `an answer grew past ${MAX_ANSWER_CHARS} characters without a prompt`);
    }
    return answers;
  }

  /** Bytes received that do not yet form a whole answer. */
  get pending(): string {
    return this.buffer;
  }
}
