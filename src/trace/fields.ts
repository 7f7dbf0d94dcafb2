// Hand-written field readers for the trace's number domain (no schema library: zod costs 0.15 s of
// start-up and our numbers are custom). A reader either returns the normalised value or throws a
// FieldError naming the field; the reader of the record prefixes the path ("reqs[2].ptr") on the
// way out, and readTrace turns it into a TraceError with the file and line. Nothing here allocates
// on the success path beyond the value itself.

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
const MFN_WANT = 'an MFN (a non-negative integer or a hex string "0x…")';
const OVER_53 = 'an integer above 2^53-1 loses precision in JSON: write it as a hex string "0x…"';
export const MFN_LIMIT = 2 ** 40;

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

/** A machine frame number: < 2^40. */
export function toMfn(v: unknown, key: string, idx = -1): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) {
      if (v >= MFN_LIMIT) problem(key, idx, 'MFN out of range (max 2^40-1)', v);
      return v;
    }
    if (Number.isInteger(v) && v > 0) problem(key, idx, OVER_53, v);
    return fail(key, idx, MFN_WANT, v);
  }
  if (typeof v === 'string') {
    const d = hexDigits(v);
    if (d < 0) fail(key, idx, MFN_WANT, v);
    if (d > 16) problem(key, idx, 'value over 64 bits', v);
    if (d > 10) problem(key, idx, 'MFN out of range (max 2^40-1)', v);
    return parseInt(v, 16);
  }
  return fail(key, idx, MFN_WANT, v);
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

export function mfn(o: Obj, key: string): number {
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

/** Any 16-bit domain id, DOMID_SELF etc. included (foreigndom). */
export function domid16(o: Obj, key: string): number {
  return toUint(o[key], key, 0x10000, 'a 16-bit domain id (integer or "0x…")', -1, true);
}

export function uint32(o: Obj, key: string): number {
  return toUint(o[key], key, 2 ** 32, 'an unsigned 32-bit integer', -1, true);
}

export function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') fail(key, -1, 'true or false', v);
  return v;
}

/** The most entries of one array in a trace record: reqs, ops, calls, mfns, vcpumask, expected lists. */
export const MAX_ARRAY = 65_536;

/** Refuses an array longer than MAX_ARRAY (before any of its entries is read). */
export function bounded(v: unknown[], key: string): unknown[] {
  if (v.length > MAX_ARRAY) throw new FieldError(key, `${v.length} entries, more than the ${MAX_ARRAY} an array of a record may have`);
  return v;
}

export function array(o: Obj, key: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) fail(key, -1, 'an array', v);
  return bounded(v, key);
}

export function object(v: unknown, key: string, idx = -1): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(key, idx, 'an object', v);
  return v as Obj;
}

/** A vCPU bitmap: an array of vCPU ids, or null (an unreadable guest pointer). */
export function vcpumask(o: Obj, key: string): number[] | null {
  const v = o[key];
  if (v === null) return null;
  if (!Array.isArray(v)) fail(key, -1, 'an array of vCPU ids, or null (an unreadable pointer)', v);
  bounded(v, key);
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = vcpuId(v[i], key, i);
  return out;
}
