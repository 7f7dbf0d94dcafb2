// Who holds references to a frame: entries of validated tables, pins and base pointers (§1.3).
// Xen keeps only counts; the simulator recovers the holders by a scan, to name the mapping that
// stands in the way of a refused pin, and to recount everything in the audit.

import { isMmio } from './entries.ts';
import { F_PINNED, PGT_l1_page_table, PGT_l4_page_table, PGT_writable_page } from './frames.ts';
import { _PAGE_PRESENT, _PAGE_RW, ENTRIES_PER_TABLE, isGuestL4Slot, toBig } from './pte.ts';
import type { XenState } from './state.ts';
import type { Holder } from './types.ts';

/** Calls fn for every present, reference-holding entry of every live table. */
export function forEachLiveEntry(
  x: XenState,
  fn: (table: number, level: number, slot: number, lo: number, hi: number) => void,
): void {
  const f = x.frames;
  for (const table of f.writtenFrames()) {
    if (!x.frames.liveTable(table)) continue;
    const level = f.type(table);
    const page = f.page(table)!;
    for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
      const lo = page[2 * i]!;
      if (!(lo & _PAGE_PRESENT)) continue;
      if (level === 4 && !isGuestL4Slot(i)) continue;
      fn(table, level, i, lo, page[2 * i + 1]!);
    }
  }
}

/**
 * Pushes onto `out` the entries of live tables of levels [minLevel, maxLevel] that point at mfn
 * (a table's self-map aside; an L1's I/O mappings hold nothing; with `rwOnly`, writable ones
 * only), in the order forEachLiveEntry visits them, stopping once `limit` are found. A direct
 * loop over the present slots, not forEachLiveEntry: a refusal runs it over every table, and a
 * callback per entry of 512 cost more than the rest of the refusal.
 */
function entryHolders(
  x: XenState,
  mfn: number,
  minLevel: number,
  maxLevel: number,
  rwOnly: boolean,
  limit: number,
  out: Holder[],
): void {
  if (limit <= 0) return;
  const f = x.frames;
  const skipL1 = isMmio(mfn);
  // The target's frame number as the two halves of an entry hold it (pteMfn, inverted).
  const wantLo = mfn % 0x100000;
  const wantHi = Math.floor(mfn / 0x100000);
  let found = 0;
  for (const table of f.writtenFrames()) {
    if (table === mfn || !x.frames.liveTable(table)) continue;
    const level = f.type(table);
    if (level < minLevel || level > maxLevel || (level === 1 && skipL1)) continue;
    const page = f.page(table)!;
    const slots = f.presentSlots(table);
    for (let k = 0; k < slots.length; k++) {
      const i = slots[k]!;
      const lo = page[2 * i]!;
      if (!(lo & _PAGE_PRESENT) || lo >>> 12 !== wantLo || (rwOnly && !(lo & _PAGE_RW))) continue;
      const hi = page[2 * i + 1]!;
      if ((hi & 0xfffff) !== wantHi || (level === 4 && !isGuestL4Slot(i))) continue;
      out.push({
        kind: `l${level}e` as Holder['kind'],
        mfn: table,
        slot: i,
        val: toBig(lo, hi),
        dom: f.owner(table),
        rw: (lo & _PAGE_RW) !== 0,
      });
      if (++found === limit) return;
    }
  }
}

/** The pin and the base pointers that hold mfn. */
function otherHolders(x: XenState, mfn: number, out: Holder[]): void {
  const f = x.frames;
  if (f.valid(mfn) && f.flags(mfn) & F_PINNED) out.push({ kind: 'pin', mfn, dom: f.owner(mfn) });
  for (const d of x.domains.values()) {
    for (const v of d.vcpus) {
      if (v.guestTable === mfn) out.push({ kind: 'cr3', mfn, dom: d.id, vcpu: v.id });
      if (v.guestTableUser === mfn) out.push({ kind: 'cr3_user', mfn, dom: d.id, vcpu: v.id });
      if (v.gdtFrames.includes(mfn)) out.push({ kind: 'gdt', mfn, dom: d.id, vcpu: v.id });
    }
  }
}

/** Every holder of a reference to mfn (self-maps and I/O mappings hold none). */
export function holdersOf(x: XenState, mfn: number): Holder[] {
  const out: Holder[] = [];
  entryHolders(x, mfn, PGT_l1_page_table, PGT_l4_page_table, false, Infinity, out);
  otherHolders(x, mfn, out);
  return out;
}

/**
 * The holders of mfn's current type: the references that keep it from taking another type —
 * the writable L1 entries of a writable page; the entries one level up, the same-level linear
 * entries, the pin and the base pointers of a table.
 *
 * Each holder holds exactly one type reference, so the scan stops once it has found type count
 * minus pin and base pointers, and looks only at the levels that can hold this type: a refusal
 * would otherwise read every entry of every live table. Exact while the counts are right, which
 * is what hv.audit() checks.
 */
export function typeHolders(x: XenState, mfn: number): Holder[] {
  const f = x.frames;
  if (!f.valid(mfn) || f.typeCount(mfn) === 0) return [];
  const type = f.type(mfn);
  const out: Holder[] = [];
  if (type === PGT_writable_page) {
    entryHolders(x, mfn, PGT_l1_page_table, PGT_l1_page_table, true, f.typeCount(mfn), out);
    return out;
  }
  const others: Holder[] = [];
  otherHolders(x, mfn, others);
  if (type >= PGT_l1_page_table && type <= PGT_l4_page_table) {
    const minLevel = Math.max(type, PGT_l1_page_table + 1);
    const maxLevel = Math.min(type + 1, PGT_l4_page_table);
    entryHolders(x, mfn, minLevel, maxLevel, false, f.typeCount(mfn) - others.length, out);
  }
  for (const h of others) out.push(h);
  return out;
}
