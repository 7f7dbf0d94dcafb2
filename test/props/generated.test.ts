// The trace generator that `npm run fuzz:xen` runs on real Xen (src/trace/generate.ts, with every
// hypercall the trace format expresses) feeds the property checks too: each generated record runs
// through the harness (sim.ts), which after every record checks the result, hv.audit(), the
// reachability of live page tables and its own model of pins and base pointers. The same generator
// thus serves both checks: what the oracle shows Xen does, and what Xen must never do.
import { afterAll, describe, expect, it } from 'vitest';
import type { Caller, Hypercall, Ulong } from '../../hypervisor/index.ts';
import { generateTrace, type GenerateOptions } from '../../src/trace/generate.ts';
import { readRecord } from '../../src/trace/read.ts';
import type { TraceRecord } from '../../src/trace/types.ts';
import type { FrameSel, MachineCfg } from './gen.ts';
import { knownLine, tolerateKnown } from './known.ts';
import { runs, SEED, timeout } from './shrunk.ts';
import { Sim } from './sim.ts';

/** What the runs saw, per op: rcs and how often (the coverage the assertions below ask for). */
const seen = new Map<string, Map<number, number>>();
let records = 0;
let sequences = 0;
let cutAtDestroy = 0;

function note(op: string, rc: number): void {
  const m = seen.get(op) ?? new Map<number, number>();
  m.set(rc, (m.get(rc) ?? 0) + 1);
  seen.set(op, m);
}

/** The machine generate.ts assumes: domain d has domid d and frames [0x1000·d, +frames). */
function machineOf(opts: Required<Pick<GenerateOptions, 'domains' | 'frames' | 'vcpus'>>): MachineCfg {
  return {
    doms: Array.from({ length: opts.domains }, (_, i) => ({
      domid: i + 1,
      vcpus: opts.vcpus,
      base: 0x1000 * (i + 1),
      count: opts.frames,
      privileged: false,
    })),
  };
}

function runCall(sim: Sim, c: Caller, r: TraceRecord): void {
  const res = sim.call(c, callOf(r));
  note(r.op, res.rc);
  if (r.op === 'multicall') r.calls.forEach((x, i) => note(`multicall.${x.op}`, res.results![i]!));
}

/** The hypercall a record makes (its caller's fields and expectation taken off). */
function callOf(r: TraceRecord): Hypercall {
  const { dom: _d, vcpu: _v, expect: _e, ...h } = r as TraceRecord & { dom?: number; vcpu?: number };
  return h as Hypercall;
}

/**
 * Runs one generated trace through the harness. A destroy_domain ends it: the generator creates
 * the domain again on the same frames at once, which the harness's machine cannot express.
 */
function runTrace(opts: GenerateOptions & Required<Pick<GenerateOptions, 'domains' | 'frames' | 'vcpus'>>): void {
  const sim = new Sim(machineOf(opts), { record: true });
  sequences++;
  const recs = generateTrace(opts).map((o) => readRecord(o as never));
  tolerateKnown(sim, () => {
    for (const r of recs) {
      if (sim.stoppedByXen) return;
      const c: Caller = { dom: 'dom' in r && r.dom !== undefined ? r.dom : 1, vcpu: 'vcpu' in r && r.vcpu !== undefined ? r.vcpu : 0 };
      records++;
      switch (r.op) {
        case 'create_domain':
        case 'frame':
        case 'read':
        case 'audit':
          continue; // the machine is built from the same numbers; queries change nothing
        case 'destroy_domain':
          sim.destroy(sim.doms.findIndex((d) => d.domid === r.domid));
          cutAtDestroy++;
          return;
        case 'store':
          note('store', sim.store(c, Number(r.mfn), r.slot, r.val));
          continue;
        case 'decrease_reservation':
          note('decrease_reservation', decrease(sim, c, r.mfns));
          continue;
        case 'access':
          note('access', sim.access(c, r.va, r.write).rc);
          continue;
        default:
          if (r.op === 'multicall' && r.calls.some((x) => x.op === 'decrease_reservation')) {
            // sim.ts takes every multicall result for an errno, and decrease_reservation's is a
            // count of extents: such a multicall runs entry by entry (the same calls, in order).
            for (const x of r.calls) note(`multicall.${x.op}`, x.op === 'decrease_reservation' ? decrease(sim, c, x.mfns) : sim.call(c, x).rc);
            continue;
          }
          runCall(sim, c, r);
      }
    }
  });
}

/**
 * decrease_reservation through the harness's own path for it (sim.ts `decrease`: rc = extents
 * done, then the checks), its frames named as the harness names them: by domain and index, or as
 * the special frame of the same kind (I/O memory, past the frame table).
 */
function decrease(sim: Sim, c: Caller, mfns: Ulong[]): number {
  const ci = sim.doms.findIndex((d) => d.domid === c.dom);
  const fs: FrameSel[] = mfns.map((m) => {
    if (typeof m === 'bigint') return { s: 'invalid' };
    if (m < 0x100) return { s: 'mmio' };
    for (let o = 0; o < sim.doms.length; o++) {
      const d = sim.doms[(ci + o) % sim.doms.length]!;
      if (m >= d.base && m < d.base + d.count) return { o, i: m - d.base };
    }
    return { s: 'free' };
  });
  let d = 0;
  while (sim.domIndex(d) !== ci) d++; // the caller, as a `Who` names it (an index among the live domains)
  sim.run({ k: 'decrease', who: { d, v: c.vcpu }, fs });
  const rc = sim.rcs[sim.rcs.length - 1]!;
  if (rc < mfns.length) note('decrease_reservation stopped early', rc);
  return rc;
}

const rcs = (op: string): number[] => [...(seen.get(op)?.keys() ?? [])].sort((a, b) => a - b);

afterAll(() => {
  console.log(`[props/generated] seed ${SEED}: ${sequences} generated traces, ${records} records, each followed by the checks (${cutAtDestroy} ended at a destroy_domain); ${knownLine()}`);
});

describe('generate.ts (the fuzz:xen generator) under the property checks', () => {
  it(
    'every record of every generated trace keeps the invariants (audit after each record)',
    () => {
      const n = runs(10);
      for (let i = 0; i < n; i++) {
        runTrace({ seed: SEED + i, records: 300, domains: 2, vcpus: 2, frames: 48, allHypercalls: true });
        runTrace({ seed: SEED + 10_000 + i, records: 120, domains: 1, vcpus: 1, frames: 48, allHypercalls: true, forOracle: true });
      }
      expect(sequences).toBe(2 * n);
    },
    timeout(120_000),
  );

  it('drew every hypercall the trace format expresses, refused and accepted', () => {
    // Hypercalls by number have no handler: -ENOSYS, always.
    expect(rcs('hypercall')).toEqual([-38]);
    expect(rcs('multicall.hypercall')).toEqual([-38]);
    for (const op of ['mmu_update', 'mmuext_op', 'update_va_mapping', 'set_gdt', 'update_va_mapping_otherdomain']) {
      expect(rcs(op), op).toContain(0);
      expect(rcs(op).filter((rc) => rc < 0).length, `${op} refused`).toBeGreaterThan(0);
    }
    expect(rcs('set_gdt')).toEqual(expect.arrayContaining([0, -22, -14]));
    expect(rcs('update_va_mapping_otherdomain')).toEqual(expect.arrayContaining([0, -3, -1]));
    expect(rcs('memory_exchange')).toEqual(expect.arrayContaining([0, -22]));
    expect(seen.get('decrease_reservation stopped early')?.size ?? 0).toBeGreaterThan(0);
    for (const op of ['set_gdt', 'decrease_reservation', 'update_va_mapping_otherdomain', 'memory_exchange']) {
      expect(seen.has(`multicall.${op}`), `multicall.${op}`).toBe(true);
    }
    expect(rcs('access')).toEqual([-14, 0]);
  });
});
