import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hypercallHandled, MMUEXT, UVMF } from '../../hypervisor/abi.ts';
import type { Hypercall, MmuextOp } from '../../hypervisor/types.ts';
import { EXPECT_KEYS, parseLine, recordToJson, recordToLine, type Expect, type TraceOp, type TraceRecord } from '../../src/trace/index.ts';

/** fc.record with ordinary objects (toStrictEqual compares prototypes). */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }, opts: { requiredKeys?: (keyof T)[] } = {}): fc.Arbitrary<T> {
  return fc.record(model, { ...opts, noNullPrototype: true } as never) as unknown as fc.Arbitrary<T>;
}

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
/** An unsigned long argument (issue 12): a number below 2^53, a bigint at and above. */
const ulong = fc.oneof(fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }));
const mfn = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 2 ** 40 - 1 }) }, { weight: 1, arbitrary: ulong });
const slot = fc.integer({ min: 0, max: 511 });
const vcpuId = fc.integer({ min: 0, max: 4095 });
const mask = fc.oneof(fc.array(vcpuId, { maxLength: 4 }), fc.constant(null));
const domid = fc.integer({ min: 0, max: 0x7fef });

const mmuextOp: fc.Arbitrary<MmuextOp> = fc.oneof(
  rec({ cmd: fc.constantFrom(0, 1, 2, 3, 4, 5, 15, 16), mfn }),
  rec({ cmd: fc.constant(MMUEXT.copy_page), mfn, src_mfn: mfn }),
  rec({ cmd: fc.constantFrom(MMUEXT.invlpg_local, MMUEXT.invlpg_all), linear_addr: u64 }),
  rec({ cmd: fc.constant(MMUEXT.tlb_flush_multi), vcpumask: mask }),
  rec({ cmd: fc.constant(MMUEXT.invlpg_multi), linear_addr: u64, vcpumask: mask }),
  rec({ cmd: fc.constant(MMUEXT.set_ldt), linear_addr: u64, nr_ents: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
  rec({ cmd: fc.constantFrom(6, 10, 12, 18, 19, 20) }),
  // A number Xen does not know, with whatever arguments.
  rec(
    { cmd: fc.integer({ min: 21, max: 2 ** 32 - 1 }), mfn, linear_addr: u64, vcpumask: mask, nr_ents: fc.nat(), src_mfn: mfn },
    { requiredKeys: ['cmd'] },
  ),
);

const foreigndom = fc.integer({ min: 0, max: 0xffff });

const uvm = fc.oneof(
  rec({ op: fc.constant('update_va_mapping' as const), va: u64, val: u64, flags: fc.constantFrom(0, 1, 2, 4, 5, 6) }),
  rec({
    op: fc.constant('update_va_mapping' as const),
    va: u64,
    val: u64,
    flags: fc.constantFrom(0, 1, 2).map((t) => t | UVMF.MULTI),
    vcpumask: mask,
  }),
  // Raw multi flags: a "pointer" in flags & ~3.
  rec({
    op: fc.constant('update_va_mapping' as const),
    va: u64,
    val: u64,
    flags: fc.oneof(fc.integer({ min: 8, max: 2 ** 40 }), fc.constantFrom(2 ** 32, 2 ** 32 + 2, 2 ** 32 + 6)),
    vcpumask: mask,
  }),
  // Flags above 2^53 (a bigint) and a mask the flush may not read.
  rec({ op: fc.constant('update_va_mapping' as const), va: u64, val: u64, flags: fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }), vcpumask: mask }),
);
const uvmOther = uvm.chain((u) => fc.integer({ min: 0, max: 0xffff }).map((domid) => ({ ...u, op: 'update_va_mapping_otherdomain' as const, domid })));
const unknownNr = ulong.filter((n) => !hypercallHandled(n));

const { hypercall } = fc.letrec<{ hypercall: Hypercall }>((tie) => ({
  hypercall: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    rec(
      { op: fc.constant('mmu_update' as const), reqs: fc.array(rec({ ptr: u64, val: u64 }), { maxLength: 3 }), foreigndom },
      { requiredKeys: ['op', 'reqs'] },
    ),
    rec(
      { op: fc.constant('mmuext_op' as const), ops: fc.array(mmuextOp, { maxLength: 3 }), foreigndom },
      { requiredKeys: ['op', 'ops'] },
    ),
    uvm,
    uvmOther,
    rec({ op: fc.constant('set_gdt' as const), frames: fc.array(mfn, { maxLength: 3 }), entries: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
    rec({ op: fc.constantFrom('decrease_reservation' as const, 'memory_exchange' as const), mfns: fc.array(mfn, { maxLength: 3 }) }),
    rec({ op: fc.constant('hypercall' as const), nr: unknownNr }),
    rec({ op: fc.constant('multicall' as const), calls: fc.array(tie('hypercall'), { maxLength: 3 }) }),
  ),
}));

const ftype = fc.constantFrom('none', 'writable', 'l1', 'l2', 'l3', 'l4', 'seg_desc', 'shared');
const kindArb: Record<string, fc.Arbitrary<unknown>> = {
  rc: fc.integer({ min: -100, max: 100 }),
  done: fc.nat(10),
  results: fc.array(fc.integer({ min: -100, max: 0 }), { maxLength: 3 }),
  owner: fc.oneof(fc.constant(null), domid),
  type: ftype,
  type_count: fc.nat(),
  validated: fc.boolean(),
  pinned: fc.boolean(),
  count: fc.nat(),
  allocated: fc.boolean(),
  caf: u64,
  taf: u64,
  tlbflush_timestamp: fc.nat(),
  val: u64,
  mfn,
  present: fc.boolean(),
  writable: fc.boolean(),
  tlb_hit: fc.boolean(),
  stale: fc.boolean(),
  mismatches: fc.array(fc.string(), { maxLength: 2 }),
};
function expectFor(op: TraceOp): fc.Arbitrary<Expect> {
  const keys = Object.keys(EXPECT_KEYS[op]);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const k of keys) model[k] = kindArb[k]!;
  return fc.oneof(fc.integer({ min: -100, max: 100 }), rec(model, { requiredKeys: [] }) as fc.Arbitrary<Expect>);
}

function withCommon<T extends { op: TraceOp }>(a: fc.Arbitrary<T>): fc.Arbitrary<TraceRecord> {
  return a.chain((r) =>
    rec({ dom: domid, vcpu: vcpuId, expect: expectFor(r.op) }, { requiredKeys: [] })
      .map((c) => ({ ...r, ...c }) as unknown as TraceRecord),
  );
}

const record: fc.Arbitrary<TraceRecord> = fc.oneof(
  withCommon(
    rec(
      {
        op: fc.constant('create_domain' as const),
        domid,
        vcpus: fc.integer({ min: 1, max: 4096 }),
        frames: rec({ base: fc.integer({ min: 0, max: 2 ** 30 }), count: fc.integer({ min: 1, max: 2 ** 20 }) }),
        privileged: fc.boolean(),
        hardware: fc.boolean(),
        writable_pagetables: fc.boolean(),
      },
      { requiredKeys: ['op', 'domid', 'vcpus', 'frames'] },
    ),
  ),
  withCommon(rec({ op: fc.constant('destroy_domain' as const), domid })),
  withCommon(rec({ op: fc.constant('store' as const), mfn, slot, val: u64 })),
  withCommon(rec({ op: fc.constant('decrease_reservation' as const), mfns: fc.array(mfn, { maxLength: 4 }) })),
  withCommon(rec({ op: fc.constant('frame' as const), mfn })),
  withCommon(rec({ op: fc.constant('read' as const), mfn, slot })),
  withCommon(rec({ op: fc.constant('access' as const), va: u64, write: fc.boolean() })),
  withCommon(rec({ op: fc.constant('audit' as const) })),
  withCommon(hypercall as fc.Arbitrary<Hypercall & { op: TraceOp }>),
);

const reparse = (r: TraceRecord): TraceRecord | null => parseLine(recordToLine(r), 'rt.ndjson', 1);

describe('recordToJson', () => {
  it('round-trips every record: parse(write(r)) deep-equals r', () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(reparse(r)).toStrictEqual(r);
      }),
      { numRuns: 3000 },
    );
  });

  it('is a fixed point on the text: write(parse(write(r))) == write(r)', () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(recordToLine(reparse(r)!)).toBe(recordToLine(r));
      }),
      { numRuns: 500 },
    );
  });

  it('writes the normalised form: lower-case hex, cmd names, string flags', () => {
    const r = parseLine('{"op":"mmuext_op","dom":1,"ops":[{"cmd":3,"mfn":4096},{"cmd":"invlpg_all","linear_addr":"0xABC000"}],"expect":{"rc":-22}}', 'x', 1)!;
    expect(recordToJson(r)).toEqual({
      op: 'mmuext_op',
      dom: 1,
      ops: [
        { cmd: 'pin_l4_table', mfn: '0x1000' },
        { cmd: 'invlpg_all', linear_addr: '0xabc000' },
      ],
      expect: { rc: -22 },
    });
    const u = parseLine('{"op":"update_va_mapping","va":36864,"val":"0X1010067","flags":6}', 'x', 1)!;
    expect(recordToLine(u)).toBe('{"op":"update_va_mapping","va":"0x9000","val":"0x1010067","flags":"invlpg|all"}');
    const m = parseLine('{"op":"update_va_mapping","va":0,"val":0,"flags":10,"vcpumask":[1]}', 'x', 1)!;
    expect(recordToLine(m)).toBe('{"op":"update_va_mapping","va":"0x0","val":"0x0","flags":"invlpg","vcpumask":[1]}');
    const f = parseLine('{"op":"frame","mfn":4100,"expect":{"caf":16,"type":"l1"}}', 'x', 1)!;
    expect(recordToJson(f)).toEqual({ op: 'frame', mfn: '0x1004', expect: { caf: '0x10', type: 'l1' } });
  });

  it('the trace-format.md example reads and writes back to itself', () => {
    const lines = [
      '{"op":"create_domain","domid":1,"vcpus":2,"frames":{"base":"0x1000","count":64}}',
      '{"op":"store","mfn":"0x1000","slot":0,"val":"0x1001067"}',
      '{"op":"mmuext_op","ops":[{"cmd":"pin_l4_table","mfn":"0x1000"},{"cmd":"new_baseptr","mfn":"0x1000"}],"expect":0}',
      '{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x1010"}],"expect":-22}',
      '{"op":"frame","mfn":"0x1003","expect":{"type":"l1","type_count":1,"validated":true}}',
      '{"op":"update_va_mapping","va":"0x9000","val":"0x1010067","flags":"invlpg"}',
    ];
    for (const l of lines) expect(recordToLine(parseLine(l, 'x', 1)!)).toBe(l);
  });
});

// Keep the multi-flag generator honest: it must only produce multi values.
describe('generators', () => {
  it('raw multi flags are neither local nor all', () => {
    const samples = fc.sample(uvm, 200);
    for (const s of samples) {
      if (typeof s.flags !== 'number') continue;
      const scope = s.flags - (s.flags % 4);
      if (scope !== 0 && scope !== 4) expect('vcpumask' in s).toBe(true);
    }
  });
});
