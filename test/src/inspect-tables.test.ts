// `inspect --tree MFN --at LINE` and `--walk VA` (issue 17): the page tables as they stood at a line
// of a log. The seed example's log: an L4 0x1000 → L3 0x1001 → L2 0x1002 → L1 0x1003 tree, pinned
// and installed part-way through; a state read before that line must show it unvalidated.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { showTables, type TablesOptions } from '../../src/inspect/tables.ts';
import { makeLogs, type Logs } from './inspect-logs.ts';
import { buildCommand, runBuilt, type Built } from './built.ts';

let logs: Logs;
let built: Built;
beforeAll(async () => {
  logs = await makeLogs('xensim-tables-');
  built = buildCommand('xensim-tables-built-');
});
afterAll(() => built?.remove());

async function tables(path: string, o: Omit<TablesOptions, 'out' | 'err'>): Promise<{ out: string; err: string; exit: number }> {
  let out = '';
  let err = '';
  const exit = await showTables(path, { ...o, out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } });
  return { out, err, exit };
}

/** The log line (1-based) of the first record matching `pred`. */
function lineOf(path: string, pred: (o: Record<string, unknown>) => boolean): number {
  const lines = readFileSync(path, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.startsWith('{') && pred(JSON.parse(l) as Record<string, unknown>));
  expect(i).toBeGreaterThanOrEqual(0);
  return i + 1;
}

const pinsL4 = (o: Record<string, unknown>) => o.op === 'mmuext_op' && JSON.stringify(o.ops).includes('"pin_l4_table"');

describe('--tree', () => {
  it('at the end of the seed log: the whole tree, each table with its type, pinned where it is', async () => {
    const { out, exit } = await tables(logs.replay.seed!, { tree: 0x1000 });
    expect(exit).toBe(0);
    expect(out).toMatch(/^L4 0x1000 d1 type l4 \(count \d+\) validated pinned/m);
    expect(out).toMatch(/^ {4}L3 0x1001 d1 type l3 \(count 1\) validated/m);
    expect(out).toMatch(/^ {8}L2 0x1002 d1 type l2 \(count 1\) validated/m);
    expect(out).toMatch(/^ {12}L1 0x1003 d1 type l1 \(count 1\) validated/m);
    expect(out).toMatch(/^ {14}\[ 16\] 0x[0-9a-f]{16} → 0x1010 P /m);
    expect(out).toContain("[256-271] Xen's own slots");
  });

  it('--at the line before the pin: the same frames, not yet page tables; at the pin: validated', async () => {
    const pin = lineOf(logs.replay.seed!, pinsL4);
    const before = await tables(logs.replay.seed!, { tree: 0x1000, at: pin - 1 });
    // The line reported is the last record at or before --at (other lines are not records).
    expect(Number(/under 0x1000 at line (\d+) of /.exec(before.out)?.[1])).toBeLessThan(pin);
    expect(before.out).toMatch(/^L4 0x1000 d1 type none \(count 0\), refs 1$/m);
    const after = await tables(logs.replay.seed!, { tree: 0x1000, at: pin });
    expect(after.out).toMatch(/^L4 0x1000 d1 type l4 \(count \d+\) validated pinned/m);
  });
});

describe('--walk', () => {
  it('a mapped VA ends at its frame; an unmapped one at the not-present entry', async () => {
    const mapped = await tables(logs.replay.seed!, { walk: 0x10000n });
    expect(mapped.out).toMatch(/^ {2}L1 0x1003 \[ 16\] 0x[0-9a-f]{16} → 0x1010 /m);
    expect(mapped.out).toMatch(/maps 0x10000 to frame 0x1010/);
    const hole = await tables(logs.replay.seed!, { walk: 0x11000n });
    expect(hole.out).toMatch(/L1 0x1003 \[ 17\] 0x0{16}  not present: a page fault/);
  });

  it('before any base pointer: says so', async () => {
    const { out } = await tables(logs.replay.seed!, { walk: 0x10000n, at: 2 });
    expect(out).toContain('no base pointer');
  });
});

describe('the command', () => {
  it('--tree with a filter, or --at alone, is a usage error', async () => {
    const a = await runBuilt(built.bin, ['inspect', logs.replay.seed!, '--tree', '1000', '--refused']);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--tree and --walk show the page tables; they take --at, --dom and --vcpu, not --refused/);
    const b = await runBuilt(built.bin, ['inspect', logs.replay.seed!, '--at', '5']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--at goes with --tree MFN or --walk VA/);
  });

  it('--since after --until is a usage error (issue 15: it matched nothing, exit 0)', async () => {
    const r = await runBuilt(built.bin, ['inspect', logs.replay.seed!, '--since', '10', '--until', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--since 10 is after --until 1/);
  });

  it('prints the tree', async () => {
    const r = await runBuilt(built.bin, ['inspect', logs.replay.seed!, '--tree', '0x1000']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^L4 0x1000 /m);
  });
});
