// holdersOf() and typeHolders() look only at the present slots the frame table remembers, and
// typeHolders() stops early and looks only at the levels that can hold a type (see
// hypervisor/holders.ts); both must still name exactly what a plain scan of every entry of every
// live table names — the definition — for every frame, along random histories whose audit is clean.
import { describe, expect, test } from 'vitest';
import { F_PINNED, PGT_writable_page, type FrameTable } from '../../hypervisor/frames.ts';
import { holdersOf, typeHolders } from '../../hypervisor/holders.ts';
import { Hypervisor } from '../../hypervisor/index.ts';
import { isMmio } from '../../hypervisor/entries.ts';
import { isGuestL4Slot, pteMfn, toBig } from '../../hypervisor/pte.ts';
import type { XenState } from '../../hypervisor/state.ts';
import type { Holder } from '../../hypervisor/types.ts';
import { iterateTrace } from '../../src/trace/generate.ts';
import { newStats, runRecord, toHypercall } from './trace-run.ts';

/** Every holder of mfn, by a plain scan of all 512 entries of every live table. */
function allHoldersByScan(x: XenState, mfn: number): Holder[] {
  const f = x.frames;
  const out: Holder[] = [];
  for (const table of f.writtenFrames()) {
    if (!x.frames.liveTable(table)) continue;
    const level = f.type(table);
    const page = f.page(table)!;
    for (let i = 0; i < 512; i++) {
      const lo = page[2 * i]!;
      const hi = page[2 * i + 1]!;
      if (!(lo & 1) || (level === 4 && !isGuestL4Slot(i))) continue;
      if (pteMfn(lo, hi) !== mfn || table === mfn || (level === 1 && isMmio(mfn))) continue;
      out.push({ kind: `l${level}e` as Holder['kind'], mfn: table, slot: i, val: toBig(lo, hi), dom: f.owner(table), rw: (lo & 2) !== 0 });
    }
  }
  if (f.valid(mfn) && f.flags(mfn) & F_PINNED) out.push({ kind: 'pin', mfn, dom: f.owner(mfn) });
  for (const d of x.domains.values()) {
    for (const v of d.vcpus) {
      if (v.guestTable === mfn) out.push({ kind: 'cr3', mfn, dom: d.id, vcpu: v.id });
      if (v.guestTableUser === mfn) out.push({ kind: 'cr3_user', mfn, dom: d.id, vcpu: v.id });
    }
  }
  return out;
}

/** The definition: every holder, filtered to those of the frame's current type. */
function typeHoldersByDefinition(x: XenState, mfn: number): Holder[] {
  const f = x.frames;
  if (!f.valid(mfn) || f.typeCount(mfn) === 0) return [];
  const writable = f.type(mfn) === PGT_writable_page;
  return allHoldersByScan(x, mfn).filter((h) => (writable ? h.kind === 'l1e' && h.rw : h.kind !== 'l1e'));
}

describe('typeHolders', () => {
  test.each([1, 2, 3, 4])('holdersOf and typeHolders equal a plain scan, for every frame, along seed %i', (seed) => {
    const hv = new Hypervisor();
    // The tests reach into the facade's state: holders.ts works on it directly.
    const x = (hv as unknown as { x: XenState }).x;
    const s = newStats();
    let i = 0;
    let compared = 0;
    for (const r of iterateTrace({ seed, records: 4000, domains: 3 })) {
      try {
        runRecord(hv, r, s);
      } catch (e) {
        if ((e as Error).name !== 'SetupError') throw e;
      }
      if (++i % 200 !== 0) continue;
      expect(hv.audit()).toEqual([]);
      const f: FrameTable = x.frames;
      for (let mfn = 0; mfn < f.size; mfn++) {
        if (f.count(mfn) === 0) continue;
        compared++;
        const at = `mfn ${mfn.toString(16)} after record ${i}`;
        expect(holdersOf(x, mfn), at).toEqual(allHoldersByScan(x, mfn));
        expect(typeHolders(x, mfn), at).toEqual(typeHoldersByDefinition(x, mfn));
      }
    }
    expect(compared).toBeGreaterThan(100);
  });
});

/** One trace record against hv: a hypercall directly, for its refusals (runRecord keeps only rc and done). */
function run(hv: Hypervisor, r: Record<string, unknown>, s: ReturnType<typeof newStats>): unknown {
  try {
    if (['mmu_update', 'mmuext_op', 'update_va_mapping', 'multicall'].includes(r.op as string)) {
      const caller = { dom: r.dom === undefined ? (hv.firstDomain() ?? 0) : Number(r.dom), vcpu: r.vcpu === undefined ? 0 : Number(r.vcpu) };
      return hv.hypercall(caller, toHypercall(r));
    }
    return runRecord(hv, r, s);
  } catch (e) {
    if ((e as Error).name !== 'SetupError') throw e;
    return (e as Error).message;
  }
}

describe('the blockers option', () => {
  test('off, refusals list no blockers and nothing else changes: results, reasons, state', () => {
    const full = new Hypervisor();
    const bare = new Hypervisor({ blockers: false });
    const sf = newStats();
    const sb = newStats();
    let withBlockers = 0;
    for (const r of iterateTrace({ seed: 5, records: 3000, domains: 2 })) {
      const a = run(full, r, sf) as { refusals?: { blockers: unknown[] }[] } | undefined;
      const b = run(bare, r, sb) as { refusals?: { blockers: unknown[] }[] } | undefined;
      for (const ref of a?.refusals ?? []) {
        if (ref.blockers.length > 0) withBlockers++;
        ref.blockers = [];
      }
      expect(b?.refusals?.every((ref) => ref.blockers.length === 0) ?? true).toBe(true);
      expect(b).toEqual(a);
    }
    expect(withBlockers).toBeGreaterThan(50);
    expect(sb).toEqual(sf);
    expect(bare.audit()).toEqual([]);
  });
});

describe('the explain option', () => {
  test('off, refusals are counted with empty texts and nothing else changes: results, state', () => {
    const full = new Hypervisor();
    const bare = new Hypervisor({ explain: false });
    const sf = newStats();
    const sb = newStats();
    let refusals = 0;
    let records = 0;
    const frames = (hv: Hypervisor) => Array.from({ length: 0x4000 }, (_, mfn) => hv.frame(mfn));
    type Out = { refusals?: { at: string; what: string; rc: number; reason: string }[] } | undefined;
    for (const r of iterateTrace({ seed: 5, records: 3000, domains: 2 })) {
      const a = run(full, r, sf) as Out;
      const b = run(bare, r, sb) as Out;
      // The same refusals, one for one, with their rc; none of them explained.
      expect(b?.refusals?.length).toBe(a?.refusals?.length);
      for (const [i, ref] of (b?.refusals ?? []).entries()) {
        refusals++;
        expect(ref).toEqual({ at: '', what: '', rc: a!.refusals![i]!.rc, reason: '', xen: [], chain: [], blockers: [] });
        expect(a!.refusals![i]!.reason).not.toBe('');
      }
      expect({ ...b, refusals: undefined }).toEqual({ ...a, refusals: undefined });
      // No rule is skipped with the texts: every frame's page_info is the same, now and then.
      if (++records % 500 === 0) expect(frames(bare)).toEqual(frames(full));
    }
    expect(frames(bare)).toEqual(frames(full));
    expect(refusals).toBeGreaterThan(200);
    expect(sb).toEqual(sf);
    expect(bare.audit()).toEqual([]);
  });
});
