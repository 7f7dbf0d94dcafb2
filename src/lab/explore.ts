// `xensim explore SCENARIO`: every interleaving of the scenario's vCPUs that can give a different
// result, found by source-set DPOR with sleep sets over the kernel's scheduling points
// (src/lab/explore/dpor.ts, docs/explore.md). It reports how many complete schedules (each a
// different Mazurkiewicz trace) deadlock, BUG or leave a VA hazard, every distinct outcome, and
// the shortest schedule of each kind, which `run --schedule` reproduces exactly. A search cut by
// --max-schedules, --max-time, Ctrl-C, a run past MAX_EXPLORE_DEPTH steps or the heap budget says
// so: "not exhaustive".

import { getHeapStatistics } from 'node:v8';
import { DporSearch, MAX_EXPLORE_DEPTH, type RootShare, type RunRecord } from './explore/dpor.ts';
import { findingsOf, outcomeKey, type Finding } from './explore/outcome.ts';
import type { RunScenarioOptions } from './run.ts';
import type { Scenario } from './scenarios/schema.ts';
import { deadlockLines, type Verdict } from './verdict.ts';

export type { Finding } from './explore/outcome.ts';

export interface ExploreOptions {
  policy?: string;
  set?: readonly string[];
  vcpus?: number;
  /** Stop after this many complete schedules (default 100,000). */
  maxSchedules?: number;
  /** Stop after this many milliseconds (checked between runs). */
  maxTimeMs?: number;
  /** Stop at a run longer than this many steps (default MAX_EXPLORE_DEPTH, docs/limits.md). */
  maxDepth?: number;
  /** Stop once the V8 heap holds more than this many bytes, checked between runs (default 1 GiB). */
  maxHeapBytes?: number;
  /** How the user named the scenario (a path or a built-in name), for the repro commands. */
  source?: string;
  /** Called after each run. */
  onRun?: (r: ExploreProgress) => void;
  /** `--shard K/N`: explore only the root choices dealt to this shard (0-based index). */
  shard?: RootShare;
}

export interface ExploreProgress {
  schedules: number;
  runs: number;
  states: number;
  depth: number;
}

export type StopReason = 'max-schedules' | 'max-time' | 'max-depth' | 'max-memory' | 'interrupted';

/** The heap explore may fill before it stops with what it found (docs/limits.md). */
export const MAX_EXPLORE_HEAP_BYTES = 2 ** 30;

export interface ExploreReport {
  scenario: string;
  policy: string;
  method: 'source-dpor+sleep-sets';
  /** Complete schedules run to an end (completed, deadlock or BUG). */
  schedules: number;
  /**
   * Mazurkiewicz-distinct traces among them (under the footprint dependence): sleep sets never
   * let two equivalent complete schedules through, so this equals `schedules`.
   */
  mazurkiewicz: number;
  /** Runs the sleep sets cut short (their continuations are covered by other schedules). */
  blocked: number;
  /** Scheduling steps run beyond the replayed prefixes: the states visited. */
  states: number;
  /** The longest schedule, in steps. */
  max_depth: number;
  /** True only when the search ran to its end. */
  exhaustive: boolean;
  /** Why the search was cut (null when exhaustive). */
  stopped: StopReason | null;
  outcomes: { completed: number; deadlock: number; bug: number };
  /** Complete schedules that left at least one VA hazard. */
  va_hazards: number;
  /** Every distinct outcome (outcomeKey), with how many schedules gave it and the shortest. */
  distinct: { outcome: string; schedules: number; shortest: number[] }[];
  /** The shortest schedule of each kind, with its verdict and the command that replays it. */
  counterexamples: Partial<Record<Finding, { schedule: number[]; verdict: Verdict; repro: string }>>;
  /** Only in a shard's report (`--shard K/N`, 1-based K): what `xensim merge` joins. */
  shard?: { k: number; n: number; first: Partial<Record<Finding, number>> };
}

/** A search in progress: feed it runs, read the report at any point. */
export class Exploration {
  readonly search: DporSearch;
  readonly report: ExploreReport;
  private readonly opts: ExploreOptions;
  private readonly distinct = new Map<string, { outcome: string; schedules: number; shortest: number[] }>();
  private runs = 0;

  constructor(s: Scenario, opts: ExploreOptions = {}) {
    this.opts = opts;
    const runOpts: RunScenarioOptions = { set: opts.set ?? [] };
    if (opts.policy !== undefined) runOpts.policy = opts.policy;
    if (opts.vcpus !== undefined) runOpts.vcpus = opts.vcpus;
    this.search = new DporSearch(s, runOpts, opts.shard, opts.maxDepth);
    this.report = {
      scenario: s.name,
      policy: opts.policy ?? s.policy,
      method: 'source-dpor+sleep-sets',
      schedules: 0,
      mazurkiewicz: 0,
      blocked: 0,
      states: 0,
      max_depth: 0,
      exhaustive: false,
      stopped: null,
      outcomes: { completed: 0, deadlock: 0, bug: 0 },
      va_hazards: 0,
      distinct: [],
      counterexamples: {},
    };
    if (opts.shard) this.report.shard = { k: opts.shard.index + 1, n: opts.shard.count, first: {} };
  }

  /** One run; false when the search is over (complete, or a limit reached). */
  step(started: number): boolean {
    const r = this.report;
    if (r.schedules >= (this.opts.maxSchedules ?? 100_000)) return this.stop('max-schedules');
    if (this.opts.maxTimeMs !== undefined && performance.now() - started >= this.opts.maxTimeMs) return this.stop('max-time');
    if (getHeapStatistics().used_heap_size > (this.opts.maxHeapBytes ?? MAX_EXPLORE_HEAP_BYTES)) return this.stop('max-memory');
    const rec = this.search.next();
    if (!rec) {
      r.exhaustive = true;
      return false;
    }
    this.note(rec);
    if (this.search.cut) return this.stop('max-depth');
    this.opts.onRun?.({ schedules: r.schedules, runs: ++this.runs, states: this.search.states, depth: this.search.maxDepth });
    return true;
  }

  stop(why: StopReason): false {
    if (!this.report.exhaustive) this.report.stopped = why;
    return false;
  }

  private note({ verdict: v, complete }: RunRecord): void {
    const r = this.report;
    r.states = this.search.states;
    r.max_depth = this.search.maxDepth;
    if (!complete) {
      r.blocked++;
      return;
    }
    r.schedules++;
    r.mazurkiewicz++;
    if (v.outcome !== 'pruned') r.outcomes[v.outcome]++;
    if (v.va_hazards > 0) r.va_hazards++;
    const key = outcomeKey(v);
    const d = this.distinct.get(key);
    if (!d) this.distinct.set(key, { outcome: key, schedules: 1, shortest: v.schedule });
    else {
      d.schedules++;
      if (v.schedule.length < d.shortest.length) d.shortest = v.schedule;
    }
    r.distinct = [...this.distinct.values()].sort((a, b) => (a.outcome < b.outcome ? -1 : a.outcome > b.outcome ? 1 : 0));
    for (const f of findingsOf(v)) {
      const best = r.counterexamples[f];
      // A shard notes the root choice under which each kind was first found: the merge's order.
      if (!best && r.shard) r.shard.first[f] = v.schedule[0] ?? 0;
      if (!best || v.schedule.length < best.schedule.length) r.counterexamples[f] = { schedule: v.schedule, verdict: v, repro: this.repro(v.schedule) };
    }
  }

  /** `xensim run` with the scenario as the user named it (a path stays a path). */
  private repro(schedule: readonly number[]): string {
    const o = this.opts;
    const parts = ['xensim run', shellWord(o.source ?? this.report.scenario), '--policy', shellWord(this.report.policy)];
    for (const kv of o.set ?? []) parts.push('--set', shellWord(kv));
    if (o.vcpus !== undefined) parts.push('--vcpus', String(o.vcpus));
    parts.push('--schedule', schedule.join(',') || '""');
    return parts.join(' ');
  }
}

function shellWord(w: string): string {
  return /^[\w./,=:+-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

export function explore(s: Scenario, opts: ExploreOptions = {}): ExploreReport {
  const x = new Exploration(s, opts);
  const started = performance.now();
  while (x.step(started));
  return x.report;
}

/**
 * The same search, handing the event loop a turn every ~50 ms so that Ctrl-C (`signal`) can stop
 * it between runs with what it found so far.
 */
export async function exploreAsync(s: Scenario, opts: ExploreOptions, signal?: AbortSignal): Promise<ExploreReport> {
  const x = new Exploration(s, opts);
  const started = performance.now();
  let turn = performance.now();
  for (;;) {
    if (signal?.aborted) {
      x.stop('interrupted');
      break;
    }
    if (!x.step(started)) break;
    if (performance.now() - turn > 50) {
      await new Promise((r) => setImmediate(r));
      turn = performance.now();
    }
  }
  return x.report;
}

const STOPPED: Record<StopReason, string> = {
  'max-schedules': 'stopped at --max-schedules',
  'max-time': 'stopped at --max-time',
  'max-depth': `a run went past ${MAX_EXPLORE_DEPTH} steps (the depth limit)`,
  'max-memory': 'stopped at the memory budget (1 GiB of heap)',
  interrupted: 'interrupted',
};

export function exploreText(r: ExploreReport): string {
  const scope = r.exhaustive ? 'exhaustive' : `NOT EXHAUSTIVE: ${STOPPED[r.stopped ?? 'interrupted']}`;
  const lines = [
    `scenario  ${r.scenario}   policy ${r.policy}`,
    `explored  ${r.schedules} complete schedules (${r.mazurkiewicz} Mazurkiewicz-distinct), ${r.blocked} runs cut by sleep sets, ${r.states} states, depth ${r.max_depth} (${scope})`,
    `outcomes  completed ${r.outcomes.completed}   deadlock ${r.outcomes.deadlock}   bug ${r.outcomes.bug}   with VA hazards ${r.va_hazards}`,
  ];
  if (r.distinct.length > 1) {
    lines.push(`distinct  ${r.distinct.length} outcomes`);
    for (const d of r.distinct) lines.push(`  ${d.schedules}× ${d.outcome}`);
  }
  for (const [kind, cx] of Object.entries(r.counterexamples)) {
    if (kind === 'completed') continue;
    lines.push(`shortest ${kind}: ${cx.schedule.length} steps   ${cx.repro}`);
    if (cx.verdict.deadlock) lines.push(...deadlockLines(cx.verdict.deadlock));
    if (cx.verdict.bug) lines.push(`  BUG in ${cx.verdict.bug.where}: ${cx.verdict.bug.message}`);
  }
  const bad = Object.keys(r.counterexamples).filter((k) => k !== 'completed');
  if (bad.length === 0) lines.push(r.exhaustive ? 'no deadlock, BUG or VA hazard in any schedule' : 'no deadlock, BUG or VA hazard in the schedules explored so far');
  return lines.join('\n');
}
