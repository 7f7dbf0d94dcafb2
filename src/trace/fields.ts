// Hand-written field readers for the trace's number domain (no schema library: zod costs 0.15 s of
// start-up and our numbers are custom). A reader either returns the normalised value or throws a
// FieldError naming the field; the reader of the record prefixes the path ("reqs[2].ptr") on the
// way out, and readTrace turns it into a TraceError with the file and line. Nothing here allocates
// on the success path beyond the value itself.
//
// The line between a trace error and Xen's answer: a hypercall argument is a register, so every
// value of 64 bits or less is the hypervisor's to answer (an errno, or truncation to the C type of
// Xen's prototype, which the readers below do where it narrows). Only what no register can hold is
// refused here: more than 64 bits, not a number, a wrong JSON type, a missing field.
import type { Ulong } from '../../hypervisor/types.ts';

/** An input error in a trace: `FILE:LINE: field "reqs[2].ptr": expected …, got …`. */
export class TraceError extends Error {
  readonly file: string;
  /** 1-based line, or 0 when the file itself could not be read. */
  readonly line: number;
  /** The full field path ("calls[1].ops[0].mfn"), when one field is to blame. */
  readonly field: string | undefined;
  /** The message without the FILE:LINE prefix. */
  readonly detail: string;
  constructor(file: string, line: number, detail: string, field?: string) {
    super(line > 0 ? `${file}:${line}: ${detail}` : `${file}: ${detail}`);
    this.name = 'TraceError';
    this.file = file;
    this.line = line;
    this.field = field;
    this.detail = detail;
  }
}

/** A problem with one field; `field` is the path so far (innermost first, prefixed on the way out). */
export class FieldError extends Error {
  field: string;
  readonly problem: string;
  constructor(field: string, problem: string) {
    super(problem);
    this.name = 'FieldError';
    this.field = field;
    this.problem = problem;
  }
  /** "field \"reqs[2].ptr\": expected …, got …" */
  render(): string {
    return `field "${this.field}": ${this.problem}`;
  }
}

/** Prefix the path of a FieldError thrown while reading a nested object ("reqs[2]." + "ptr"). */
export function prefixed(e: unknown, prefix: string): unknown {
  if (e instanceof FieldError) e.field = e.field === '' ? prefix.replace(/\.$/, '') : prefix + e.field;
  return e;
}

export type Obj = Record<string, unknown>;

const MAX_GOT = 48;
/** How a value looks in an error message. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string': {
      const s = JSON.stringify(v);
      return s.length > MAX_GOT ? s.slice(0, MAX_GOT - 4) + '…"' : s;
    }
    case 'object':
      return 'an object';
    default:
      return String(v);
  }
}

function path(key: string, idx: number): string {
  return idx < 0 ? key : `${key}[${idx}]`;
}

export function fail(key: string, idx: number, expected: string, got: unknown): never {
  throw new FieldError(path(key, idx), `expected ${expected}, got ${show(got)}`);
}

function problem(key: string, idx: number, what: string, got: unknown): never {
  throw new FieldError(path(key, idx), `${what}, got ${show(got)}`);
}

const U64_WANT = 'a non-negative integer or a hex string "0x…" (up to 64 bits)';
const MFN_WANT = 'an MFN (a non-negative integer or a hex string "0x…", up to 64 bits)';
const OVER_53 = 'an integer above 2^53-1 loses precision in JSON: write it as a hex string "0x…"';

/**
 * The number of significant hex digits of "0x…" (any case), or -1 when s is not such a string.
 * No regex: this runs for every PTE value of every record.
 */
function hexDigits(s: string): number {
  const n = s.length;
  if (n < 3 || s.charCodeAt(0) !== 48 || (s.charCodeAt(1) | 0x20) !== 120) return -1;
  let i = 2;
  while (i < n && s.charCodeAt(i) === 48) i++;
  const start = i;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    const l = c | 0x20;
    if (!((c >= 48 && c <= 57) || (l >= 97 && l <= 102))) return -1;
  }
  return n - start;
}

/** A 64-bit value (PTE, machine or virtual address): JSON integer ≤ 2^53-1 or "0x…" ≤ 64 bits. */
export function toU64(v: unknown, key: string, idx = -1): bigint {
  if (typeof v === 'string') {
    const d = hexDigits(v);
    if (d < 0) fail(key, idx, U64_WANT, v);
    if (d > 16) problem(key, idx, 'value over 64 bits', v);
    // Up to 13 digits (52 bits) parseInt is exact, and with BigInt() of the number half the cost.
    return d <= 13 ? BigInt(parseInt(v, 16)) : BigInt(v);
  }
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    if (Number.isInteger(v) && v > 0) problem(key, idx, OVER_53, v);
  }
  return fail(key, idx, U64_WANT, v);
}

const TWO_53 = 2n ** 53n;

/**
 * An unsigned long (xen_pfn_t MFNs, UVMF flags): any 64-bit value, as a number below 2^53 (no
 * allocation: every real frame) and a bigint only above. Whether it is a frame is Xen's question
 * (mfn_valid, -EINVAL), not the reader's.
 */
export function toUlong(v: unknown, key: string, idx = -1, want = U64_WANT): Ulong {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    if (Number.isInteger(v) && v > 0) problem(key, idx, OVER_53, v);
    return fail(key, idx, want, v);
  }
  if (typeof v === 'string') {
    const d = hexDigits(v);
    if (d < 0) fail(key, idx, want, v);
    if (d > 16) problem(key, idx, 'value over 64 bits', v);
    if (d <= 13) return parseInt(v, 16);
    const b = BigInt(v);
    return b < TWO_53 ? Number(b) : b;
  }
  return fail(key, idx, want, v);
}

/** A machine frame number argument (xen_pfn_t: unsigned long): see toUlong. */
export function toMfn(v: unknown, key: string, idx = -1): Ulong {
  return toUlong(v, key, idx, MFN_WANT);
}

/**
 * An argument whose C type is narrower than the 64-bit register that carries it (unsigned int:
 * 32 bits, domid_t: 16): any 64-bit value, truncated to `bits` as the C conversion does. Callers
 * name the prototype that narrows.
 */
export function toNarrowed(v: unknown, key: string, bits: 16 | 32, idx = -1): number {
  const u = toUlong(v, key, idx);
  if (typeof u === 'number') return bits === 32 ? u % 2 ** 32 : u % 2 ** 16;
  return Number(BigInt.asUintN(bits, u));
}

/** A non-negative integer below `limit` (JSON integer, or "0x…" when `hexOk`). */
export function toUint(v: unknown, key: string, limit: number, want: string, idx = -1, hexOk = false): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (hexOk && typeof v === 'string' && hexDigits(v) >= 0 && hexDigits(v) <= 13) n = parseInt(v, 16);
  else return fail(key, idx, want, v);
  if (!Number.isInteger(n) || n < 0 || n >= limit) fail(key, idx, want, v);
  return n;
}

export function mfn(o: Obj, key: string): Ulong {
  return toMfn(o[key], key);
}
export function u64(o: Obj, key: string): bigint {
  return toU64(o[key], key);
}

/** A page-table slot: 0–511. */
export function slot(o: Obj, key: string): number {
  return toUint(o[key], key, 512, 'a slot number 0–511');
}

export const MAX_VCPU_ID = 4096;
const VCPU_WANT = `a vCPU id (integer 0–${MAX_VCPU_ID - 1})`;
export function vcpuId(v: unknown, key: string, idx = -1): number {
  return toUint(v, key, MAX_VCPU_ID, VCPU_WANT, idx);
}

/** A real domain id (below DOMID_FIRST_RESERVED 0x7ff0): integer or "0x…". */
export function domid(o: Obj, key: string): number {
  return toUint(o[key], key, 0x7ff0, 'a domain id (integer below 0x7ff0)', -1, true);
}

/** An unsigned int argument or struct field: 64 bits read, the low 32 kept (see toNarrowed). */
export function uint32(o: Obj, key: string): number {
  return toNarrowed(o[key], key, 32);
}

export function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') fail(key, -1, 'true or false', v);
  return v;
}

// Arrays have no limit of their own: Xen takes counts up to 2^32-1 (unsigned int), preempting
// long batches with continuations the guest never sees; a trace line's 1 MiB (MAX_LINE_BYTES)
// bounds an array to 524,288 entries and its reading to about 10 MiB of heap (docs/limits.md).
export function array(o: Obj, key: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) fail(key, -1, 'an array', v);
  return v;
}

export function object(v: unknown, key: string, idx = -1): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(key, idx, 'an object', v);
  return v as Obj;
}

const BIT_WANT = 'a bit number of the vCPU bitmap (integer 0–2^53-1, or "0x…")';
/**
 * A vCPU bitmap (the memory a `const void *` points at): its set bits as an array, or null (an
 * unreadable pointer). Any bit number is a valid bitmap; vcpumask_to_pcpumask stops at max_vcpus
 * (mm.c:3382), so bits past the domain's last vCPU are Xen's to skip, not the reader's to refuse.
 */
export function vcpumask(o: Obj, key: string): number[] | null {
  const v = o[key];
  if (v === null) return null;
  if (!Array.isArray(v)) fail(key, -1, 'an array of vCPU ids, or null (an unreadable pointer)', v);
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) {
    const b = toUlong(v[i], key, i, BIT_WANT);
    if (typeof b !== 'number') fail(key, i, BIT_WANT, v[i]);
    out[i] = b;
  }
  return out;
}
