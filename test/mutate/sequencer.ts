// The order in which a mutant's covering test files run. Stryker stops a mutant at its first failing
// test (bail), so the cheap files go first: a mutant most tests kill is then killed in a fraction of
// a second, where vitest's own order (longest file first) spent the holders' scans (seconds) on it
// first. Every covering test still runs against a mutant that survives: only the order changes.
import { statSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// Files whose tests take seconds (measured: holders' index-against-a-scan checks ~5.5 s, the
// 32,768-entry linear bound ~1.6 s): last, the slowest last.
const SLOW = ['entries.test.ts', 'holders.test.ts'];

function weight(spec: TestSpecification): number {
  const slow = SLOW.findIndex((name) => spec.moduleId.endsWith(`/${name}`));
  // Otherwise smaller files first (a file's size is a fair guess of its tests' cost here).
  return slow >= 0 ? 1e9 * (slow + 1) : statSync(spec.moduleId).size;
}

export default class CheapFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => weight(a) - weight(b) || (a.moduleId < b.moduleId ? -1 : 1));
  }
}
