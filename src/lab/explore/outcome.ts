// What tells two complete schedules' results apart for explore and its brute-force check: the
// outcome (completed, deadlock with its wait-for cycle, BUG with where and what), and whether a
// VA hazard was left. Two schedules with the same key are the same finding.

import type { Verdict } from '../verdict.ts';

export function outcomeKey(v: Verdict): string {
  let base: string;
  if (v.outcome === 'deadlock') base = `deadlock: ${(v.deadlock ?? []).map((e) => `vCPU${e.vcpu} ${e.why}`).join('; ')}`;
  else if (v.outcome === 'bug') base = `BUG on vCPU${v.bug!.vcpu} in ${v.bug!.where}: ${v.bug!.message}`;
  else base = v.outcome;
  return v.va_hazards > 0 ? `${base} + VA hazard` : base;
}

/** The kinds a counterexample is kept for (the shortest schedule of each). */
export type Finding = 'deadlock' | 'bug' | 'va_hazard' | 'completed';

export function findingsOf(v: Verdict): Finding[] {
  const f: Finding[] = [];
  if (v.outcome === 'deadlock' || v.outcome === 'bug' || v.outcome === 'completed') f.push(v.outcome);
  if (v.va_hazards > 0) f.push('va_hazard');
  return f;
}
