// inspect's filters (--refused, --vcpu, --dom, --op, --mfn, --level, --since, --until): every
// option given must hold. Stateful: `--mfn` follows the frame's mappings (frame-life.ts), and
// guest events, which name no domain, count as the latest domain's.
import { callsOf, guestOpName, isNum, isObj, isStr, lineKind, mmuextCmds, recordFailed, refusalOp, type LineKind, type Obj } from '../log/line.ts';
import { FrameTracker } from './frame-life.ts';

export interface FilterOptions {
  refused?: boolean;
  vcpu?: number;
  dom?: number;
  /** Record ops, MMUEXT command names, refused operations, guest op names or event kinds. */
  op?: string[];
  mfn?: number;
  /** Minimum pino level (30 info, 40 warn, 50 error). */
  level?: number;
  since?: number;
  until?: number;
}

export function hasFilter(f: FilterOptions): boolean {
  return f.refused === true || [f.vcpu, f.dom, f.op, f.mfn, f.level, f.since, f.until].some((v) => v !== undefined);
}

/** The filters as the command line gives them, for messages: "--mfn 0x1055 --vcpu 1". */
export function filterText(f: FilterOptions): string {
  const parts: string[] = [];
  if (f.refused === true) parts.push('--refused');
  if (f.vcpu !== undefined) parts.push(`--vcpu ${f.vcpu}`);
  if (f.dom !== undefined) parts.push(`--dom ${f.dom}`);
  for (const op of f.op ?? []) parts.push(`--op ${op}`);
  if (f.mfn !== undefined) parts.push(`--mfn 0x${f.mfn.toString(16)}`);
  if (f.level !== undefined) parts.push(`--level ${f.level}`);
  if (f.since !== undefined) parts.push(`--since ${f.since}`);
  if (f.until !== undefined) parts.push(`--until ${f.until}`);
  return parts.join(' ');
}

/** The filter a command line asks for: every option must hold (AND). Stateful: feed every line. */
export class LineFilter {
  private readonly frame: FrameTracker | undefined;
  private readonly ops: Set<string> | undefined;
  /** The domain of the latest line that named one: guest events carry none of their own. */
  private curDom: number | undefined;

  readonly f: FilterOptions;

  constructor(f: FilterOptions) {
    this.f = f;
    this.frame = f.mfn !== undefined ? new FrameTracker(f.mfn) : undefined;
    this.ops = f.op !== undefined ? new Set(f.op) : undefined;
  }

  test(o: Obj): boolean {
    // Stateful parts first, on every line, so later lines are judged with full knowledge.
    const touches = this.frame !== undefined ? this.frame.touches(o) : true;
    const kind = lineKind(o);
    if (isNum(o.dom)) this.curDom = o.dom;
    else if (this.curDom === undefined && o.op === 'create_domain' && isNum(o.domid)) this.curDom = o.domid;
    if (!touches) return false;
    const f = this.f;
    if (f.level !== undefined && !(isNum(o.level) && o.level >= f.level)) return false;
    if (f.since !== undefined && !(isNum(o.time) && o.time >= f.since)) return false;
    if (f.until !== undefined && !(isNum(o.time) && o.time <= f.until)) return false;
    if (f.vcpu !== undefined && !this.aboutVcpu(o, f.vcpu)) return false;
    if (f.dom !== undefined && !this.aboutDom(o, kind, f.dom)) return false;
    if (this.ops !== undefined && !this.aboutOp(o, kind)) return false;
    if (f.refused === true && !isRefused(o, kind)) return false;
    return true;
  }

  private aboutVcpu(o: Obj, v: number): boolean {
    if (o.vcpu === v) return true;
    if (Array.isArray(o.vcpus) && o.vcpus.includes(v)) return true;
    if (o.event === 'ipi_send' && Array.isArray(o.targets) && o.targets.includes(v)) return true;
    if (o.event === 'ipi_ack' && o.from === v) return true;
    if (o.event === 'deadlock') {
      const edges = [...(Array.isArray(o.cycle) ? o.cycle : []), ...(Array.isArray(o.waits) ? o.waits : [])];
      return edges.some((e) => isObj(e) && (e.vcpu === v || e.waitsFor === v));
    }
    return false;
  }

  private aboutDom(o: Obj, kind: LineKind, d: number): boolean {
    if (isNum(o.dom)) return o.dom === d;
    if (kind === 'record') {
      if ((o.op === 'create_domain' || o.op === 'destroy_domain') && o.domid === d) return true;
      const r = isObj(o.result) ? o.result : {};
      return isObj(r.frame) && r.frame.owner === d;
    }
    // Guest events name no domain: they are the current guest's.
    return kind === 'event' && !['end', 'bad_input', 'internal_error', 'expect_failed', 'audit'].includes(o.event as string) && this.curDom === d;
  }

  private aboutOp(o: Obj, kind: LineKind): boolean {
    const ops = this.ops!;
    if (isStr(o.op) && ops.has(o.op)) return true;
    if (isStr(o.event) && ops.has(o.event)) return true;
    if ((o.event === 'op_start' || o.event === 'op_end') && ops.has(guestOpName(o))) return true;
    if (kind === 'record') {
      for (const c of callsOf(o)) if (isStr(c.op) && ops.has(c.op)) return true;
      for (const cmd of mmuextCmds(o)) if (ops.has(cmd)) return true;
    }
    const r = isObj(o.refusal) ? o.refusal : undefined;
    return r !== undefined && isStr(r.what) && ops.has(refusalOp(r.what));
  }
}

/** A refusal line, a failed record (not an access's page fault), a BUG with a refusal, a failed guest pin or exchange. */
export function isRefused(o: Obj, kind = lineKind(o)): boolean {
  if (kind === 'refusal') return true;
  if (kind === 'record') return recordFailed(o);
  if (kind === 'event') return (o.event === 'bug' && isObj(o.refusal)) || ((o.event === 'pin' || o.event === 'exchange') && o.ok === false);
  return false;
}
