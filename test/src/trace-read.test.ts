import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MMUEXT, UVMF } from '../../hypervisor/abi.ts';
import { parseLine, readTrace, TRACE_OPS, TraceError, type TraceEntry, type TraceRecord } from '../../src/trace/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'xensim-read-'));
let n = 0;
function file(lines: string[]): string {
  const p = join(dir, `t${n++}.ndjson`);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

async function readAll(path: string): Promise<TraceEntry[]> {
  const out: TraceEntry[] = [];
  for await (const e of readTrace(path)) out.push(e);
  return out;
}

/** The TraceError a single line gives, as line 7 of "t.ndjson". */
function errorOf(line: string): TraceError {
  try {
    parseLine(line, 't.ndjson', 7);
  } catch (e) {
    expect(e).toBeInstanceOf(TraceError);
    return e as TraceError;
  }
  throw new Error(`no error for ${line}`);
}

function parse(line: string): TraceRecord {
  const r = parseLine(line, 't.ndjson', 1);
  if (r === null) throw new Error('skipped');
  return r;
}

const CD = '{"op":"create_domain","domid":1,"vcpus":2,"frames":{"base":"0x1000","count":64}}';

describe('readTrace: lines', () => {
  it('skips blank and # lines and counts every physical line', async () => {
    const p = file([
      '# a comment',
      CD,
      '',
      '   # indented comment',
      '   ',
      '{"op":"frame","mfn":"0x1004"}',
    ]);
    const entries = await readAll(p);
    expect(entries.map((e) => e.line)).toEqual([2, 6]);
    expect(entries[1]!.record).toEqual({ op: 'frame', mfn: 0x1004 });
  });

  it('accepts CRLF line ends', async () => {
    const p = join(dir, 'crlf.ndjson');
    writeFileSync(p, `${CD}\r\n{"op":"read","mfn":4100,"slot":3}\r\n`);
    const entries = await readAll(p);
    expect(entries).toHaveLength(2);
    expect(entries[1]).toEqual({ line: 2, record: { op: 'read', mfn: 4100, slot: 3 } });
  });

  it('ignores a UTF-8 byte order mark', async () => {
    const p = join(dir, 'bom.ndjson');
    writeFileSync(p, `\ufeff${CD}\n`);
    expect((await readAll(p)).map((e) => e.record.op)).toEqual(['create_domain']);
  });

  it('yields the records before a bad line, then throws with its line number', async () => {
    const p = file([CD, '{"op":"frame","mfn":"0x1004"}', '{"op":"frame","mfn":"0x1004"', '{"op":"audit"}']);
    const seen: number[] = [];
    let err: unknown;
    try {
      for await (const e of readTrace(p)) seen.push(e.line);
    } catch (e) {
      err = e;
    }
    expect(seen).toEqual([1, 2]);
    expect(err).toBeInstanceOf(TraceError);
    expect((err as TraceError).line).toBe(3);
    expect((err as Error).message).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: not valid JSON \\(`));
  });

  it('names the file when it cannot be read', async () => {
    const p = join(dir, 'missing.ndjson');
    await expect(readAll(p)).rejects.toThrow(`${p}: cannot read the trace (ENOENT`);
  });
});

describe('readTrace: errors name FILE:LINE and the field', () => {
  it('broken JSON', () => {
    const e = errorOf('{"op":"frame",');
    expect(e.message).toMatch(/^t\.ndjson:7: not valid JSON \(.+\)$/);
  });

  it('not an object', () => {
    expect(errorOf('[1,2]').message).toBe('t.ndjson:7: expected a JSON object (one record), got an array');
  });

  it('unknown op lists the known ops', () => {
    const e = errorOf('{"op":"pin","mfn":1}');
    expect(e.field).toBe('op');
    expect(e.message).toBe(`t.ndjson:7: field "op": unknown op "pin" (known: ${TRACE_OPS.join(', ')})`);
  });

  it('missing op', () => {
    expect(errorOf('{"mfn":1}').message).toMatch(/^t\.ndjson:7: field "op": expected a record kind .*got nothing \(missing\)$/);
  });

  it('missing field, with the full path', () => {
    const e = errorOf('{"op":"mmu_update","reqs":[{"ptr":"0x1000","val":1},{"ptr":"0x1008","val":2},{"ptr":"0x1010"}]}');
    expect(e.field).toBe('reqs[2].val');
    expect(e.message).toBe(
      't.ndjson:7: field "reqs[2].val": expected a non-negative integer or a hex string "0x…" (up to 64 bits), got nothing (missing)',
    );
  });

  // Issue 12: an MFN is an unsigned long, any 64-bit value (was: "MFN out of range" above 2^40,
  // the old wrong rule). Below 2^53 it is a number; above, a bigint. Over 64 bits is still refused.
  it('an MFN is any 64-bit value: a number below 2^53, a bigint above', () => {
    expect(parse('{"op":"frame","mfn":"0xFFFFFFFFFF"}')).toEqual({ op: 'frame', mfn: 2 ** 40 - 1 });
    expect(parse('{"op":"frame","mfn":"0x10000000000"}')).toEqual({ op: 'frame', mfn: 2 ** 40 });
    expect(parse('{"op":"frame","mfn":9007199254740991}')).toEqual({ op: 'frame', mfn: 2 ** 53 - 1 });
    expect(parse('{"op":"frame","mfn":"0x1fffffffffffff"}')).toEqual({ op: 'frame', mfn: 2 ** 53 - 1 });
    expect(parse('{"op":"frame","mfn":"0x20000000000000"}')).toEqual({ op: 'frame', mfn: 2n ** 53n });
    expect(parse('{"op":"frame","mfn":"0xffffffffffffffff"}')).toEqual({ op: 'frame', mfn: 2n ** 64n - 1n });
    expect(errorOf('{"op":"frame","mfn":"0x10000000000000000"}').message).toBe(
      't.ndjson:7: field "mfn": value over 64 bits, got "0x10000000000000000"',
    );
  });

  it('value over 64 bits', () => {
    const e = errorOf('{"op":"store","mfn":"0x1000","slot":1,"val":"0x1ffffffffffffffff"}');
    expect(e.field).toBe('val');
    expect(e.message).toBe('t.ndjson:7: field "val": value over 64 bits, got "0x1ffffffffffffffff"');
    // Exactly 64 bits, with leading zeros and upper case, is fine.
    const r = parse('{"op":"store","mfn":"0x1000","slot":1,"val":"0x0000FFFFFFFFFFFFFFFF"}');
    expect(r).toMatchObject({ val: 0xffffffffffffffffn });
  });

  it('an MFN over 64 bits says so', () => {
    expect(errorOf('{"op":"frame","mfn":"0x10000000000000000"}').message).toBe(
      't.ndjson:7: field "mfn": value over 64 bits, got "0x10000000000000000"',
    );
  });

  it('a JSON integer above 2^53-1 must be written in hex', () => {
    expect(errorOf('{"op":"store","mfn":1,"slot":1,"val":18446744073709551615}').message).toMatch(
      /^t\.ndjson:7: field "val": an integer above 2\^53-1 loses precision in JSON: write it as a hex string "0x…", got /,
    );
  });

  it('wrong types', () => {
    expect(errorOf('{"op":"read","mfn":"0x1000","slot":"5"}').message).toBe(
      't.ndjson:7: field "slot": expected a slot number 0–511, got "5"',
    );
    expect(errorOf('{"op":"read","mfn":"0x1000","slot":512}').message).toBe(
      't.ndjson:7: field "slot": expected a slot number 0–511, got 512',
    );
    expect(errorOf('{"op":"store","mfn":"4096","slot":0,"val":0}').field).toBe('mfn');
    expect(errorOf('{"op":"store","mfn":-1,"slot":0,"val":0}').message).toMatch(/field "mfn": expected an MFN .*got -1$/);
    expect(errorOf('{"op":"mmu_update","reqs":{"ptr":1,"val":2}}').message).toBe(
      't.ndjson:7: field "reqs": expected an array, got an object',
    );
    expect(errorOf('{"op":"mmu_update","reqs":[5]}').message).toBe('t.ndjson:7: field "reqs[0]": expected an object, got 5');
    expect(errorOf('{"op":"access","va":"0x1000","write":1}').message).toBe(
      't.ndjson:7: field "write": expected true or false, got 1',
    );
    expect(errorOf('{"op":"frame","mfn":"0x12g"}').field).toBe('mfn');
    expect(errorOf('{"op":"frame","mfn":"0x"}').field).toBe('mfn');
    expect(errorOf('{"op":"frame","mfn":1.5}').field).toBe('mfn');
  });

  it('bad flags strings', () => {
    const base = '{"op":"update_va_mapping","va":"0x9000","val":"0x1010067","flags":';
    for (const f of ['"invlpg|everywhere"', '"local"', '"invlpg|tlb_flush"', '"invlpg|all|local"', '""', 'true']) {
      const e = errorOf(`${base}${f}}`);
      expect(e.field).toBe('flags');
      expect(e.message).toMatch(/^t\.ndjson:7: field "flags": expected a number, or none\/tlb_flush\/invlpg/);
    }
    expect(errorOf(`${base}"invlpg|all","vcpumask":[0]}`).message).toBe(
      't.ndjson:7: field "flags": local/all cannot be combined with a vcpumask (that is UVMF_MULTI), got "invlpg|all"',
    );
  });

  it('numeric multi flags need a vcpumask; non-multi ones must not have one', () => {
    const base = '{"op":"update_va_mapping","va":"0x9000","val":"0x1010067","flags":';
    expect(errorOf(`${base}10}`).field).toBe('vcpumask');
    // A mask given with flags that never read it is ignored, as Xen never reads the memory
    // (issue 12; it used to be refused).
    expect(parse(`${base}6,"vcpumask":[0]}`)).toMatchObject({ flags: 6, vcpumask: [0] });
    // Pointer bits anywhere in the 64 (UVMF_MULTI); flush type 0 or 3 never reads the mask.
    expect(parse(`${base}"0xffff888000001002","vcpumask":[0,1]}`)).toMatchObject({ flags: 0xffff888000001002n, vcpumask: [0, 1] });
    expect(parse(`${base}"0x100000000"}`)).toMatchObject({ flags: 2 ** 32 });
    expect(parse(`${base}"0xffffffffffffffff"}`)).toMatchObject({ flags: 2n ** 64n - 1n });
    expect(errorOf(`${base}"0xffffffff00000001"}`).field).toBe('vcpumask');
    expect(errorOf(`${base}"invlpg","vcpumask":[0,"1"]}`).field).toBe('vcpumask[1]');
  });

  it('dom, vcpu or expect inside multicall entries', () => {
    const uvm = '"op":"update_va_mapping","va":"0x9000","val":"0x0","flags":"invlpg"';
    const dom = errorOf(`{"op":"multicall","calls":[{${uvm}},{${uvm},"dom":1}]}`);
    expect(dom.field).toBe('calls[1].dom');
    expect(dom.message).toMatch(/^t\.ndjson:7: field "calls\[1\]\.dom": a multicall entry runs as the multicall's caller/);
    expect(errorOf(`{"op":"multicall","calls":[{${uvm},"vcpu":0}]}`).field).toBe('calls[0].vcpu');
    expect(errorOf(`{"op":"multicall","calls":[{${uvm},"expect":0}]}`).field).toBe('calls[0].expect');
    // …and nested deeper, with the whole path.
    const deep = errorOf('{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x10000000000000000"}]}]}]}');
    expect(deep.field).toBe('calls[0].calls[0].ops[0].mfn');
    expect(errorOf('{"op":"multicall","calls":[{"op":"frame","mfn":1}]}').field).toBe('calls[0].op');
  });

  it('mmuext_op: unknown names, required arguments', () => {
    const e = errorOf('{"op":"mmuext_op","ops":[{"cmd":"pin_l5_table","mfn":1}]}');
    expect(e.field).toBe('ops[0].cmd');
    expect(e.message).toContain('unknown MMUEXT command "pin_l5_table" (known: pin_l1_table, pin_l2_table');
    expect(errorOf('{"op":"mmuext_op","ops":[{"cmd":"toString","mfn":1}]}').field).toBe('ops[0].cmd');
    expect(errorOf('{"op":"mmuext_op","ops":[{"cmd":"copy_page","mfn":1}]}').field).toBe('ops[0].src_mfn');
    expect(errorOf('{"op":"mmuext_op","ops":[{"cmd":"invlpg_multi","linear_addr":"0x1000"}]}').field).toBe('ops[0].vcpumask');
    expect(errorOf('{"op":"mmuext_op","ops":[{"cmd":"set_ldt","linear_addr":0}]}').field).toBe('ops[0].nr_ents');
    expect(errorOf('{"op":"mmuext_op","ops":[{"cmd":3}]}').field).toBe('ops[0].mfn');
    expect(errorOf('{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_multi","vcpumask":[-1]}]}').field).toBe('ops[0].vcpumask[0]');
    // Any bit of the bitmap is readable memory (issue 12: ids past 4095 used to be refused).
    expect(parse('{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_multi","vcpumask":[4096]}]}')).toMatchObject({ ops: [{ vcpumask: [4096] }] });
  });

  it('expect: unknown keys and wrong kinds', () => {
    const e = errorOf('{"op":"frame","mfn":1,"expect":{"type_cnt":1}}');
    expect(e.field).toBe('expect.type_cnt');
    expect(e.message).toContain('not a result of frame (known: rc, owner, type, type_count');
    expect(errorOf('{"op":"frame","mfn":1,"expect":{"type":"l5"}}').field).toBe('expect.type');
    expect(errorOf('{"op":"multicall","calls":[],"expect":{"results":[0,"x"]}}').field).toBe('expect.results[1]');
    expect(errorOf('{"op":"frame","mfn":1,"expect":"0"}').field).toBe('expect');
  });

  it('domain ids', () => {
    expect(errorOf('{"op":"create_domain","domid":32752,"vcpus":1,"frames":{"base":1,"count":1}}').field).toBe('domid');
    expect(errorOf('{"op":"create_domain","domid":1,"vcpus":0,"frames":{"base":1,"count":1}}').field).toBe('vcpus');
    expect(errorOf('{"op":"create_domain","domid":1,"vcpus":1,"frames":{"base":"0xffffffffff","count":2}}').field).toBe('frames.count');
    expect(errorOf('{"op":"create_domain","domid":1,"vcpus":1}').field).toBe('frames');
    expect(errorOf('{"op":"frame","mfn":1,"dom":-1}').field).toBe('dom');
    // foreigndom is an unsigned int in both prototypes: a 64-bit register, truncated to 32 bits
    // (issue 12: values over 32 / 16 bits used to be refused). Over 64 bits is still refused.
    expect(parse('{"op":"mmu_update","reqs":[],"foreigndom":"0x100000000"}')).toMatchObject({ foreigndom: 0 });
    expect(parse('{"op":"mmuext_op","ops":[],"foreigndom":"0xabcd00037ff0"}')).toMatchObject({ foreigndom: 0x37ff0 });
    expect(errorOf('{"op":"mmuext_op","ops":[],"foreigndom":"0x10000000000000000"}').field).toBe('foreigndom');
    expect(parse('{"op":"mmu_update","reqs":[],"foreigndom":"0x37ff0"}')).toMatchObject({ foreigndom: 0x37ff0 });
  });
});

describe('readTrace: values', () => {
  it('reads every hex spelling of a 64-bit value exactly, on both sides of 52 bits', () => {
    const vals = ['0x0', '0x000000001', '0xFFFFFFFFFFFFF', '0x10000000000000', '0x1fffffffffffff', '0x0000fffffffffffff', '0XABCDEF0123456', '0xffffffffffffffff'];
    for (const v of vals) {
      const r = parse(`{"op":"update_va_mapping","va":"0x1000","val":"${v}","flags":"none"}`) as { val: bigint };
      expect(r.val, v).toBe(BigInt(v));
    }
  });

  it('reads numbers in either spelling into the hypervisor shapes', () => {
    expect(parse('{"op":"mmu_update","reqs":[{"ptr":"0x1004028","val":"0X8000000001010067"}],"foreigndom":"0x7ff0"}')).toEqual({
      op: 'mmu_update',
      reqs: [{ ptr: 0x1004028n, val: 0x8000000001010067n }],
      foreigndom: 0x7ff0,
    });
    expect(parse('{"op":"store","mfn":4100,"slot":5,"val":16842851,"dom":2,"vcpu":1,"expect":-1}')).toEqual({
      op: 'store',
      mfn: 0x1004,
      slot: 5,
      val: 0x1010063n,
      dom: 2,
      vcpu: 1,
      expect: -1,
    });
  });

  it('mmuext_op: names and numbers; unknown numbers pass through', () => {
    expect(parse('{"op":"mmuext_op","ops":[{"cmd":"pin_l4_table","mfn":"0x1000"},{"cmd":5,"mfn":4096},{"cmd":99}]}')).toEqual({
      op: 'mmuext_op',
      ops: [
        { cmd: MMUEXT.pin_l4_table, mfn: 0x1000 },
        { cmd: MMUEXT.new_baseptr, mfn: 0x1000 },
        { cmd: 99 },
      ],
    });
    expect(parse('{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_multi","vcpumask":null},{"cmd":"invlpg_multi","linear_addr":"0x9000","vcpumask":[0,1]}]}')).toEqual({
      op: 'mmuext_op',
      ops: [
        { cmd: MMUEXT.tlb_flush_multi, vcpumask: null },
        { cmd: MMUEXT.invlpg_multi, linear_addr: 0x9000n, vcpumask: [0, 1] },
      ],
    });
  });

  it('update_va_mapping flags', () => {
    const uvm = (flags: string, more = '') => parse(`{"op":"update_va_mapping","va":"0x9000","val":"0x0","flags":${flags}${more}}`);
    expect(uvm('"none"')).toMatchObject({ flags: UVMF.NONE });
    expect(uvm('"invlpg|local"')).toMatchObject({ flags: UVMF.INVLPG | UVMF.LOCAL });
    expect(uvm('"invlpg|all"')).toMatchObject({ flags: UVMF.INVLPG | UVMF.ALL });
    expect(uvm('"all|tlb_flush"')).toMatchObject({ flags: UVMF.TLB_FLUSH | UVMF.ALL });
    expect(uvm('"invlpg"', ',"vcpumask":[0,1]')).toEqual({ op: 'update_va_mapping', va: 0x9000n, val: 0n, flags: UVMF.INVLPG | UVMF.MULTI, vcpumask: [0, 1] });
    expect(uvm('"tlb_flush"', ',"vcpumask":null')).toMatchObject({ flags: UVMF.TLB_FLUSH | UVMF.MULTI, vcpumask: null });
    expect(uvm('6')).toMatchObject({ flags: 6 });
    expect(uvm('"0x1002"', ',"vcpumask":[1]')).toMatchObject({ flags: 0x1002, vcpumask: [1] });
  });

  it('expectations are normalised: hex and numbers by value', () => {
    expect(parse('{"op":"read","mfn":1,"slot":0,"expect":{"mfn":"0x1010","present":true,"val":4096}}')).toMatchObject({
      expect: { mfn: 0x1010, present: true, val: 4096n },
    });
    expect(parse('{"op":"frame","mfn":1,"expect":{"owner":null,"caf":"0x8000000000000001"}}')).toMatchObject({
      expect: { owner: null, caf: 0x8000000000000001n },
    });
  });

  it('ignores unknown keys on records (forward compatibility)', () => {
    expect(parse('{"op":"frame","mfn":1,"comment":"x","future":{"a":1}}')).toEqual({ op: 'frame', mfn: 1 });
  });
});

describe('a hypercall log is a trace', () => {
  it('reads record lines as records and skips the other log lines', async () => {
    const p = file([
      '{"level":30,"time":1,"line":1,"op":"create_domain","domid":1,"vcpus":2,"frames":{"base":"0x1000","count":64},"result":{"rc":0,"errno":"OK"},"msg":"create_domain"}',
      '{"level":30,"time":2,"line":5,"event":"tlb_flush","cause":"cr3","dom":1,"vcpus":[0],"clock":3,"msg":"tlb_flush"}',
      '{"level":30,"time":2,"line":5,"op":"mmuext_op","dom":1,"vcpu":0,"ops":[{"cmd":"pin_l1_table","mfn":"0x1011"}],"expect":-22,"result":{"rc":-22,"errno":"EINVAL","done":0},"msg":"mmuext_op"}',
      '{"level":40,"time":2,"line":5,"dom":1,"vcpu":0,"refusal":{"at":"ops[0]","rc":-22},"msg":"refused pin_l1_table mfn 0x1011: Bad type"}',
      '{"level":30,"time":2,"event":"end","reason":"finished","records":2,"exit":0,"msg":"replay stopped"}',
    ]);
    const entries = await readAll(p);
    expect(entries).toEqual([
      {
        line: 1,
        record: { op: 'create_domain', domid: 1, vcpus: 2, frames: { base: 0x1000, count: 64 } },
        log: { time: 1, line: 1, result: { rc: 0, errno: 'OK' }, refusals: [], flushes: [] },
      },
      {
        line: 3,
        record: { op: 'mmuext_op', dom: 1, vcpu: 0, ops: [{ cmd: MMUEXT.pin_l1_table, mfn: 0x1011 }], expect: -22 },
        // what the log recorded, with the refusal line after it (replay's check: src/replay/check.ts)
        // and the flush line before it: the flush it caused
        log: {
          time: 2,
          line: 5,
          result: { rc: -22, errno: 'EINVAL', done: 0 },
          refusals: [{ at: 'ops[0]', rc: -22 }],
          flushes: [{ level: 30, time: 2, line: 5, event: 'tlb_flush', cause: 'cr3', dom: 1, vcpus: [0], clock: 3, msg: 'tlb_flush' }],
        },
      },
    ]);
  });

  it('a line without level/time and without op is still an error', () => {
    expect(errorOf('{"time":1,"msg":"x"}').field).toBe('op');
    expect(errorOf('{"level":"info","time":1,"msg":"x"}').field).toBe('op');
  });

  it('a log line with a bad record is an error like any other', () => {
    expect(errorOf('{"level":30,"time":1,"op":"frame","mfn":true,"msg":"frame"}').field).toBe('mfn');
  });
});
