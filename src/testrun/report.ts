// How `xensim test` reports: like a test runner (a line per case, what failed under it, a summary),
// TAP 13, or JUnit XML (junit-report-builder) for Jenkins, GitLab and GitHub.
import junit, { type Builder } from 'junit-report-builder';
import type { CaseResult } from './run-case.ts';

export const REPORTERS = ['text', 'tap', 'junit'] as const;
export type Reporter = (typeof REPORTERS)[number];

export function summaryLine(rs: readonly CaseResult[]): string {
  const failed = rs.filter((r) => !r.ok).length;
  return `${rs.length} cases: ${rs.length - failed} passed, ${failed} failed`;
}

/** One case in the text form: `ok  NAME` or `FAIL NAME` with each failure under it. */
export function caseText(r: CaseResult): string {
  return [`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}`, ...r.failures.map((f) => `       ${f}`)].join('\n') + '\n';
}

export function tapText(rs: readonly CaseResult[]): string {
  const out = ['TAP version 13', `1..${rs.length}`];
  rs.forEach((r, i) => {
    out.push(`${r.ok ? 'ok' : 'not ok'} ${i + 1} - ${r.name.replace(/#/g, '\\#')}`);
    if (!r.ok) out.push('  ---', '  failures:', ...r.failures.map((f) => `    - ${JSON.stringify(f)}`), '  ...');
  });
  out.push(`# ${summaryLine(rs)}`);
  return out.join('\n') + '\n';
}

/** JUnit XML: one testsuite, one testcase per case (classname: its file), a failure per failed case. */
export function junitText(rs: readonly CaseResult[]): string {
  // The package is CommonJS whose module.exports is the builder (its .d.ts says `export default`).
  const b = (junit as unknown as Builder).newBuilder();
  const suite = b.testSuite().name('xensim test');
  for (const r of rs) {
    const tc = suite.testCase().className(r.file).name(r.name);
    if (!r.ok) tc.failure(r.failures.join('\n'));
  }
  return b.build() + '\n';
}
