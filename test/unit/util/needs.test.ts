import { describe, expect, it } from 'vitest';
import { inCi, unmetNeeds } from '../../helpers/needs.js';

describe('a suite’s needs', () => {
  it('names each unmet need: not root, and the programs missing', () => {
    const found = (program: string) => program !== 'keepalived';
    expect(unmetNeeds({ root: true, programs: ['ip', 'keepalived'] }, 65534, found)).toEqual([
      'needs root (uid 65534)',
      'not installed: keepalived',
    ]);
    expect(unmetNeeds({ root: true, programs: ['ip'] }, 0, found)).toEqual([]);
  });

  it('takes CI=true or CI=1 as CI, and nothing else', () => {
    expect([{ CI: 'true' }, { CI: '1' }, { CI: 'TRUE' }, { CI: 'false' }, {}].map((env) => inCi(env))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
  });
});
