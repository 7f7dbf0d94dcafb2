// A scenario's own `expect` (scenarios/schema.ts, ExpectationSchema) against a run's verdict: the
// expectations that failed, each named with what it wanted and what the run gave. A piece of the
// shell; `xensim test` and `run`/`compare` use it.
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
  if (v.outcome !== want.outcome) out.push(`outcome: expected ${want.outcome}, got ${v.outcome}`);
  for (const [key, count] of Object.entries(COUNTS)) {
    const w = (want as Record<string, unknown>)[key];
    if (w !== 'none' && w !== 'some') continue;
    const n = count(v);
    if ((w === 'none') !== (n === 0)) out.push(`${key}: expected ${w}, got ${n}`);
  }
  return out;
}
