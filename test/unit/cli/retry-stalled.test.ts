/** --retry-stalled-after: off unless given, read from its flag or HA_AGENT_RETRY_STALLED_AFTER, refused outside 1s-30s. */
import { describe, expect, it } from 'vitest';
import { resolveAgentConfig } from '../../../src/cli/agent-config.js';
import { renderSpec } from '../../../src/cli/render.js';
import { parseCommandLine, UsageError } from '../../../src/cli/options.js';

const resolve = (argv: string[], env: NodeJS.ProcessEnv = {}) => resolveAgentConfig(parseCommandLine(renderSpec, argv, env).values);

describe('--retry-stalled-after', () => {
  it('is off by default, also when its variable is empty', () => {
    expect(resolve([]).base).not.toHaveProperty('retryStalledAfterMs');
    expect(resolve([], { HA_AGENT_RETRY_STALLED_AFTER: '' }).base).not.toHaveProperty('retryStalledAfterMs');
  });

  it.each([
    [['--retry-stalled-after', '5s'], {}, 5000],
    [[], { HA_AGENT_RETRY_STALLED_AFTER: '2500ms' }, 2500],
    [['--retry-stalled-after', '1s'], { HA_AGENT_RETRY_STALLED_AFTER: '9s' }, 1000],
    [['--retry-stalled-after', '30s'], {}, 30_000],
  ])('reads %j (env %j) as %i ms', (argv, env, ms) => {
    expect(resolve(argv, env).base.retryStalledAfterMs).toBe(ms);
  });

  it.each([
    ['999ms', "--retry-stalled-after: '999ms' must be from 1s to 30s (the timeout server it shortens)"],
    ['0', "--retry-stalled-after: '0' must be from 1s to 30s (the timeout server it shortens)"],
    ['31s', "--retry-stalled-after: '31s' must be from 1s to 30s (the timeout server it shortens)"],
    ['1m', "--retry-stalled-after: '1m' must be from 1s to 30s (the timeout server it shortens)"],
    ['soon', "--retry-stalled-after: 'soon' is not a duration like 5s or 2500ms"],
  ])('refuses %s with one line naming the option', (text, message) => {
    expect(() => resolve(['--retry-stalled-after', text])).toThrow(new UsageError(message));
  });
});
