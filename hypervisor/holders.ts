// Who holds references to a frame: entries of validated tables, pins and base pointers (§1.3).
// Xen keeps only counts; the simulator recovers the holders by a scan, to name the mapping that
// stands in the way of a refused pin, and to recount everything in the audit.

import { isMmio } from './entries.ts';
import { F_PINNED, F_VALIDATED, PGT_l1_page_table, PGT_l4_page_table, PGT_writable_page } from './frames.ts';
import { _PAGE_PRESENT, _PAGE_RW, ENTRIES_PER_TABLE, isGuestL4Slot, pteMfn, toBig } from './pte.ts';
import type { XenState } from './state.ts';
import type { Holder } from './types.ts';

/** A validated page table in use: the only frames whose entries hold references. */
export function isLiveTable(x: XenState, mfn: number): boolean {
  const f = x.frames;
  const t = f.type[mfn]!;
  return t >= PGT_l1_page_table && t <= PGT_l4_page_table && (f.flags[mfn]! & F_VALIDATED) !== 0 && f.typeCount[mfn]! > 0;
}

/** Calls fn for every present, reference-holding entry of every live table. */
export function forEachLiveEntry(
  x: XenState,
  fn: (table: number, level: number, slot: number, lo: number, hi: number) => void,
): void {
  const f = x.frames;
  for (const table of f.writtenFrames()) {
    if (!isLiveTable(x, table)) continue;
    const level = f.type[table]!;
    const page = f.page(table)!;
    for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
      const lo = page[2 * i]!;
      if (!(lo & _PAGE_PRESENT)) continue;
      if (level === 4 && !isGuestL4Slot(i)) continue;
      fn(table, level, i, lo, page[2 * i + 1]!);
    }
  }
}

/** Every holder of a reference to mfn (self-maps and I/O mappings hold none). */
export function holdersOf(x: XenState, mfn: number): Holder[] {
  const f = x.frames;
  const out: Holder[] = [];
  forEachLiveEntry(x, (table, level, slot, lo, hi) => {
    if (pteMfn(lo, hi) !== mfn || table === mfn) return;
    if (level === 1 && isMmio(x, mfn)) return;
    out.push({
      kind: `l${level}e` as Holder['kind'],
      mfn: table,
      slot,
      val: toBig(lo, hi),
      dom: f.owner[table]!,
      rw: (lo & _PAGE_RW) !== 0,
    });
  });
  if (f.valid(mfn) && f.flags[mfn]! & F_PINNED) out.push({ kind: 'pin', mfn, dom: f.owner[mfn]! });
  for (const d of x.domains.values()) {
    for (const v of d.vcpus) {
      if (v.guestTable === mfn) out.push({ kind: 'cr3', mfn, dom: d.id, vcpu: v.id });
      if (v.guestTableUser === mfn) out.push({ kind: 'cr3_user', mfn, dom: d.id, vcpu: v.id });
    }
  }
  return out;
}

/** The holders of mfn's current type: the references that keep it from taking another type. */
export function typeHolders(x: XenState, mfn: number): Holder[] {
  if (!x.frames.valid(mfn) || x.frames.typeCount[mfn] === 0) return [];
  const writable = x.frames.type[mfn] === PGT_writable_page;
  return holdersOf(x, mfn).filter((h) => (writable ? h.kind === 'l1e' && h.rw : h.kind !== 'l1e'));
}
