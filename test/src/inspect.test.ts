// `inspect`: the summary's counts against counts taken independently from the raw lines (the
// examples replayed, and a guest run of every built-in scenario), the filters, the life of a
// refused frame (--mfn), the Xen and pino-pretty formats, and the command's exit statuses.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseMfnArg } from '../../src/cli/inspect.ts';
import { xenSite } from '../../src/inspect/format-xen.ts';
import { inspect, type InspectOptions } from '../../src/inspect/inspect.ts';
import type { SummaryJson } from '../../src/inspect/summary.ts';
import { makeLogs, rawLines, type Line, type Logs } from './inspect-logs.ts';

let logs: Logs;
beforeAll(async () => {
  logs = await makeLogs('xensim-inspect-');
});

async function run(path: string, opts: InspectOptions = {}): Promise<{ out: string; err: string; exit: number; summary?: SummaryJson }> {
  let out = '';
  let err = '';
  const r = await inspect(path, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) }, ...opts });
  return r.summary !== undefined ? { out, err, exit: r.exit, summary: r.summary } : { out, err, exit: r.exit };
}

const bump = (m: Record<string, number>, k: string, n = 1): void => {
  m[k] = (m[k] ?? 0) + n;
};
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const HC = ['mmu_update', 'mmuext_op', 'update_va_mapping', 'multicall'];

/** The counts, the simple way: straight off the parsed lines, with no code shared with inspect.ts. */
function independentCounts(lines: Line[]) {
  const c = {
    lines: lines.length,
    levels: {} as Record<string, number>,
    records: 0,
    hypercalls: 0,
    byOp: {} as Record<string, Record<string, number>>,
    refusals: 0,
    refusedPins: 0,
    refusedEntries: 0,
    flushes: {} as Record<string, number>,
    events: {} as Record<string, number>,
    ipiSent: 0,
    ipiWaited: 0,
    ipiAcks: 0,
    warns: 0,
    bugs: 0,
    deadlocks: 0,
    hazards: 0,
    guestOps: {} as Record<string, number>,
    firstTime: lines[0]?.time,
    lastTime: lines.at(-1)?.time,
  };
  for (const o of lines) {
    bump(c.levels, LEVELS[o.level]!);
    if (typeof o.event === 'string') {
      bump(c.events, o.event);
      if (o.event === 'tlb_flush') bump(c.flushes, o.cause as string);
      if (o.event === 'ipi_send') {
        c.ipiSent++;
        if (o.wait) c.ipiWaited++;
      }
      if (o.event === 'ipi_ack') c.ipiAcks++;
      if (o.event === 'warn') c.warns++;
      if (o.event === 'bug') c.bugs++;
      if (o.event === 'deadlock') c.deadlocks++;
      if (o.event === 'va_hazard') c.hazards++;
      if (o.event === 'op_start') bump(c.guestOps, String(o.operation).split(' ')[0]!);
    } else if (typeof o.op === 'string') {
      c.records++;
      if (HC.includes(o.op)) c.hypercalls++;
      const result = o.result as { errno: string };
      c.byOp[o.op] ??= {};
      bump(c.byOp[o.op]!, result.errno);
    } else if (o.refusal) {
      c.refusals++;
      const what = (o.refusal as { what: string }).what;
      if (what.startsWith('pin_l')) c.refusedPins++;
      if (what.startsWith('mmu_update') || what.startsWith('update_va_mapping')) c.refusedEntries++;
    }
  }
  return c;
}

describe('the summary counts what the raw lines say', () => {
  it('covers the examples and every built-in scenario, with refusals, flushes, IPIs, WARNs, BUGs and deadlocks among them', async () => {
    const seen = { refusals: 0, deadlocks: 0, bugs: 0, warns: 0, ipis: 0, acks: 0, irq: 0, stop_machine: 0, flushes: 0 };
    for (const [name, path] of logs.all) {
      const lines = rawLines(path).map((l) => l.o);
      const c = independentCounts(lines);
      const { summary: s, exit } = await run(path, { json: true });
      expect(exit, name).toBe(0);
      expect(s!.lines, name).toBe(c.lines);
      expect(s!.unparsed, name).toBe(0);
      expect(s!.time, name).toEqual({ first: c.firstTime, last: c.lastTime });
      expect(s!.levels, name).toEqual(c.levels);
      expect(s!.records.total, name).toBe(c.records);
      expect(s!.records.hypercalls, name).toBe(c.hypercalls);
      const byOp = Object.fromEntries(Object.entries(s!.records.by_op).map(([op, v]) => [op, v.results]));
      expect(byOp, name).toEqual(c.byOp);
      for (const v of Object.values(s!.records.by_op)) expect(v.total).toBe(Object.values(v.results).reduce((a, b) => a + b, 0));
      expect(s!.refusals.total, name).toBe(c.refusals);
      expect(s!.refusals.pins, name).toBe(c.refusedPins);
      expect(s!.refusals.entries, name).toBe(c.refusedEntries);
      expect(s!.refusals.groups.reduce((a, g) => a + g.count, 0), name).toBe(c.refusals);
      expect(s!.flushes.by_cause, name).toEqual(c.flushes);
      expect(s!.events, name).toEqual(c.events);
      expect(s!.ipis.sent, name).toBe(c.ipiSent);
      expect(s!.ipis.waited, name).toBe(c.ipiWaited);
      expect(s!.ipis.acks, name).toBe(c.ipiAcks);
      expect(s!.warns.total, name).toBe(c.warns);
      expect(s!.bugs.total, name).toBe(c.bugs);
      expect(s!.deadlocks.total, name).toBe(c.deadlocks);
      expect(s!.hazards.total, name).toBe(c.hazards);
      expect(s!.guest.ops, name).toEqual(c.guestOps);
      expect(s!.kinds.event + s!.kinds.record + s!.kinds.refusal + s!.kinds.other, name).toBe(c.lines);
      // A replay's log ends "finished"; a guest run's with its verdict's outcome.
      const outcome = c.deadlocks > 0 ? 'deadlock' : c.bugs > 0 ? 'bug' : 'completed';
      expect(s!.end?.reason, name).toBe(name in logs.guest ? outcome : 'finished');
      seen.refusals += c.refusals;
      seen.deadlocks += c.deadlocks;
      seen.bugs += c.bugs;
      seen.warns += c.warns;
      seen.ipis += c.ipiSent;
      seen.acks += c.ipiAcks;
      seen.irq += c.events.irq ?? 0;
      seen.stop_machine += c.events.stop_machine ?? 0;
      seen.flushes += c.events.tlb_flush ?? 0;
    }
    // The logs exercise every part of the summary.
    for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(0);
  });

  it('the seed example reads in seconds: hypercalls by errno, the refused pin with its blocker, flushes by cause', async () => {
    const { out } = await run(logs.replay.seed!);
    expect(out).toContain('hypercalls: 5');
    expect(out).toMatch(/mmuext_op\s+3\s+2\s+1/);
    expect(out).toContain('refused: 1 (pins 1, entries 0, other 0)');
    expect(out).toContain('1× pin_l1_table -EINVAL  Bad type (saw writable != exp l1) for mfn 0x…  [blocker: l1e rw]');
    expect(out).toContain('pin_l1_table mfn 0x1011 — L1 0x1003 slot 17 maps it writable');
    expect(out).toContain('TLB flushes: 4 — cr3 1, guest 1, l2plus_update 1, type_change 1');
    expect(out.split('\n').length).toBeLessThan(30);
  });

  it('a guest deadlock is spelled out with its wait-for cycle', async () => {
    const { out, summary } = await run(logs.guest['cross-vcpu-irqsoff-purge']!);
    expect(out).toMatch(/DEADLOCK t=\d+: vCPU0 waits for vCPU1 to ack IPI do_flush_tlb_all \(vCPU1 has interrupts off\); vCPU1 spins on purge_lock held by vCPU0/);
    expect(out).toMatch(/IPIs: 1 sent \(1 waited for\)/);
    expect(summary!.deadlocks.list[0]!.cycle).toContain('spins on purge_lock held by vCPU0');
  });

  it('counts unknown event kinds by name, and lines that are not JSON: the summary of the rest, then exit 2 naming the first bad line', async () => {
    const p = join(logs.dir, 'odd.log');
    writeFileSync(
      p,
      [
        '{"level":30,"time":1,"event":"frobnicate","vcpu":0,"msg":"frobnicate"}',
        'not json at all',
        '# a comment',
        '{"level":30,"time":2,"event":"frobnicate","msg":"frobnicate"}',
        '{"level":50,"time":3,"event":"gremlin","msg":"gremlin"}',
        '[1,2,3]',
        '',
      ].join('\n'),
    );
    const { summary, exit, err } = await run(p, { json: true });
    expect(exit).toBe(2);
    expect(err.startsWith(`${p}:2: not valid JSON (`)).toBe(true);
    expect(err.endsWith(' (and 1 more line(s) that are not log lines)\n')).toBe(true);
    expect(summary!.unknown_events).toEqual({ frobnicate: 2, gremlin: 1 });
    expect(summary!.unparsed).toBe(2);
    expect(summary!.comments).toBe(1);
    expect(summary!.lines).toBe(3);
    const text = await run(p);
    expect(text.out).toContain('other events: frobnicate 2, gremlin 1');
  });
});

describe('filters print the matching lines, in order', () => {
  const filtered = async (path: string, opts: InspectOptions) =>
    (await run(path, opts)).out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);

  it('--refused, --vcpu, --level, --since/--until, --op, --dom agree with the raw lines', async () => {
    for (const [name, path] of logs.all) {
      const raw = rawLines(path).map((l) => l.o);
      const refused = await filtered(path, { refused: true });
      expect(refused.filter((o) => o.refusal && !o.event).length, name).toBe(raw.filter((o) => o.refusal && !o.event).length);
      for (const o of refused) expect(o.refusal !== undefined || (o.result as { rc: number } | undefined)?.rc! < 0 || Array.isArray((o.result as { results?: number[] })?.results), name).toBe(true);

      const v1 = await filtered(path, { vcpu: 1 });
      expect(v1.filter((o) => o.vcpu === 1).length, name).toBe(raw.filter((o) => o.vcpu === 1).length);
      for (const o of v1) {
        const about = o.vcpu === 1 || (Array.isArray(o.vcpus) && o.vcpus.includes(1)) || o.event === 'deadlock' || (o.targets as number[] | undefined)?.includes(1) || o.from === 1;
        expect(about, `${name}: ${JSON.stringify(o).slice(0, 120)}`).toBe(true);
      }

      expect(await filtered(path, { level: 40 }), name).toEqual(raw.filter((o) => o.level >= 40));
      expect(await filtered(path, { since: 10, until: 20 }), name).toEqual(raw.filter((o) => o.time >= 10 && o.time <= 20));
      expect(await filtered(path, { op: ['tlb_flush'] }), name).toEqual(raw.filter((o) => o.event === 'tlb_flush'));
      expect(await filtered(path, { dom: 7 }), name).toEqual([]);
      const d1 = await filtered(path, { dom: 1 });
      expect(d1.filter((o) => o.dom === 1).length, name).toBe(raw.filter((o) => o.dom === 1).length);
    }
  });

  it('--op matches MMUEXT command names inside records, and refusals of that operation', async () => {
    const lines = await filtered(logs.replay.seed!, { op: ['pin_l1_table'] });
    expect(lines.map((o) => [o.time, o.op ?? 'refusal'])).toEqual([
      [13, 'mmuext_op'],
      [13, 'refusal'],
      [20, 'mmuext_op'],
    ]);
  });

  it('filters combine (AND) and the summary can be of the matching lines only', async () => {
    const { summary } = await run(logs.replay.seed!, { vcpu: 0, format: 'summary', json: true });
    const raw = rawLines(logs.replay.seed!).map((l) => l.o);
    expect(summary!.lines).toBe(raw.filter((o) => o.vcpu === 0 || (Array.isArray(o.vcpus) && o.vcpus.includes(0))).length);
    const both = await filtered(logs.replay.seed!, { vcpu: 0, level: 40 });
    expect(both).toHaveLength(1);
    expect(both[0]!.refusal).toBeDefined();
  });
});

describe('--mfn: the life of one frame', () => {
  /** The line (time) that wrote the blocking entry: a store or mmu_update of that table slot with a value mapping X. */
  function creatorTimes(raw: Line[], table: number, slot: number, x: number): number[] {
    const maps = (v: unknown) => typeof v === 'string' && (BigInt(v) & 1n) === 1n && Number((BigInt(v) >> 12n) & 0xff_ffff_ffffn) === x;
    const out: number[] = [];
    for (const o of raw) {
      if (o.op === 'store' && Number(o.mfn) === table) {
        const count = (o.count as number | undefined) ?? 1;
        const s0 = o.slot as number;
        if (slot >= s0 && slot < s0 + count) {
          const v = BigInt(o.val as string) + BigInt(slot - s0) * BigInt((o.stride as string | undefined) ?? 0);
          if (maps('0x' + v.toString(16))) out.push(o.time);
        }
      }
      const reqs = (o.op === 'mmu_update' ? (o.reqs as { ptr: string; val: string }[]) : []) ?? [];
      for (const r of reqs) if (BigInt(r.ptr) === (BigInt(table) << 12n) + BigInt(slot * 8) && maps(r.val)) out.push(o.time);
    }
    return out;
  }

  it('on every refused pin in the logs: every line naming the frame, including the one that created the blocking mapping', async () => {
    let checked = 0;
    for (const [name, path] of logs.all) {
      const raw = rawLines(path);
      for (const { o } of raw.filter((l) => l.o.refusal && !l.o.event)) {
        const r = o.refusal as { what: string; mfn: string; blockers: { kind: string; mfn: string; slot: number }[] };
        if (!r.what.startsWith('pin_l')) continue;
        const x = Number(r.mfn);
        const { out } = await run(path, { mfn: x });
        const got = out.split('\n').filter(Boolean);
        // In log order, each line once, each a line of the log.
        const texts = raw.map((l) => l.text);
        let last = -1;
        for (const g of got) {
          const i = texts.indexOf(g, last + 1);
          expect(i, `${name}: out of order or not in the log: ${g.slice(0, 100)}`).toBeGreaterThan(last);
          last = i;
        }
        // Every line that names X in an mfn field (a plain substring test on the raw text).
        const hex = `"0x${x.toString(16)}"`;
        for (const l of raw) {
          if (new RegExp(`"(mfn|src_mfn)":${hex}`).test(l.text)) expect(got, `${name}: missing ${l.text.slice(0, 120)}`).toContain(l.text);
        }
        // The line that created each blocking L1 mapping.
        for (const b of r.blockers.filter((b) => b.kind === 'l1e')) {
          const times = creatorTimes(raw.map((l) => l.o), Number(b.mfn), b.slot, x);
          expect(times.length, `${name}: no creator found for ${b.mfn}[${b.slot}]`).toBeGreaterThan(0);
          const gotTimes = got.map((g) => (JSON.parse(g) as Line).time);
          for (const t of times) expect(gotTimes, `${name}: creator at t=${t}`).toContain(t);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(2); // the seed example and at least one guest run
  });

  it('the seed example: built, mapped, refused, unmapped, pinned, hooked in — each step once', async () => {
    const { out } = await run(logs.replay.seed!, { mfn: 0x1011 });
    const lines = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
    const desc = lines.map((o) => `${o.time} ${o.op ?? (o.refusal ? 'refusal' : o.event)}`);
    expect(desc).toEqual([
      '1 create_domain', // the frame is handed to d1
      '6 store', // T1 slot 17 = E (the blocking mapping)
      '7 frame',
      '11 frame',
      '12 access', // va 0x11000 reaches E
      '13 mmuext_op', // pin_l1_table refused
      '13 refusal',
      '14 frame',
      '15 store', // the refused plain store into T1 slot 17
      '16 tlb_flush', // invlpg of va 0x11000
      '16 update_va_mapping', // the alias cleared through its va
      '19 frame',
      '20 tlb_flush', // type change flush for E
      '20 mmuext_op', // pin succeeds
      '21 frame',
      '22 mmu_update', // hooked into T2 slot 1
      '23 frame',
      '24 read',
    ]);
  });

  it('reads MFNs as hex, with or without 0x, as Xen prints them; refuses junk', () => {
    expect(parseMfnArg('0x1011')).toBe(0x1011);
    // Issue 17: "for mfn 1055" pasted from xl dmesg is frame 0x1055, not 1055 decimal.
    expect(parseMfnArg('1055')).toBe(0x1055);
    expect(parseMfnArg('36f40')).toBe(0x36f40);
    expect(() => parseMfnArg('zz')).toThrow(/not a frame number/);
    expect(() => parseMfnArg('0x10000000000')).toThrow();
  });
});

describe('hypercalls by domain and vCPU (issue 17: the xenalyze split)', () => {
  it('every caller\'s counts equal the log\'s own hypercall lines, and the text shows them', async () => {
    let callers = 0;
    for (const [name, path] of logs.all) {
      const want: Record<string, { hypercalls: number; failed: number }> = {};
      for (const { o } of rawLines(path)) {
        if (o.event !== undefined || !HC.includes(o.op as string)) continue;
        const key = `d${o.dom as number}v${(o.vcpu as number | undefined) ?? 0}`;
        const r = o.result as { rc: number; results?: number[] };
        const w = (want[key] ??= { hypercalls: 0, failed: 0 });
        w.hypercalls++;
        if (r.rc < 0 || (r.results ?? []).some((x) => x < 0)) w.failed++;
      }
      const { summary, out } = await run(path);
      const got = Object.fromEntries(Object.entries(summary!.by_caller).map(([k, c]) => [k, { hypercalls: c.hypercalls, failed: c.failed }]));
      expect(got, name).toEqual(want);
      if (Object.keys(want).length > 1) {
        callers++;
        expect(out, name).toContain('hypercalls by domain and vCPU:');
        for (const k of Object.keys(want)) expect(out, `${name} ${k}`).toMatch(new RegExp(`^  ${k} +${want[k]!.hypercalls} +${want[k]!.failed} `, 'm'));
      }
    }
    expect(callers).toBeGreaterThan(0);
  });
});

describe('formats', () => {
  it('--format xen prints refusals as a debug build\'s xl dmesg', async () => {
    const { out } = await run(logs.replay.seed!, { refused: true, format: 'xen' });
    expect(out).toBe(
      '(XEN) mm.c:2713:d1v0 Bad type (saw e400000000000001 != exp 2000000000000000) for mfn 1011 (pfn 11)\n' +
        '(XEN) mm.c:3348:d1v0 Error -22 while pinning mfn 1011\n',
    );
  });

  it('the three positions the spec gives are Xen\'s; every message has a site', () => {
    expect(xenSite('Bad type (saw 8c00000000000001 != exp e000000000000000) for mfn 36f40 (pfn 02f40)')).toBe('mm.c:2713');
    expect(xenSite('Could not get page type PGT_writable_page')).toBe('mm.c:1043');
    expect(xenSite('Error getting mfn 36f40 (pfn 02f40) from L1 entry 8010000036f40067 for l1e_owner d157, pg_owner d157')).toBe('mm.c:1096');
    expect(xenSite('Multicall reentry is disallowed.')).toBe('multicall.c:51');
    expect(xenSite('something new')).toBe('mm.c:0');
  });

  it('--format xen on a guest run: the BUG\'s refusal as Xen printed it', async () => {
    const { out } = await run(logs.guest['full-block-missed-alias']!, { format: 'xen' });
    expect(out).toMatch(/^\(XEN\) mm\.c:2713:d1v0 Bad type \(saw e400000000000001 != exp 2000000000000000\) for mfn [0-9a-f]+ \(pfn [0-9a-f]+\)$/m);
  });

  it('--format xen prints each refusal once: the BUG line\'s copy of it is not printed again (issue 17)', async () => {
    for (const [name, path] of Object.entries(logs.guest)) {
      const refusalLines = rawLines(path).filter((l) => l.o.refusal !== undefined && l.o.event === undefined);
      const want = refusalLines.reduce((n, l) => n + ((l.o.refusal as { xen?: unknown[] }).xen?.length ?? 0), 0);
      const { out } = await run(path, { format: 'xen' });
      const got = out.split('\n').filter(Boolean);
      expect(got.filter((l) => l.includes('d?v')), name).toEqual([]);
      expect(got.length, name).toBe(want);
    }
  });

  it('--format pretty is pino-pretty (simulated time as it is, no colours when asked)', async () => {
    const { out } = await run(logs.replay.seed!, { refused: true, format: 'pretty', color: false });
    expect(out).toContain('[13] WARN: refused pin_l1_table mfn 0x1011: Bad type (saw writable != exp l1) for mfn 0x1011');
    expect(out).toContain('[15] INFO: store');
    expect(out).not.toContain('\u001b[');
  });

  it('a filter that matches nothing says so on stderr (issue 17: it was silent)', async () => {
    const { out, err, exit } = await run(logs.replay.seed!, { mfn: 0x99999 });
    expect(out).toBe('');
    expect(err).toContain('no line matches --mfn 0x99999');
    expect(exit).toBe(0);
  });

  it('--json with a filter gives the raw lines (NDJSON)', async () => {
    const { out } = await run(logs.replay.seed!, { level: 40, json: true });
    expect(out.trim().split('\n').map((l) => (JSON.parse(l) as Line).level)).toEqual([40]);
  });
});

describe('xensim inspect (the command)', () => {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  const CLI = join(repo, 'src/cli/program.ts');
  const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const xensim = (args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', TSX, CLI, ...args], { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
      });
    });

  it('exit 0 with the summary; 2 for a missing log or a bad option', async () => {
    const [ok, missing, bad] = await Promise.all([
      xensim(['inspect', logs.replay.seed!, '--refused', '--format', 'xen']),
      xensim(['inspect', join(logs.dir, 'nope.log')]),
      xensim(['inspect', logs.replay.seed!, '--mfn', 'zz']),
    ]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('(XEN) mm.c:2713:d1v0 Bad type');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('nope.log: no such file');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--mfn: not a frame number');
  });
});
