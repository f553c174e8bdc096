/** The default template is precompiled: rendering it must never load Handlebars' compiler (its memory is the point). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultTemplatePath, resolveAgentConfig } from '../../../src/cli/agent-config.js';
import { loadTemplate } from '../../../src/cli/stamped-template.js';

vi.mock('../../../src/render/compile.js', () => ({
  compileTemplate: () => {
    throw new Error('the compiler was loaded');
  },
}));

describe('loadTemplate', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('renders the default template without the compiler', async () => {
    const config = resolveAgentConfig({});
    expect(config.templatePath).toBe(defaultTemplatePath);
    const { render, base } = await loadTemplate(config);
    expect(render({ ...base, servers: [] })).toContain(`backend ${base.backend.name}`);
  });

  it("compiles a user's different --template with the compiler", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ha-agent-template-'));
    const templatePath = path.join(dir, 'haproxy.cfg.hbs');
    writeFileSync(templatePath, `${readFileSync(defaultTemplatePath, 'utf8')}# mine\n`);
    await expect(loadTemplate({ ...resolveAgentConfig({}), templatePath })).rejects.toThrow('the compiler was loaded');
  });
});
