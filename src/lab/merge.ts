// `xensim merge`: the shards of one `compare --shard K/N` or `explore --shard K/N` joined into the
// result one unsharded run gives, in the same order and with the same numbers, so that the
// command prints the same bytes. A compare shard ran the jobs i with i mod N = K - 1 (matrix
// order); an explore shard the root choices u with u mod N = K - 1 (dpor.ts, RootShare).

import type { ExploreReport, Finding } from './explore.ts';
import type { Verdict } from './verdict.ts';

/** What a compare shard writes first: its place and the whole matrix. */
export interface CompareShardHead {
  k: number;
  n: number;
  scenarios: string[];
  policies: string[];
  seeds: number[];
  set: string[];
}

export interface CompareShard {
  head: CompareShardHead;
  verdicts: Verdict[];
  /** Where it came from, for the errors. */
  file: string;
}

/** A shard set that does not join up: the input's fault (exit 2). */
export class MergeError extends Error {
  override name = 'MergeError';
}

/** Each shard 1…N once, all of the same N (and `same` for what must match): sorted by K. */
function checkShards<T>(items: T[], place: (t: T) => { k: number; n: number; file: string }, same: (t: T) => string): T[] {
  const first = items[0];
  if (first === undefined) throw new MergeError('no shard files');
  const n = place(first).n;
  const byK = new Map<number, T>();
  for (const t of items) {
    const p = place(t);
    if (p.n !== n) throw new MergeError(`${p.file}: shard ${p.k}/${p.n}, but ${place(first).file} is one of ${n}`);
    if (same(t) !== same(first)) throw new MergeError(`${p.file}: shard of another run than ${place(first).file} (${same(t)} against ${same(first)})`);
    const dup = byK.get(p.k);
    if (dup !== undefined) throw new MergeError(`${p.file}: shard ${p.k}/${n} again (also ${place(dup).file})`);
    byK.set(p.k, t);
  }
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((k) => !byK.has(k));
  if (missing.length) throw new MergeError(`shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${n} missing`);
  return Array.from({ length: n }, (_, i) => byK.get(i + 1)!);
}

/** The matrix's verdicts in compareJobs' order, as `compare` without --shard returns them. */
export function mergeCompare(shards: CompareShard[]): { head: CompareShardHead; verdicts: Verdict[] } {
  const sorted = checkShards(shards, (s) => ({ ...s.head, file: s.file }), (s) => JSON.stringify([s.head.scenarios, s.head.policies, s.head.seeds, s.head.set]));
  const head = sorted[0]!.head;
  const n = head.n;
  const total = head.scenarios.length * head.policies.length * head.seeds.length;
  sorted.forEach((s, i) => {
    const want = Math.floor((total - i - 1) / n) + 1;
    if (s.verdicts.length !== want) throw new MergeError(`${s.file}: ${s.verdicts.length} verdicts, shard ${i + 1}/${n} of ${total} runs has ${want} (a stopped shard? run it again)`);
  });
  const verdicts = Array.from({ length: total }, (_, i) => sorted[i % n]!.verdicts[Math.floor(i / n)]!);
  return { head, verdicts };
}

/** The report `explore` without --shard gives (the root fully expanded, as every shard ran it). */
export function mergeExplore(shards: { report: ExploreReport; file: string }[]): ExploreReport {
  const sorted = checkShards(
    shards,
    (s) => ({ k: s.report.shard?.k ?? 0, n: s.report.shard?.n ?? 0, file: s.file }),
    (s) => JSON.stringify([s.report.scenario, s.report.policy, s.report.method]),
  ).map((s) => s.report);
  const sum = (f: (r: ExploreReport) => number): number => sorted.reduce((a, r) => a + f(r), 0);
  const out: ExploreReport = {
    scenario: sorted[0]!.scenario,
    policy: sorted[0]!.policy,
    method: sorted[0]!.method,
    schedules: sum((r) => r.schedules),
    mazurkiewicz: sum((r) => r.mazurkiewicz),
    blocked: sum((r) => r.blocked),
    states: sum((r) => r.states),
    max_depth: Math.max(...sorted.map((r) => r.max_depth)),
    exhaustive: sorted.every((r) => r.exhaustive),
    stopped: sorted.find((r) => r.stopped !== null)?.stopped ?? null,
    outcomes: { completed: sum((r) => r.outcomes.completed), deadlock: sum((r) => r.outcomes.deadlock), bug: sum((r) => r.outcomes.bug) },
    va_hazards: sum((r) => r.va_hazards),
    distinct: mergeDistinct(sorted),
    counterexamples: mergeCounterexamples(sorted),
  };
  if (out.exhaustive) out.stopped = null;
  return out;
}

/**
 * Unsharded, the root's subtrees run in vCPU order and a kind's shortest is replaced only by a
 * strictly shorter one: so of equal lengths, the one under the lower root choice wins.
 */
function earlier(a: readonly number[], b: readonly number[]): boolean {
  return a.length < b.length || (a.length === b.length && (a[0] ?? 0) < (b[0] ?? 0));
}

function mergeDistinct(rs: ExploreReport[]): ExploreReport['distinct'] {
  const by = new Map<string, ExploreReport['distinct'][number]>();
  for (const d of rs.flatMap((r) => r.distinct)) {
    const m = by.get(d.outcome);
    if (!m) by.set(d.outcome, { ...d });
    else {
      m.schedules += d.schedules;
      if (earlier(d.shortest, m.shortest)) m.shortest = d.shortest;
    }
  }
  return [...by.values()].sort((a, b) => (a.outcome < b.outcome ? -1 : a.outcome > b.outcome ? 1 : 0));
}

/** Each kind's shortest, the kinds in the order one search finds them (by root choice, then as the shard found them). */
function mergeCounterexamples(rs: ExploreReport[]): ExploreReport['counterexamples'] {
  const kinds: { f: Finding; root: number; at: number }[] = [];
  for (const r of rs) {
    Object.keys(r.counterexamples).forEach((f, at) => {
      const root = r.shard?.first[f as Finding] ?? 0;
      const k = kinds.find((x) => x.f === f);
      if (!k) kinds.push({ f: f as Finding, root, at });
      else if (root < k.root) Object.assign(k, { root, at });
    });
  }
  kinds.sort((a, b) => a.root - b.root || a.at - b.at);
  const out: ExploreReport['counterexamples'] = {};
  for (const { f } of kinds) {
    for (const r of rs) {
      const c = r.counterexamples[f];
      const best = out[f];
      if (c && (!best || earlier(c.schedule, best.schedule))) out[f] = c;
    }
  }
  return out;
}
