// The long fuzz driver (long.ts, `npm run fuzz`) and where a lost reference is caught (issue 15,
// items 4 and 5):
// 1. a type or general count that would go below zero throws in put_page_type / put_page
//    (hypervisor/page-type.ts) at the record that drops it, and the harness reports that record —
//    not the audit after it;
// 2. the driver: a failing seed is reported, drawn again by fc.check, shrunk and written as a trace
//    that ends at the failing record; a clean run prints its counts per hypercall and result.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FrameTable } from '../../hypervisor/frames.ts';
import type { Caller, CallResult, Hypercall } from '../../hypervisor/index.ts';
import type { MachineCfg } from './gen.ts';
import { caseOf, longCaseArb, runSeeds, shrinkSeed, type MakeSim } from './long.ts';
import { Sim, Violation, type SimOptions } from './sim.ts';

/** The hypervisor's frame table, for planting a lost reference (a bug the model must catch). */
function frameTable(sim: Sim): FrameTable {
  return (sim.hv as unknown as { x: { frames: FrameTable } }).x.frames;
}

const MACHINE: MachineCfg = {
  doms: [
    { domid: 1, vcpus: 1, base: 0x1000, count: 24, privileged: false },
    { domid: 2, vcpus: 1, base: 0x1100, count: 24, privileged: false },
  ],
};
const D1: Caller = { dom: 1, vcpu: 0 };

/** The violation a call throws (or undefined). */
function violationOf(sim: Sim, c: Caller, h: Hypercall): Violation | undefined {
  try {
    sim.call(c, h);
  } catch (e) {
    if (e instanceof Violation) return e;
    throw e;
  }
  return undefined;
}

describe('issue 15: a count that would go below zero is caught where it happens', () => {
  it('a pinned L1 whose type reference was lost: the unpin itself fails (put_page_type underflow), named with its record', () => {
    const sim = new Sim(MACHINE, { record: true });
    const m = 0x1006;
    expect(sim.call(D1, { op: 'mmuext_op', ops: [{ cmd: 0, mfn: m }] }).rc).toBe(0);
    frameTable(sim).setTypeCount(m, 0); // the planted bug: a type reference lost without a trace
    const v = violationOf(sim, D1, { op: 'mmuext_op', ops: [{ cmd: 4, mfn: m }] });
    expect(v?.message).toMatch(/^mmuext_op threw instead of returning a result: Error: put_page_type underflow on mfn 0x1006/);
    // The trace ends at the unpin: the record that dropped the count, not a later audit.
    expect(sim.records().at(-1)).toMatchObject({ op: 'mmuext_op', dom: 1, ops: [{ cmd: 4, mfn: m }] });
  });

  it('a GDT frame whose general reference was lost: replacing the GDT fails (put_page underflow), named with its record', () => {
    const sim = new Sim(MACHINE, { record: true });
    const m = 0x1009;
    expect(sim.call(D1, { op: 'set_gdt', frames: [m], entries: 16 }).rc).toBe(0);
    frameTable(sim).setCount(m, 0);
    const v = violationOf(sim, D1, { op: 'set_gdt', frames: [], entries: 0 });
    expect(v?.message).toMatch(/^set_gdt threw instead of returning a result: Error: put_page underflow on mfn 0x1009/);
    expect(sim.records().at(-1)).toMatchObject({ op: 'set_gdt', dom: 1, entries: 0 });
  });
});

/** A Sim with a planted bug: every successful pin loses its type reference, then is unpinned. */
class LosingSim extends Sim {
  override call(c: Caller, h: Hypercall): CallResult {
    const r = super.call(c, h);
    const op = h.op === 'mmuext_op' && h.ops.length === 1 ? h.ops[0]! : undefined;
    if (r.rc === 0 && op && op.cmd >= 0 && op.cmd <= 3 && typeof op.mfn === 'number') {
      const f = frameTable(this);
      f.setTypeCount(op.mfn, f.typeCount(op.mfn) - 1);
      super.call(c, { op: 'mmuext_op', ops: [{ cmd: 4, mfn: op.mfn }] });
    }
    return r;
  }
}
const losing: MakeSim = (cfg: MachineCfg, opts?: SimOptions) => new LosingSim(cfg, opts);

describe('issue 15: the long fuzz driver', () => {
  it('draws from a seed what fc.check draws first from it (so a failing seed shrinks the case that failed)', () => {
    for (const seed of [1, 2, 20260806]) {
      let first: unknown;
      fc.check(
        fc.property(longCaseArb, (c) => {
          first ??= c;
        }),
        { seed, numRuns: 1 },
      );
      expect(first).toEqual(caseOf(seed));
    }
  });

  it('reports the failing seed, and shrinkSeed writes a trace ending at the failing record', async () => {
    const failure = runSeeds(0, 1, () => false, { makeSim: losing });
    expect(failure?.message).toMatch(/put_page_type underflow/);
    const dir = mkdtempSync(join(tmpdir(), 'xensim-long-'));
    const { message, path } = await shrinkSeed(failure!.seed, losing, dir);
    expect(message).toContain('shrunk counterexample written to');
    const lines = readFileSync(path!, 'utf8').trim().split('\n');
    expect(lines.find((l) => l.startsWith('# violation:'))).toMatch(/put_page_type underflow/);
    // Shrunk to a pin and the unpin that underflows (plus whatever built the table).
    expect(lines.at(-1)).toMatch(/"op":"mmuext_op".*"cmd":"unpin_table"|"op":"mmuext_op".*"cmd":4/);
    expect(lines.filter((l) => l.startsWith('# op ')).length).toBeLessThanOrEqual(3);
  });

  it('npm run fuzz on a tiny budget: exit 0, counts per hypercall and result, totals, 0 violations', () => {
    const r = spawnSync('npx', ['tsx', 'test/props/long.ts'], {
      env: { ...process.env, XENSIM_FUZZ_HYPERCALLS: '200', XENSIM_FUZZ_WORKERS: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}mmuext_op pin_l4_table +[\d,]+ {2}ok [\d,]+/m);
    expect(r.stdout).toMatch(/\[fuzz\] [\d,]+ hypercalls \([\d,]+ refused\) in [\d,]+ records/);
    expect(r.stdout).toMatch(/\[fuzz\] 0 violation\(s\); [\d.]+ s on 1 worker\(s\)/);
  }, 90_000);
});
