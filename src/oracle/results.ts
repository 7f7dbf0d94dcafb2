// Reads the oracle kernel's "@@" lines (oracle/kernel.c) back into per-record results, in the
// trace's frame numbers: a real MFN of the pool is shown as the trace MFN it stands for.
import type { TraceRecord } from '../trace/types.ts';
import type { Encoded } from './encode.ts';

export type VisibleType = 'none' | 'l1' | 'l2' | 'l3' | 'l4' | 'foreign';

/** One record's result on real Xen. */
export interface XenResult {
  rc: number;
  done?: number;
  results?: number[];
  /** store: Xen's rc for the writable mapping that a refused store could not get. */
  mapRc?: number;
  /** frame: XEN_DOMCTL_getpageframeinfo3's answer, and what it says. */
  pfinfo?: number;
  type?: VisibleType;
  pinned?: boolean;
  /** read: the entry (frame field mapped back), its frame and present bit. */
  val?: bigint;
  mfn?: number;
  present?: boolean;
}

export interface XenTable {
  index: number;
  type: VisibleType;
  pinned: boolean;
  entries: Map<number, bigint>;
}

export interface XenSequence {
  pool: number[];
  /** Per plan item: the result, or undefined (no answer: create_domain, audit, after a stop). */
  results: (XenResult | undefined)[];
  /** The plan index at which the kernel stopped the sequence (a NEW_BASEPTR it could not survive). */
  stoppedAt?: number;
  tables: XenTable[];
  complete: boolean;
}

const FIELD = 0xff_ffff_ffffn << 12n;

/** What getpageframeinfo3's type word says: L1–L4 (validated or pinned) or none, and the pin. */
export function pfinfoType(t: number): { type: VisibleType; pinned: boolean } {
  const lvl = (t >>> 28) & 0xf;
  if (lvl === 0xf) return { type: 'foreign', pinned: false };
  const l = lvl & 7;
  return { type: l >= 1 && l <= 4 ? (`l${l}` as VisibleType) : 'none', pinned: (t >>> 31) === 1 };
}

export class PoolMap {
  private back = new Map<number, number>();
  constructor(pool: readonly number[], base: number) {
    pool.forEach((m, i) => this.back.set(m, base + i));
  }
  /** A real MFN as the trace's (unchanged when it is not a pool frame). */
  mfn(real: number): number {
    return this.back.get(real) ?? real;
  }
  /** An entry with its frame field mapped back. */
  entry(v: bigint): bigint {
    const m = Number((v & FIELD) >> 12n);
    const t = this.back.get(m);
    return t === undefined ? v : (v & ~FIELD) | (BigInt(t) << 12n);
  }
}

function resultOf(rec: TraceRecord, tok: string[], map: PoolMap): XenResult {
  const r: XenResult = { rc: Number(tok[1]) };
  for (let i = 2; i < tok.length; i++) {
    const k = tok[i];
    if (k === 'd') r.done = Number(tok[++i]);
    else if (k === 'x') r.mapRc = Number(tok[++i]);
    else if (k === 'f') {
      r.pfinfo = Number(BigInt(tok[++i]!));
      Object.assign(r, pfinfoType(r.pfinfo));
    } else if (k === 'v') {
      const v = map.entry(BigInt(tok[++i]!));
      r.val = v;
      r.mfn = Number((v & FIELD) >> 12n);
      r.present = (v & 1n) === 1n;
    } else if (k === 'm') {
      r.results = tok.slice(i + 1).map(Number);
      break;
    }
  }
  if (rec.op === 'mmu_update' || rec.op === 'mmuext_op') r.done ??= 0;
  else delete r.done;
  return r;
}

/** Splits the kernel's lines into sequences (`seqs` in the order they were encoded). */
export function parseRun(lines: readonly string[], seqs: readonly Encoded[]): XenSequence[] {
  const out: XenSequence[] = [];
  let cur: XenSequence | undefined;
  let enc: Encoded | undefined;
  let map: PoolMap | undefined;
  let next = 0;
  const advance = (): number => {
    while (next < enc!.plan.length && enc!.plan[next]!.answer !== 'result') next++;
    return next;
  };
  for (const l of lines) {
    const tok = l.split(' ');
    switch (tok[0]) {
      case 'fatal':
        throw new Error(`the oracle kernel stopped: ${l}`);
      case 'seq':
        enc = seqs[Number(tok[1])];
        if (enc === undefined) throw new Error(`the oracle kernel printed an unknown sequence: ${l}`);
        cur = { pool: [], results: enc.plan.map(() => undefined), tables: [], complete: false };
        out.push(cur);
        next = 0;
        map = undefined;
        break;
      case 'pool':
        cur!.pool.push(...tok.slice(2).map((h) => Number(BigInt(h))));
        break;
      case 'r': {
        map ??= new PoolMap(cur!.pool, enc!.base);
        const at = advance();
        const item = enc!.plan[at];
        if (item === undefined) throw new Error(`the oracle kernel answered more records than sequence ${seqs.indexOf(enc!)} has: ${l}`);
        if (tok[1] === 'stop') {
          cur!.stoppedAt = at;
          next = enc!.plan.length;
          break;
        }
        cur!.results[at] = resultOf(item.record, tok, map);
        next = at + 1;
        break;
      }
      case 't': {
        map ??= new PoolMap(cur!.pool, enc!.base);
        cur!.tables.push({ index: Number(tok[1]), ...pfinfoType(Number(BigInt(tok[2]!))), entries: new Map() });
        break;
      }
      case 'e':
        cur!.tables.find((t) => t.index === Number(tok[1]))!.entries.set(Number(tok[2]), map!.entry(BigInt(tok[3]!)));
        break;
      case 'end':
        cur!.complete = true;
        break;
    }
  }
  return out;
}
