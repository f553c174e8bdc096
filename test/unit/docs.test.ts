import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeErrorCodes } from '../../src/runtime/errors.js';

const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');

describe('README', () => {
  it.each(Object.keys(runtimeErrorCodes))('documents the error code %s', (code) => {
    expect(readme).toContain(`\`${code}\``);
  });
});
