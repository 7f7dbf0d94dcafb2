// Every schedule of a scenario, with no reduction at all: the yardstick explore is checked against
// (test/src/explore-brute.test.ts) and timed against (test/bench/lab.ts). A depth-first walk over
// the runnable vCPUs at each step, re-running from boot for each schedule. It can also record each
// schedule's step footprints, so that a test can count the Mazurkiewicz traces among them.

import type { Chooser, StepTrace } from '../../../guest/kernel.ts';
import { dependent } from '../../../guest/smp/footprint.ts';
import { runScenarioWith, type RunScenarioOptions } from '../run.ts';
import type { Scenario } from '../scenarios/schema.ts';
import { outcomeKey } from './outcome.ts';

export interface BruteReport {
  /** Complete schedules run. */
  schedules: number;
  /** False when maxSchedules stopped it. */
  finished: boolean;
  /** Distinct outcomes (outcomeKey). */
  outcomes: Set<string>;
  /** Canonical forms of the schedules' Mazurkiewicz traces (with `traces`). */
  traces: Set<string>;
}

export function bruteForce(
  s: Scenario,
  runOpts: RunScenarioOptions,
  opts: { maxSchedules?: number; maxTimeMs?: number; traces?: boolean } = {},
): BruteReport {
  const max = opts.maxSchedules ?? (opts.maxTimeMs !== undefined ? Infinity : 100_000);
  const started = performance.now();
  const report: BruteReport = { schedules: 0, finished: true, outcomes: new Set(), traces: new Set() };
  const stack: number[][] = [[]];
  while (stack.length > 0) {
    if (report.schedules >= max || (opts.maxTimeMs !== undefined && performance.now() - started >= opts.maxTimeMs)) {
      report.finished = false;
      break;
    }
    const prefix = stack.pop()!;
    const chooser: Chooser = (runnable, step) => {
      if (step < prefix.length) return runnable.indexOf(prefix[step]!);
      const taken = prefix.slice(0, step);
      for (let i = runnable.length - 1; i >= 1; i--) stack.push([...taken, runnable[i]!]);
      prefix.push(runnable[0]!);
      return 0;
    };
    const trace: StepTrace | undefined = opts.traces ? { steps: [], pending: [] } : undefined;
    const v = runScenarioWith(s, runOpts, trace ? { seed: 0, chooser, trace } : { seed: 0, chooser });
    report.schedules++;
    report.outcomes.add(outcomeKey(v));
    // (A setup that did not complete leaves no program steps: its schedule is the setup's.)
    if (trace) report.traces.add(canonical(v.schedule.slice(0, trace.steps.length), trace));
  }
  return report;
}

/**
 * The lexicographically least schedule equivalent to this one: repeatedly take the lowest vCPU
 * whose next step has no earlier dependent step still waiting (Foata-style normal form).
 */
export function canonical(schedule: readonly number[], trace: StepTrace): string {
  const n = schedule.length;
  const done = new Uint8Array(n);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    let pick = -1;
    for (let j = 0; j < n; j++) {
      if (done[j]) continue;
      let free = true;
      for (let i = 0; i < j && free; i++) {
        if (done[i]) continue;
        if (schedule[i] === schedule[j] || dependent(trace.steps[i]!, trace.steps[j]!)) free = false;
      }
      if (free && (pick < 0 || schedule[j]! < schedule[pick]!)) pick = j;
    }
    done[pick] = 1;
    out.push(schedule[pick]!);
  }
  return out.join(',');
}
