// `export --perfetto`: the Chrome Trace Event JSON obeys the format's rules (required fields per
// phase, whole-ns µs timestamps, named tracks, slices on one track nest and never partly overlap)
// on every log we have and on a hostile one, and says what the log says (one slice per record,
// one instant per refusal, IPI waits, irqs-off spans, deadlock, counters). `export --html`: the
// page's data and its self-containedness (the drawing itself: html-browser.test.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pageData, renderHtml } from '../../src/export/html.ts';
import { exportPerfetto } from '../../src/export/outputs.ts';
import { makeLogs, rawLines, type Line, type Logs } from './inspect-logs.ts';

let logs: Logs;
beforeAll(async () => {
  logs = await makeLogs('xensim-export-');
});

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  s?: string;
  args?: Record<string, unknown>;
}

const wholeNs = (v: number): boolean => Math.abs(v * 1000 - Math.round(v * 1000)) < 1e-6;

/**
 * The Trace Event format's rules, as ui.perfetto.dev and chrome://tracing apply them. Returns the
 * list of violations (empty = valid).
 */
function validateTrace(doc: unknown): string[] {
  const errors: string[] = [];
  const bad = (e: unknown, why: string) => errors.length < 50 && errors.push(`${why}: ${JSON.stringify(e).slice(0, 200)}`);
  if (doc === null || typeof doc !== 'object' || !Array.isArray((doc as { traceEvents?: unknown }).traceEvents)) return ['no traceEvents array'];
  const events = (doc as { traceEvents: TraceEvent[] }).traceEvents;
  const named = new Set<string>();
  const procs = new Set<number>();
  const used = new Set<string>();
  const slices = new Map<string, { b: number; e: number; name: string }[]>();
  for (const e of events) {
    if (typeof e.name !== 'string' || e.name === '') bad(e, 'name');
    if (!Number.isInteger(e.pid) || e.pid < 0) bad(e, 'pid');
    if (!Number.isInteger(e.tid) || e.tid < 0) bad(e, 'tid');
    if (e.args !== undefined && (e.args === null || typeof e.args !== 'object')) bad(e, 'args');
    const track = `${e.pid}:${e.tid}`;
    switch (e.ph) {
      case 'M':
        if (!['process_name', 'process_sort_index', 'thread_name', 'thread_sort_index'].includes(e.name)) bad(e, 'metadata name');
        if (e.name === 'thread_name') {
          if (typeof e.args?.name !== 'string') bad(e, 'thread_name args.name');
          named.add(track);
        }
        if (e.name === 'process_name') {
          if (typeof e.args?.name !== 'string') bad(e, 'process_name args.name');
          procs.add(e.pid);
        }
        if (e.name.endsWith('sort_index') && !Number.isInteger(e.args?.sort_index)) bad(e, 'sort_index');
        break;
      case 'X': {
        if (typeof e.ts !== 'number' || e.ts < 0 || !wholeNs(e.ts)) bad(e, 'X ts');
        if (typeof e.dur !== 'number' || e.dur <= 0 || !wholeNs(e.dur)) bad(e, 'X dur');
        if (typeof e.cat !== 'string') bad(e, 'X cat');
        used.add(track);
        const b = Math.round(e.ts! * 1000);
        const list = slices.get(track) ?? [];
        list.push({ b, e: b + Math.round(e.dur! * 1000), name: e.name });
        slices.set(track, list);
        break;
      }
      case 'i':
        if (typeof e.ts !== 'number' || e.ts < 0 || !wholeNs(e.ts)) bad(e, 'i ts');
        if (!['t', 'p', 'g'].includes(e.s ?? '')) bad(e, 'i scope');
        if (typeof e.cat !== 'string') bad(e, 'i cat');
        used.add(track);
        break;
      case 'C':
        if (typeof e.ts !== 'number' || e.ts < 0 || !wholeNs(e.ts)) bad(e, 'C ts');
        if (!e.args || Object.keys(e.args).length === 0 || Object.values(e.args).some((v) => typeof v !== 'number' || !Number.isFinite(v))) bad(e, 'C args');
        procs.has(e.pid) || bad(e, 'C before its process_name');
        break;
      default:
        bad(e, 'phase');
    }
  }
  for (const t of used) if (!named.has(t)) errors.push(`track ${t} has no thread_name`);
  for (const t of used) if (!procs.has(Number(t.split(':')[0]))) errors.push(`process of ${t} has no process_name`);
  // Nesting: sorted by begin (longer first), each slice ends within the one it starts in.
  for (const [t, list] of slices) {
    list.sort((a, b) => a.b - b.b || b.e - a.e);
    const stack: { b: number; e: number; name: string }[] = [];
    for (const s of list) {
      while (stack.length > 0 && stack.at(-1)!.e <= s.b) stack.pop();
      const top = stack.at(-1);
      if (top !== undefined && s.e > top.e) errors.push(`track ${t}: ${s.name} [${s.b},${s.e}] partly overlaps ${top.name} [${top.b},${top.e}]`);
      stack.push(s);
    }
  }
  return errors;
}

async function perfetto(log: string): Promise<{ doc: { traceEvents: TraceEvent[]; otherData: Record<string, string> }; text: string }> {
  let text = '';
  await exportPerfetto(log, { write: (s: string) => (text += s) });
  return { doc: JSON.parse(text) as { traceEvents: TraceEvent[]; otherData: Record<string, string> }, text };
}

describe('export --perfetto: the event rules', () => {
  it('every log validates: required fields, whole-ns times, named tracks, slices nest on each track', async () => {
    for (const [name, path] of logs.all) {
      const { doc } = await perfetto(path);
      expect(validateTrace(doc), name).toEqual([]);
    }
  });

  it('the validator catches what it must (partial overlap, missing fields, unnamed tracks)', () => {
    const m = [
      { name: 'process_name', ph: 'M', pid: 1, tid: 0, args: { name: 'd1' } },
      { name: 'thread_name', ph: 'M', pid: 1, tid: 0, args: { name: 'vCPU0' } },
    ];
    expect(validateTrace({ traceEvents: [...m, { name: 'a', ph: 'X', pid: 1, tid: 0, ts: 1, dur: 2, cat: 'c' }, { name: 'b', ph: 'X', pid: 1, tid: 0, ts: 2, dur: 2, cat: 'c' }] })).toEqual([
      'track 1:0: b [2000,4000] partly overlaps a [1000,3000]',
    ]);
    expect(validateTrace({ traceEvents: [...m, { name: 'a', ph: 'X', pid: 1, tid: 0, ts: 1, dur: 2, cat: 'c' }, { name: 'b', ph: 'X', pid: 1, tid: 0, ts: 2, dur: 1, cat: 'c' }] })).toEqual([]);
    expect(validateTrace({ traceEvents: [...m, { name: 'a', ph: 'X', pid: 1, tid: 0, ts: 1.0001, cat: 'c' }] }).length).toBe(2);
    expect(validateTrace({ traceEvents: [{ name: 'a', ph: 'i', pid: 1, tid: 3, ts: 1, s: 't', cat: 'c' }] })).toEqual([
      'track 1:3 has no thread_name',
      'process of 1:3 has no process_name',
    ]);
  });

  it('says what the log says: a slice per record, an instant per refusal, counters for pins and the TLB clock', async () => {
    for (const [name, path] of logs.all) {
      const raw = rawLines(path).map((l) => l.o);
      const { doc } = await perfetto(path);
      const ev = doc.traceEvents;
      const records = raw.filter((o) => typeof o.op === 'string' && typeof o.event !== 'string');
      const recSlices = ev.filter((e) => e.ph === 'X' && (e.cat === 'hypercall' || e.cat === 'record'));
      expect(recSlices.length, name).toBe(records.length);
      // Each record slice sits at (or just after) its simulated time, on its vCPU's track.
      const byTime = new Map(records.map((o) => [o.time, o]));
      for (const s of recSlices) {
        const o = byTime.get(s.args!.time as number)!;
        expect(s.ts! * 1000, name).toBeGreaterThanOrEqual(o.time * 1000);
        if (typeof o.vcpu === 'number') expect([s.pid, s.tid], name).toEqual([o.dom, o.vcpu]);
      }
      const refusals = raw.filter((o) => o.refusal && typeof o.event !== 'string');
      const refInst = ev.filter((e) => e.ph === 'i' && e.cat === 'refusal');
      expect(refInst.length, name).toBe(refusals.length);
      expect(refInst.filter((e) => e.args!.kind === 'pin').length, name).toBe(refusals.filter((o) => (o.refusal as { what: string }).what.startsWith('pin_l')).length);
      // IPI waits: one per ipi_send with wait (and someone to wait for).
      const waits = raw.filter((o) => o.event === 'ipi_send' && o.wait === true && (o.targets as number[]).some((t) => t !== o.vcpu));
      expect(ev.filter((e) => e.ph === 'X' && e.cat === 'ipi').length, name).toBe(waits.length);
      // Interrupts-off spans: one per disable.
      const offs = raw.filter((o) => o.event === 'irq' && o.enabled === false);
      expect(ev.filter((e) => e.ph === 'X' && e.cat === 'irq').length, name).toBe(offs.length);
      // Kernel operations: one slice per op_start.
      expect(ev.filter((e) => e.ph === 'X' && e.cat === 'op').length, name).toBe(raw.filter((o) => o.event === 'op_start').length);
      // Deadlock marked.
      if (raw.some((o) => o.event === 'deadlock')) expect(ev.some((e) => e.ph === 'i' && e.name === 'DEADLOCK' && e.s === 'g'), name).toBe(true);
      // The TLB clock counter follows the flush lines.
      const clocks = raw.filter((o) => o.event === 'tlb_flush').map((o) => o.clock);
      expect(ev.filter((e) => e.ph === 'C' && e.name === 'TLB clock').map((e) => e.args!.clock), name).toEqual(clocks);
      // Durations never cross the simulated time of the next line by more than a tick.
      expect(doc.otherData.generator).toBe('xensim export --perfetto');
    }
  });

  it('the seed example: pinned frames go 0 → 1 (the L4) → 2 (the L1 once the alias is gone); the refused pin is an instant with its blocker', async () => {
    const { doc } = await perfetto(logs.replay.seed!);
    const pins = doc.traceEvents.filter((e) => e.ph === 'C' && e.name === 'pinned frames').map((e) => [e.ts, e.args!.pinned]);
    // (8.01, 20.01: the flush Xen logged during the pin has the record's tick, and comes first.)
    expect(pins).toEqual([
      [1, 0],
      [8.01, 1],
      [20.01, 2],
    ]);
    const r = doc.traceEvents.find((e) => e.cat === 'refusal')!;
    expect(r).toMatchObject({ ph: 'i', pid: 1, tid: 0, name: 'refused pin_l1_table', s: 't' });
    expect(r.args).toMatchObject({
      kind: 'pin',
      reason: 'Bad type (saw writable != exp l1) for mfn 0x1011',
      blockers: ['L1 0x1003 slot 17 maps it writable'],
      dmesg: ['(XEN) mm.c:2713:d1v0 Bad type (saw e400000000000001 != exp 2000000000000000) for mfn 1011 (pfn 11)', '(XEN) mm.c:3348:d1v0 Error -22 while pinning mfn 1011'],
    });
    const failed = doc.traceEvents.find((e) => e.ph === 'X' && e.name.startsWith('mmuext_op pin_l1_table →'))!;
    expect(failed.name).toBe('mmuext_op pin_l1_table → EINVAL');
    expect(failed.ts).toBe(13);
  });

  it('a deadlocked guest: the IPI wait and the irqs-off spans stay open to the end, marked unfinished', async () => {
    const { doc } = await perfetto(logs.guest['cross-vcpu-irqsoff-purge']!);
    const wait = doc.traceEvents.find((e) => e.ph === 'X' && e.cat === 'ipi')!;
    expect(wait.name).toBe('wait for IPI do_flush_tlb_all');
    expect(wait.args!.unfinished).toBe(true);
    const offs = doc.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'irq');
    expect(offs.map((e) => e.tid).sort()).toEqual([100000, 100001]);
    expect(offs.every((e) => e.args!.unfinished === true)).toBe(true);
    const names = doc.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args!.name);
    expect(names).toEqual(expect.arrayContaining(['vCPU0', 'vCPU1', 'vCPU0 irqs off', 'vCPU1 irqs off', 'toolstack, queries']));
    expect(doc.traceEvents.filter((e) => e.name === 'deadlocked').map((e) => e.tid).sort()).toEqual([0, 1]);
  });

  it('a hostile log still gives a valid trace: unmatched and crossing operations, acks after the op ended, no times, a crowded tick, unknown events', async () => {
    const L = (o: Record<string, unknown>) => JSON.stringify({ level: 30, ...o, msg: String(o.event ?? o.op ?? 'x') });
    const lines = [
      L({ time: 1, op: 'create_domain', domid: 3, vcpus: 2, frames: { base: '0x1000', count: 16 }, result: { rc: 0, errno: 'OK' } }),
      L({ time: 2, event: 'op_end', vcpu: 0, operation: 'never started' }),
      L({ time: 3, event: 'op_start', vcpu: 0, operation: 'A' }),
      L({ time: 4, event: 'op_start', vcpu: 0, operation: 'B' }),
      L({ time: 5, event: 'ipi_send', vcpu: 0, targets: [0, 1], func: 'f', wait: true }),
      L({ time: 6, event: 'op_end', vcpu: 0, operation: 'A' }), // closes B and the wait too
      L({ time: 7, event: 'ipi_ack', vcpu: 1, from: 0, func: 'f' }), // nothing left to close
      L({ time: 7, event: 'op_end', vcpu: 0, operation: 'B' }), // already closed
      L({ time: 8, event: 'irq', vcpu: 1, enabled: true, why: 'on without off' }),
      L({ time: 8, event: 'irq', vcpu: 1, enabled: false, why: 'off' }),
      L({ time: 8, event: 'irq', vcpu: 1, enabled: false, why: 'off again' }),
      ...Array.from({ length: 250 }, (_, i) =>
        L({ time: 9, op: 'mmuext_op', dom: 3, vcpu: i % 2, ops: [{ cmd: 'pin_l1_table', mfn: `0x${(0x1000 + (i % 16)).toString(16)}` }], result: { rc: 0, errno: 'OK', done: 1 } }),
      ),
      L({ event: 'mystery', vcpu: 1, detail: 'no time at all' }),
      L({ time: 10, event: 'mystery', detail: 'no vCPU' }),
      L({ time: 10, event: 'stop_machine', vcpu: 1, phase: 'start' }),
      L({ time: 11, event: 'op_start', vcpu: 1, operation: 'inside stop_machine' }),
      L({ time: 12, event: 'stop_machine', vcpu: 1, phase: 'end' }), // closes the op inside it
      L({
        time: 13,
        op: 'multicall',
        dom: 3,
        vcpu: 1,
        calls: [
          { op: 'mmuext_op', ops: [{ cmd: 'unpin_table', mfn: '0x1000' }] },
          { op: 'mmuext_op', ops: [{ cmd: 'unpin_table', mfn: '0x1001' }, { cmd: 'unpin_table', mfn: '0x1002' }] },
        ],
        result: { rc: 0, errno: 'OK', results: [0, -22] },
      }),
      JSON.stringify({ level: 40, time: 13, dom: 3, vcpu: 1, refusal: { at: 'calls[1].ops[1]', what: 'unpin_table mfn 0x1002', rc: -22, errno: 'EINVAL', reason: 'r', xen: [], chain: [], blockers: [] }, msg: 'refused' }),
      L({ time: 14, event: 'deadlock', cycle: [{ vcpu: 0, waitsFor: 1, why: 'x' }], waits: [] }),
      L({ time: 14, event: 'op_start', vcpu: 0, operation: 'left open' }),
      '{"level":30,"time":15,"weird":true}',
    ];
    const p = join(logs.dir, 'hostile.log');
    writeFileSync(p, lines.join('\n') + '\n');
    const { doc } = await perfetto(p);
    expect(validateTrace(doc)).toEqual([]);
    const ev = doc.traceEvents;
    const x = (name: string) => ev.filter((e) => e.ph === 'X' && e.name === name);
    expect(x('A')).toHaveLength(1);
    expect(x('B')[0]!.args!.closed_early).toBe(true);
    expect(x('wait for IPI f')[0]!.args!.closed_early).toBe(true);
    expect(x('inside stop_machine')[0]!.args!.closed_early).toBe(true);
    expect(x('left open')[0]!.args!.unfinished).toBe(true);
    expect(x('irqs off')).toHaveLength(1);
    expect(ev.filter((e) => e.name === 'mystery')).toHaveLength(2);
    // 16 frames pinned, then unpin 0x1000 and 0x1001 done, 0x1002 refused: 14.
    const pinned = ev.filter((e) => e.ph === 'C' && e.name === 'pinned frames').map((e) => e.args!.pinned);
    expect(pinned.at(-1)).toBe(14);
    expect(Math.max(...(pinned as number[]))).toBe(16);
    // The crowded tick (250 records at time 9) is laid out in order, 10 ns apart.
    const crowded = ev
      .filter((e) => e.ph === 'X' && e.args!.time === 9)
      .map((e) => Math.round(e.ts! * 1000))
      .sort((a, b) => a - b);
    expect(crowded).toHaveLength(250);
    expect(crowded[0]).toBe(9000);
    expect(crowded.every((t, i) => i === 0 || t - crowded[i - 1]! === 10)).toBe(true);
  });

  it('writes a file that JSON.parse reads, with one event per line', async () => {
    const out = join(logs.dir, 'seed.json');
    const r = await exportPerfetto(logs.replay.seed!, out);
    expect(r.exit).toBe(0);
    const text = readFileSync(out, 'utf8');
    const doc = JSON.parse(text) as { traceEvents: unknown[] };
    expect(doc.traceEvents.length).toBe(r.stats!.slices + r.stats!.instants + r.stats!.counters + text.split('"ph":"M"').length - 1);
    expect((await exportPerfetto(join(logs.dir, 'missing.log'), join(logs.dir, 'x.json'))).exit).toBe(2);
  });
});

describe('export --html: the page', () => {
  it('holds the same timeline as the Perfetto file, and the summary', async () => {
    for (const [name, path] of logs.all) {
      const d = await pageData(path);
      const { doc } = await perfetto(path);
      expect(d.marks.filter((m) => m[2] >= 0).length, name).toBe(doc.traceEvents.filter((e) => e.ph === 'X').length);
      expect(d.marks.filter((m) => m[2] < 0).length, name).toBe(doc.traceEvents.filter((e) => e.ph === 'i').length);
      expect(d.summary.lines, name).toBe(rawLines(path).length);
      expect(d.summaryText, name).toContain('hypercalls:');
      expect(d.dropped).toBe(0);
    }
  });

  it('is self-contained (nothing fetched), and log text cannot break out of its script', async () => {
    const p = join(logs.dir, 'inject.log');
    writeFileSync(
      p,
      [
        '{"level":30,"time":1,"op":"create_domain","domid":1,"vcpus":1,"frames":{"base":"0x1000","count":4},"result":{"rc":0,"errno":"OK"},"msg":"create_domain"}',
        '{"level":40,"time":2,"event":"warn","vcpu":0,"where":"</script><script>alert(1)</script>","msg":"warn"}',
      ].join('\n'),
    );
    const html = renderHtml(await pageData(p));
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/url\(|@import/);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(html).toContain("Content-Security-Policy");
  });

  it('caps what it draws, never the summary', async () => {
    const d = await pageData(logs.guest['fault-storm-with-dirty-block']!, { maxEvents: 100 });
    expect(d.marks).toHaveLength(100);
    expect(d.dropped).toBeGreaterThan(0);
    expect(d.summary.lines).toBe(rawLines(logs.guest['fault-storm-with-dirty-block']!).length);
    const lines = rawLines(logs.guest['fault-storm-with-dirty-block']!).map((l) => l.o as Line);
    expect(d.summary.events.tlb_flush).toBe(lines.filter((o) => o.event === 'tlb_flush').length);
  });
});
