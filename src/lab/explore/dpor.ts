// The search behind `xensim explore`: stateless model checking with source-set DPOR and sleep sets
// (docs/explore.md). Coroutines cannot be copied, so every branch re-runs the scenario from boot
// along a recorded prefix of scheduling choices. Each run records every step's footprint
// (guest/smp/footprint.ts); the races in it add branches where the opposite order could give a
// different result, and sleep sets keep a branch from repeating an order already covered. Every
// complete schedule explored is a different Mazurkiewicz trace (under the footprint dependence).

import type { Chooser, StepTrace } from '../../../guest/kernel.ts';
import { dependent, type StepFootprint } from '../../../guest/smp/footprint.ts';
import { runScenarioWith, type RunScenarioOptions } from '../run.ts';
import type { Scenario } from '../scenarios/schema.ts';
import type { Verdict } from '../verdict.ts';
import { findRaces, type Ev } from './races.ts';

interface Node {
  /** vCPUs that can step in this state. */
  runnable: number[];
  /** vCPUs whose step from here is covered elsewhere, with that step's footprint. */
  sleep: Map<number, StepFootprint>;
  /** vCPUs to explore from here (those done are also in sleep). */
  backtrack: Set<number>;
  chosen: number;
  /** The chosen vCPU's step here, as the last run recorded it. */
  event: StepFootprint | null;
}

/**
 * Steps one explored run may take (docs/limits.md). Race detection keeps, for each step, the
 * earlier steps it depends on: up to n²/2 numbers for a run of n steps, so a long run (64 vCPUs ×
 * thousands of operations) would take the heap. The built-in scenarios' runs take at most ~500.
 */
export const MAX_EXPLORE_DEPTH = 4096;

export interface RunRecord {
  verdict: Verdict;
  /** False for a run the sleep sets cut short (not a complete schedule). */
  complete: boolean;
}

/**
 * A share of the search for `explore --shard K/N`: the root's choices (its runnable vCPUs, in
 * order) are dealt round-robin, choice u to shard u mod N. The root is fully expanded (every
 * runnable vCPU is a branch, each with the earlier ones asleep), so each root choice's subtree is
 * explored the same whichever process runs it: a shard only needs the first steps' footprints of
 * the earlier choices for its sleep set, which a one-step probe run gives.
 */
export interface RootShare {
  /** 0-based. */
  index: number;
  count: number;
}

/** One run at a time, so a caller can stop between runs (time, count, Ctrl-C) and report. */
export class DporSearch {
  private readonly stack: Node[] = [];
  private started = false;
  done = false;
  /** Steps taken beyond replayed prefixes: the states the search visited. */
  states = 0;
  maxDepth = 0;
  /** A run reached depthLimit: the search stopped there, not exhaustive. */
  cut = false;
  private readonly depthLimit: number;
  private readonly s: Scenario;
  private readonly runOpts: RunScenarioOptions;
  private readonly vcpus: number;
  private readonly share: RootShare;
  /** Root choices of other shards: their subtrees are not run here, only probed for a footprint. */
  private readonly others = new Set<number>();

  constructor(s: Scenario, runOpts: RunScenarioOptions, share: RootShare = { index: 0, count: 1 }, depthLimit = MAX_EXPLORE_DEPTH) {
    this.depthLimit = depthLimit;
    this.s = s;
    this.runOpts = runOpts;
    this.vcpus = runOpts.vcpus ?? s.vcpus;
    this.share = share;
  }

  /** Runs the next branch; null when the search is complete. */
  next(): RunRecord | null {
    for (;;) {
      if (this.done) return null;
      if (this.started && this.stack.length === 0) {
        this.done = true;
        return null;
      }
      const r = this.run();
      if (r) return r;
    }
  }

  /** One run: a branch (its record), or a probe of another shard's root choice (null). */
  private run(): RunRecord | null {
    const prefix = this.stack.length;
    const first = !this.started;
    this.started = true;
    const trace: StepTrace = { steps: [], pending: [] };
    const verdict = runScenarioWith(this.s, this.runOpts, { seed: 0, chooser: this.chooser(prefix, trace), trace });
    if (this.cut) {
      // Cut at the depth limit: no races looked for, the search ends here (not exhaustive).
      this.done = true;
      this.maxDepth = Math.max(this.maxDepth, trace.steps.length);
      return { verdict, complete: false };
    }
    trace.steps.forEach((fp, i) => (this.stack[i]!.event = fp));
    // The root state is counted once in all: by the first shard.
    const root = first && this.share.index > 0 ? 1 : 0;
    if (this.stack.length === 0 && this.share.index > 0) return null; // no choice at all: the first shard's run
    if (this.stack.length > 0 && this.others.has(this.stack[0]!.chosen)) {
      // A probe: it ran the root choice's first step only, for the sleep set.
      this.states += first && this.share.index === 0 ? 1 : 0;
      this.stack.length = 1;
      this.backtrack();
      return null;
    }
    const complete = verdict.outcome !== 'pruned';
    this.states += Math.max(0, trace.steps.length - prefix + 1) - root;
    this.maxDepth = Math.max(this.maxDepth, trace.steps.length);
    this.addBacktracks(trace, prefix, complete);
    this.backtrack();
    if (this.stack.length === 0) this.done = true;
    return { verdict, complete };
  }

  /** Follows the stack's choices, then opens new nodes: the lowest vCPU not asleep. */
  private chooser(prefix: number, trace: StepTrace): Chooser {
    return (runnable, step) => {
      // A probe of another shard's root choice stops after its first step.
      if (step === 1 && this.others.has(this.stack[0]!.chosen)) return null;
      if (step < prefix) {
        const i = runnable.indexOf(this.stack[step]!.chosen);
        if (i < 0) throw new Error(`explore: replaying step ${step}, vCPU ${this.stack[step]!.chosen} is not runnable (the model is not deterministic)`);
        return i;
      }
      if (step >= this.depthLimit) {
        this.cut = true;
        return null;
      }
      const sleep = new Map<number, StepFootprint>();
      const parent = this.stack[step - 1];
      if (parent) {
        const e = trace.steps[step - 1]!;
        for (const [q, fp] of parent.sleep) if (!dependent(fp, e)) sleep.set(q, fp);
      }
      const p = runnable.find((q) => !sleep.has(q));
      if (p === undefined) return null;
      // The root is fully expanded (RootShare): every runnable vCPU is a branch there.
      const backtrack = new Set(step === 0 ? runnable : [p]);
      if (step === 0) runnable.forEach((q, u) => u % this.share.count !== this.share.index && this.others.add(q));
      this.stack.push({ runnable: [...runnable], sleep, backtrack, chosen: p, event: null });
      return runnable.indexOf(p);
    };
  }

  private addBacktracks(trace: StepTrace, prefix: number, complete: boolean): void {
    const events: Ev[] = trace.steps.map((fp, i) => ({ vcpu: this.stack[i]!.chosen, fp }));
    const pending: Ev[] = complete ? trace.pending.map((p) => ({ vcpu: p.vcpu, fp: p.fp })) : [];
    for (const race of findRaces(events, prefix - 1, this.vcpus, pending)) {
      const node = this.stack[race.at]!;
      if (race.initials.some((q) => node.backtrack.has(q))) continue;
      const can = race.initials.filter((q) => node.runnable.includes(q));
      // None can run there: e enabled e' (a lock release, an ack), an order that cannot be reversed.
      if (can.length === 0) continue;
      node.backtrack.add(can.find((q) => !node.sleep.has(q)) ?? can[0]!);
    }
  }

  /** Marks the deepest choice done and moves to the next branch to run. */
  private backtrack(): void {
    while (this.stack.length > 0) {
      const n = this.stack[this.stack.length - 1]!;
      n.sleep.set(n.chosen, n.event!);
      const next = [...n.backtrack].filter((q) => !n.sleep.has(q)).sort((a, b) => a - b)[0];
      if (next !== undefined) {
        n.chosen = next;
        n.event = null;
        return;
      }
      this.stack.pop();
    }
  }
}
