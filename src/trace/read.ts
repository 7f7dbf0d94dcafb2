// The trace v1 reader: NDJSON in, typed and validated records out, every error with FILE:LINE and
// the full field path. A hypercall log is a trace too: its record lines (numeric `level` and
// `time`, plus `op`) are read as records, its other lines skipped. See trace-format.md and
// docs/trace-extensions.md.
import { HYPERCALL, HYPERCALL_NAMES, hypercallHandled, MMUEXT, UVMF, uvmfScope, uvmfType } from '../../hypervisor/abi.ts';
import { MFN_LIMIT } from '../../hypervisor/pte.ts';
import type { Hypercall, MmuextOp, Ulong } from '../../hypervisor/types.ts';
import { readExpect } from './expect.ts';
import {
  FieldError,
  TraceError,
  array,
  bool,
  domid,
  fail,
  mfn,
  object,
  prefixed,
  show,
  slot,
  toMfn,
  toNarrowed,
  toUint,
  toUlong,
  u64,
  uint32,
  vcpuId,
  vcpumask,
  type Obj,
} from './fields.ts';
import { MAX_DEPTH, nestingOver, printable, readLineBatches, readLineChunks, type LineChunk } from './lines.ts';
import { NEEDS_MASK, NEEDS_MFN, NEEDS_VA, scanEnd, scanLine } from './scan.ts';
import { TRACE_OPS, type LogShape, type RecordCommon, type TraceEntry, type TraceOp, type TraceRecord } from './types.ts';

/** The line reader (with the line-length and binary-data limits) lives in lines.ts. */
export { readLineBatches };

const MMUEXT_BY_NAME: Readonly<Record<string, number>> = MMUEXT;
const MMUEXT_NAMES = Object.keys(MMUEXT).join(', ');
const OPS = new Set<string>(TRACE_OPS);

function cmdOf(v: unknown): number {
  if (typeof v === 'string' && !v.startsWith('0x') && !v.startsWith('0X')) {
    const n = Object.hasOwn(MMUEXT_BY_NAME, v) ? MMUEXT_BY_NAME[v] : undefined;
    if (n === undefined) throw new FieldError('cmd', `unknown MMUEXT command ${show(v)} (known: ${MMUEXT_NAMES}, or a number)`);
    return n;
  }
  // A number Xen does not know passes through: Xen answers -ENOSYS. struct mmuext_op's cmd is an
  // unsigned int (public/xen.h): the low 32 bits of the 8 bytes before arg1 (the rest is padding).
  return toNarrowed(v, 'cmd', 32);
}

function readMmuextOp(o: Obj): MmuextOp {
  const cmd = cmdOf(o.cmd);
  const op: MmuextOp = { cmd };
  if (o.mfn !== undefined || NEEDS_MFN.has(cmd)) op.mfn = mfn(o, 'mfn');
  if (o.linear_addr !== undefined || NEEDS_VA.has(cmd)) op.linear_addr = u64(o, 'linear_addr');
  if (o.vcpumask !== undefined || NEEDS_MASK.has(cmd)) op.vcpumask = vcpumask(o, 'vcpumask');
  // nr_ents: unsigned int, the low half of the arg2 union (struct mmuext_op, public/xen.h).
  if (o.nr_ents !== undefined || cmd === MMUEXT.set_ldt) op.nr_ents = uint32(o, 'nr_ents');
  if (o.src_mfn !== undefined || cmd === MMUEXT.copy_page) op.src_mfn = mfn(o, 'src_mfn');
  return op;
}

const FLUSH_TYPES: Readonly<Record<string, number>> = { none: UVMF.NONE, tlb_flush: UVMF.TLB_FLUSH, invlpg: UVMF.INVLPG };
const FLAGS_WANT = 'a number, or none/tlb_flush/invlpg optionally joined with local/all by "|"';

/**
 * The string form of UVMF flags: the flush type (0–2) plus 16 × (scope + 1), scope being
 * -1 (not given), LOCAL or ALL; -1 when the string is not a flags string. Cached: a trace uses a
 * handful of spellings, so the split runs once per spelling, not once per record.
 */
const flagStrings = new Map<string, number>();
function flagString(v: string): number {
  const hit = flagStrings.get(v);
  if (hit !== undefined) return hit;
  let type = -1;
  let scope = -1;
  let bad = false;
  for (const raw of v.split('|')) {
    const part = raw.trim().toLowerCase();
    const t = Object.hasOwn(FLUSH_TYPES, part) ? FLUSH_TYPES[part] : undefined;
    if (t !== undefined && type < 0) type = t;
    else if (part === 'local' && scope < 0) scope = UVMF.LOCAL;
    else if (part === 'all' && scope < 0) scope = UVMF.ALL;
    else bad = true;
  }
  const code = bad || type < 0 ? -1 : type + 16 * (scope + 1);
  if (flagStrings.size < 256) flagStrings.set(v, code);
  return code;
}

/** The UVMF flags of update_va_mapping (string form, or the raw unsigned long). */
function readFlags(o: Obj, hasMask: boolean): Ulong {
  const v = o.flags;
  if (typeof v === 'string' && !v.startsWith('0x') && !v.startsWith('0X')) {
    const code = flagString(v);
    if (code < 0) fail('flags', -1, FLAGS_WANT, v);
    const type = code % 16;
    const scope = (code - type) / 16 - 1;
    if (hasMask) {
      // A string flag with a vcpumask is UVMF_MULTI: the mask names the vCPUs.
      if (scope >= 0) {
        throw new FieldError('flags', `local/all cannot be combined with a vcpumask (that is UVMF_MULTI), got ${show(v)}`);
      }
      return type | UVMF.MULTI;
    }
    return type | (scope < 0 ? UVMF.LOCAL : scope);
  }
  // flags is an unsigned long (do_update_va_mapping): every 64-bit value, its bits above the flush
  // type being a bitmap pointer (UVMF_MULTI). The bitmap is the pointer's memory, so a flush that
  // reads it needs `vcpumask`; a mask given with flags that never read it is ignored, as by Xen.
  const n = toUlong(v, 'flags', -1, FLAGS_WANT);
  const type = uvmfType(n);
  if (!hasMask && uvmfScope(n) === UVMF.MULTI && (type === UVMF.TLB_FLUSH || type === UVMF.INVLPG)) {
    throw new FieldError('vcpumask', `flags ${show(v)} are UVMF_MULTI: expected a vcpumask (array of vCPU ids, or null), got nothing (missing)`);
  }
  return n;
}

/** What a record's or multicall entry's `op` names: a hypercall by name, or by its number. */
const MODELLED_BY_NUMBER: ReadonlyMap<number, string> = new Map([
  [HYPERCALL.mmu_update, 'mmu_update'],
  [HYPERCALL.set_gdt, 'set_gdt'],
  [HYPERCALL.multicall, 'multicall'],
  [HYPERCALL.update_va_mapping, 'update_va_mapping'],
  [HYPERCALL.update_va_mapping_otherdomain, 'update_va_mapping_otherdomain'],
  [HYPERCALL.mmuext_op, 'mmuext_op'],
]);

/**
 * The op a hypercall number (xen_ulong_t: any 64-bit value) stands for: one the trace expresses by
 * name, or 'hypercall' for a number Xen has no handler for (-ENOSYS). A number Xen handles but the
 * simulator does not model cannot be answered faithfully: that is bad input, named.
 */
function opOfNumber(nr: Ulong): string {
  if (typeof nr === 'number') {
    const named = MODELLED_BY_NUMBER.get(nr);
    if (named !== undefined) return named;
    if (nr === HYPERCALL.memory_op) {
      throw new FieldError('op', 'memory_op (12) by number: give its command by name, decrease_reservation or memory_exchange');
    }
  }
  if (!hypercallHandled(nr)) return 'hypercall';
  throw new FieldError('op', `hypercall ${nr} (${HYPERCALL_NAMES[Number(nr)]}) is not modelled by the simulator (known: ${HYPERCALL_OPS.join(', ')}, or a number without a handler)`);
}

/** The hypercalls a record or multicall entry may name. */
const HYPERCALL_OPS = [
  'mmu_update',
  'mmuext_op',
  'update_va_mapping',
  'update_va_mapping_otherdomain',
  'multicall',
  'set_gdt',
  'decrease_reservation',
  'memory_exchange',
  'hypercall',
];
const HYPERCALL_OP_SET = new Set(HYPERCALL_OPS);

function noCommon(o: Obj): void {
  for (const k of ['dom', 'vcpu', 'expect'] as const) {
    if (o[k] !== undefined) {
      throw new FieldError(
        k,
        k === 'expect'
          ? 'a multicall entry has no expect of its own: expect {"results":[…]} on the multicall'
          : `a multicall entry runs as the multicall's caller: put ${k} on the multicall, got ${show(o[k])}`,
      );
    }
  }
}

/** A hypercall record's own fields (no common fields); `sub` for multicall entries. One case per hypercall: its length is the switch's. */
function readHypercall(op: string, o: Obj, sub: boolean): Hypercall {
  if (sub) noCommon(o);
  switch (op) {
    case 'mmu_update': {
      const reqs = array(o, 'reqs');
      const out = new Array<{ ptr: bigint; val: bigint }>(reqs.length);
      for (let i = 0; i < reqs.length; i++) {
        try {
          const r = object(reqs[i], '');
          out[i] = { ptr: u64(r, 'ptr'), val: u64(r, 'val') };
        } catch (e) {
          throw prefixed(e, `reqs[${i}].`);
        }
      }
      const call: Hypercall = { op: 'mmu_update', reqs: out };
      // do_mmu_update(…, unsigned int foreigndom): FD in 15:0, PFD+1 (page tables' owner) in 31:16.
      if (o.foreigndom !== undefined) call.foreigndom = uint32(o, 'foreigndom');
      return call;
    }
    case 'mmuext_op': {
      const ops = array(o, 'ops');
      const out = new Array<MmuextOp>(ops.length);
      for (let i = 0; i < ops.length; i++) {
        try {
          out[i] = readMmuextOp(object(ops[i], ''));
        } catch (e) {
          throw prefixed(e, `ops[${i}].`);
        }
      }
      const call: Hypercall = { op: 'mmuext_op', ops: out };
      // do_mmuext_op(…, unsigned int foreigndom); get_pg_owner(domid_t) keeps 16 of those bits.
      if (o.foreigndom !== undefined) call.foreigndom = uint32(o, 'foreigndom');
      return call;
    }
    case 'update_va_mapping':
    case 'update_va_mapping_otherdomain': {
      const hasMask = o.vcpumask !== undefined;
      const va = u64(o, 'va');
      const val = u64(o, 'val');
      const flags = readFlags(o, hasMask);
      // do_update_va_mapping_otherdomain(…, domid_t domid): the register's low 16 bits.
      const call: Hypercall =
        op === 'update_va_mapping' ? { op, va, val, flags } : { op, va, val, flags, domid: toNarrowed(o.domid, 'domid', 16) };
      if (hasMask) call.vcpumask = vcpumask(o, 'vcpumask');
      return call;
    }
    case 'decrease_reservation':
    case 'memory_exchange': {
      const a = array(o, 'mfns');
      const mfns = new Array<Ulong>(a.length);
      for (let i = 0; i < a.length; i++) mfns[i] = toMfn(a[i], 'mfns', i);
      return { op, mfns };
    }
    case 'set_gdt': {
      const a = array(o, 'frames');
      const frames = new Array<Ulong>(a.length);
      for (let i = 0; i < a.length; i++) frames[i] = toMfn(a[i], 'frames', i);
      // do_set_gdt(xen_ulong_t *frame_list, unsigned int entries).
      return { op, frames, entries: uint32(o, 'entries') };
    }
    case 'hypercall': {
      const nr = toUlong(o.nr, 'nr');
      const named = opOfNumber(nr);
      return named === 'hypercall' ? { op: 'hypercall', nr } : readHypercall(named, o, sub);
    }
    case 'multicall': {
      const calls = array(o, 'calls');
      const out = new Array<Hypercall>(calls.length);
      for (let i = 0; i < calls.length; i++) {
        try {
          const c = object(calls[i], '');
          const cop = hypercallOp(c.op);
          out[i] = cop === 'hypercall' && c.op !== 'hypercall' ? unknownCall(c) : readHypercall(cop, c, true);
        } catch (e) {
          throw prefixed(e, `calls[${i}].`);
        }
      }
      return { op: 'multicall', calls: out };
    }
  }
  throw new FieldError('op', `not a hypercall, got ${show(op)}`);
}

/** A multicall entry given by a number without a handler: `{"op":N}`. */
function unknownCall(o: Obj): Hypercall {
  noCommon(o);
  return { op: 'hypercall', nr: toUlong(o.op, 'op') };
}

/** A multicall entry's op: a hypercall's name, or its number (multicall_entry.op: xen_ulong_t). */
function hypercallOp(v: unknown): string {
  if (typeof v === 'string' && HYPERCALL_OP_SET.has(v)) return v;
  if (typeof v === 'number' || (typeof v === 'string' && (v.startsWith('0x') || v.startsWith('0X')))) {
    return opOfNumber(toUlong(v, 'op'));
  }
  return fail('op', -1, `a hypercall (${HYPERCALL_OPS.join(', ')}) or a hypercall number`, v);
}

function readBody(op: TraceOp, o: Obj): TraceRecord {
  switch (op) {
    case 'create_domain': {
      const id = domid(o, 'domid');
      const vcpus = toUint(o.vcpus, 'vcpus', 4097, 'a vCPU count (integer 1–4096)');
      if (vcpus === 0) fail('vcpus', -1, 'a vCPU count (integer 1–4096)', o.vcpus);
      const f = object(o.frames, 'frames');
      let base: number;
      let count: number;
      try {
        // Setup, not a hypercall: the machine's frames lie below 2^40 (PADDR_BITS 52).
        const b = mfn(f, 'base');
        if (typeof b !== 'number' || b >= MFN_LIMIT) fail('base', -1, 'a first frame below 2^40', f.base);
        base = b;
        count = toUint(f.count, 'count', MFN_LIMIT, 'a frame count (integer 1–2^40-1)', -1, true);
        if (count === 0) fail('count', -1, 'a frame count (integer 1–2^40-1)', f.count);
        if (base + count > MFN_LIMIT) {
          throw new FieldError('count', `frames end beyond MFN 2^40-1 (base ${show(f.base)}), got ${count}`);
        }
      } catch (e) {
        throw prefixed(e, 'frames.');
      }
      const r: TraceRecord = { op, domid: id, vcpus, frames: { base, count } };
      if (o.privileged !== undefined) r.privileged = bool(o, 'privileged');
      if (o.hardware !== undefined) r.hardware = bool(o, 'hardware');
      if (o.writable_pagetables !== undefined) r.writable_pagetables = bool(o, 'writable_pagetables');
      return r;
    }
    case 'destroy_domain':
      return { op, domid: domid(o, 'domid') };
    case 'store': {
      const r: TraceRecord = { op, mfn: mfn(o, 'mfn'), slot: slot(o, 'slot'), val: u64(o, 'val') };
      if (o.count !== undefined) {
        r.count = toUint(o.count, 'count', 513 - r.slot, `an entry count 1–${512 - r.slot} (slot + count ≤ 512)`);
        if (r.count === 0) fail('count', -1, `an entry count 1–${512 - r.slot}`, o.count);
      }
      if (o.stride !== undefined) r.stride = u64(o, 'stride');
      return r;
    }
    case 'frame':
      return { op, mfn: mfn(o, 'mfn') };
    case 'read':
      return { op, mfn: mfn(o, 'mfn'), slot: slot(o, 'slot') };
    case 'access':
      return { op, va: u64(o, 'va'), write: bool(o, 'write') };
    case 'audit':
      return { op };
    default:
      return readHypercall(op, o, false) as TraceRecord;
  }
}

/**
 * Reads one record from a parsed JSON object. Throws FieldError. Unknown keys are ignored
 * (forward compatibility), which is also how a log line's level/time/msg/line/result go unseen.
 */
export function readRecord(o: Obj): TraceRecord {
  let op = o.op;
  // A hypercall by number (rax is an unsigned long): a named one, or -ENOSYS's 'hypercall'.
  if (typeof op === 'number' || (typeof op === 'string' && (op.startsWith('0x') || op.startsWith('0X')))) {
    const named = opOfNumber(toUlong(op, 'op'));
    op = named;
    if (named === 'hypercall') o = { ...o, op, nr: o.op };
  }
  if (typeof op !== 'string' || !OPS.has(op)) {
    if (op === undefined) throw new FieldError('op', `expected a record kind (one of: ${TRACE_OPS.join(', ')}), got nothing (missing)`);
    throw new FieldError('op', `unknown op ${show(op)} (known: ${TRACE_OPS.join(', ')})`);
  }
  const r = readBody(op as TraceOp, o) as TraceRecord & RecordCommon;
  if (o.dom !== undefined) r.dom = domid(o, 'dom');
  if (o.vcpu !== undefined) r.vcpu = vcpuId(o.vcpu, 'vcpu');
  if (o.expect !== undefined) r.expect = readExpect(r.op, o.expect);
  return r;
}

/** Whether a text line carries no record (blank, or `#` first after spaces). */
function isSkippable(text: string): boolean {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) continue;
    return c === 35; // '#'
  }
  return true;
}

/** A parsed JSON object from one line, or null for a line without one (blank, comment). Throws TraceError. */
function parseObject(text: string, file: string, line: number): Obj | null {
  if (isSkippable(text)) return null;
  // Deep nesting is refused before parsing: what walks the parsed value must not overflow.
  if (nestingOver(text)) throw new TraceError(file, line, `arrays and objects nested deeper than ${MAX_DEPTH} levels (the limit of a trace line)`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TraceError(file, line, `not valid JSON (${printable((e as Error).message)})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new TraceError(file, line, `expected a JSON object (one record), got ${show(v)}`);
  }
  return v as Obj;
}

/** A hypercall log line: numeric `level` and `time` (pino's). */
function isLogLine(o: Obj): boolean {
  return typeof o.level === 'number' && typeof o.time === 'number';
}

/** The record of a parsed line. Throws TraceError with FILE:LINE and the field. */
function recordOf(o: Obj, file: string, line: number): TraceRecord {
  try {
    return readRecord(o);
  } catch (e) {
    if (e instanceof FieldError) throw new TraceError(file, line, e.render(), e.field);
    throw e;
  }
}

/**
 * Parses one line of a trace. Returns null for a line without a record (blank, comment, or a log
 * line without `op`). Throws TraceError with FILE:LINE and the field.
 */
export function parseLine(text: string, file: string, line: number): TraceRecord | null {
  const o = parseObject(text, file, line);
  // A hypercall log line: read its record, if it has one.
  if (o === null || (o.op === undefined && isLogLine(o))) return null;
  return recordOf(o, file, line);
}

/**
 * A log line without a record: a refusal goes to the record line before it (`held`), the end line
 * and what follows it to `shape`.
 */
function seeLogLine(o: Obj, line: number, held: TraceEntry | undefined, shape: LogShape | undefined, flushes: Obj[]): void {
  // (a guest event may carry a refusal too — a BUG names the one it hit — but it is not the blame)
  if (o.refusal !== undefined && o.event === undefined && held?.log !== undefined) held.log.refusals.push(o.refusal);
  // A flush line comes before the record line of the record that caused it.
  if (o.event === 'tlb_flush') {
    flushes.push(o);
    if (shape !== undefined) shape.strayFlush ||= line;
  }
  if (shape === undefined) return;
  if (shape.end !== undefined) shape.afterEnd ||= line;
  else if (o.event === 'end') shape.end = { line, records: o.records, reason: o.reason, exit: o.exit };
}

/** A record without tlb_flush lines before it (most records) shares this one. */
const NO_FLUSHES: readonly unknown[] = Object.freeze([]);

/**
 * Streams a trace (or a hypercall log) and yields its records in order with their line numbers, a
 * batch (one read chunk) at a time. Throws TraceError for the first bad line — after yielding the
 * good records before it, so they run first; nothing after it is read. An empty file (nothing but
 * blank lines) is a TraceError too: there is nothing to replay, and it is never what was meant.
 * A log's record entries carry what the log recorded (`log`), each held back until the refusal
 * lines after it are read; `shape`, when given, is filled in with what the log is.
 */
export async function* readTraceBatches(path: string, shape?: LogShape): AsyncGenerator<TraceEntry[], void, undefined> {
  const r = new BatchReader(path, shape);
  try {
    for await (const chunk of readLineChunks(path)) {
      const batch: TraceEntry[] = [];
      try {
        r.lines(chunk, batch);
      } catch (e) {
        if (r.held !== undefined) batch.push(r.held);
        if (batch.length > 0) yield batch;
        throw e;
      }
      if (batch.length > 0) yield batch;
    }
    if (r.held !== undefined) yield [r.held];
  } catch (e) {
    if (e instanceof TraceError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code !== undefined) throw new TraceError(path, r.line, `cannot read the trace (${ERRNO_TEXT[err.code] !== undefined ? `${err.code}: ${ERRNO_TEXT[err.code]}` : err.message})`);
    throw e;
  }
  if (r.empty) throw new TraceError(path, 0, 'empty file: no records (a trace is one JSON record per line)');
}

/** readTraceBatches' state between lines: the line count, the log's record held back, its flushes. */
class BatchReader {
  line = 0;
  empty = true;
  /** A log's record entry, held until the refusal lines after it are read. */
  held: TraceEntry | undefined;
  private flushes: Obj[] = [];
  private readonly path: string;
  private readonly shape: LogShape | undefined;
  constructor(path: string, shape: LogShape | undefined) {
    this.path = path;
    this.shape = shape;
  }

  /**
   * The lines of a chunk into batch, split as the line reader splits (CRLF, LF or a lone CR). The
   * common shapes are read from the bytes (scan.ts), which finds where their line ends; anything
   * else is decoded and parsed. Counts the chunk's lines (chunk.length) as it goes.
   */
  lines(chunk: LineChunk, batch: TraceEntry[]): void {
    const { bytes, complete } = chunk;
    const n = complete ? bytes.length : bytes.length + 1; // (past the last line's end)
    const first = this.line;
    for (let s = 0; s < n; ) {
      this.line++;
      const fast = bytes[s] === 123 ? scanLine(bytes, s, bytes.length) : undefined;
      let e: number;
      if (fast !== undefined) {
        e = scanEnd();
        this.take({ line: this.line, record: fast }, batch);
      } else {
        e = lineEnd(bytes, s);
        this.slow(bytes.toString('utf8', s, e), batch);
      }
      s = bytes[e] === 13 && bytes[e + 1] === 10 ? e + 2 : e + 1;
    }
    chunk.length = this.line - first;
  }

  /** An entry read: the one held before it goes first, a log's record is held in turn. */
  take(entry: TraceEntry, batch: TraceEntry[]): void {
    this.empty = false;
    if (this.held !== undefined) batch.push(this.held);
    this.held = undefined;
    if (entry.log !== undefined) this.held = entry;
    else {
      if (this.shape !== undefined) this.shape.firstTraceRecord ||= this.line;
      batch.push(entry);
    }
  }

  /** A line the scanner did not take: JSON.parse and readRecord, and a log's lines. Throws TraceError. */
  slow(text: string, batch: TraceEntry[]): void {
    const { line, path, shape } = this;
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 BOM
    const o = parseObject(text, path, line);
    if (o === null) {
      if (this.empty && text.trim() !== '') this.empty = false;
      return;
    }
    this.empty = false;
    if (!isLogLine(o)) return this.take({ line, record: recordOf(o, path, line) }, batch);
    if (shape !== undefined) shape.firstLogLine ||= line;
    if (o.op === undefined) return seeLogLine(o, line, this.held, shape, this.flushes);
    if (shape !== undefined) {
      shape.recordLines++;
      shape.strayFlush = 0;
    }
    const flushes = this.flushes.length > 0 ? this.flushes : NO_FLUSHES;
    // A format-2 log writes a record's `line` only where it is not its time (src/log/write.ts).
    const entry = { line, record: recordOf(o, path, line), log: { time: o.time as number, line: o.line ?? o.time, result: o.result, refusals: [], flushes } };
    if (this.flushes.length > 0) this.flushes = [];
    this.take(entry, batch);
  }
}

/** The end of the line that starts at s: its line break (CR or LF), or the end of the bytes. */
function lineEnd(b: Buffer, s: number): number {
  let e = s;
  while (e < b.length && b[e] !== 10 && b[e] !== 13) e++;
  return e;
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied',
};

/**
 * Streams a trace (or a hypercall log) and yields its records in order with their line numbers.
 * Throws TraceError for the first bad line; nothing after it is read.
 */
export async function* readTrace(path: string): AsyncGenerator<TraceEntry, void, undefined> {
  for await (const batch of readTraceBatches(path)) yield* batch;
}
