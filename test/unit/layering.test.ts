/** The design's arrows, read from the import lines of src/: a module that imports across a wall fails here. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../../src');
const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => f.split(path.sep).join('/'));

/** Every module specifier a file imports or re-exports, static or dynamic; relative ones resolved to a path under src/. */
function imports(file: string): string[] {
  const text = readFileSync(path.join(src, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)];
  return specifiers
    .map((m) => (m[1] ?? m[2] ?? m[3])!)
    .map((s) => (s.startsWith('.') ? path.posix.join(path.posix.dirname(file), s).replace(/\.js$/, '.ts') : s));
}

const inside = (folder: string) => (file: string) => file.startsWith(`${folder}/`);
const isLab = inside('lab');

function offenders(from: (file: string) => boolean, to: (target: string) => boolean): string[] {
  return files.filter(from).flatMap((file) => imports(file).filter(to).map((target) => `${file} → ${target}`));
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

  it('keeps the Runtime API and Serf clients unaware of each other', () => {
    expect(offenders(inside('runtime'), inside('membership'))).toEqual([]);
    expect(offenders(inside('membership'), inside('runtime'))).toEqual([]);
  });
});
