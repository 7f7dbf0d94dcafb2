import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Refusal } from '../../hypervisor/types.ts';
import { fullLine } from '../../src/log/read.ts';
import { createLog, type LogLevel } from '../../src/log/write.ts';
import { parseLine } from '../../src/trace/index.ts';

function capture(level: LogLevel = 'info') {
  const raw: string[] = [];
  const log = createLog({ dest: { write: (s: string) => raw.push(s) }, level });
  return { log, raw, lines: () => raw.map((s) => JSON.parse(s) as Record<string, unknown>) };
}

const refusal: Refusal = {
  at: 'ops[0]',
  what: 'pin_l1_table mfn 0x1011',
  rc: -22,
  reason: 'Bad type (saw writable != exp l1) for mfn 0x1011',
  mfn: 0x1011,
  xen: ['Bad type (saw e400000000000001 != exp 2000000000000000) for mfn 1011 (pfn 11)'],
  chain: [{ mfn: 0x1003, level: 1, slot: 17, val: 0x10000001011067n }],
  blockers: [{ kind: 'l1e', mfn: 0x1003, slot: 17, val: 0x10000001011067n, dom: 1, rw: true }],
};

describe('createLog', () => {
  it('record line: simulated time, no pid/hostname, the normalised record, its result (format 2: no errno, no msg)', () => {
    const { log, raw } = capture();
    log.clock.time = 7;
    log.clock.line = 31;
    const rec = parseLine('{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":4113}],"expect":-22}', 't', 1)!;
    log.record(rec, { dom: 1, vcpu: 0 }, { rc: -22, done: 0, refusals: [refusal] });
    expect(raw).toEqual([
      '{"level":30,"time":7,"line":31,"op":"mmuext_op","dom":1,"vcpu":0,"ops":[{"cmd":"pin_l1_table","mfn":"0x1011"}],"expect":-22,"result":{"rc":-22,"done":0}}\n',
    ]);
    // …and it reads back as the same record, with the caller filled in.
    expect(parseLine(raw[0]!, 'log', 1)).toEqual({ ...rec, dom: 1, vcpu: 0 });
  });

  it('queries have no dom/vcpu; their results are in JSON form', () => {
    const { log, lines } = capture();
    log.record({ op: 'read', mfn: 0x1003, slot: 17 }, { dom: 1, vcpu: 0 }, { rc: 0, val: 0x1011067n, mfn: 0x1011, present: true });
    const [l] = lines();
    // (its line is its time: not said)
    expect(l).toEqual({
      level: 30,
      time: 0,
      op: 'read',
      mfn: '0x1003',
      slot: 17,
      result: { rc: 0, val: '0x1011067', mfn: '0x1011', present: true },
    });
    // Read back (src/log/read.ts), it is the line format 1 wrote.
    expect(fullLine(l!, { time: undefined, line: undefined, dom: undefined, vcpu: undefined })).toEqual({
      level: 30,
      time: 0,
      line: 0,
      op: 'read',
      mfn: '0x1003',
      slot: 17,
      result: { rc: 0, errno: 'OK', val: '0x1011067', mfn: '0x1011', present: true },
      msg: 'read',
    });
  });

  it('refusal line: warn, hex strings, no op (a replay skips it); its record line says where and who', () => {
    const { log, raw, lines } = capture();
    log.clock.time = 3;
    log.clock.line = 9;
    log.refusals({ dom: 1, vcpu: 1 }, [refusal]);
    const last = { time: 3, line: 9, dom: 1, vcpu: 1 };
    expect(lines()).toEqual([
      {
        level: 40,
        time: 3,
        refusal: {
          at: 'ops[0]',
          what: 'pin_l1_table mfn 0x1011',
          rc: -22,
          reason: 'Bad type (saw writable != exp l1) for mfn 0x1011',
          mfn: '0x1011',
          xen: refusal.xen,
          chain: [{ mfn: '0x1003', level: 1, slot: 17, val: '0x10000001011067' }],
          blockers: [{ kind: 'l1e', mfn: '0x1003', slot: 17, val: '0x10000001011067', dom: 1, rw: true }],
        },
      },
    ]);
    expect(lines().map((l) => fullLine(l, last))).toEqual([
      {
        level: 40,
        time: 3,
        line: 9,
        dom: 1,
        vcpu: 1,
        refusal: {
          at: 'ops[0]',
          what: 'pin_l1_table mfn 0x1011',
          rc: -22,
          errno: 'EINVAL',
          reason: 'Bad type (saw writable != exp l1) for mfn 0x1011',
          mfn: '0x1011',
          xen: refusal.xen,
          chain: [{ mfn: '0x1003', level: 1, slot: 17, val: '0x10000001011067' }],
          blockers: [{ kind: 'l1e', mfn: '0x1003', slot: 17, val: '0x10000001011067', dom: 1, rw: true }],
        },
        msg: 'refused pin_l1_table mfn 0x1011: Bad type (saw writable != exp l1) for mfn 0x1011',
      },
    ]);
    expect(parseLine(raw[0]!, 'log', 1)).toBeNull();
    // Xen's only text is the reason, and nothing blocks: not said; read back, they are there.
    const bare = capture();
    bare.log.refusals({ dom: 1, vcpu: 0 }, [{ ...refusal, at: '', xen: [refusal.reason], chain: [], blockers: [] }]);
    expect(bare.lines()[0]!.refusal).toEqual({ what: refusal.what, rc: -22, reason: refusal.reason, mfn: '0x1011' });
    expect(fullLine(bare.lines()[0]!, { time: 0, line: 0, dom: 1, vcpu: 0 }).refusal).toEqual({
      at: '',
      what: refusal.what,
      rc: -22,
      errno: 'EINVAL',
      reason: refusal.reason,
      mfn: '0x1011',
      xen: [refusal.reason],
      chain: [],
      blockers: [],
    });
  });

  it('flush line', () => {
    const { log, raw } = capture();
    log.clock.time = 4;
    log.clock.line = 12;
    log.flush({ cause: 'guest', dom: 1, vcpus: [0, 1], va: 0x11000n, clock: 5 });
    log.flush({ cause: 'type_change', dom: 1, vcpus: [1], mfn: 0x1011, clock: 6 });
    expect(raw.join('')).toBe(
      '{"level":30,"time":4,"line":12,"event":"tlb_flush","cause":"guest","dom":1,"vcpus":[0,1],"va":"0x11000","clock":5}\n' +
        '{"level":30,"time":4,"line":12,"event":"tlb_flush","cause":"type_change","dom":1,"vcpus":[1],"mfn":"0x1011","clock":6}\n',
    );
  });

  it('the end line is written whatever the level; the others obey it', () => {
    for (const level of ['warn', 'error', 'fatal', 'silent'] as const) {
      const { log, lines } = capture(level);
      log.record({ op: 'audit' }, undefined, { rc: 0, mismatches: [] });
      log.flush({ cause: 'cr3', dom: 1, vcpus: [0], clock: 1 });
      log.end('finished', 1, 0);
      expect(lines()).toEqual([{ level: 30, time: 0, event: 'end', reason: 'finished', records: 1, exit: 0, xen: '4.17', build: 'debug', msg: 'replay stopped' }]);
    }
    const { log, lines } = capture('warn');
    log.refusals({ dom: 1, vcpu: 0 }, [refusal]);
    log.end('bad_input', 0, 2);
    // No record line at warn: the refusal line says where and who itself.
    expect(lines().map((l) => [l.level, l.line, l.dom, l.vcpu, l.msg])).toEqual([
      [40, 0, 1, 0, undefined],
      [50, undefined, undefined, undefined, 'replay stopped'],
    ]);
  });

  it('a file destination is truncated and written synchronously', () => {
    const p = join(mkdtempSync(join(tmpdir(), 'xensim-log-')), 'x.log');
    for (const records of [5, 1]) {
      const log = createLog({ dest: p });
      log.end('finished', records, 0);
      // Synchronous: the line is in the file before close().
      expect(readFileSync(p, 'utf8')).toBe(
        `{"level":30,"time":0,"event":"end","reason":"finished","records":${records},"exit":0,"xen":"4.17","build":"debug","msg":"replay stopped"}\n`,
      );
      log.close();
    }
  });

  it('held lines reach the file in whole lines, 64 KiB at a time, and all of them on release', () => {
    const p = join(mkdtempSync(join(tmpdir(), 'xensim-log-')), 'held.log');
    const log = createLog({ dest: p });
    const flush = (i: number) => log.flush({ cause: 'guest', dom: 1, vcpus: [0, 1], clock: i });
    log.hold();
    flush(0);
    // Held: nothing written yet.
    expect(readFileSync(p, 'utf8')).toBe('');
    for (let i = 1; i < 2000; i++) flush(i);
    // ~200 KB held: some of it written, and only whole lines, in order.
    const part = readFileSync(p, 'utf8');
    expect(part.length).toBeGreaterThan(65_536);
    expect(part.endsWith('\n')).toBe(true);
    const partLines = part.trimEnd().split('\n').map((l) => JSON.parse(l) as { clock: number });
    expect(partLines.map((l) => l.clock)).toEqual(partLines.map((_, i) => i));
    expect(partLines.length).toBeLessThan(2000);
    log.release();
    // Released: every line, in order; and lines after release are written at once again.
    const all = readFileSync(p, 'utf8').trimEnd().split('\n');
    expect(all.map((l) => (JSON.parse(l) as { clock: number }).clock)).toEqual([...Array(2000).keys()]);
    flush(2000);
    expect(readFileSync(p, 'utf8').trimEnd().split('\n')).toHaveLength(2001);
    log.close();
  });
});
