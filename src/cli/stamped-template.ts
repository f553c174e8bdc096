/**
 * The template every command renders with (run, render, reload, plan): read, compiled, and stamped
 * with the deployment's identity and boot settings, so that all of them mark and judge an HAProxy alike.
 */
import { readFileSync } from 'node:fs';
import * as defaultTemplate from '../render/default-template.js';
import { stamp, type Stamped } from '../render/identity.js';
import { precompiledTemplate, renderer, type RenderConfig } from '../render/template.js';
import type { AgentConfig } from './agent-config.js';
import { UsageError } from './options.js';

export interface StampedTemplate extends Stamped<AgentConfig['base']> {
  render: RenderConfig;
}

/**
 * The default template comes precompiled; any other text (a user's --template, or the default one edited in
 * place) is compiled, with Handlebars' compiler loaded for it alone.
 */
async function compilerFor(source: string): Promise<(source: string) => RenderConfig> {
  if (source === defaultTemplate.source) return () => renderer(precompiledTemplate(defaultTemplate.spec));
  return (await import('../render/compile.js')).compileTemplate;
}

/** A template that cannot be read or does not render the settings given is a usage error, found at start. */
export async function loadTemplate(config: Pick<AgentConfig, 'templatePath' | 'base' | 'deployment'>): Promise<StampedTemplate> {
  let template: string;
  try {
    template = readFileSync(config.templatePath, 'utf8');
  } catch (error) {
    throw new UsageError(`--template: cannot read ${config.templatePath}: ${(error as Error).message}`);
  }
  // Outside the try: a compiler that cannot be loaded is a broken install, not the user's template.
  const compile = await compilerFor(template);
  try {
    const render = compile(template);
    const stamped = stamp(config.base, config.deployment, template);
    render({ ...stamped.base, servers: [] });
    return { render, ...stamped };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
