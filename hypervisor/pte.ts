// 64-bit x86 PTEs and Xen's per-level flag rules. Models xen/arch/x86/include/asm/x86_64/page.h
// (get_pte_flags / put_pte_flags, *_DISALLOW_MASK) and the adjust_guest_lNe macros of pv/mm.h.
//
// An entry is kept as two uint32 halves (lo = bits 31:0, hi = bits 63:32) so that the hot paths
// (validation of 512 entries a table) never touch BigInt. "Flags" are Xen's 24-bit flag word:
// bits 11:0 of the PTE plus bits 63:52 moved down to flag bits 23:12.

export const _PAGE_PRESENT = 0x001;
export const _PAGE_RW = 0x002;
export const _PAGE_USER = 0x004;
export const _PAGE_PWT = 0x008;
export const _PAGE_PCD = 0x010;
export const _PAGE_ACCESSED = 0x020;
export const _PAGE_DIRTY = 0x040;
/** Bit 7: PSE in L2/L3, PAT in L1. */
export const _PAGE_PSE = 0x080;
export const _PAGE_PAT = 0x080;
export const _PAGE_GLOBAL = 0x100;
export const _PAGE_AVAIL = 0xe00;
/** PTE bits 62:52. */
export const _PAGE_AVAIL_HIGH = 0x7ff000;
/** PTE bit 52: Xen marks guest-kernel L1 entries with it (x86_64/page.h _PAGE_GUEST_KERNEL). */
export const _PAGE_GUEST_KERNEL = 0x001000;
/** PTE bit 63. */
export const _PAGE_NX = 0x800000;

/** PAT | PCD | PWT: an L1 entry's cache-attribute (PAT index) bits. */
export const PAGE_CACHE_ATTRS = _PAGE_PAT | _PAGE_PCD | _PAGE_PWT;

const ALL_FLAGS = 0xffffff;
/** Flags every level allows; the rest is base_disallow_mask. NX is allowed: the CPU has it. */
const BASE_ALLOWED =
  _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_AVAIL | _PAGE_AVAIL_HIGH | _PAGE_NX;
export const BASE_DISALLOW_MASK = ALL_FLAGS & ~BASE_ALLOWED;
/** L1 also allows GLOBAL; PWT/PCD/PAT only for a domain with cache-attribute rights. */
export const L1_DISALLOW_MASK = BASE_DISALLOW_MASK & ~_PAGE_GLOBAL;
export const L1_DISALLOW_MASK_CACHE_OK = L1_DISALLOW_MASK & ~(_PAGE_PWT | _PAGE_PCD | _PAGE_PAT);
/** L2–L4: PWT, PCD, PSE (no PV superpages) and GLOBAL are refused. */
export const LN_DISALLOW_MASK = BASE_DISALLOW_MASK;

/** mod_lN_entry's fast path: changes confined to these bits need no reference work (§2.7). */
export const FASTPATH_FLAG_WHITELIST =
  _PAGE_NX | _PAGE_AVAIL_HIGH | _PAGE_AVAIL | _PAGE_GLOBAL | _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_USER;

export const ENTRIES_PER_TABLE = 512;
/** PADDR_BITS = 52: an MFN has 40 bits; the all-ones MFN is Xen's INVALID pattern. */
export const MFN_LIMIT = 2 ** 40;
export const INVALID_MFN_PATTERN = MFN_LIMIT - 1;

/** Xen's flag word of an entry. */
export function pteFlags(lo: number, hi: number): number {
  return (lo & 0xfff) | ((hi >>> 20) << 12);
}

/** The MFN in bits 51:12. */
export function pteMfn(lo: number, hi: number): number {
  return (lo >>> 12) + (hi & 0xfffff) * 0x100000;
}

export function ptePresent(lo: number): boolean {
  return (lo & _PAGE_PRESENT) !== 0;
}

/** Low half of an entry for (mfn, flags). */
export function pteLo(mfn: number, flags: number): number {
  return (((mfn % 0x100000) << 12) | (flags & 0xfff)) >>> 0;
}

/** High half of an entry for (mfn, flags). */
export function pteHi(mfn: number, flags: number): number {
  return ((Math.floor(mfn / 0x100000) & 0xfffff) | ((flags >>> 12) << 20)) >>> 0;
}

export function toBig(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** An entry as Xen prints it (%016lx), from its halves: no BigInt. */
export function hex16Of(lo: number, hi: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

const TWO_32 = 2 ** 32;

/*
 * An entry's halves, and va48, from a BigInt: by one Number() when the value is below 2^53 (exact:
 * every entry without bits 63:53, every user address), else by BigInt masks. A BigInt operation
 * allocates, and a replay's hypercalls each split two or more of them.
 */
export function loOf(v: bigint): number {
  const n = Number(v);
  return n >= 0 && n <= Number.MAX_SAFE_INTEGER ? n % TWO_32 : Number(v & 0xffffffffn);
}

export function hiOf(v: bigint): number {
  const n = Number(v);
  return n >= 0 && n <= Number.MAX_SAFE_INTEGER ? Math.floor(n / TWO_32) : Number((v >> 32n) & 0xffffffffn);
}

let lastHexOf: number | bigint = 0;
let lastHex = '0x0';
/**
 * 0x-prefixed lower-case hex. The last answer is kept: a refusal names the same va or mfn in its
 * reason and in its `what`, and a BigInt's toString was a good part of a refused call's cost.
 */
export function hex(v: number | bigint): string {
  if (v !== lastHexOf) {
    lastHexOf = v;
    lastHex = '0x' + v.toString(16);
  }
  return lastHex;
}

/**
 * l1e_has_changed(o, n, ~whitelist): true when the MFN or any flag outside the fast-path whitelist
 * differs (PRESENT and RW are never whitelisted).
 */
export function changedBeyondFastPath(oLo: number, oHi: number, nLo: number, nHi: number): boolean {
  if (pteMfn(oLo, oHi) !== pteMfn(nLo, nHi)) return true;
  return ((pteFlags(oLo, oHi) ^ pteFlags(nLo, nHi)) & ~FASTPATH_FLAG_WHITELIST & ALL_FLAGS) !== 0;
}

/** Adds flag bits (Xen's l1e_add_flags) to an entry's halves. */
export function addFlagsLo(lo: number, flags: number): number {
  return (lo | (flags & 0xfff)) >>> 0;
}
export function addFlagsHi(hi: number, flags: number): number {
  return (hi | ((flags >>> 12) << 20)) >>> 0;
}

/**
 * The flags adjust_guest_lNe (xen/arch/x86/pv/mm.h:89–157) adds to a present 64-bit PV entry (§2.6).
 * The guest kernel runs in ring 3. L1, in Xen's order: an entry without USER gets
 * USER|GUEST_KERNEL (pv/mm.h:101); then an entry without GUEST_KERNEL gets GLOBAL|USER
 * (pv/mm.h:104) — so a guest-written USER|GUEST_KERNEL entry gets nothing. L2/L3 get USER; L4 gets
 * USER|ACCESSED.
 */
export function guestAdjustFlags(level: number, flags: number): number {
  if (level === 1) {
    if (!(flags & _PAGE_USER)) return _PAGE_USER | _PAGE_GUEST_KERNEL;
    return flags & _PAGE_GUEST_KERNEL ? 0 : _PAGE_USER | _PAGE_GLOBAL;
  }
  return level === 4 ? _PAGE_USER | _PAGE_ACCESSED : _PAGE_USER;
}

/** Virtual addresses: 48-bit canonical; the Xen hole is L4 slots 256–271. */
export const VA_MASK_48 = (1n << 48n) - 1n;
const HOLE_START = 0xffff800000000000n;
const HOLE_END = 0xffff880000000000n;
const U64 = (1n << 64n) - 1n;

const LOW_END = 1n << 47n;

/** __addr_ok(va): below 2^47, or at or above the end of the hypervisor hole. */
export function addrOk(va: bigint): boolean {
  return va < LOW_END || (va >= HOLE_END && va <= U64);
}

/** True for an address in Xen's own range (slots 256–271), which no guest may touch. */
export function inXenHole(va: bigint): boolean {
  return va >= HOLE_START && va < HOLE_END;
}

/**
 * The low 48 bits of va as a number (exact: below 2^53), from which slots and page numbers come
 * without more BigInt arithmetic (each BigInt operation allocates).
 */
export function va48(va: bigint): number {
  const n = Number(va);
  return n >= 0 && n < VA_SPAN_48 ? n : Number(va & VA_MASK_48);
}
const VA_SPAN_48 = 2 ** 48;

/** 2^(12 + 9 (level - 1)): what a level's slot is counted in. */
const LEVEL_SPAN = [0, 2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39];

/** Slot in the table of the given level (4 = L4 … 1 = L1) of a va48() value. */
export function slotOf48(v48: number, level: number): number {
  // & 511, not % 512: the same for v48 < 2^48 (an integer < 2^36), and no floating-point modulo.
  return Math.floor(v48 / LEVEL_SPAN[level]!) & 511;
}

/** The virtual page number (36 bits) that keys a TLB entry (`v48`: va48(va), when the caller has it). */
export function vpnOf(va: bigint, v48 = va48(va)): number {
  return Math.floor(v48 / 4096);
}

/** is_guest_l4_slot() for 64-bit PV: every slot except Xen's 256–271. */
export function isGuestL4Slot(slot: number): boolean {
  return slot < 256 || slot > 271;
}
