// Page walks through a vCPU's current page tables: map_guest_l1e (xen/arch/x86/pv/mm.c, 4.17
// line 33: the L1 that maps a VA, read through the L2 entry of Xen's linear map, as
// update_va_mapping finds it) and a hardware-style translation for guest loads and stores (RW is
// the AND of every level).

import { _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, addrOk, pteMfn, slotOf48, va48 } from './pte.ts';
import type { FrameTable } from './frames.ts';

function entryLo(f: FrameTable, mfn: number, slot: number): number {
  if (!f.valid(mfn)) return 0;
  const p = f.page(mfn);
  return p ? p[2 * slot]! : 0;
}

function entryMfn(f: FrameTable, mfn: number, slot: number): number {
  const p = f.page(mfn)!;
  return pteMfn(p[2 * slot]!, p[2 * slot + 1]!);
}

/**
 * map_guest_l1e: the L1 frame that maps va under the L4 `base`, or undefined (a level not present,
 * or PSE). `v48` is va48(va), when the caller has it (for a kernel address it costs BigInt work).
 */
export function findL1(f: FrameTable, base: number, va: bigint, v48 = va48(va)): number | undefined {
  if (base === 0 || !addrOk(va)) return undefined;
  const v = v48;
  let table = base;
  for (let level = 4; level >= 2; level--) {
    const slot = slotOf48(v, level);
    const lo = entryLo(f, table, slot);
    if (!(lo & _PAGE_PRESENT)) return undefined;
    if (level === 2 && lo & _PAGE_PSE) return undefined;
    table = entryMfn(f, table, slot);
  }
  return table;
}

/**
 * The frame va maps to and whether every level allows writes, as mfn * 2 + (writable ? 1 : 0),
 * or -1 (not mapped: a level not present, or PSE at L2, as findL1 refuses it). One walk, and a
 * number rather than an object: a replay's guest accesses run through here.
 */
export function translate(f: FrameTable, base: number, va: bigint, v48 = va48(va)): number {
  if (base === 0 || !addrOk(va)) return -1;
  const v = v48;
  let rw = 1;
  let table = base;
  for (let level = 4; level >= 1; level--) {
    const slot = slotOf48(v, level);
    const lo = entryLo(f, table, slot);
    if (!(lo & _PAGE_PRESENT)) return -1;
    if (level === 2 && lo & _PAGE_PSE) return -1;
    if (!(lo & _PAGE_RW)) rw = 0;
    table = entryMfn(f, table, slot);
  }
  return table * 2 + rw;
}
