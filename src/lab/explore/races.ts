// Race detection over one executed run, for source-set DPOR (Abdulla, Aronis, Jonsson, Sagonas,
// "Optimal dynamic partial order reduction", POPL 2014, Algorithm 1 with races found on the whole
// run). Events are the run's steps (vCPU + footprint) plus, at its end, the next step of each vCPU
// that had not finished (what it waits for). happens-before is the transitive closure of program
// order and dependence; e ⋖ e' is a race when they are of different vCPUs, dependent, and e
// reaches e' only directly. For each race the caller adds, at the state before e, one initial of
// notdep(e).proc(e') that can run there.

import { dependent, type StepFootprint } from '../../../guest/smp/footprint.ts';

export interface Ev {
  vcpu: number;
  fp: StepFootprint;
}

export interface Race {
  /** Index of e (the state before it is where a new branch goes). */
  at: number;
  /** vCPUs that could start the reversed order there: initials of notdep(e).proc(e'). */
  initials: number[];
}

/**
 * Races whose later event has index >= `from` (earlier pairs were seen by earlier runs), and
 * races with each pending event (each taken on its own: they are alternatives, not a sequence).
 * The returned initials are a subset of the true ones (happens-before is taken from the whole
 * run, which can only add predecessors): any of them is a correct choice.
 */
export function findRaces(events: readonly Ev[], from: number, vcpus: number, pending: readonly Ev[] = []): Race[] {
  const n = events.length;
  // Vector clocks: vc[j][t] = how many of vCPU t's events happen before or at j.
  const vc: Int32Array[] = [];
  const pos: number[] = [];
  const count = new Int32Array(vcpus);
  const last = new Int32Array(vcpus).fill(-1);
  const preds: number[][] = [];
  const predsOf = (e: Ev, before: number): number[] => {
    const p: number[] = [];
    if (last[e.vcpu]! >= 0) p.push(last[e.vcpu]!);
    for (let i = 0; i < before; i++) {
      const f = events[i]!;
      if (f.vcpu !== e.vcpu && dependent(f.fp, e.fp)) p.push(i);
    }
    return p;
  };
  const clockOf = (e: Ev, p: readonly number[], at: number): Int32Array => {
    const clock = new Int32Array(vcpus);
    for (const i of p) {
      const ci = vc[i]!;
      for (let t = 0; t < vcpus; t++) if (ci[t]! > clock[t]!) clock[t] = ci[t]!;
    }
    clock[e.vcpu] = at;
    return clock;
  };
  for (let j = 0; j < n; j++) {
    const e = events[j]!;
    const p = predsOf(e, j);
    pos.push(++count[e.vcpu]!);
    vc.push(clockOf(e, p, pos[j]!));
    preds.push(p);
    last[e.vcpu] = j;
  }
  const races: Race[] = [];
  const racesOf = (all: readonly Ev[], j: number, p: readonly number[], hb: (a: number, b: number) => boolean) => {
    const e = all[j]!;
    for (const i of p) {
      if (all[i]!.vcpu === e.vcpu) continue;
      if (p.some((k) => k !== i && hb(i, k))) continue;
      races.push({ at: i, initials: initials(all, i, j, hb) });
    }
  };
  const hb = (i: number, j: number) => vc[j]![events[i]!.vcpu]! >= pos[i]!;
  for (let j = Math.max(from, 0); j < n; j++) racesOf(events, j, preds[j]!, hb);
  for (const e of pending) {
    const p = predsOf(e, n);
    const clock = clockOf(e, p, count[e.vcpu]! + 1);
    const all = [...events, e];
    const hbp = (i: number, j: number) => (j === n ? clock[events[i]!.vcpu]! >= pos[i]! : hb(i, j));
    racesOf(all, n, p, hbp);
  }
  return races;
}

/** Initials of notdep(e_i).proc(e_j): vCPUs whose first event there has no predecessor there. */
function initials(events: readonly Ev[], i: number, j: number, hb: (a: number, b: number) => boolean): number[] {
  const v: number[] = [];
  for (let k = i + 1; k < j; k++) if (!hb(i, k)) v.push(k);
  v.push(j);
  const seen = new Set<number>();
  const out: number[] = [];
  for (let a = 0; a < v.length; a++) {
    const x = v[a]!;
    const q = events[x]!.vcpu;
    if (seen.has(q)) continue;
    seen.add(q);
    let first = true;
    for (let b = 0; b < a; b++) if (hb(v[b]!, x)) first = false;
    if (first) out.push(q);
  }
  return out;
}
