// `inspect LOG --tree MFN [--at LINE]` and `inspect LOG --walk VA [--dom D] [--vcpu N] [--at LINE]`:
// the page tables as they stood at a line of a hypercall log — the view a Xen developer gets from
// a debug key or a crash dump, for any moment of a run. A log is a trace (docs/trace-format.md), so
// its records up to LINE are replayed into a fresh simulated Xen, which is then read: `--tree`
// prints the table tree under MFN (present entries only, each table once, Xen's L4 slots folded),
// `--walk` the four steps of the translation of VA through the vCPU's current base, as the
// hardware walks it. Cost: one replay of the log's first LINE records, then output proportional to
// the present entries of the tables shown.

import { Hypervisor } from '../../hypervisor/index.ts';
import { pteFlags, pteMfn, loOf, hiOf, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, _PAGE_PWT, _PAGE_PCD, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PSE, _PAGE_GLOBAL, _PAGE_NX } from '../../hypervisor/pte.ts';
import type { LogSink } from '../log/write.ts';
import { callerOf, execute } from '../replay/execute.ts';
import { TraceError } from '../trace/fields.ts';
import { readTraceBatches } from '../trace/read.ts';

export interface TablesOptions {
  /** Print the table tree rooted at this frame. */
  tree?: number;
  /** Print the walk of this virtual address. */
  walk?: bigint;
  /** Replay records up to and including this line of the log (default: all of them). */
  at?: number;
  dom?: number;
  vcpu?: number;
  out: LogSink;
  err: LogSink;
}

const FLAG_NAMES: [number, string][] = [
  [_PAGE_PRESENT, 'P'],
  [_PAGE_RW, 'RW'],
  [_PAGE_USER, 'US'],
  [_PAGE_PWT, 'PWT'],
  [_PAGE_PCD, 'PCD'],
  [_PAGE_ACCESSED, 'A'],
  [_PAGE_DIRTY, 'D'],
  [_PAGE_PSE, 'PSE'],
  [_PAGE_GLOBAL, 'G'],
  [_PAGE_NX, 'NX'],
];

/** "P RW US A" for an entry's flags (Xen's 24-bit flag word). */
function flagText(flags: number): string {
  return FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0)
    .map(([, n]) => n)
    .join(' ');
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;
const entryHex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;
/** Xen's own L4 slots (256–271): skipped by validation, filled by Xen. */
const XEN_SLOTS = [256, 271] as const;

/** The simulated Xen after the log's records up to line `at` (or all), and the last line run. */
async function replayTo(path: string, at: number | undefined): Promise<{ hv: Hypervisor; last: number }> {
  const hv = new Hypervisor({ debugBuild: false, blockers: false });
  let last = 0;
  for await (const batch of readTraceBatches(path)) {
    for (const { line, record } of batch) {
      if (at !== undefined && line > at) return { hv, last };
      execute(hv, record, callerOf(hv, record, path, line));
      last = line;
    }
  }
  return { hv, last };
}

function frameText(hv: Hypervisor, mfn: number): string {
  const f = hv.frame(mfn);
  const owner = f.owner === null ? 'no owner' : `d${f.owner}`;
  const marks = [f.validated ? 'validated' : '', f.pinned ? 'pinned' : ''].filter(Boolean).join(' ');
  return `${hex(mfn)} ${owner} type ${f.type} (count ${f.type_count})${marks ? ` ${marks}` : ''}, refs ${f.count}`;
}

function levelOf(type: string): number | undefined {
  const m = /^l([1-4])$/.exec(type);
  return m ? Number(m[1]) : undefined;
}

/** The tree under `root`: each table once (linear and self maps are named, not followed). */
function treeLines(hv: Hypervisor, root: number): string[] {
  const out: string[] = [];
  const seen = new Set<number>();
  const visit = (mfn: number, level: number, indent: string): void => {
    seen.add(mfn);
    out.push(`${indent}L${level} ${frameText(hv, mfn)}`);
    for (let slot = 0; slot < 512; slot++) {
      if (level === 4 && slot === XEN_SLOTS[0]) {
        const used = [...Array(XEN_SLOTS[1] - XEN_SLOTS[0] + 1).keys()].filter((i) => (hv.read(mfn, XEN_SLOTS[0] + i) & 1n) !== 0n).length;
        if (used > 0) out.push(`${indent}  [256-271] Xen's own slots (${used} present)`);
        slot = XEN_SLOTS[1];
        continue;
      }
      const v = hv.read(mfn, slot);
      const lo = loOf(v);
      if ((lo & _PAGE_PRESENT) === 0) continue;
      const hi = hiOf(v);
      const target = pteMfn(lo, hi);
      const flags = pteFlags(lo, hi);
      const head = `${indent}  [${String(slot).padStart(3)}] ${entryHex(v)} → ${hex(target)} ${flagText(flags)}`;
      if (level === 1 || (flags & _PAGE_PSE) !== 0) {
        out.push(head);
      } else if (target === mfn) {
        out.push(`${head}  (self map)`);
      } else if (seen.has(target)) {
        out.push(`${head}  (shown above)`);
      } else if (levelOf(hv.frame(target).type) === level) {
        out.push(`${head}  (linear map of an L${level})`);
      } else {
        out.push(head);
        visit(target, level - 1, `${indent}    `);
      }
    }
  };
  visit(root, levelOf(hv.frame(root).type) ?? 4, '');
  return out;
}

/** The hardware walk of `va` from the vCPU's current kernel base, one line a level. */
function walkLines(hv: Hypervisor, va: bigint, dom: number, vcpu: number): string[] {
  const base = hv.baseptrs({ dom, vcpu }).kernel;
  const out = [`walk of ${hex(va)} by d${dom}v${vcpu}, base (cr3) ${base === 0 ? 'none' : hex(base)}`];
  if (base === 0) return [...out, '  no base pointer: nothing is mapped'];
  let table = base;
  for (let level = 4; level >= 1; level--) {
    const slot = Number((va >> BigInt(12 + 9 * (level - 1))) & 0x1ffn);
    const v = hv.read(table, slot);
    const lo = loOf(v);
    const hi = hiOf(v);
    const flags = pteFlags(lo, hi);
    const line = `  L${level} ${hex(table)} [${String(slot).padStart(3)}] ${entryHex(v)}`;
    if ((lo & _PAGE_PRESENT) === 0) return [...out, `${line}  not present: a page fault`];
    const target = pteMfn(lo, hi);
    out.push(`${line} → ${hex(target)} ${flagText(flags)}`);
    if (level === 1 || (flags & _PAGE_PSE) !== 0) {
      out.push(`  maps ${hex(va)} to frame ${hex(target)} (${frameText(hv, target)})`);
      return out;
    }
    table = target;
  }
  return out;
}

/** Runs --tree / --walk; the exit status (2: the log cannot be replayed, or a bad argument). */
export async function showTables(path: string, o: TablesOptions): Promise<number> {
  let state: { hv: Hypervisor; last: number };
  try {
    state = await replayTo(path, o.at);
  } catch (e) {
    const msg = e instanceof TraceError ? e.message : `${path}: the log cannot be replayed (${(e as Error).message})`;
    o.err.write(msg + '\n');
    return 2;
  }
  const { hv, last } = state;
  const where = `at line ${last} of ${path}`;
  const lines: string[] = [];
  if (o.tree !== undefined) lines.push(`page tables under ${hex(o.tree)} ${where}:`, ...treeLines(hv, o.tree));
  if (o.walk !== undefined) {
    const dom = o.dom ?? hv.firstDomain();
    if (dom === undefined || !hv.hasDomain(dom)) {
      o.err.write(`${path}: no domain ${dom ?? ''} exists ${where} (--dom)\n`);
      return 2;
    }
    try {
      lines.push(...walkLines(hv, o.walk, dom, o.vcpu ?? 0).map((l, i) => (i === 0 ? `${l} ${where}` : l)));
    } catch (e) {
      o.err.write(`${path}: ${(e as Error).message} ${where} (--vcpu)\n`);
      return 2;
    }
  }
  o.out.write(lines.join('\n') + '\n');
  return 0;
}
