/**
 * Lists, at the end of a run, every suite that could not run (test/helpers/needs.ts names its one
 * test `cannot run: …`) and counts the other skipped tests: nothing is skipped without a word.
 */
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export default class SkipReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const cannot: string[] = [];
    let other = 0;
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        if (test.result().state !== 'skipped') continue;
        if (test.name.startsWith('cannot run: ')) cannot.push(`${path.relative(process.cwd(), module.moduleId)} › ${test.fullName}`);
        else other += 1;
      }
    }
    if (cannot.length > 0)
      console.log(`\nThese suites did not run (under CI=true they fail):\n${cannot.map((line) => `  ${line}`).join('\n')}`);
    if (other > 0) console.log(`${other} other test${other === 1 ? '' : 's'} skipped (filtered out or marked skip)`);
  }
}
