// A scenario's own `expect` (scenarios/schema.ts, ExpectationSchema) against a run's verdict: the
// expectations that failed, each named with what it wanted and what the run gave. A piece of the
// shell; `xensim test` and `run`/`compare` use it.
import type { ExploreReport } from './explore.ts';
import type { Expectation } from './scenarios/schema.ts';
import type { Verdict } from './verdict.ts';

/** The counts an expectation may say `none` or `some` of. */
const COUNTS: Readonly<Record<string, (v: Verdict) => number>> = {
  va_hazards: (v) => v.va_hazards,
  warnings: (v) => v.warnings,
  ipis: (v) => v.ipis,
  pins_refused: (v) => v.pins.refused,
};

/** Each expectation the verdict fails, as `key: expected X, got Y`; empty when all hold. */
export function expectationFailures(v: Verdict, want: Expectation): string[] {
  const out: string[] = [];
  if (want.outcome !== undefined && v.outcome !== want.outcome) out.push(`outcome: expected ${want.outcome}, got ${v.outcome}`);
  for (const [key, count] of Object.entries(COUNTS)) {
    const w = (want as Record<string, unknown>)[key];
    if (w !== 'none' && w !== 'some') continue;
    const n = count(v);
    if ((w === 'none') !== (n === 0)) out.push(`${key}: expected ${w}, got ${n}`);
  }
  return out;
}

/** Each reachability expectation (`expect[policy].explore`) an exploration fails. */
export function exploreExpectationFailures(r: ExploreReport, want: Expectation): string[] {
  const found: Record<string, number> = { deadlock: r.outcomes.deadlock, bug: r.outcomes.bug, hazard: r.va_hazards };
  const out: string[] = [];
  for (const [kind, w] of Object.entries(want.explore ?? {})) {
    const n = found[kind]!;
    if (w === 'reachable' && n === 0) out.push(`explore.${kind}: expected reachable, found in none of ${r.schedules} schedules${r.exhaustive ? '' : ' (not exhaustive)'}`);
    if (w === 'never' && n > 0) out.push(`explore.${kind}: expected never, found in ${n} of ${r.schedules} schedules`);
    if (w === 'never' && n === 0 && !r.exhaustive) out.push(`explore.${kind}: expected never, not shown: the search stopped (${r.stopped ?? 'cut'}) before it was exhaustive`);
  }
  return out;
}

/** The expectation a run under `policy` (the scenario's own when none) is held to, if the scenario has one for it. */
export function expectationFor(s: { policy: string; expect: Record<string, Expectation> }, policy: string | undefined): { key: string; want: Expectation } | undefined {
  const key = policy ?? s.policy;
  const want = Object.hasOwn(s.expect, key) ? s.expect[key] : undefined;
  return want === undefined ? undefined : { key, want };
}

/** The failures as the CLI says them: `expect[POLICY]: …`, one line each. */
export function failuresText(key: string, failures: readonly string[], who = ''): string {
  return failures.map((f) => `${who}expect[${key}] failed: ${f}\n`).join('');
}
