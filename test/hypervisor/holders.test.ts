// typeHolders() stops its scan early and looks only at the levels that can hold a type (see
// hypervisor/holders.ts); it must still name exactly what holdersOf() filtered by the frame's type
// names — the definition — for every frame, along random histories whose audit is clean.
import { describe, expect, test } from 'vitest';
import { PGT_writable_page, type FrameTable } from '../../hypervisor/frames.ts';
import { holdersOf, typeHolders } from '../../hypervisor/holders.ts';
import { Hypervisor } from '../../hypervisor/index.ts';
import type { XenState } from '../../hypervisor/state.ts';
import type { Holder } from '../../hypervisor/types.ts';
import { iterateTrace } from '../../src/trace/generate.ts';
import { newStats, runRecord } from './trace-run.ts';

/** The definition: every holder, filtered to those of the frame's current type. */
function typeHoldersByDefinition(x: XenState, mfn: number): Holder[] {
  const f = x.frames;
  if (!f.valid(mfn) || f.typeCount[mfn] === 0) return [];
  const writable = f.type[mfn] === PGT_writable_page;
  return holdersOf(x, mfn).filter((h) => (writable ? h.kind === 'l1e' && h.rw : h.kind !== 'l1e'));
}

describe('typeHolders', () => {
  test.each([1, 2, 3, 4])('equals holdersOf filtered by type, for every frame, along seed %i', (seed) => {
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
        if (f.typeCount[mfn] === 0) continue;
        compared++;
        expect(typeHolders(x, mfn), `mfn ${mfn.toString(16)} after record ${i}`).toEqual(typeHoldersByDefinition(x, mfn));
      }
    }
    expect(compared).toBeGreaterThan(100);
  });
});
