// `inspect --mfn X`: a frame's life, in log order — every line that touches frame X.
import { isNum, isObj, isStr, lineKind, MFN_MASK, mfnOf, pteTarget, u64, type Obj } from '../log/line.ts';

const MFN_KEYS = new Set(['mfn', 'src_mfn', 'mfns']);

/**
 * "Does this line touch frame X?", in log order. A line touches X when it names X — as an
 * argument (`mfn`, `src_mfn`, `mfns`, anywhere in it), as the table an `mmu_update` or `store`
 * writes, in a present entry value that maps X (`val` of a store, an mmu_update req, an
 * update_va_mapping, a read's result, a refusal's blocker or chain link), as a refusal's frame,
 * blocker or chain link, in a TLB flush, in the frame range a `create_domain` hands out — or when
 * it writes an entry or a VA that an earlier line showed mapping X (so the line that removes a
 * mapping shows too), or destroys the domain X was given to. An expectation failure or audit
 * line right after a record that touched X touches it too. State: the entries and VAs known to
 * map X, X's owner — bounded by the mappings of one frame.
 */
export class FrameTracker {
  readonly x: number;
  private readonly xhex: string;
  private readonly wordRe: RegExp;
  /** "table:slot" of entries known to map X. */
  readonly entries = new Set<string>();
  /** VAs (bigint) known to map X. */
  readonly vas = new Set<bigint>();
  owner: number | undefined;
  private lastRecordLine: number | undefined;
  private lastRecordTouched = false;

  constructor(x: number) {
    this.x = x;
    this.xhex = x.toString(16);
    this.wordRe = new RegExp(`(?:0x0*${this.xhex}|mfn 0*${this.xhex})(?![0-9a-f])`, 'i');
  }

  private mapsX(v: unknown): boolean {
    if (isStr(v) && !v.toLowerCase().includes(this.xhex)) return false;
    return pteTarget(v) === this.x;
  }

  private isX(v: unknown): boolean {
    return mfnOf(v) === this.x;
  }

  /** An entry write: table T slot S gets value v (`applied`: Xen carried it out). */
  private entryWrite(table: number | undefined, slot: number | undefined, v: unknown, applied: boolean): boolean {
    let hit = table === this.x;
    if (table === undefined || slot === undefined) return hit || this.mapsX(v);
    const key = `${table}:${slot}`;
    if (this.mapsX(v)) {
      if (applied) this.entries.add(key);
      hit = true;
    } else if (this.entries.has(key)) {
      if (applied) this.entries.delete(key);
      hit = true;
    }
    return hit;
  }

  /** update_va_mapping: va gets value v. */
  private vaWrite(va: unknown, v: unknown, applied: boolean): boolean {
    const a = u64(va);
    if (a === undefined) return false;
    if (this.mapsX(v)) {
      if (applied) this.vas.add(a);
      return true;
    }
    if (this.vas.has(a)) {
      if (applied) this.vas.delete(a);
      return true;
    }
    return false;
  }

  private vaInRange(start: unknown, end: unknown): boolean {
    const s = u64(start);
    const e = u64(end);
    if (s === undefined || e === undefined) return false;
    for (const va of this.vas) if (va >= s && va < e) return true;
    return false;
  }

  /** Any key named mfn/src_mfn/mfns, at any depth, equal to X. */
  private scan(v: unknown, depth = 0): boolean {
    if (depth > 6) return false;
    if (Array.isArray(v)) {
      for (const x of v) if (this.scan(x, depth + 1)) return true;
      return false;
    }
    if (!isObj(v)) return false;
    for (const [k, x] of Object.entries(v)) {
      if (MFN_KEYS.has(k)) {
        if (Array.isArray(x) ? x.some((m) => this.isX(m)) : this.isX(x)) return true;
      } else if (x !== null && typeof x === 'object' && this.scan(x, depth + 1)) {
        return true;
      }
    }
    return false;
  }

  /**
   * One call (a record, or a multicall entry with its rc): what it touches. `ok`: it succeeded;
   * `done`: entries of an mmu_update that were applied.
   */
  private call(c: Obj, ok: boolean, done: number): boolean {
    const hit = this.callItself(c, ok, done);
    return this.multicallEntries(c, ok) || hit;
  }

  /** What the call itself touches (a multicall's entries are multicallEntries'). */
  private callItself(c: Obj, ok: boolean, done: number): boolean {
    switch (c.op) {
      case 'mmu_update':
        return this.mmuUpdate(c, done);
      case 'mmuext_op':
        return this.mmuextOp(c);
      case 'update_va_mapping':
        return this.vaWrite(c.va, c.val, ok);
      case 'store':
        return this.store(c, ok);
      case 'access':
        return this.access(c);
      case 'read':
        return this.read(c);
      case 'create_domain':
        return this.createDomain(c);
      case 'destroy_domain':
        return isNum(c.domid) && c.domid === this.owner;
      case 'audit': {
        const r = isObj(c.result) ? c.result : {};
        return Array.isArray(r.mismatches) && r.mismatches.some((m) => isStr(m) && this.wordRe.test(m));
      }
      default:
        return false;
    }
  }

  /** mmu_update: each request writes an entry (the first `done` were applied), or an M2P slot. */
  private mmuUpdate(c: Obj, done: number): boolean {
    let hit = false;
    if (!Array.isArray(c.reqs)) return false;
    c.reqs.forEach((r, i) => {
      if (!isObj(r)) return;
      const ptr = u64(r.ptr);
      if (ptr === undefined) return;
      const table = Number((ptr >> 12n) & MFN_MASK);
      if ((ptr & 7n) === 1n) hit = table === this.x || hit; // MMU_MACHPHYS_UPDATE: val is a pfn
      else hit = this.entryWrite(table, Number((ptr & 0xfffn) >> 3n), r.val, i < done) || hit;
    });
    return hit;
  }

  /** mmuext_op: an INVLPG of a VA known to map X. */
  private mmuextOp(c: Obj): boolean {
    if (!Array.isArray(c.ops)) return false;
    let hit = false;
    for (const op of c.ops) {
      if (!isObj(op)) continue;
      const la = u64(op.linear_addr);
      if (la !== undefined && this.vas.has(la)) hit = true;
    }
    return hit;
  }

  /** store: one entry, or the builder's bulk store (value val + i*stride into slot + i). */
  private store(c: Obj, ok: boolean): boolean {
    const mfn = mfnOf(c.mfn);
    const slot = isNum(c.slot) ? c.slot : undefined;
    const count = isNum(c.count) && c.count > 1 ? Math.min(c.count, 512) : 1;
    if (count === 1) return this.entryWrite(mfn, slot, c.val, ok);
    const v0 = u64(c.val);
    const stride = u64(c.stride) ?? 0n;
    let hit = mfn === this.x;
    if (v0 !== undefined && slot !== undefined && mfn !== undefined) {
      for (let i = 0; i < count; i++) {
        const v = (v0 + BigInt(i) * stride) & 0xffff_ffff_ffff_ffffn;
        hit = this.entryWrite(mfn, slot + i, '0x' + v.toString(16), ok) || hit;
      }
    }
    return hit;
  }

  /** access: a VA that the walk (or the TLB) found mapping X, or one known to. */
  private access(c: Obj): boolean {
    const r = isObj(c.result) ? c.result : {};
    const a = u64(c.va);
    if (a === undefined) return false;
    if (this.isX(r.mfn)) {
      this.vas.add(a);
      return true;
    }
    return this.vas.has(a);
  }

  /** read: an entry whose value maps X. */
  private read(c: Obj): boolean {
    const r = isObj(c.result) ? c.result : {};
    if (!this.mapsX(r.val)) return false;
    const mfn = mfnOf(c.mfn);
    if (mfn !== undefined && isNum(c.slot)) this.entries.add(`${mfn}:${c.slot}`);
    return true;
  }

  /** create_domain: X is in the frames handed out; its owner is remembered (for destroy_domain). */
  private createDomain(c: Obj): boolean {
    const fr = isObj(c.frames) ? c.frames : {};
    const base = mfnOf(fr.base);
    if (base === undefined || !isNum(fr.count) || this.x < base || this.x >= base + fr.count) return false;
    if (isNum(c.domid)) this.owner = c.domid;
    return true;
  }

  /** A multicall: each entry's own rc says whether it ran (a failed one may have done part). */
  private multicallEntries(c: Obj, ok: boolean): boolean {
    if (!Array.isArray(c.calls)) return false;
    let hit = false;
    const results = isObj(c.result) && Array.isArray(c.result.results) ? c.result.results : [];
    c.calls.forEach((sub, j) => {
      const rc = results[j];
      const subOk = ok && rc === 0;
      if (isObj(sub) && this.call(sub, subOk, subOk ? Infinity : 0)) hit = true;
    });
    return hit;
  }

  private refusal(r: Obj): boolean {
    let hit = this.isX(r.mfn);
    if (Array.isArray(r.blockers)) {
      for (const b of r.blockers) {
        if (!isObj(b)) continue;
        if (this.isX(b.mfn)) hit = true;
        if (this.mapsX(b.val)) {
          const t = mfnOf(b.mfn);
          if (t !== undefined && isNum(b.slot)) this.entries.add(`${t}:${b.slot}`);
          hit = true;
        }
      }
    }
    if (Array.isArray(r.chain)) {
      for (const c of r.chain) if (isObj(c) && (this.isX(c.mfn) || this.mapsX(c.val))) hit = true;
    }
    if (!hit && isStr(r.what) && /\bmfn 0x/.test(r.what) && this.wordRe.test(r.what)) hit = true;
    if (!hit && Array.isArray(r.xen)) hit = r.xen.some((m) => isStr(m) && new RegExp(`mfn 0*${this.xhex}(?![0-9a-f])`, 'i').test(m));
    return hit;
  }

  /** Whether line `o` touches X; updates what is known about X's mappings. */
  touches(o: Obj): boolean {
    const kind = lineKind(o);
    let hit = false;
    if (kind === 'record') {
      const r = isObj(o.result) ? o.result : {};
      const ok = !(isNum(r.rc) && r.rc < 0) || (o.op === 'update_va_mapping' && r.rc === -14);
      const done = isNum(r.done) ? r.done : ok ? Infinity : 0;
      hit = this.call(o, ok, done) || this.scan(o);
      this.lastRecordLine = isNum(o.line) ? o.line : undefined;
      this.lastRecordTouched = hit;
      return hit;
    }
    if (kind === 'refusal') return this.refusal(o.refusal as Obj);
    if (kind === 'event') {
      switch (o.event) {
        case 'tlb_flush': {
          const va = u64(o.va);
          return this.isX(o.mfn) || (va !== undefined && this.vas.has(va));
        }
        case 'expect_failed':
        case 'audit':
          if (o.event === 'audit' && Array.isArray(o.mismatches) && o.mismatches.some((m) => isStr(m) && this.wordRe.test(m))) return true;
          return this.lastRecordTouched && isNum(o.line) && o.line === this.lastRecordLine;
        case 'bug':
        case 'exchange':
          hit = isObj(o.refusal) && this.refusal(o.refusal);
          break;
        case 'va_hazard':
        case 'tlb_flush_kernel':
          hit = this.vaInRange(o.start, o.end);
          break;
      }
      return hit || this.scan(o);
    }
    return this.scan(o);
  }
}
