// `expect`: an integer (the record's rc) or an object whose keys must all match the record's result
// (trace-format.md, Expectations). Each op has a fixed set of result keys, each of a kind that says
// how it is read, compared (hex and number spellings by value) and written back.
import { FieldError, fail, object, show, toMfn, toU64, type Obj } from './fields.ts';
import type { Expect, ExpectValue, TraceOp } from './types.ts';

type Kind =
  | 'int' // any safe integer (rc may be negative)
  | 'ints' // array of integers (multicall results)
  | 'mfn' // MFN: number, written as hex
  | 'u64' // 64-bit value: bigint, written as hex
  | 'hex' // caf / taf: a hex string compared by value, kept as bigint
  | 'bool'
  | 'ftype' // frame type name
  | 'owner' // domain id or null
  | 'strs'; // array of strings (audit mismatches)

const RC = { rc: 'int' } as const;
const HCALL = { rc: 'int', done: 'int' } as const;
const FRAME = {
  rc: 'int',
  owner: 'owner',
  type: 'ftype',
  type_count: 'int',
  validated: 'bool',
  pinned: 'bool',
  count: 'int',
  allocated: 'bool',
  caf: 'hex',
  taf: 'hex',
  tlbflush_timestamp: 'int',
} as const;

export const EXPECT_KEYS: Record<TraceOp, Readonly<Record<string, Kind>>> = {
  create_domain: RC,
  destroy_domain: RC,
  store: RC,
  decrease_reservation: RC,
  memory_exchange: RC,
  set_gdt: RC,
  mmu_update: HCALL,
  mmuext_op: HCALL,
  update_va_mapping: RC,
  update_va_mapping_otherdomain: RC,
  hypercall: RC,
  multicall: { rc: 'int', results: 'ints' },
  frame: FRAME,
  read: { rc: 'int', val: 'u64', mfn: 'mfn', present: 'bool' },
  access: { rc: 'int', mfn: 'mfn', writable: 'bool', tlb_hit: 'bool', stale: 'bool' },
  audit: { rc: 'int', mismatches: 'strs' },
};

const FRAME_TYPES = new Set(['none', 'writable', 'l1', 'l2', 'l3', 'l4', 'seg_desc', 'shared']);

function readInt(v: unknown, key: string, idx = -1): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(key, idx, 'an integer', v);
  return v;
}

function readKind(kind: Kind, v: unknown, key: string): ExpectValue {
  switch (kind) {
    case 'int':
      return readInt(v, key);
    case 'ints': {
      if (!Array.isArray(v)) fail(key, -1, 'an array of integers', v);
      const out = new Array<number>(v.length);
      for (let i = 0; i < v.length; i++) out[i] = readInt(v[i], key, i);
      return out;
    }
    case 'mfn':
      return toMfn(v, key);
    case 'u64':
    case 'hex':
      return toU64(v, key);
    case 'bool':
      if (typeof v !== 'boolean') fail(key, -1, 'true or false', v);
      return v;
    case 'ftype':
      if (typeof v !== 'string' || !FRAME_TYPES.has(v)) fail(key, -1, `one of ${[...FRAME_TYPES].join(', ')}`, v);
      return v;
    case 'owner':
      if (v === null) return null;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) fail(key, -1, 'a domain id or null', v);
      return v;
    case 'strs': {
      if (!Array.isArray(v)) fail(key, -1, 'an array of strings', v);
      for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') fail(key, i, 'a string', v[i]);
      return v as string[];
    }
  }
}

/** Reads `expect` for a record of kind `op`. Throws FieldError ("expect.type", …). */
export function readExpect(op: TraceOp, v: unknown): Expect {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) fail('expect', -1, 'an integer (the rc) or an object', v);
    return v;
  }
  const o = object(v, 'expect') as Obj;
  const keys = EXPECT_KEYS[op];
  const out: { [key: string]: ExpectValue } = {};
  for (const k in o) {
    const kind = keys[k];
    if (kind === undefined) {
      throw new FieldError(
        `expect.${k}`,
        `not a result of ${op} (known: ${Object.keys(keys).join(', ')}), got ${show(o[k])}`,
      );
    }
    out[k] = readKind(kind, o[k], `expect.${k}`);
  }
  return out;
}

const hex = (n: number | bigint): string => '0x' + n.toString(16);

/** A result value in the JSON form of its kind (hex strings for MFNs and 64-bit values). */
function kindToJson(kind: Kind | undefined, v: unknown): unknown {
  if (v === undefined) return null;
  switch (kind) {
    case 'mfn':
    case 'u64':
      return typeof v === 'number' || typeof v === 'bigint' ? hex(v) : v;
    case 'hex': {
      const b = typeof v === 'string' ? hexValue(v) : v;
      return typeof b === 'bigint' || typeof b === 'number' ? hex(b) : v;
    }
    default:
      return typeof v === 'bigint' ? hex(v) : v;
  }
}

/** The normalised JSON form of an expectation (round-trips through readExpect). */
export function expectToJson(op: TraceOp, e: Expect): unknown {
  if (typeof e === 'number') return e;
  const keys = EXPECT_KEYS[op];
  const out: Obj = {};
  for (const k in e) out[k] = kindToJson(keys[k], e[k]);
  return out;
}

/** A hex string as Xen prints it, with or without 0x. */
function hexValue(s: string): bigint | undefined {
  try {
    return BigInt(s.startsWith('0x') || s.startsWith('0X') ? s : '0x' + s);
  } catch {
    return undefined;
  }
}

function same(kind: Kind, e: ExpectValue, a: unknown): boolean {
  if (a === undefined) return false;
  switch (kind) {
    case 'int':
    case 'mfn':
    case 'owner':
    case 'u64':
      if (typeof e === typeof a) return e === a;
      if ((typeof e === 'number' || typeof e === 'bigint') && (typeof a === 'number' || typeof a === 'bigint')) {
        return BigInt(e) === BigInt(a);
      }
      return false;
    case 'hex': {
      const av = typeof a === 'string' ? hexValue(a) : typeof a === 'number' || typeof a === 'bigint' ? BigInt(a) : undefined;
      return av !== undefined && av === e;
    }
    case 'ints':
    case 'strs': {
      if (!Array.isArray(e) || !Array.isArray(a) || e.length !== a.length) return false;
      for (let i = 0; i < e.length; i++) if (e[i] !== a[i]) return false;
      return true;
    }
    default:
      return e === a;
  }
}

/** The outcome of checking one expectation: the compared keys, in JSON form. */
export interface ExpectCheck {
  ok: boolean;
  expected: unknown;
  actual: unknown;
}

/**
 * Compares `e` with a record's result, flattened: `{rc, done, results, <frame keys>, val, mfn,
 * present, <access keys>, mismatches}`. `actual` holds only the keys that were compared.
 */
export function checkExpect(op: TraceOp, e: Expect, result: Readonly<Record<string, unknown>>): ExpectCheck {
  if (typeof e === 'number') {
    const rc = result.rc;
    return { ok: rc === e, expected: e, actual: rc ?? null };
  }
  const keys = EXPECT_KEYS[op];
  let ok = true;
  const actual: Obj = {};
  for (const k in e) {
    const kind = keys[k] ?? 'int';
    const a = result[k];
    if (!same(kind, e[k]!, a)) ok = false;
    actual[k] = kindToJson(kind, a);
  }
  return { ok, expected: expectToJson(op, e), actual };
}
