// The trace reader's fast path: a validating scanner over a line's bytes for the common record
// shapes (store, frame, read, access, mmu_update, mmuext_op, update_va_mapping, multicalls of
// those nested to 8 levels, decrease_reservation, memory_exchange), that checks each field as it
// parses it and builds the record directly — no decoded text, no JSON.parse object tree, no
// strings for hex values or names (names are matched in place, a 32-bit word at a time), and the
// record made in one literal where it can. It also finds where its line ends (scanLine), so the
// reader never splits the lines it takes.
//
// It accepts only a strict subset of JSON it can read exactly (no whitespace, escapes, non-ASCII,
// fractions, exponents or duplicate keys; only the keys of the record's op; no `expect`, no log
// lines) and builds the record the slow path (read.ts: JSON.parse + readRecord) would, property
// for property in the same order. Anything else — including every line the slow path refuses —
// makes it give up (undefined), and the line goes the slow way: every error message stays that
// path's. test/src/trace-scan.test.ts holds the two paths equal on generated and mutated lines,
// and over whole files.
import { MMUEXT, UVMF, uvmfScope, uvmfType } from '../../hypervisor/abi.ts';
import type { Hypercall, MmuextOp, Ulong } from '../../hypervisor/types.ts';
import type { TraceRecord } from './types.ts';

/** Thrown inside the scanner to give up on a line (caught in scanRecord; never escapes). */
const GIVE_UP = { giveUp: true };
function giveUp(): never {
  throw GIVE_UP;
}

/**
 * Names matched in place, without making a string. A name is matched with what must follow it
 * (its closing quote, and a key's colon), at least 4 bytes, as 32-bit words: the first word picks
 * a chain of candidates, each compared a word at a time (the last word ends at its last byte, so
 * nothing past the name is read). A longer string, an escape or a byte that is not ASCII never
 * matches.
 */
class Names {
  readonly names: readonly string[];
  /**
   * One array for the lookup: [0, 256) the first candidate of each bucket of first words (0:
   * none); a candidate at r: tab[r] the next in its chain (0: none), tab[r + 1] its index and
   * length (index | length << 8), tab[r + 2] on its words.
   */
  private readonly tab: Int32Array;
  constructor(names: readonly string[], after: string) {
    this.names = names;
    const tab = Array<number>(256).fill(0);
    names.forEach((name, i) => {
      const b = Buffer.from(name + after, 'latin1');
      if (b.length < 4 || names.length > 255) throw new Error(`scan.ts: the name ${name} is shorter than a word, or too many names`);
      // Appended to its chain: a name listed first is tried first.
      let link = bucket(b.readInt32LE(0));
      while (tab[link] !== 0) link = tab[link]!;
      tab[link] = tab.length;
      tab.push(0, i | (b.length << 8));
      for (let o = 0; o < b.length; o += 4) tab.push(b.readInt32LE(Math.min(o, b.length - 4)));
    });
    this.tab = Int32Array.from(tab);
  }
  /** The name whose bytes start at s in `d` (no further than end): index | length << 8, or -1. */
  match(d: DataView, s: number, end: number): number {
    if (s + 4 > end) return -1;
    const t = this.tab;
    const w = d.getInt32(s, true);
    for (let r = t[bucket(w)]!; r !== 0; r = t[r]!) {
      const n = t[r + 1]! >> 8;
      if (t[r + 2] !== w || s + n > end) continue;
      let k = r + 3;
      let o = 4;
      while (o < n - 4 && d.getInt32(s + o, true) === t[k]) {
        o += 4;
        k++;
      }
      if (n === 4 || (o >= n - 4 && d.getInt32(s + n - 4, true) === t[k])) return t[r + 1]!;
    }
    return -1;
  }
}

function bucket(w: number): number {
  return Math.imul(w, 0x9e3779b1) >>> 24;
}

// Keys, as bits of a `seen` mask.
const KEYS = new Names([
  'op', 'dom', 'vcpu', 'mfn', 'slot', 'val', 'va', 'write', 'reqs', 'ops', 'calls', 'foreigndom',
  'flags', 'vcpumask', 'mfns', 'count', 'stride', 'ptr', 'cmd', 'linear_addr', 'nr_ents', 'src_mfn',
], '":');
// Their indices, as constants (the scanner's switch compares with literals).
const K_OP = 0;
const K_DOM = 1;
const K_VCPU = 2;
const K_MFN = 3;
const K_SLOT = 4;
const K_VAL = 5;
const K_VA = 6;
const K_WRITE = 7;
const K_REQS = 8;
const K_OPS = 9;
const K_CALLS = 10;
const K_FOREIGNDOM = 11;
const K_FLAGS = 12;
const K_VCPUMASK = 13;
const K_MFNS = 14;
const K_COUNT = 15;
const K_STRIDE = 16;
const K_PTR = 17;
const K_CMD = 18;
const K_LINEAR_ADDR = 19;
const K_NR_ENTS = 20;
const K_SRC_MFN = 21;
const K: Readonly<Record<string, number>> = Object.fromEntries(KEYS.names.map((n, i) => [n, i]));
const bit = (...keys: string[]): number => keys.reduce((m, k) => m | (1 << K[k]!), 0);
const CALLER = bit('dom', 'vcpu');
const B_CMD = bit('cmd');
const B_MFN = bit('mfn');
const B_LINEAR_ADDR = bit('linear_addr');
const B_VCPUMASK = bit('vcpumask');
const B_NR_ENTS = bit('nr_ents');
const B_SRC_MFN = bit('src_mfn');
const B_COUNT = bit('count');
const B_STRIDE = bit('stride');
const B_FOREIGNDOM = bit('foreigndom');
const B_DOM = bit('dom');
const B_VCPU = bit('vcpu');
/** The optional fields of the ops taken here (besides dom and vcpu). */
const OPTIONAL = bit('count', 'stride', 'foreigndom', 'vcpumask');

// The ops taken here: their key sets (any other key present gives up) and the keys they need.
const OPS = new Names(['store', 'frame', 'read', 'access', 'mmu_update', 'mmuext_op', 'update_va_mapping', 'multicall', 'decrease_reservation', 'memory_exchange'], '"');
const OP_KEYS = [
  bit('op', 'mfn', 'slot', 'val', 'count', 'stride'),
  bit('op', 'mfn'),
  bit('op', 'mfn', 'slot'),
  bit('op', 'va', 'write'),
  bit('op', 'reqs', 'foreigndom'),
  bit('op', 'ops', 'foreigndom'),
  bit('op', 'va', 'val', 'flags', 'vcpumask'),
  bit('op', 'calls'),
  bit('op', 'mfns'),
  bit('op', 'mfns'),
];
const OP_NEEDS = [bit('mfn', 'slot', 'val'), bit('mfn'), bit('mfn', 'slot'), bit('va', 'write'), bit('reqs'), bit('ops'), bit('va', 'val', 'flags'), bit('calls'), bit('mfns'), bit('mfns')];
/** The ops a multicall entry may be here (the rest take the slow path). */
const ENTRY_OPS = ['mmu_update', 'mmuext_op', 'update_va_mapping', 'multicall', 'decrease_reservation', 'memory_exchange'].reduce((m, o) => m | (1 << OPS.names.indexOf(o)), 0);

const CMDS = new Names(Object.keys(MMUEXT), '"');
const CMD_NUMBERS: readonly number[] = Object.values(MMUEXT);
const CMD_KEYS = bit('cmd', 'mfn', 'linear_addr', 'vcpumask', 'nr_ents', 'src_mfn');
// What each MMUEXT command needs, by number (as in Xen's do_mmuext_op); read.ts reads by them too.
export const NEEDS_MFN = new Set<number>([
  MMUEXT.pin_l1_table,
  MMUEXT.pin_l2_table,
  MMUEXT.pin_l3_table,
  MMUEXT.pin_l4_table,
  MMUEXT.unpin_table,
  MMUEXT.new_baseptr,
  MMUEXT.new_user_baseptr,
  MMUEXT.clear_page,
  MMUEXT.copy_page,
]);
export const NEEDS_VA = new Set<number>([MMUEXT.invlpg_local, MMUEXT.invlpg_all, MMUEXT.invlpg_multi, MMUEXT.set_ldt]);
export const NEEDS_MASK = new Set<number>([MMUEXT.tlb_flush_multi, MMUEXT.invlpg_multi]);

// The usual spellings of UVMF flags, as read.ts's flagString codes them: type + 16 × (scope + 1).
const FLAG_SPELLINGS: [string, number][] = [];
for (const [name, type] of [['none', UVMF.NONE], ['tlb_flush', UVMF.TLB_FLUSH], ['invlpg', UVMF.INVLPG]] as const) {
  FLAG_SPELLINGS.push([name, type], [`${name}|local`, type + 16 * (UVMF.LOCAL + 1)], [`${name}|all`, type + 16 * (UVMF.ALL + 1)]);
}
const FLAGS = new Names(FLAG_SPELLINGS.map(([s]) => s), '"');
const FLAG_CODES = FLAG_SPELLINGS.map(([, c]) => c);

// Scalar kinds.
const INT = 1;
const HEX = 2;
const STR = 3;
const TRUE = 4;
const FALSE = 5;
const NULL = 6;

const TWO_32 = 2 ** 32;
const TWO_21 = 2 ** 21;
/** By byte: its value as a hex digit, or -1. */
const HEX_DIGIT = new Int8Array(256).fill(-1);
for (let c = 0; c < 256; c++) {
  const x = String.fromCharCode(c);
  if (/[0-9a-fA-F]/.test(x)) HEX_DIGIT[c] = parseInt(x, 16);
}
/** Multicalls nested deeper than this take the slow path (which also judges the nesting limit). */
const MAX_CALL_DEPTH = 8;

// The ops by index in OPS (build's switch compares with literals).
const O_STORE = 0;
const O_FRAME = 1;
const O_READ = 2;
const O_ACCESS = 3;
const O_MMU_UPDATE = 4;
const O_MMUEXT_OP = 5;
const O_UPDATE_VA_MAPPING = 6;
const O_MULTICALL = 7;
const O_DECREASE_RESERVATION = 8;
const O_MEMORY_EXCHANGE = 9;

/** One object's fields as scanned (a record, or a multicall entry): reused, `seen` says which hold a value. */
class Fields {
  seen = 0;
  op = -1;
  dom = 0;
  vcpu = 0;
  mfn: Ulong = 0;
  slot = 0;
  val = 0n;
  va = 0n;
  write = false;
  reqs: { ptr: bigint; val: bigint }[] = [];
  ops: MmuextOp[] = [];
  calls: Hypercall[] = [];
  foreigndom = 0;
  /** flags: a spelling's code (flagsCode ≥ 0), else the number. */
  flagsCode = -1;
  flags: Ulong = 0;
  vcpumask: number[] | null = null;
  mfns: Ulong[] = [];
  count = 0;
  stride = 0n;
}

class Scanner {
  b: Uint8Array = new Uint8Array(0);
  /** b's bytes as words (Names.match). */
  d = new DataView(this.b.buffer);
  p = 0;
  end = 0;
  // The last scalar: its kind; INT/HEX: its value (num; over 13 hex digits, also hi·2^32 + lo);
  // STR: p is still at its opening quote.
  kind = 0;
  num = 0;
  digits = 0;
  hi = 0;
  lo = 0;
  /** The bigint of hi·2^32 for the last hi seen above 2^21 (addresses share their high half). */
  private hiKey = -1;
  private hiBig = 0n;
  private readonly top = new Fields();
  /** The multicall entries' fields, one per nesting level. */
  private readonly entries: Fields[] = [];
  private depth = 0;

  record(b: Uint8Array, start: number, end: number): TraceRecord {
    if (b !== this.b) {
      this.b = b;
      this.d = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    this.p = start;
    this.end = end;
    this.depth = 0;
    const f = this.top;
    this.fields(f, false);
    if (f.op < 0) giveUp();
    const caller = f.seen & CALLER;
    if ((caller === B_DOM || caller === CALLER) && !(f.seen & OPTIONAL)) return withCaller(f, caller === CALLER);
    const r = build(f) as TraceRecord & { dom?: number; vcpu?: number };
    if (f.seen & B_DOM) r.dom = f.dom;
    if (f.seen & B_VCPU) r.vcpu = f.vcpu;
    return r;
  }

  private byte(c: number): void {
    if (this.p >= this.end || this.b[this.p] !== c) giveUp();
    this.p++;
  }

  /** `,` (true: more follows) or the closing byte `close` (false); anything else gives up. */
  private more(close: number): boolean {
    if (this.p >= this.end) giveUp();
    const c = this.b[this.p++];
    if (c === 44) return true;
    if (c !== close) giveUp();
    return false;
  }

  /** A JSON object of known keys into `f` (`entry`: a multicall entry, without dom/vcpu). */
  fields(f: Fields, entry: boolean): void {
    f.seen = 0;
    f.op = -1;
    this.byte(123); // {
    do {
      const k = this.name(KEYS); // (and its colon)
      if (f.seen & (1 << k)) giveUp(); // repeated key (an unknown one gave up in name)
      f.seen |= 1 << k;
      this.value(f, k, entry);
    } while (this.more(125));
    if (f.op >= 0 && f.seen & ~(OP_KEYS[f.op]! | (entry ? 0 : CALLER))) giveUp();
  }

  /** Key k's value, checked as read.ts checks it. One case per key: its length is the switch's. */
  private value(f: Fields, k: number, entry: boolean): void {
    switch (k) {
      case K_OP:
        f.op = this.name(OPS);
        if (entry && !(ENTRY_OPS & (1 << f.op))) giveUp();
        return;
      case K_DOM:
        if (entry) giveUp();
        f.dom = this.uint(0x7ff0, true);
        return;
      case K_VCPU:
        if (entry) giveUp();
        f.vcpu = this.uint(4096, false);
        return;
      case K_MFN:
        f.mfn = this.ulong();
        return;
      case K_SLOT:
        f.slot = this.uint(512, false);
        return;
      case K_VAL:
        f.val = this.u64();
        return;
      case K_VA:
        f.va = this.u64();
        return;
      case K_WRITE:
        this.scalar();
        if (this.kind !== TRUE && this.kind !== FALSE) giveUp();
        f.write = this.kind === TRUE;
        return;
      case K_FOREIGNDOM:
        f.foreigndom = this.uint32();
        return;
      case K_FLAGS:
        this.flags(f);
        return;
      case K_VCPUMASK:
        f.vcpumask = this.mask();
        return;
      case K_COUNT:
        this.scalar();
        if (this.kind !== INT) giveUp();
        f.count = this.num;
        return;
      case K_STRIDE:
        f.stride = this.u64();
        return;
      case K_REQS:
        f.reqs = this.list(k) as Fields['reqs'];
        return;
      case K_OPS:
        f.ops = this.list(k) as MmuextOp[];
        return;
      case K_CALLS:
        f.calls = this.list(k) as Hypercall[];
        return;
      case K_MFNS:
        f.mfns = this.list(k) as Ulong[];
        return;
      default:
        giveUp();
    }
  }

  /** UVMF flags: a usual spelling (its code), or a number. */
  private flags(f: Fields): void {
    this.scalar();
    if (this.kind === STR) {
      f.flagsCode = FLAG_CODES[this.name(FLAGS)]!;
    } else {
      f.flagsCode = -1;
      f.flags = this.asUlong();
    }
  }

  /** `[` and whether the array is empty (then its `]` is read too). */
  private empty(): boolean {
    this.byte(91); // [
    if (this.b[this.p] !== 93) return false;
    this.p++;
    return true;
  }

  /** The array of key k (reqs, ops, calls or mfns); a one-element one (most) is made at its size. */
  private list(k: number): unknown[] {
    if (this.empty()) return [];
    const first = this.item(k);
    if (!this.more(93)) return [first];
    const out = [first];
    do out.push(this.item(k));
    while (this.more(93));
    return out;
  }

  private item(k: number): unknown {
    switch (k) {
      case K_REQS:
        return this.req();
      case K_OPS:
        return this.mmuextOp();
      case K_CALLS:
        return this.call();
      default:
        return this.ulong();
    }
  }

  /** {"ptr":…,"val":…} in either order. */
  private req(): { ptr: bigint; val: bigint } {
    this.byte(123);
    let ptr = 0n;
    let val = 0n;
    let seen = 0;
    do {
      const k = this.name(KEYS);
      if (k === K_PTR && !(seen & 1)) ptr = this.u64();
      else if (k === K_VAL && !(seen & 2)) val = this.u64();
      else giveUp();
      seen |= k === K_PTR ? 1 : 2;
    } while (this.more(125));
    if (seen !== 3) giveUp();
    return { ptr, val };
  }

  /** One struct mmuext_op (read.ts's readMmuextOp). */
  private mmuextOp(): MmuextOp {
    this.byte(123);
    let seen = 0;
    let cmd = -1;
    let mfn: Ulong = 0;
    let va = 0n;
    let mask: number[] | null = null;
    let nr = 0;
    let src: Ulong = 0;
    do {
      const k = this.name(KEYS);
      if (seen & (1 << k) || !(CMD_KEYS & (1 << k))) giveUp();
      seen |= 1 << k;
      if (k === K_CMD) cmd = this.cmd();
      else if (k === K_MFN) mfn = this.ulong();
      else if (k === K_LINEAR_ADDR) va = this.u64();
      else if (k === K_VCPUMASK) mask = this.mask();
      else if (k === K_NR_ENTS) nr = this.uint32();
      else src = this.ulong();
    } while (this.more(125));
    if (cmd < 0) giveUp();
    // A field the command needs must be given: then the op holds what is given (read.ts's
    // readMmuextOp adds a field given or needed), made in one literal for the usual sets.
    if (needs(cmd) & ~seen) giveUp();
    switch (seen) {
      case B_CMD:
        return { cmd };
      case B_CMD | B_MFN:
        return { cmd, mfn };
      case B_CMD | B_LINEAR_ADDR:
        return { cmd, linear_addr: va };
      case B_CMD | B_VCPUMASK:
        return { cmd, vcpumask: mask };
    }
    const op: MmuextOp = { cmd };
    if (seen & B_MFN) op.mfn = mfn;
    if (seen & B_LINEAR_ADDR) op.linear_addr = va;
    if (seen & B_VCPUMASK) op.vcpumask = mask;
    if (seen & B_NR_ENTS) op.nr_ents = nr;
    if (seen & B_SRC_MFN) op.src_mfn = src;
    return op;
  }

  /** An MMUEXT command: a known name, or a number (unsigned int: the low 32 bits). */
  private cmd(): number {
    this.scalar();
    if (this.kind !== STR) return this.narrow32(this.asUlong());
    return CMD_NUMBERS[this.name(CMDS)]!;
  }

  /** A multicall entry (a multicall among them too, to MAX_CALL_DEPTH). */
  private call(): Hypercall {
    if (this.depth === MAX_CALL_DEPTH) giveUp();
    const f = (this.entries[this.depth] ??= new Fields());
    this.depth++;
    this.fields(f, true);
    this.depth--;
    if (f.op < 0) giveUp();
    return build(f) as Hypercall;
  }

  /** A vCPU bitmap: an array of bit numbers below 2^53, or null. */
  private mask(): number[] | null {
    if (this.b[this.p] === 110) {
      this.scalar();
      if (this.kind !== NULL) giveUp();
      return null;
    }
    if (this.empty()) return [];
    const out = [this.bit()];
    while (this.more(93)) out.push(this.bit());
    return out;
  }

  private bit(): number {
    const v = this.ulong();
    if (typeof v !== 'number') giveUp();
    return v;
  }

  /** A string that is one of `names` (after the opening quote at p): its index; anything else gives up. */
  private name(names: Names): number {
    const p = this.p;
    if (p >= this.end || this.b[p] !== 34) giveUp();
    const m = names.match(this.d, p + 1, this.end);
    if (m < 0) giveUp();
    this.p = p + 1 + (m >> 8);
    return m & 255;
  }

  /**
   * A "0x…" string from its first digit (p): at most 16 significant digits (more is over 64 bits:
   * the slow path says so), up to the closing quote; anything else gives up (the slow path refuses
   * a "0x" string that is not hex wherever a string may be).
   */
  private hex(): void {
    const b = this.b;
    const end = this.end;
    let p = this.p;
    const first = p;
    while (p < end && b[p] === 48) p++;
    const s = p;
    // Up to 13 significant digits (52 bits) the value is exact as a number; past them, its halves.
    let num = 0;
    let d = 0;
    const exact = Math.min(end, s + 13);
    while (p < exact && (d = HEX_DIGIT[b[p]!]!) >= 0) {
      num = num * 16 + d;
      p++;
    }
    if (p === exact && p < end && HEX_DIGIT[b[p]!]! >= 0) {
      let hi = Math.floor(num / TWO_32);
      let lo = num >>> 0;
      while (p < end && (d = HEX_DIGIT[b[p]!]!) >= 0) {
        hi = hi * 16 + (lo >>> 28);
        lo = ((lo << 4) | d) >>> 0;
        p++;
      }
      this.hi = hi;
      this.lo = lo;
      num = hi * TWO_32 + lo;
    }
    if (p >= end || b[p] !== 34 || p === first || p - s > 16) giveUp();
    this.digits = p - s;
    this.num = num;
    this.p = p + 1;
    this.kind = HEX;
  }

  /** The next scalar into kind/num/…: an integer, a string (hex or not), true, false or null. */
  private scalar(): void {
    const b = this.b;
    const p = this.p;
    if (p >= this.end) giveUp();
    const c = b[p]!;
    if (c === 34) {
      if (b[p + 1] === 48 && (b[p + 2]! | 0x20) === 120 && p + 2 < this.end) {
        this.p = p + 3;
        this.hex();
      } else {
        this.kind = STR; // (at p still: the caller that takes a string reads it as a name)
      }
      return;
    }
    if (c >= 48 && c <= 57) return this.integer();
    this.kind = c === 116 ? this.word(TRUE, 'true') : c === 102 ? this.word(FALSE, 'false') : c === 110 ? this.word(NULL, 'null') : giveUp();
  }

  /** A JSON integer: no leading zero (not JSON), at most 15 digits (the slow path judges longer ones). */
  private integer(): void {
    const b = this.b;
    const end = this.end;
    const start = this.p;
    let p = start;
    let n = 0;
    if (b[p] === 48 && p + 1 < end && b[p + 1]! >= 48 && b[p + 1]! <= 57) giveUp();
    while (p < end && b[p]! >= 48 && b[p]! <= 57) n = n * 10 + (b[p++]! - 48);
    if (p - start > 15 || (p < end && (b[p] === 46 || (b[p]! | 0x20) === 101))) giveUp(); // fraction, exponent
    this.p = p;
    this.kind = INT;
    this.num = n;
  }

  private word(kind: number, w: string): number {
    for (let i = 0; i < w.length; i++) if (this.p + i >= this.end || this.b[this.p + i] !== w.charCodeAt(i)) giveUp();
    this.p += w.length;
    return kind;
  }

  /** fields.ts toU64: an integer or "0x…" of ≤ 64 bits, as a bigint. */
  private u64(): bigint {
    this.scalar();
    if (this.kind === INT || (this.kind === HEX && this.exact())) return BigInt(this.num);
    if (this.kind !== HEX) giveUp();
    if (this.hi !== this.hiKey) {
      this.hiKey = this.hi;
      this.hiBig = BigInt(this.hi) << 32n;
    }
    return this.hiBig | BigInt(this.lo);
  }

  /** fields.ts toUlong: a number below 2^53, a bigint above. */
  private ulong(): Ulong {
    this.scalar();
    return this.asUlong();
  }

  private asUlong(): Ulong {
    if (this.kind === INT) return this.num;
    if (this.kind !== HEX) giveUp();
    return this.exact() ? this.num : (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** Whether the last HEX value is below 2^53 (num is exact; else hi and lo are its halves). */
  private exact(): boolean {
    return this.digits <= 13 || this.hi < TWO_21;
  }

  /** fields.ts toUint: an integer (or, hexOk, "0x…" of ≤ 13 digits) below limit. */
  private uint(limit: number, hexOk: boolean): number {
    this.scalar();
    if (!(this.kind === INT || (hexOk && this.kind === HEX && this.digits <= 13)) || this.num >= limit) giveUp();
    return this.num;
  }

  /** fields.ts uint32: any 64-bit value, its low 32 bits kept. */
  private uint32(): number {
    return this.narrow32(this.ulong());
  }

  private narrow32(u: Ulong): number {
    return typeof u === 'number' ? u % TWO_32 : Number(BigInt.asUintN(32, u));
  }
}

/** The keys an MMUEXT command needs (as in Xen's do_mmuext_op), as bits. */
function needs(cmd: number): number {
  return cmd < CMD_NEEDS.length ? CMD_NEEDS[cmd]! : 0;
}
const CMD_NEEDS = CMD_NUMBERS.reduce((a, c) => {
  a[c] = (NEEDS_MFN.has(c) ? B_MFN : 0) | (NEEDS_VA.has(c) ? B_LINEAR_ADDR : 0) | (NEEDS_MASK.has(c) ? B_VCPUMASK : 0) |
    (c === MMUEXT.set_ldt ? B_NR_ENTS : 0) | (c === MMUEXT.copy_page ? B_SRC_MFN : 0);
  return a;
}, new Array<number>(Math.max(...CMD_NUMBERS) + 1).fill(0));

/** The op's fields are all there. */
function checkNeeds(f: Fields): void {
  if ((f.seen & OP_NEEDS[f.op]!) !== OP_NEEDS[f.op]) giveUp();
}

/** The record (or entry) of scanned fields, as read.ts's readBody/readHypercall build it. */
function build(f: Fields): TraceRecord | Hypercall {
  checkNeeds(f);
  switch (f.op) {
    case O_STORE: {
      const r: TraceRecord = { op: 'store', mfn: f.mfn, slot: f.slot, val: f.val };
      if (f.seen & B_COUNT) {
        if (f.count === 0 || f.count >= 513 - f.slot) giveUp();
        r.count = f.count;
      }
      if (f.seen & B_STRIDE) r.stride = f.stride;
      return r;
    }
    case O_FRAME:
      return { op: 'frame', mfn: f.mfn };
    case O_READ:
      return { op: 'read', mfn: f.mfn, slot: f.slot };
    case O_ACCESS:
      return { op: 'access', va: f.va, write: f.write };
    case O_MMU_UPDATE:
    case O_MMUEXT_OP: {
      const call: Hypercall = f.op === O_MMU_UPDATE ? { op: 'mmu_update', reqs: f.reqs } : { op: 'mmuext_op', ops: f.ops };
      if (f.seen & B_FOREIGNDOM) call.foreigndom = f.foreigndom;
      return call;
    }
    case O_UPDATE_VA_MAPPING: {
      const hasMask = (f.seen & B_VCPUMASK) !== 0;
      const call: Hypercall = { op: 'update_va_mapping', va: f.va, val: f.val, flags: flagsOf(f, hasMask) };
      if (hasMask) call.vcpumask = f.vcpumask;
      return call;
    }
    case O_DECREASE_RESERVATION:
      return { op: 'decrease_reservation', mfns: f.mfns };
    case O_MEMORY_EXCHANGE:
      return { op: 'memory_exchange', mfns: f.mfns };
    default:
      return { op: 'multicall', calls: f.calls };
  }
}

/**
 * A record with `dom` (and `vcpu`, when `vcpu`) and none of its op's optional fields, made in one
 * literal: the caller's fields in the record's own storage, not added after (as build + record
 * add them: the same record, property for property, in one allocation).
 */
function withCaller(f: Fields, vcpu: boolean): TraceRecord {
  checkNeeds(f);
  const { dom } = f;
  switch (f.op) {
    case O_STORE:
      return vcpu ? { op: 'store', mfn: f.mfn, slot: f.slot, val: f.val, dom, vcpu: f.vcpu } : { op: 'store', mfn: f.mfn, slot: f.slot, val: f.val, dom };
    case O_ACCESS:
      return vcpu ? { op: 'access', va: f.va, write: f.write, dom, vcpu: f.vcpu } : { op: 'access', va: f.va, write: f.write, dom };
    case O_MMU_UPDATE:
      return vcpu ? { op: 'mmu_update', reqs: f.reqs, dom, vcpu: f.vcpu } : { op: 'mmu_update', reqs: f.reqs, dom };
    case O_MMUEXT_OP:
      return vcpu ? { op: 'mmuext_op', ops: f.ops, dom, vcpu: f.vcpu } : { op: 'mmuext_op', ops: f.ops, dom };
    case O_UPDATE_VA_MAPPING: {
      const flags = flagsOf(f, false);
      return vcpu ? { op: 'update_va_mapping', va: f.va, val: f.val, flags, dom, vcpu: f.vcpu } : { op: 'update_va_mapping', va: f.va, val: f.val, flags, dom };
    }
    case O_MULTICALL:
      return vcpu ? { op: 'multicall', calls: f.calls, dom, vcpu: f.vcpu } : { op: 'multicall', calls: f.calls, dom };
  }
  const r = build(f) as TraceRecord & { dom?: number; vcpu?: number };
  r.dom = dom;
  if (vcpu) r.vcpu = f.vcpu;
  return r;
}

/** read.ts's readFlags, for what it accepts. */
function flagsOf(f: Fields, hasMask: boolean): Ulong {
  if (f.flagsCode >= 0) {
    const type = f.flagsCode % 16;
    const scope = (f.flagsCode - type) / 16 - 1;
    if (hasMask) {
      if (scope >= 0) giveUp();
      return type | UVMF.MULTI;
    }
    return type | (scope < 0 ? UVMF.LOCAL : scope);
  }
  const n = f.flags;
  const type = uvmfType(n);
  if (!hasMask && uvmfScope(n) === UVMF.MULTI && (type === UVMF.TLB_FLUSH || type === UVMF.INVLPG)) giveUp();
  return n;
}

const scanner = new Scanner();

/** The scanner's record of the object at b[start], or undefined (GIVE_UP); scanner.p: after it. */
function scanObject(b: Uint8Array, start: number, end: number): TraceRecord | undefined {
  try {
    return scanner.record(b, start, end);
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}

/**
 * The record of the JSON line in b[start, end), when it is one of the shapes the scanner takes;
 * undefined otherwise (the caller reads the line the slow way, which also says what is wrong).
 */
export function scanRecord(b: Uint8Array, start: number, end: number): TraceRecord | undefined {
  const r = scanObject(b, start, end);
  return scanner.p === end ? r : undefined;
}

/**
 * scanRecord for a line that starts at b[start] and ends at the first line break (CR or LF) or at
 * `limit`: the scanner never reads past a line break (no whitespace or control byte is in its
 * JSON), so it finds the line's end as it reads. The end is then scanEnd().
 */
export function scanLine(b: Uint8Array, start: number, limit: number): TraceRecord | undefined {
  const r = scanObject(b, start, limit);
  if (r === undefined) return undefined;
  const p = scanner.p;
  return p === limit || b[p] === 10 || b[p] === 13 ? r : undefined;
}

/** Where the line of the last record scanLine took ends (its line break, or the limit). */
export function scanEnd(): number {
  return scanner.p;
}
