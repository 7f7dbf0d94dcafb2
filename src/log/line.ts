// One line of the hypercall log, read back: the small readers of its values (numbers, MFNs, PTEs
// as JSON integers or "0x…" strings), its kind, and its parts in words (a blocker, a validation
// chain, a deadlock cycle) — what inspect and export both need. The line format itself is written
// by write.ts (its header lists every kind).
import { errnoName } from '../../hypervisor/abi.ts';

export type Obj = Record<string, unknown>;

export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isStr = (v: unknown): v is string => typeof v === 'string';
export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export type LineKind = 'event' | 'record' | 'refusal' | 'other';

export function lineKind(o: Obj): LineKind {
  if (isStr(o.event)) return 'event';
  if (isStr(o.op)) return 'record';
  if (isObj(o.refusal)) return 'refusal';
  return 'other';
}

/** A 64-bit log value: a JSON integer or a "0x…" string. */
export function u64(v: unknown): bigint | undefined {
  if (isNum(v) && Number.isInteger(v) && v >= 0) return BigInt(v);
  if (isStr(v) && /^0x[0-9a-f]{1,16}$/i.test(v)) return BigInt(v);
  return undefined;
}

/** An MFN-like log value as a number. */
export function mfnOf(v: unknown): number | undefined {
  const b = u64(v);
  return b === undefined || b > 0xff_ffff_ffffn ? undefined : Number(b);
}

export const MFN_MASK = (1n << 40n) - 1n;
/** The frame a present PTE maps (bits 12–51); undefined for a non-present entry. */
export function pteTarget(v: unknown): number | undefined {
  const b = u64(v);
  if (b === undefined || (b & 1n) === 0n) return undefined;
  return Number((b >> 12n) & MFN_MASK);
}

export const hexOf = (n: number | bigint): string => '0x' + n.toString(16);

export const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
export const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

export { HYPERCALL_OPS } from '../trace/types.ts';

/** The event kinds this file knows; others are counted as unknown (and still shown). */
export const KNOWN_EVENTS = new Set([
  // the hypervisor and the replayer
  'tlb_flush', 'expect_failed', 'audit', 'bad_input', 'internal_error', 'end',
  // the guest (guest/events.ts)
  'op_start', 'op_end', 'vm_unmap_aliases', 'purge', 'tlb_flush_kernel', 'ipi_send', 'ipi_ack', 'irq',
  'warn', 'bug', 'va_hazard', 'pin', 'exchange', 'stop_machine', 'deadlock', 'phase',
]);

/** The kernel operation of an op_start/op_end line: its first word ("vmalloc name=a pages=8" → vmalloc). */
export function guestOpName(o: Obj): string {
  const d = isStr(o.operation) ? o.operation : isStr(o.op) ? o.op : '?';
  return d.split(/\s/, 1)[0] || d;
}

/** The errno name of a record's result ("OK", "EINVAL", …). */
export function resultErrno(o: Obj): string {
  const r = o.result;
  if (!isObj(r)) return 'none';
  if (isStr(r.errno)) return r.errno;
  return isNum(r.rc) ? errnoName(r.rc) : 'none';
}

/** `pin` for a pin, `entry` for a page-table entry write (mmu_update, update_va_mapping), `other`. */
export function refusalCategory(what: string): 'pin' | 'entry' | 'other' {
  if (/^pin_l[1-4]_table\b/.test(what)) return 'pin';
  if (/^(mmu_update|update_va_mapping)\b/.test(what)) return 'entry';
  return 'other';
}

/** The operation a refusal is about: the first word of `what`. */
export const refusalOp = (what: string): string => what.split(/\s/, 1)[0] ?? what;

/** A reason with its numbers blanked, so refusals of different frames group together. */
export function normReason(reason: string): string {
  return reason.replace(/0x[0-9a-f]+/gi, '0x…');
}

function blockerKind(b: Obj): string {
  const kind = isStr(b.kind) ? b.kind : '?';
  return kind + (b.rw === true ? ' rw' : b.rw === false ? ' ro' : '');
}

/** The kinds of blocker of a refusal, e.g. "l1e rw" or "l1e rw + pin"; "none" when there are none. */
export function blockerSig(blockers: unknown, dom?: unknown): string {
  if (!Array.isArray(blockers) || blockers.length === 0) return 'none';
  const kinds = new Set<string>();
  for (const b of blockers) {
    if (!isObj(b)) continue;
    kinds.add(blockerKind(b) + (isNum(dom) && isNum(b.dom) && b.dom !== dom ? ' (foreign)' : ''));
  }
  return [...kinds].sort().join(' + ');
}

/** One blocker in words, as `replay` prints it: "L1 0x1003 slot 17 maps it writable". */
export function blockerText(b: Obj, dom?: unknown): string {
  const d = isNum(b.dom) && b.dom !== dom ? ` (d${b.dom})` : '';
  const slot = isNum(b.slot) ? String(b.slot) : '?';
  const mfn = isStr(b.mfn) ? b.mfn : String(b.mfn);
  switch (b.kind) {
    case 'l1e':
      return `L1 ${mfn} slot ${slot}${isStr(b.guest) ? ` (${b.guest})` : ''} maps it${b.rw === true ? ' writable' : b.rw === false ? ' read-only' : ''}${d}`;
    case 'l2e':
    case 'l3e':
    case 'l4e':
      return `L${b.kind[1]} ${mfn} slot ${slot} references it${d}`;
    case 'pin':
      return `pinned ${mfn}${d}`;
    case 'cr3':
      return `CR3 of d${String(b.dom)}v${isNum(b.vcpu) ? b.vcpu : '?'}`;
    case 'gdt':
      return `GDT of d${String(b.dom)}v${isNum(b.vcpu) ? b.vcpu : '?'}`;
    case 'cr3_user':
      return `user CR3 of d${String(b.dom)}v${isNum(b.vcpu) ? b.vcpu : '?'}`;
    default:
      return `${String(b.kind)} ${mfn}${d}`;
  }
}

/** The validation chain in words: "L4 0x1000 slot 0 → L3 0x1001 slot 0". */
export function chainText(chain: unknown): string {
  if (!Array.isArray(chain)) return '';
  return chain
    .filter(isObj)
    .map((c) => `L${String(c.level)} ${String(c.mfn)} slot ${String(c.slot)}`)
    .join(' → ');
}

/** A deadlock cycle in words: "vCPU0 spins on purge_lock held by vCPU1; vCPU1 waits for …". */
export function waitsText(edges: unknown): string {
  if (!Array.isArray(edges)) return '';
  return edges
    .filter(isObj)
    .map((e) => `vCPU${String(e.vcpu)} ${isStr(e.why) ? e.why : `waits for vCPU${String(e.waitsFor)}`}`)
    .join('; ');
}

/** Walks a record's calls: the record itself and, for a multicall, every entry (depth first). */
export function* callsOf(o: Obj): Generator<Obj> {
  yield o;
  if (Array.isArray(o.calls)) for (const c of o.calls) if (isObj(c)) yield* callsOf(c);
}

/** The MMUEXT command names of a record (its own ops and those of its multicall entries). */
export function* mmuextCmds(o: Obj): Generator<string> {
  for (const c of callsOf(o)) {
    if (!Array.isArray(c.ops)) continue;
    for (const op of c.ops) if (isObj(op)) yield isStr(op.cmd) ? op.cmd : `cmd ${String(op.cmd)}`;
  }
}

/** A record's result failed: rc < 0 or a multicall entry < 0 (access page faults are not refusals). */
export function recordFailed(o: Obj): boolean {
  if (o.op === 'access') return false;
  const r = o.result;
  if (!isObj(r)) return false;
  if (isNum(r.rc) && r.rc < 0) return true;
  return Array.isArray(r.results) && r.results.some((x) => isNum(x) && x < 0);
}
