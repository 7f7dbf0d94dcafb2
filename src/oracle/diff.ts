// Runs an encoded trace on the model (the simulated Xen) and lists where it and real Xen disagree:
// each record's rc / done / per-call results, a frame query's L1–L4 type and pin (what
// getpageframeinfo3 can tell), a read entry, an access's rc; and at the end every pool frame's
// type and pin and every page table's entries. Entries that differ only in the A and D bits are
// "hardware" (the CPU's page walk sets them on real Xen; the model has no page walker).
import { Hypervisor } from '../../hypervisor/index.ts';
import { LINEAR_PT_SLOT, RO_MPT_SLOT } from '../../hypervisor/page-type.ts';
import type { FrameInfo } from '../../hypervisor/types.ts';
import type { TraceRecord } from '../trace/types.ts';
import { execute } from '../replay/execute.ts';
import type { RecordResult } from '../trace/result.ts';
import { hex } from '../trace/write.ts';
import type { Encoded } from './encode.ts';
import type { VisibleType, XenResult, XenSequence } from './results.ts';

export interface ModelRun {
  results: (RecordResult | undefined)[];
  /** Per pool index: the frame as getpageframeinfo3 would see it, and a page table's entries. */
  tables: { type: VisibleType; pinned: boolean; entries: Map<number, bigint> }[];
  /** The model threw (a model bug): its message. */
  error?: string;
}

export interface Disagreement {
  /** The trace line (0 = the tables at the end). */
  line: number;
  what: string;
  model: string;
  xen: string;
  /** A/D bits only: the hardware's page walk, out of the model's scope. */
  hardware?: boolean;
}

export function visibleType(f: FrameInfo, domid: number): { type: VisibleType; pinned: boolean } {
  // getpageframeinfo3 answers XTAB for a frame the domain does not own (freed, or another's).
  if (f.owner !== domid) return { type: 'foreign', pinned: false };
  const pt = f.type === 'l1' || f.type === 'l2' || f.type === 'l3' || f.type === 'l4';
  return { type: pt && (f.validated || f.pinned) ? (f.type as VisibleType) : 'none', pinned: f.pinned };
}

/** Entries a dump leaves out: Xen's own L4 slots and the oracle kernel's. */
export function skippedSlot(type: VisibleType, slot: number): boolean {
  return type === 'l4' && ((slot >= 256 && slot < 272) || slot === 511);
}

/** Frames validated as L4 at some point: Xen's private slots stay filled in them (initXenL4Slots). */
function noteL4s(hv: Hypervisor, enc: Encoded, seen: Set<number>): void {
  for (let i = 0; i < enc.count; i++) {
    const f = hv.frame(enc.base + i);
    if (f.type === 'l4' && f.validated) seen.add(enc.base + i);
  }
}

/**
 * Results not compared: a read of Xen's own L4 slots other than the linear map (258) in a frame
 * that was ever a validated L4 (Xen's frames there, M2P, per-domain area, directmap, are left out of
 * the model: hypervisor/page-type.ts:initXenL4Slots, and stay after devalidation); a guest load in
 * L4 slot 256, the read-only M2P (its extent is the machine's memory size); a read of a frame the
 * domain no longer owns (given back by decrease_reservation: the oracle reads through a mapping of
 * its own, which Xen then refuses).
 */
function outOfScope(hv: Hypervisor, enc: Encoded, record: TraceRecord, everL4: Set<number>): boolean {
  if (record.op === 'access') return !record.write && Number((record.va >> 39n) & 511n) === RO_MPT_SLOT;
  if (record.op !== 'read' || typeof record.mfn === 'bigint') return false;
  if (hv.frame(record.mfn).owner !== enc.domid) return true;
  return record.slot >= 256 && record.slot < 272 && record.slot !== LINEAR_PT_SLOT && everL4.has(record.mfn);
}

export function runModel(enc: Encoded): ModelRun {
  const hv = new Hypervisor({ debugBuild: true, blockers: false });
  const run: ModelRun = { results: [], tables: [] };
  const everL4 = new Set<number>();
  for (const { record: r } of enc.plan) {
    // The oracle's domain is dom0, Xen's hardware domain (its read-only L1 writes are emulated:
    // hypervisor/ptwr.ts): the model runs the trace's domain as one too.
    const record = r.op === 'create_domain' ? { ...r, hardware: true } : r;
    try {
      const skip = record.op === 'audit' || outOfScope(hv, enc, record, everL4);
      run.results.push(skip ? undefined : execute(hv, record, { dom: enc.domid, vcpu: 0 }));
      if (record.op === 'mmuext_op' || record.op === 'mmu_update' || record.op === 'multicall') noteL4s(hv, enc, everL4);
    } catch (e) {
      run.error = `${(e as Error).name}: ${(e as Error).message}`;
      return run;
    }
  }
  for (let i = 0; i < enc.count; i++) {
    const v = visibleType(hv.frame(enc.base + i), enc.domid);
    const entries = new Map<number, bigint>();
    if (v.type !== 'none') {
      for (let s = 0; s < 512; s++) {
        if (skippedSlot(v.type, s)) continue;
        const e = hv.read(enc.base + i, s);
        if (e !== 0n) entries.set(s, e);
      }
    }
    run.tables.push({ ...v, entries });
  }
  return run;
}

const A_D = 0x60n;

function compareEntry(out: Disagreement[], line: number, what: string, m: bigint | undefined, x: bigint | undefined): void {
  if (m === x) return;
  // The page walk sets A (and D on a write) only in present entries it walks.
  const hardware = m !== undefined && x !== undefined && (m & x & 1n) === 1n && ((m ^ x) & ~A_D) === 0n;
  out.push({ line, what, model: m === undefined ? 'empty' : hex(m), xen: x === undefined ? 'empty' : hex(x), hardware });
}

function compareRecord(out: Disagreement[], line: number, op: string, slot: number | undefined, domid: number, m: RecordResult, x: XenResult): void {
  const push = (what: string, a: unknown, b: unknown): void => {
    out.push({ line, what: `${op} ${what}`, model: String(a), xen: String(b) });
  };
  if (m.rc !== x.rc) push('rc', m.rc, x.rc);
  if (m.done !== undefined && x.done !== undefined && m.done !== x.done) push('done', m.done, x.done);
  if (m.results !== undefined && JSON.stringify(m.results) !== JSON.stringify(x.results)) push('results', `[${m.results}]`, `[${x.results}]`);
  if (m.frame !== undefined && x.type !== undefined) {
    const v = visibleType(m.frame, domid);
    if (v.type !== x.type) push('type', v.type, x.type);
    if (v.pinned !== x.pinned) push('pinned', v.pinned, x.pinned);
  }
  // Slot 511 holds the oracle kernel's entry while the frame is the base.
  if (op === 'read' && x.val !== undefined && slot !== 511) compareEntry(out, line, 'read', m.val, x.val);
}

/** Every disagreement between the model's run and real Xen's. */
export function diffSequence(enc: Encoded, model: ModelRun, xen: XenSequence): Disagreement[] {
  const out: Disagreement[] = [];
  if (model.error !== undefined) out.push({ line: 0, what: 'the model threw', model: model.error, xen: '' });
  const upTo = xen.stoppedAt ?? enc.plan.length;
  for (let i = 0; i < upTo && i < model.results.length; i++) {
    const m = model.results[i];
    const x = xen.results[i];
    if (m === undefined || x === undefined) continue;
    const rec = enc.plan[i]!.record;
    compareRecord(out, enc.plan[i]!.line, rec.op, rec.op === 'read' ? rec.slot : undefined, enc.domid, m, x);
  }
  if (xen.stoppedAt !== undefined || !xen.complete || model.error !== undefined) return out;
  for (let i = 0; i < enc.count; i++) {
    const m = model.tables[i]!;
    const x = xen.tables.find((t) => t.index === i);
    const mfn = hex(enc.base + i);
    if (x === undefined) continue;
    if (m.type !== x.type || m.pinned !== x.pinned) {
      out.push({ line: 0, what: `frame ${mfn} at the end`, model: `${m.type}${m.pinned ? ' pinned' : ''}`, xen: `${x.type}${x.pinned ? ' pinned' : ''}` });
    }
    if (m.type === 'none' || x.type === 'none') continue;
    const slots = new Set([...m.entries.keys(), ...x.entries.keys()]);
    for (const s of [...slots].sort((a, b) => a - b)) compareEntry(out, 0, `${mfn}[${s}] at the end`, m.entries.get(s), x.entries.get(s));
  }
  return out;
}

export function disagreementText(d: Disagreement): string {
  const where = d.line === 0 ? '' : `line ${d.line}  `;
  return `${where}${d.what}: model ${d.model}, xen ${d.xen}${d.hardware ? '  (A/D bits: the page walk, out of scope)' : ''}`;
}
