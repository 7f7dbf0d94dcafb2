// replay() in process, against the real hypervisor (no mocks).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fullLine } from '../../src/log/read.ts';
import { replay, type ReplayOptions, type ReplaySummary } from '../../src/replay/replay.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const SEED = join(repo, 'examples/seed-alias-blocks-pin.ndjson');
const BUILD = join(repo, 'examples/build-pin-4level.ndjson');
const dir = mkdtempSync(join(tmpdir(), 'xensim-replay-'));
let n = 0;
function trace(lines: string[]): string {
  const p = join(dir, `t${n++}.ndjson`);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

interface Run {
  s: ReplaySummary;
  out: string;
  err: string;
  /** --json objects. */
  json: Record<string, unknown>[];
  /** Log lines (parsed). */
  log: Record<string, unknown>[];
  logText: string;
}
async function run(path: string, opts: ReplayOptions = {}): Promise<Run> {
  let out = '';
  let err = '';
  let logText = '';
  const s = await replay(path, {
    json: true,
    out: { write: (x: string) => (out += x) },
    err: { write: (x: string) => (err += x) },
    log: { write: (x: string) => (logText += x) },
    ...opts,
  });
  const json = opts.json === false ? [] : out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  // The log's lines as every reader sees them (format 1's words: src/log/read.ts fullLine).
  const last = { time: undefined, line: undefined, dom: undefined, vcpu: undefined };
  const log = logText.split('\n').filter(Boolean).map((l) => fullLine(JSON.parse(l) as Record<string, unknown>, last));
  return { s, out, err, json, log, logText };
}

const CD = '{"op":"create_domain","domid":1,"vcpus":2,"frames":{"base":"0x1000","count":64}}';
const TREE = [
  CD,
  '{"op":"store","mfn":"0x1000","slot":0,"val":"0x1001067"}',
  '{"op":"store","mfn":"0x1001","slot":0,"val":"0x1002067"}',
  '{"op":"store","mfn":"0x1002","slot":0,"val":"0x1003067"}',
  '{"op":"store","mfn":"0x1003","slot":16,"val":"0x1010063"}',
  '{"op":"mmuext_op","ops":[{"cmd":"pin_l4_table","mfn":"0x1000"},{"cmd":"new_baseptr","mfn":"0x1000"}],"expect":0}',
];

describe('replay: the examples', () => {
  for (const [name, path, records] of [
    ['seed-alias-blocks-pin', SEED, 25],
    ['build-pin-4level', BUILD, 36],
  ] as const) {
    it(`${name} runs every record and every expectation holds`, async () => {
      const r = await run(path, { audit: true });
      expect(r.err).toBe('');
      expect(r.s).toMatchObject({ exit: 0, reason: 'finished', records, failed: 0 });
      expect(r.s.held).toBeGreaterThan(20);
      expect(r.json).toHaveLength(records);
      expect(r.json.filter((o) => 'expect' in o || 'audit' in o)).toEqual([]);
      expect(r.log.at(-1)).toMatchObject({ event: 'end', reason: 'finished', records, exit: 0 });
    });
  }

  it('the seed story: the pin is refused because of the alias, and succeeds once it is gone', async () => {
    const r = await run(SEED);
    const pins = r.json.filter((o) => o.op === 'mmuext_op').map((o) => o.rc);
    expect(pins).toEqual([0, -22, 0]);
    const refusal = r.log.find((l) => l.refusal !== undefined)!.refusal as Record<string, unknown>;
    expect(refusal).toMatchObject({ at: 'ops[0]', rc: -22, errno: 'EINVAL', mfn: '0x1011' });
    expect(refusal.blockers).toEqual([expect.objectContaining({ kind: 'l1e', mfn: '0x1003', slot: 17, rw: true })]);
  });
});

describe('replay: --json output', () => {
  it('one object per record in order, with results, frame, val; failed expectations marked', async () => {
    const p = trace([
      ...TREE,
      '{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x1010"}],"expect":0}',
      '{"op":"multicall","calls":[{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x1010"}]},{"op":"update_va_mapping","va":"0x10000","val":"0x0","flags":"invlpg"}],"expect":{"results":[-22,0]}}',
      '{"op":"read","mfn":"0x1003","slot":16,"expect":{"present":false,"val":0}}',
      '{"op":"frame","mfn":"0x1003","expect":{"type":"l1","type_count":1}}',
    ]);
    const r = await run(p);
    expect(r.s).toMatchObject({ exit: 1, reason: 'expect_failed', records: 10, hypercalls: 3, refused: 2, held: 4, failed: 1 });
    expect(r.json.slice(0, 2)).toEqual([
      { line: 1, op: 'create_domain', rc: 0 },
      { line: 2, op: 'store', rc: 0 },
    ]);
    expect(r.json[5]).toEqual({ line: 6, op: 'mmuext_op', rc: 0, done: 2 });
    expect(r.json[6]).toEqual({
      line: 7,
      op: 'mmuext_op',
      rc: -22,
      done: 0,
      expect: 'failed',
      expected: 0,
      actual: -22,
    });
    expect(r.json[7]).toEqual({ line: 8, op: 'multicall', rc: 0, results: [-22, 0] });
    expect(r.json[8]).toEqual({ line: 9, op: 'read', rc: 0, val: '0x0', mfn: '0x0', present: false });
    expect(r.json[9]).toMatchObject({ line: 10, op: 'frame', rc: 0, frame: { owner: 1, type: 'l1', type_count: 1, validated: true } });
    // The failed expectation is in the log too, and the replay went on to the end.
    expect(r.log.filter((l) => l.event === 'expect_failed')).toEqual([
      expect.objectContaining({ level: 40, line: 7, record: 'mmuext_op', expected: 0, actual: -22 }),
    ]);
    expect(r.log.at(-1)).toMatchObject({ event: 'end', reason: 'expect_failed', records: 10, exit: 1 });
  });

  it('expectations compare hex and number spellings by value, key by key', async () => {
    const p = trace([
      ...TREE,
      '{"op":"read","mfn":"0x1003","slot":16,"expect":{"mfn":4112,"present":true}}',
      '{"op":"read","mfn":4099,"slot":16,"expect":{"mfn":"0X1010"}}',
      '{"op":"frame","mfn":"0x1000","expect":{"owner":1,"caf":"0x8000000000000003","type_count":2}}',
      '{"op":"frame","mfn":"0x1000","expect":{"caf":"0x8000000000000002"}}',
    ]);
    const r = await run(p);
    expect(r.s).toMatchObject({ held: 4, failed: 1, exit: 1 });
    expect(r.json[9]).toMatchObject({ expect: 'failed', expected: { caf: '0x8000000000000002' }, actual: { caf: '0x8000000000000003' } });
  });

  it('the human report names the refusal and its blocker, and sums up', async () => {
    const r = await run(SEED, { json: false });
    expect(r.out).toContain(
      'line 32  mmuext_op pin_l1_table 0x1011  -EINVAL  Bad type (saw writable != exp l1) for mfn 0x1011 — blocker: L1 0x1003 slot 17 maps it writable  [as expected]',
    );
    expect(r.out).toContain('25 records: 5 hypercalls (1 refused), 20 setup records and queries');
    expect(r.out).toContain('expectations: 24 held, 0 failed');
    const failing = trace([...TREE, '{"op":"frame","mfn":"0x1003","expect":{"type":"l2"}}']);
    const f = await run(failing, { json: false });
    expect(f.out).toContain('EXPECT FAILED: expected {"type":"l2"}, got {"type":"l1"}');
    expect(f.s.exit).toBe(1);
  });
});

describe('replay: bad input and setup errors stop with exit 2', () => {
  it('a bad line: the records before it ran and are logged; nothing after it runs', async () => {
    // Issue 12: an MFN past 2^40 is Xen's to answer now; a value over 64 bits is still bad input.
    const p = trace([...TREE, '{"op":"frame","mfn":"0x10000000000000000"}', '{"op":"frame","mfn":"0x1000"}']);
    const r = await run(p);
    expect(r.s).toMatchObject({ exit: 2, reason: 'bad_input', records: 6 });
    expect(r.err).toBe(`${p}:7: field "mfn": value over 64 bits, got "0x10000000000000000"\n`);
    expect(r.json.map((o) => o.line)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.log.filter((l) => l.op !== undefined).map((l) => l.line)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.log.at(-2)).toMatchObject({ level: 50, event: 'bad_input', line: 7, field: 'mfn', file: p });
    expect(r.log.at(-1)).toMatchObject({ event: 'end', reason: 'bad_input', records: 6, exit: 2 });
  });

  it('a setup the hypervisor refuses (SetupError) names the line and the field', async () => {
    const overlap = trace([CD, '{"op":"create_domain","domid":2,"vcpus":1,"frames":{"base":"0x1020","count":16}}', '{"op":"audit"}']);
    const r = await run(overlap);
    expect(r.s).toMatchObject({ exit: 2, reason: 'bad_input', records: 1 });
    expect(r.err).toMatch(new RegExp(`^${overlap.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: field "`));
    const unknownDom = trace([CD, '{"op":"frame","mfn":"0x1000"}', '{"op":"mmuext_op","dom":5,"ops":[{"cmd":"tlb_flush_local"}]}']);
    const u = await run(unknownDom);
    expect(u.s).toMatchObject({ exit: 2, records: 2 });
    expect(u.err).toMatch(/:3: field "dom": /);
    const unknownVcpu = trace([CD, '{"op":"store","vcpu":7,"mfn":"0x1000","slot":0,"val":0}']);
    const v = await run(unknownVcpu);
    expect(v.s).toMatchObject({ exit: 2, records: 1 });
    expect(v.err).toMatch(/:2: field "vcpu": /);
  });

  it('a record made by a vCPU before any create_domain', async () => {
    const p = trace(['{"op":"frame","mfn":"0x1000"}', '{"op":"store","mfn":"0x1000","slot":0,"val":0}']);
    const r = await run(p);
    expect(r.s).toMatchObject({ exit: 2, records: 1 });
    expect(r.err).toBe(`${p}:2: field "dom": no domain to act as: no create_domain before this record\n`);
  });

  it('an unreadable file', async () => {
    const r = await run(join(dir, 'nope.ndjson'));
    expect(r.s).toMatchObject({ exit: 2, reason: 'bad_input', records: 0 });
    expect(r.log.at(-1)).toMatchObject({ event: 'end', reason: 'bad_input', exit: 2 });
  });
});

describe('replay: the log', () => {
  it('two replays of the same trace give byte-identical logs', async () => {
    const a = await run(SEED);
    const b = await run(SEED);
    expect(a.logText.length).toBeGreaterThan(1000);
    expect(a.logText).toBe(b.logText);
    // Simulated time: the record ordinal, never the wall clock.
    expect(a.log.filter((l) => l.op !== undefined).map((l) => l.time)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('flushes appear in the log, before their record line', async () => {
    const r = await run(SEED);
    const i = r.log.findIndex((l) => l.event === 'tlb_flush' && l.cause === 'guest');
    expect(i).toBeGreaterThan(0);
    expect(r.log[i]).toMatchObject({ va: '0x11000', dom: 1, vcpus: [0, 1] });
    expect(r.log[i + 1]).toMatchObject({ op: 'update_va_mapping', line: r.log[i]!.line, time: r.log[i]!.time });
  });

  it('replaying a log gives the same results as the trace it came from', async () => {
    for (const path of [SEED, BUILD]) {
      const first = await run(path);
      const logPath = join(dir, `replayed-${n++}.log`);
      writeFileSync(logPath, first.logText);
      const second = await run(logPath);
      expect(second.s).toMatchObject({ exit: 0, records: first.s.records, held: first.s.held, failed: 0 });
      const strip = (os: Record<string, unknown>[]) => os.map(({ line: _line, ...rest }) => rest);
      expect(strip(second.json)).toEqual(strip(first.json));
      // And the log of the log has the same record lines (bar the line numbers).
      const recs = (l: Record<string, unknown>[]) => l.filter((x) => x.op !== undefined).map(({ line: _line, ...rest }) => rest);
      expect(recs(second.log)).toEqual(recs(first.log));
    }
  });
});

describe('replay: --quiet', () => {
  const REFUSED = [...TREE, '{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x1010"}],"expect":-22}', '{"op":"frame","mfn":"0x1010","expect":{"type":"l1"}}'];

  it('without a log (records nobody reads are only run and counted): the same counts, the same lines of what went wrong', async () => {
    // A refused call without an expectation, an audit (its implicit expectation counts), then REFUSED's records.
    const path = trace([...REFUSED.slice(0, 6), '{"op":"mmuext_op","ops":[{"cmd":"pin_l2_table","mfn":"0x1010"}]}', '{"op":"audit"}', ...REFUSED.slice(6)]);
    const full = await run(path, { json: false });
    const bare = await run(path, { json: false, quiet: true, log: undefined });
    expect(bare.logText).toBe('');
    expect(bare.s).toEqual(full.s);
    expect(bare.s).toMatchObject({ exit: 1, records: 10, hypercalls: 3, refused: 2, held: 3, failed: 1 });
    expect(bare.out.split('\n').filter((l) => /^line /.test(l))).toEqual(full.out.split('\n').filter((l) => /^line 10 /.test(l)));
    expect(bare.out.trim().split('\n').slice(-3)).toEqual(full.out.trim().split('\n').slice(-3));
  });

  it('reports only what went wrong, and the summary; counts, exit and log are those of a full report', async () => {
    const path = trace(REFUSED);
    const full = await run(path, { json: false });
    const quiet = await run(path, { json: false, quiet: true });
    expect(quiet.s).toEqual(full.s);
    expect(quiet.s).toMatchObject({ exit: 1, records: 8, refused: 1, held: 2, failed: 1 });
    expect(full.out).toMatch(/^line 7 .*-EINVAL/m);
    // The one record that went wrong (line 8's failed expectation), as the full report says it.
    const quietLines = quiet.out.split('\n').filter((l) => /^line /.test(l));
    expect(quietLines).toEqual(full.out.split('\n').filter((l) => /^line 8 /.test(l)));
    expect(quiet.out).toContain('EXPECT FAILED');
    // The summary is the full report's last lines.
    expect(quiet.out.trim().split('\n').slice(-3)).toEqual(full.out.trim().split('\n').slice(-3));
    expect(quiet.out).toContain('8 records: 2 hypercalls (1 refused), 6 setup records and queries');
    // The log still names the blocker of the refused pin.
    expect(quiet.logText).toBe(full.logText);
    const refusal = quiet.log.find((l) => l.refusal !== undefined)?.refusal as { blockers: { kind: string; mfn: string; slot: number }[] };
    expect(refusal.blockers).toEqual([expect.objectContaining({ kind: 'l1e', mfn: '0x1003', slot: 16 })]);
  });

  it('without a log, a refused record whose expectation failed still names its blocker', async () => {
    let out = '';
    const wrong = [...TREE, '{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x1010"}],"expect":0}', '{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x1010"}]}'];
    const s = await replay(trace(wrong), { quiet: true, out: { write: (x: string) => (out += x) }, err: { write: () => true } });
    expect(s).toMatchObject({ exit: 1, refused: 2, held: 1, failed: 1 });
    const lines = out.split('\n').filter((l) => /^line /.test(l));
    expect(lines).toEqual([expect.stringMatching(/^line 7 .*-EINVAL .*blocker: L1 0x1003 slot 16 maps it writable/)]);
    expect(out).toContain('expectations: 1 held, 1 failed');
  });

  it('with --json, one object per record that went wrong', async () => {
    const r = await run(trace(REFUSED), { quiet: true });
    expect(r.json).toEqual([expect.objectContaining({ line: 8, op: 'frame', expect: 'failed', expected: { type: 'l1' } })]);
  });
});

describe('replay: --audit, audit records, interruption', () => {
  it('an audit record with no mismatches holds like an expectation', async () => {
    const r = await run(trace([...TREE, '{"op":"audit"}']));
    expect(r.s).toMatchObject({ exit: 0, held: 2, failed: 0 });
    expect(r.json.at(-1)).toEqual({ line: 7, op: 'audit', rc: 0, mismatches: [] });
  });

  it('an aborted replay stops before the next record: exit 130, the end line says why', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await run(SEED, { signal: ac.signal });
    expect(r.s).toMatchObject({ exit: 130, reason: 'interrupted', records: 0 });
    expect(r.log).toEqual([expect.objectContaining({ event: 'end', reason: 'interrupted', exit: 130 })]);
  });
});
