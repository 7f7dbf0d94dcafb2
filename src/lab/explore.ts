// `xensim explore SCENARIO`: every interleaving of the scenario's vCPUs, systematically. A depth-
// first search over scheduling choices that re-runs the scenario from boot for each branch
// (coroutines cannot be copied) and prunes a branch when it reaches a state fingerprint already
// seen (guest/kernel.ts `fingerprint`): state de-duplication, so 2-vCPU scenarios finish in
// seconds. It reports how many complete schedules deadlock, BUG or leave a VA hazard, and the
// shortest counterexample of each, which `run --schedule` reproduces exactly.

import type { Chooser } from '../../guest/kernel.ts';
import { runScenarioWith, type RunScenarioOptions } from './run.ts';
import type { Scenario } from './scenarios/schema.ts';
import type { Verdict } from './verdict.ts';

export interface ExploreOptions {
  policy?: string;
  set?: readonly string[];
  vcpus?: number;
  /** Stop after this many complete schedules (default 100,000). */
  maxSchedules?: number;
  /** Called after each complete or pruned run (progress). */
  onRun?: (runs: number) => void;
}

export type Finding = 'deadlock' | 'bug' | 'va_hazard';

export interface ExploreReport {
  scenario: string;
  policy: string;
  /** Complete schedules run to an end (completed, deadlock or BUG). */
  schedules: number;
  /** Runs cut short at a state already explored. */
  pruned: number;
  /** Distinct states (fingerprints) seen. */
  states: number;
  /** False when maxSchedules stopped the search early. */
  exhaustive: boolean;
  outcomes: { completed: number; deadlock: number; bug: number };
  /** Complete schedules that left at least one VA hazard. */
  va_hazards: number;
  /** The shortest schedule for each finding, with its verdict. */
  counterexamples: Partial<Record<Finding, { schedule: number[]; verdict: Verdict }>>;
}

export function explore(s: Scenario, opts: ExploreOptions = {}): ExploreReport {
  const max = opts.maxSchedules ?? 100_000;
  const seen = new Set<string>();
  const stack: number[][] = [[]];
  const report: ExploreReport = {
    scenario: s.name,
    policy: opts.policy ?? s.policy,
    schedules: 0,
    pruned: 0,
    states: 0,
    exhaustive: true,
    outcomes: { completed: 0, deadlock: 0, bug: 0 },
    va_hazards: 0,
    counterexamples: {},
  };
  const runOpts: RunScenarioOptions = { set: opts.set ?? [] };
  if (opts.policy !== undefined) runOpts.policy = opts.policy;
  if (opts.vcpus !== undefined) runOpts.vcpus = opts.vcpus;
  let runs = 0;

  while (stack.length > 0) {
    if (report.schedules >= max) {
      report.exhaustive = false;
      break;
    }
    const prefix = stack.pop()!;
    const schedulePrefix = [...prefix];
    // Follow the prefix, then the first runnable vCPU, branching on the others at new states.
    const chooser: Chooser = (runnable, step, fingerprint) => {
      if (step < prefix.length) {
        const i = runnable.indexOf(prefix[step]!);
        if (i < 0) throw new Error(`explore: replaying step ${step}, vCPU ${prefix[step]} is not runnable`);
        return i;
      }
      const fp = fingerprint();
      if (seen.has(fp)) return null;
      seen.add(fp);
      for (let i = runnable.length - 1; i >= 1; i--) stack.push([...schedulePrefix, runnable[i]!]);
      schedulePrefix.push(runnable[0]!);
      return 0;
    };
    const v = runScenarioWith(s, runOpts, { seed: 0, chooser });
    opts.onRun?.(++runs);
    if (v.outcome === 'pruned') {
      report.pruned++;
      continue;
    }
    report.schedules++;
    report.outcomes[v.outcome]++;
    if (v.va_hazards > 0) report.va_hazards++;
    const note = (f: Finding) => {
      const best = report.counterexamples[f];
      if (!best || v.schedule.length < best.schedule.length) report.counterexamples[f] = { schedule: v.schedule, verdict: v };
    };
    if (v.outcome === 'deadlock') note('deadlock');
    if (v.outcome === 'bug') note('bug');
    if (v.va_hazards > 0) note('va_hazard');
  }
  report.states = seen.size;
  return report;
}

export function exploreText(r: ExploreReport): string {
  const lines = [
    `scenario  ${r.scenario}   policy ${r.policy}`,
    `explored  ${r.schedules} complete schedules, ${r.pruned} cut at known states, ${r.states} states${r.exhaustive ? ' (exhaustive)' : ' (stopped at --max-schedules)'}`,
    `outcomes  completed ${r.outcomes.completed}   deadlock ${r.outcomes.deadlock}   bug ${r.outcomes.bug}   with VA hazards ${r.va_hazards}`,
  ];
  for (const [kind, cx] of Object.entries(r.counterexamples)) {
    lines.push(`shortest ${kind}: ${cx.schedule.length} steps   xensim run ${r.scenario} --policy '${r.policy}' --schedule ${cx.schedule.join(',')}`);
    if (cx.verdict.deadlock) for (const e of cx.verdict.deadlock) lines.push(`  vCPU${e.vcpu} ${e.why}`);
    if (cx.verdict.bug) lines.push(`  BUG in ${cx.verdict.bug.where}: ${cx.verdict.bug.message}`);
  }
  if (Object.keys(r.counterexamples).length === 0) lines.push('no deadlock, BUG or VA hazard in any schedule');
  return lines.join('\n');
}
