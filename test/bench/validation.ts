// §2 Validation speed: pin an L4 whose tree holds 512 fully populated L1 tables (262,144 L1
// entries, each mapping its own data frame writable, as a kernel's direct map does), then unpin it
// (full demotion). Baseline: one pass reading the same entries, from the same store (the frame
// table's page contents), decoding each present entry's frame number.
import { Hypervisor, MMUEXT } from '../../hypervisor/index.ts';
import type { FrameTable } from '../../hypervisor/frames.ts';
import { judge, type Figure } from './report.ts';
import { human, round3 } from './util.ts';

const L1_TABLES = 512;
const ENTRIES = 512;
const BASE = 0x1000;
const TABLE = 0x67n; // present, rw, user, accessed, dirty
const caller = { dom: 1, vcpu: 0 };

interface Tree {
  hv: Hypervisor;
  frames: FrameTable;
  l4: number;
  /** Every table of the tree (L4, L3, L2, the L1s). */
  tables: number[];
  entries: number;
}

function build(l1Tables = L1_TABLES): Tree {
  const l4 = BASE;
  const l3 = BASE + 1;
  const l2 = BASE + 2;
  const l1 = BASE + 3; // L1 i is l1 + i
  const data = l1 + l1Tables;
  const hv = new Hypervisor();
  hv.createDomain({ domid: 1, vcpus: 2, base: BASE, count: data - BASE + l1Tables * ENTRIES });
  const pte = (mfn: number) => (BigInt(mfn) << 12n) | TABLE;
  const rc = [
    hv.store(caller, l4, 0, pte(l3)),
    hv.store(caller, l3, 0, pte(l2)),
    hv.store(caller, l2, 0, pte(l1), l1Tables, 0x1000n),
  ];
  for (let i = 0; i < l1Tables; i++) rc.push(hv.store(caller, l1 + i, 0, pte(data + i * ENTRIES), ENTRIES, 0x1000n));
  if (rc.some((r) => r !== 0)) throw new Error('bench: building the tree failed');
  // The bench reads the frame table the way the hypervisor does; the facade does not hand it out.
  const frames = (hv as unknown as { x: { frames: FrameTable } }).x.frames;
  const tables = [l4, l3, l2, ...Array.from({ length: l1Tables }, (_, i) => l1 + i)];
  return { hv, frames, l4, tables, entries: 1 + 1 + l1Tables + l1Tables * ENTRIES };
}

function call(t: Tree, cmd: number): number {
  const r = t.hv.hypercall(caller, { op: 'mmuext_op', ops: [{ cmd, mfn: t.l4 }] });
  if (r.rc !== 0) throw new Error(`bench: ${cmd === MMUEXT.pin_l4_table ? 'pin' : 'unpin'} failed: ${r.refusals[0]?.reason}`);
  return r.rc;
}

/** One pass over every entry of the tree: present bit and frame number, as promotion reads them. */
function readPass(t: Tree): number {
  let sum = 0;
  for (const mfn of t.tables) {
    const page = t.frames.page(mfn)!;
    for (let i = 0; i < ENTRIES; i++) {
      const lo = page[2 * i]!;
      if (!(lo & 1)) continue;
      sum += (lo >>> 12) + (page[2 * i + 1]! & 0xfffff) * 0x100000;
    }
  }
  return sum;
}

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export function validationSpeed(rounds: number): Figure[] {
  // Warm the JIT on a small tree of its own (fresh trees each time: first pins included), so that
  // the big tree's first pin measures the work, not the compiler.
  for (let r = 0; r < 30; r++) {
    const w = build(8);
    for (let k = 0; k < 3; k++) {
      call(w, MMUEXT.pin_l4_table);
      call(w, MMUEXT.unpin_table);
    }
    readPass(w);
  }
  const t = build();
  // The first pin also changes every data frame's type (none → writable): reported on its own.
  const firstPin = time(() => call(t, MMUEXT.pin_l4_table));
  const firstUnpin = time(() => call(t, MMUEXT.unpin_table));
  // Untimed warm-up: the JIT optimises the read loop only after a few passes.
  for (let r = 0; r < 3; r++) {
    call(t, MMUEXT.pin_l4_table);
    call(t, MMUEXT.unpin_table);
  }
  for (let r = 0; r < 20; r++) readPass(t);
  const pin: number[] = [];
  const unpin: number[] = [];
  const read: number[] = [];
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    read.push(time(() => (sink += readPass(t))));
    pin.push(time(() => call(t, MMUEXT.pin_l4_table)));
    unpin.push(time(() => call(t, MMUEXT.unpin_table)));
  }
  if (sink === 0) throw new Error('bench: empty read pass');
  const audit = t.hv.audit();
  if (audit.length > 0) throw new Error(`bench: audit after pin/unpin: ${audit[0]}`);

  const n = t.entries;
  const rate = (ms: number) => Math.round((n / ms) * 1000);
  // The best of each (interleaved rounds): other work on the machine only adds time.
  const best = (xs: number[]) => Math.min(...xs);
  const readMs = best(read);
  const baseline = { what: 'one read pass over the same entries', value: rate(readMs), unit: 'entries/s' };
  const section = `2. Validation speed (L4 → L3 → L2 → ${L1_TABLES} full L1s: ${human(n)} entries)`;
  const samples = { pin, unpin, read, firstPin: [firstPin], firstUnpin: [firstUnpin] };
  return [
    judge({
      id: 'validation.pin',
      section,
      what: 'pin_l4_table (full promotion)',
      value: rate(best(pin)),
      unit: 'entries/s',
      baseline,
      ratio: round3(best(pin) / readMs),
      goal: { on: 'value', op: '>=', limit: 10e6 },
      note: `first pin, which also types every data frame writable: ${human(rate(firstPin))} entries/s; ratio = pin time / read time`,
      samples,
    }),
    judge({
      id: 'validation.pin.ratio',
      section,
      what: 'pin_l4_table, time against the read pass',
      value: round3(best(pin) / readMs),
      unit: '×',
      goal: { on: 'value', op: '<=', limit: 10 },
    }),
    judge({
      id: 'validation.unpin',
      section,
      what: 'unpin_table (full demotion)',
      value: rate(best(unpin)),
      unit: 'entries/s',
      baseline,
      ratio: round3(best(unpin) / readMs),
      note: `first unpin: ${human(rate(firstUnpin))} entries/s`,
    }),
  ];
}
