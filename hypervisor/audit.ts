// The invariant checker: recounts every reference from scratch (entries of live tables, pins,
// base pointers, allocation refs) and compares with the frame table; then checks Xen's safety
// invariants (§6 "Global invariants"): no writable mapping or writable TLB entry of a live page
// table, every live table's entries obey the rules of §2, and XSA-240's single-level linear rule.
// The one inconsistency it accepts is Xen 4.17's own: the references a release build leaks when a
// nested validation failure overwrites old_guest_table (page-type.ts assertUnreachable). A debug
// build would have stopped there, so in debug mode the audit reports them.

import type { Domain } from './domain.ts';
import { isMmio, l1DisallowMask } from './entries.ts';
import {
  F_ALLOCATED,
  F_PARTIAL,
  F_PINNED,
  F_VALIDATED,
  hex16,
  NO_OWNER,
  PGT_l1_page_table,
  PGT_l4_page_table,
  PGT_seg_desc_page,
  PGT_writable_page,
  TYPE_NAMES,
} from './frames.ts';
import { forEachLiveEntry } from './holders.ts';
import { _PAGE_PRESENT, _PAGE_RW, hex, isGuestL4Slot, LN_DISALLOW_MASK, pteFlags, pteMfn } from './pte.ts';
import type { XenState } from './state.ts';

/** The references the audit counts from scratch, by the frame they are held on. */
interface Counts {
  general: Map<number, number>;
  typed: Map<number, number>;
  linearEntries: Map<number, number>;
  linearUses: Map<number, number>;
}

const inc = (m: Map<number, number>, k: number): void => {
  m.set(k, (m.get(k) ?? 0) + 1);
};

/** Recounts every reference (entries, base pointers, GDTs), then checks every frame against the counts. */
export function audit(x: XenState): string[] {
  const out: string[] = [];
  const c: Counts = { general: new Map(), typed: new Map(), linearEntries: new Map(), linearUses: new Map() };
  const visit = entryVisitor(x, c, out);
  forEachLiveEntry(x, visit);
  partialEntries(x, visit, c.general, out);
  countVcpuHolders(x, c, out);
  checkFrames(x, c, out);
  return out;
}

/** What each present entry of a live table holds (§1.3), and the rules it must obey (§2). */
function entryVisitor(x: XenState, c: Counts, out: string[]): (table: number, level: number, slot: number, lo: number, hi: number) => void {
  const f = x.frames;
  // A privileged domain may have written a foreign frame or I/O memory into any domain's L1
  // (mmu_update with a PFD and its own FD), and such entries outlive it: only if there never was
  // one can such an entry not be legal.
  const anyPrivileged = x.everPrivileged;
  return (table, level, slot, lo, hi) => {
    const where = `L${level} ${hex(table)} slot ${slot}`;
    const owner = x.domains.get(f.owner(table));
    if (!owner) {
      out.push(`${where}: live table with no domain`);
      return;
    }
    const target = pteMfn(lo, hi);
    const bad = pteFlags(lo, hi) & (level === 1 ? l1DisallowMask(owner) : LN_DISALLOW_MASK);
    if (bad) out.push(`${where}: flags ${hex(bad)} are not allowed at L${level}`);
    const rw = (lo & _PAGE_RW) !== 0;
    if (level === 1) {
      if (isMmio(target)) {
        if (!anyPrivileged) out.push(`${where}: maps I/O mfn ${hex(target)} without iomem rights`);
        return;
      }
      inc(c.general, target);
      if (f.owner(target) !== owner.id && !anyPrivileged) out.push(`${where}: maps foreign mfn ${hex(target)}`);
      if (rw) {
        inc(c.typed, target);
        if (f.type(target) !== PGT_writable_page) {
          out.push(`${where}: maps ${hex(target)} writable but its type is ${TYPE_NAMES[f.type(target)]}`);
        }
      }
      return;
    }
    if (target === table) {
      if (rw) out.push(`${where}: writable self-map`);
      return;
    }
    inc(c.general, target);
    inc(c.typed, target);
    if (f.owner(target) !== owner.id) out.push(`${where}: links foreign mfn ${hex(target)}`);
    const t = f.type(target);
    if (t === level) {
      if (rw) out.push(`${where}: writable linear entry to ${hex(target)}`);
      inc(c.linearEntries, table);
      inc(c.linearUses, target);
    } else if (t !== level - 1) {
      out.push(`${where}: links ${hex(target)} of type ${TYPE_NAMES[t]}, expected l${level - 1}`);
    }
    if (!(f.flags(target) & F_VALIDATED)) out.push(`${where}: links ${hex(target)} which is not validated`);
  };
}

/** Each vCPU's base pointers and GDT frames hold references; its TLB may not write a live table. */
function countVcpuHolders(x: XenState, c: Counts, out: string[]): void {
  const f = x.frames;
  const anyPrivileged = x.everPrivileged;
  const holdsL4 = (m: number, what: string): void => {
    inc(c.general, m);
    inc(c.typed, m);
    if (f.type(m) !== PGT_l4_page_table || !(f.flags(m) & F_VALIDATED)) {
      out.push(`${what} ${hex(m)} is not a validated L4 (taf=${hex16(f.taf(m))})`);
    }
  };
  for (const d of x.domains.values()) {
    for (const v of d.vcpus) {
      if (v.guestTable) holdsL4(v.guestTable, `d${d.id}v${v.id} CR3`);
      if (v.guestTableUser) holdsL4(v.guestTableUser, `d${d.id}v${v.id} user CR3`);
      for (const m of v.gdtFrames) {
        inc(c.general, m);
        inc(c.typed, m);
        if (f.type(m) !== PGT_seg_desc_page) out.push(`d${d.id}v${v.id} GDT frame ${hex(m)} is not a seg_desc page`);
      }
      for (const [vpn, packed] of v.tlb) {
        const mfn = Math.floor(packed / 2);
        // _get_page_type flushes the frame owner's dirty vCPUs only (§1.7a): a stale translation
        // of another domain's frame survives, as in Xen. Only a privileged domain can make such a
        // mapping (its own foreign map, or a PFD write into another's table): Xen trusts it.
        if (anyPrivileged && f.owner(mfn) !== d.id) continue;
        if (packed & 1 && x.frames.liveTable(mfn)) {
          out.push(`d${d.id}v${v.id} TLB holds a writable translation of va page ${hex(vpn)} to live table ${hex(mfn)}`);
        }
      }
    }
  }
}

/**
 * Every used frame against the counts. A frame in its state at creation (only the allocation
 * reference) or free, that nothing counted, is consistent by a few typed-array reads; the rest are
 * checked one by one (framesExamined), and the counted ones among those skipped after, from the
 * counts' keys.
 */
function checkFrames(x: XenState, c: Counts, out: string[]): void {
  const f = x.frames;
  const check = (d: Domain, mfn: number): void => checkFrame(x, d, mfn, c.general, c.typed, c.linearEntries, c.linearUses, out);
  const quiet = (m: number): boolean =>
    f.typeCount(m) === 0 && f.linear(m) === 0 && (f.flags(m) === F_ALLOCATED ? f.count(m) === 1 : f.owner(m) === NO_OWNER && f.count(m) === 0);
  for (const d of x.domains.values()) {
    for (const r of d.ranges) {
      // A uniform chunk (frames.ts: free, or allocated and untouched) is quiet: skipped whole.
      for (let m = r.base; m < r.base + r.count; m = Math.max(m + 1, f.uniformEnd(m))) {
        if (quiet(m) || (f.owner(m) !== d.id && f.owner(m) !== NO_OWNER)) continue;
        x.framesExamined++;
        check(d, m);
      }
    }
  }
  const counted = new Set<number>([...c.general.keys(), ...c.typed.keys(), ...c.linearEntries.keys(), ...c.linearUses.keys(), ...x.leaked.keys()]);
  for (const m of counted) {
    if (!quiet(m)) continue;
    const d = rangeHolder(x, m);
    if (d === undefined) continue;
    x.framesExamined++;
    check(d, m);
  }
}

/** The domain whose creation range holds mfn: its owner, or for a free frame the first such domain. */
function rangeHolder(x: XenState, mfn: number): Domain | undefined {
  const owner = x.frames.owner(mfn);
  for (const d of x.domains.values()) {
    if (owner !== NO_OWNER && d.id !== owner) continue;
    for (const r of d.ranges) if (mfn >= r.base && mfn < r.base + r.count) return d;
  }
  return undefined;
}

/**
 * The entries a partially validated table still holds ([0, nr_validated_ptes), and the partial
 * reference at nr). Between calls only a table leaked by a release build can be partial.
 */
function partialEntries(
  x: XenState,
  visit: (table: number, level: number, slot: number, lo: number, hi: number) => void,
  general: Map<number, number>,
  out: string[],
): void {
  const f = x.frames;
  for (const [mfn, p] of f.partial) {
    if (!x.leaked.has(mfn)) out.push(`mfn ${hex(mfn)}: partially validated (PGT_partial) after the call returned`);
    const page = f.page(mfn);
    if (!page) continue;
    const level = f.type(mfn);
    for (let i = 0; i < p.nr; i++) {
      const lo = page[2 * i]!;
      if (lo & _PAGE_PRESENT && (level !== 4 || isGuestL4Slot(i))) visit(mfn, level, i, lo, page[2 * i + 1]!);
    }
    if (p.partialSet) {
      const lower = pteMfn(page[2 * p.nr]!, page[2 * p.nr + 1]!);
      general.set(lower, (general.get(lower) ?? 0) + 1);
    }
  }
}

function checkFrame(
  x: XenState,
  d: Domain,
  mfn: number,
  general: Map<number, number>,
  typed: Map<number, number>,
  linearEntries: Map<number, number>,
  linearUses: Map<number, number>,
  out: string[],
): void {
  const f = x.frames;
  const flags = f.flags(mfn);
  const what = `mfn ${hex(mfn)} (caf=${f.cafHex(mfn)} taf=${f.tafHex(mfn)})`;
  if (f.owner(mfn) === NO_OWNER) {
    if (f.count(mfn) || f.typeCount(mfn) || general.has(mfn)) out.push(`${what}: free but referenced`);
    return;
  }
  if (f.owner(mfn) !== d.id) return;
  if (flags & F_PINNED) {
    general.set(mfn, (general.get(mfn) ?? 0) + 1);
    typed.set(mfn, (typed.get(mfn) ?? 0) + 1);
    const t = f.type(mfn);
    if (t < PGT_l1_page_table || t > PGT_l4_page_table || !(flags & F_VALIDATED)) out.push(`${what}: pinned but not a validated table`);
  }
  // PGT_partial holds a type and a general reference (validate_page's get_page_light); a release
  // build's leak, one general reference more.
  const partial = flags & F_PARTIAL ? 1 : 0;
  const leaked = x.leaked.get(mfn) ?? 0;
  if (leaked && x.debugBuild) {
    out.push(`${what}: ${leaked} general reference(s) leaked where a debug build stops (ASSERT_UNREACHABLE() in promote_l4_table)`);
  }
  const expCount = (flags & F_ALLOCATED ? 1 : 0) + (general.get(mfn) ?? 0) + partial + leaked;
  if (f.count(mfn) !== expCount) out.push(`${what}: general count ${f.count(mfn)}, holders ${expCount}`);
  const expType = (typed.get(mfn) ?? 0) + partial;
  if (f.typeCount(mfn) !== expType) out.push(`${what}: type count ${f.typeCount(mfn)}, holders ${expType}`);
  const t = f.type(mfn);
  if (t >= PGT_l1_page_table && t <= PGT_l4_page_table && flags & F_VALIDATED && f.typeCount(mfn) === 0) {
    out.push(`${what}: validated table with type count 0 (never demoted)`);
  }
  const entries = linearEntries.get(mfn) ?? 0;
  const uses = linearUses.get(mfn) ?? 0;
  if (entries && uses) out.push(`${what}: has ${entries} linear entries and ${uses} linear uses (XSA-240)`);
  if (f.linear(mfn) !== entries - uses) out.push(`${what}: linear_pt_count ${f.linear(mfn)}, expected ${entries - uses}`);
}
