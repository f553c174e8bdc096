/** The design's arrows, read from the import lines of src/: a module that imports across a wall fails here. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../../src');
const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => f.split(path.sep).join('/'));

/** Every module specifier a file imports or re-exports, static or dynamic; relative ones resolved to a path under src/. */
function imports(file: string): string[] {
  const text = readFileSync(path.join(src, file), 'utf8');
  const specifiers = [
    ...text.matchAll(
      /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm,
    ),
  ];
  return specifiers
    .map((m) => (m[1] ?? m[2] ?? m[3])!)
    .map((s) => (s.startsWith('.') ? path.posix.join(path.posix.dirname(file), s).replace(/\.js$/, '.ts') : s));
}

const inside = (folder: string) => (file: string) => file.startsWith(`${folder}/`);
const isLab = inside('lab');

function offenders(from: (file: string) => boolean, to: (target: string) => boolean): string[] {
  return files.filter(from).flatMap((file) =>
    imports(file)
      .filter(to)
      .map((target) => `${file} → ${target}`),
  );
}

/** Files that do no I/O: they may import each other and these packages, nothing else (no node: module, no adapter). */
const pure = new Set([
  ...files.filter(inside('model')),
  ...['commands', 'data-commands', 'framing', 'parse', 'answers', 'address', 'errors'].map((f) => `runtime/${f}.ts`),
  ...['member', 'handler-input', 'rpc-codec', 'errors'].map((f) => `membership/${f}.ts`),
  ...['absent', 'actual', 'decide', 'desired', 'holds', 'ownership-verdict', 'plan', 'plan-slots', 'plan-mode', 'routing'].map(
    (f) => `reconcile/${f}.ts`,
  ),
  'render/template.ts',
  'render/compile.ts',
  'render/default-template.ts',
  'render/routes.ts',
  'reload/carried.ts',
  'render/identity.ts',
  'render/description.ts',
  'metrics/registry.ts',
  'util/duration.ts',
  'lab/cluster/keepalived.ts',
]);
// node:crypto's hashes are computation, not I/O (the deployment's settings fingerprint); so are node:net's isIP and
// BlockList, the only parts of node:net the model uses (IP literals and ranges).
const purePackages = new Set(['zod', 'handlebars', 'handlebars/runtime.js', 'msgpackr', 'node:crypto', 'node:net']);

/**
 * The import circles in src/ (strongly connected groups of files, type-only imports included), each as its
 * sorted file list. Tarjan's algorithm over the relative imports.
 */
function circles(): string[][] {
  const edges = new Map(files.map((f) => [f, imports(f).filter((t) => files.includes(t))]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (file: string) => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    for (const target of edges.get(file)!) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (stack.includes(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      group.push(member);
    } while (member !== file);
    if (group.length > 1 || edges.get(file)!.includes(file)) found.push(group.sort());
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return found;
}

describe('layering', () => {
  it('reads the imports it checks', () => {
    expect(imports('main.ts')).toContain('lab/cli/commands.ts');
    expect(imports('cli/main.ts')).toContain('runtime/errors.ts');
    expect(files.filter((f) => !isLab(f)).length).toBeGreaterThan(30);
  });

  it('keeps the agent free of the lab: only the composition root (src/main.ts) imports src/lab', () => {
    expect(offenders((f) => !isLab(f) && f !== 'main.ts', isLab)).toEqual([]);
  });

  it('keeps render free of the Runtime API client', () => {
    expect(offenders(inside('render'), inside('runtime'))).toEqual([]);
  });

  it('keeps pure files pure: they import only pure files and pure packages', () => {
    for (const file of pure) expect(files, `${file} is listed as pure but does not exist`).toContain(file);
    expect(
      offenders(
        (f) => pure.has(f),
        (target) => !pure.has(target) && !purePackages.has(target),
      ),
    ).toEqual([]);
  });

  it('keeps the Runtime API and Serf clients unaware of each other', () => {
    expect(offenders(inside('runtime'), inside('membership'))).toEqual([]);
    expect(offenders(inside('membership'), inside('runtime'))).toEqual([]);
  });

  it('has no import circle in src/', () => {
    expect(imports('lab/demo/scenario.ts')).toContain('lab/demo/load.ts');
    expect(circles()).toEqual([]);
  });
});
