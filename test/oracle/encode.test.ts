// The oracle's encoder (src/oracle/encode.ts): what maps onto real Xen and what is refused plainly.
// Runs without Xen.
import { describe, expect, it } from 'vitest';
import { encodeSequence, MAGIC, OP, program, Unmappable } from '../../src/oracle/encode.ts';
import { parseLine } from '../../src/trace/read.ts';
import type { TraceEntry } from '../../src/trace/types.ts';

function trace(...lines: string[]): TraceEntry[] {
  return lines.map((l, i) => ({ line: i + 1, record: parseLine(l, 't.ndjson', i + 1)! }));
}
const DOM = '{"op":"create_domain","domid":1,"vcpus":1,"frames":{"base":"0x1000","count":16}}';

function unmappable(entries: TraceEntry[]): string {
  try {
    encodeSequence(entries, 0);
  } catch (e) {
    if (e instanceof Unmappable) return e.message;
    throw e;
  }
  return 'mapped';
}

describe('encodeSequence', () => {
  it('turns a frame number inside a PTE into a pool index and keeps its flags', () => {
    const enc = encodeSequence(trace(DOM, '{"op":"store","mfn":"0x1003","slot":5,"val":"0x100a063"}'), 0);
    const at = enc.words.indexOf(BigInt(OP.STORE));
    // STORE, mfn (kind MFN, index 3), slot 5, 1 value: kind FIELD, index 10 in the frame field.
    expect(enc.words.slice(at, at + 7)).toEqual([2n, 2n, 3n, 5n, 1n, 1n, 0xa063n]);
    expect(enc.plan.map((p) => p.answer)).toEqual(['none', 'result']);
  });

  it('removes I/O rights unless the domain is privileged', () => {
    const pin = '{"op":"mmuext_op","ops":[{"cmd":"pin_l4_table","mfn":"0x1000"}]}';
    const words = encodeSequence(trace(DOM, pin), 0).words;
    expect(words).toContain(BigInt(OP.DENY_IO));
    const priv = DOM.replace('"vcpus":1', '"vcpus":1,"privileged":true');
    expect(encodeSequence(trace(priv, pin), 0).words).not.toContain(BigInt(OP.DENY_IO));
  });

  it('refuses plainly what has no real counterpart', () => {
    expect(unmappable(trace(DOM, DOM.replace('"domid":1', '"domid":2').replace('0x1000', '0x2000')))).toMatch(/line 2: .*second domain/);
    expect(unmappable(trace(DOM, '{"op":"access","va":"0xffffffff80001000","write":false}'))).toMatch(/slot 511/);
    expect(unmappable(trace(DOM, '{"op":"mmuext_op","vcpu":1,"ops":[{"cmd":"tlb_flush_local"}]}'))).toMatch(/vCPU 1/);
    expect(unmappable(trace(DOM, '{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x5000"}]}'))).toMatch(/0x5000 belongs to no domain/);
  });

  it('runs the other calls as calls, in a multicall too; a nested multicall is hypercall 13 alone', () => {
    const mc =
      '{"op":"multicall","calls":[{"op":"set_gdt","frames":["0x1002"],"entries":16},{"op":"decrease_reservation","mfns":["0x1003"]},' +
      '{"op":99},{"op":"multicall","calls":[{"op":"hypercall","nr":"0x2b"}]},' +
      '{"op":"update_va_mapping_otherdomain","va":"0x1000","val":"0x0","flags":"none","domid":1}]}';
    const enc = encodeSequence(trace(DOM, mc), 0);
    const at = enc.words.indexOf(BigInt(OP.MULTICALL));
    expect(enc.words.slice(at, at + 2)).toEqual([BigInt(OP.MULTICALL), 5n]);
    // set_gdt: 1 frame, 16 entries, pool index 2; decrease_reservation: 1 extent, pool index 3.
    expect(enc.words.slice(at + 2, at + 7)).toEqual([BigInt(OP.SET_GDT), 1n, 16n, 2n, 2n]);
    expect(enc.words.slice(at + 7, at + 11)).toEqual([BigInt(OP.DECREASE), 1n, 2n, 3n]);
    // by number, then the nested multicall as hypercall 13 (its entries never read)
    expect(enc.words.slice(at + 11, at + 15)).toEqual([BigInt(OP.HC), 99n, BigInt(OP.HC), 13n]);
    // _otherdomain naming the trace's own domain: dom0's own id, 0 (-ESRCH on both)
    expect(enc.words[at + 15]).toBe(BigInt(OP.UVM_OTHER));
    expect(enc.words.at(-2)).toBe(0n);
  });

  it('refuses what the oracle cannot answer as the model would: memory_exchange, _otherdomain for DOMID_IO', () => {
    expect(unmappable(trace(DOM, '{"op":"memory_exchange","mfns":["0x1001"]}'))).toMatch(/line 2: .*memory_exchange/);
    const io = '{"op":"update_va_mapping_otherdomain","va":"0x1000","val":"0x0","flags":"none","domid":"0x7ff1"}';
    expect(unmappable(trace(DOM, io))).toMatch(/0x7ff1: the oracle's dom0 is the control domain/);
    expect(unmappable(trace(DOM.replace('"vcpus":1', '"vcpus":1,"privileged":true'), io))).toBe('mapped');
  });

  it('passes I/O frames and frames beyond the machine through unchanged', () => {
    const enc = encodeSequence(trace(DOM, '{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x10"},{"cmd":"pin_l1_table","mfn":"0x7000000"}]}'), 0);
    expect(enc.words).toContain(0x10n);
    expect(enc.words).toContain(0x7000000n);
  });

  it('writes a program: magic, the sequences, END', () => {
    const b = program([encodeSequence(trace(DOM), 0)]);
    expect(b.readBigUInt64LE(0)).toBe(MAGIC);
    expect(b.readBigUInt64LE(b.length - 8)).toBe(0n);
  });
});

describe('known model bugs (src/oracle/known.ts)', () => {
  it('knows none: ptwr emulation is modelled, and issue 12 fixed the other three', async () => {
    const { isKnown } = await import('../../src/oracle/known.ts');
    expect(isKnown('access rc: model -14, xen 0')).toBe(false);
    // Fixed: PRESERVE_AD into a non-present entry, 4.17's -EINVAL for FLUSH_CACHE_GLOBAL, NX in slot 258.
    expect(isKnown('0x1000[0] at the end: model 0x1021e06, xen 0x1021e66')).toBe(false);
    expect(isKnown('0x100b[0] at the end: model empty, xen 0x60')).toBe(false);
    expect(isKnown('multicall results: model [-13,-22,-14,0], xen [-22,-22,-14,0]')).toBe(false);
    expect(isKnown('read: model 0x1000063, xen 0x8000000001000063')).toBe(false);
    expect(isKnown('mmuext_op rc: model 0, xen -22')).toBe(false);
  });
});
