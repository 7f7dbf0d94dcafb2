// Issue 12 acceptance: every argument of every hypercall the trace can express, drawn from the whole
// range of its C type (64 bits for a register, the struct field's width for cmd and nr_ents) and
// biased to the edges — 0, 2^n±1, all-ones, this and other domains' frames, DOMID_* — is a
// hypercall for Xen to answer: the record, written as NDJSON text, goes through the real reader
// (parseLine: it must not refuse it, i.e. no exit 2), then to a Hypervisor; the audit stays clean
// after every call, and the rc is one Xen 4.17 can return for that call (ALLOWED, from the source).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DOMID_IO,
  DOMID_SELF,
  DOMID_XEN,
  EACCES,
  EBUSY,
  EFAULT,
  EINVAL,
  ENOSYS,
  EOPNOTSUPP,
  EPERM,
  ERRNO,
  ESRCH,
  Hypervisor,
  hypercallHandled,
  type CallResult,
  type Hypercall,
} from '../../hypervisor/index.ts';
import { replay } from '../../src/replay/replay.ts';
import { parseLine } from '../../src/trace/read.ts';
import type { TraceRecord } from '../../src/trace/types.ts';
import { runs, SEED, timeout } from './shrunk.ts';

const ENOMEM = -ERRNO.ENOMEM;

/**
 * What Xen 4.17 can answer, per call (64-bit PV; -ENOENT/-ENOMEM of paging and sharing are for
 * translated guests only; -ERESTART/-EINTR become continuations the guest never sees):
 * - mmu_update (mm.c:3963 do_mmu_update): -EFAULT (guest handle, L3/L4 cmpxchg 2347–2429), -ESRCH
 *   (PFD 4018, FD 4031), -EINVAL, -EPERM (XSM, get_page_from_l1e), -ENOSYS (ptr & 7 ≥ 4), -EBUSY
 *   (get_page_from_l1e could_not_pin 1046, L1/L2 cmpxchg 2208–2304), -EACCES (cache attributes of
 *   a Xen heap page, 1025);
 * - mmuext_op (3424 do_mmuext_op): -EFAULT (3467, 3495), -ESRCH (3470), -EINVAL, -EPERM, -ENOSYS,
 *   -EOPNOTSUPP (MARK_SUPER), -EACCES (FLUSH_CACHE 3784), and what validating a table to pin it
 *   returns (-EBUSY, -EPERM, -EACCES from the entries);
 * - update_va_mapping (4447 __do_update_va_mapping): -EPERM (XSM), -EINVAL, mod_l1_entry's errors
 *   (-EBUSY, -EPERM, -EACCES), -EFAULT (vcpumask_to_pcpumask 3403); _otherdomain adds -ESRCH (4567);
 * - set_gdt (pv/descriptor-tables.c do_set_gdt): -EINVAL, -EFAULT;
 * - memory_exchange (common/memory.c:547): -EFAULT, -EINVAL, -ENOMEM, -EPERM, -ESRCH;
 * - decrease_reservation: the number of extents done, 0 … nr;
 * - a number without a handler: -ENOSYS; multicall: 0, each entry its own answer, a nested
 *   multicall -EINVAL (common/multicall.c: "Multicall reentry is disallowed").
 */
const ALLOWED: Record<string, readonly number[]> = {
  mmu_update: [0, EFAULT, ESRCH, EINVAL, EPERM, ENOSYS, EBUSY, EACCES],
  mmuext_op: [0, EFAULT, ESRCH, EINVAL, EPERM, ENOSYS, EOPNOTSUPP, EACCES, EBUSY],
  update_va_mapping: [0, EPERM, EINVAL, EBUSY, EACCES, EFAULT],
  update_va_mapping_otherdomain: [0, ESRCH, EPERM, EINVAL, EBUSY, EACCES, EFAULT],
  set_gdt: [0, EINVAL, EFAULT],
  memory_exchange: [0, EFAULT, EINVAL, ENOMEM, EPERM, ESRCH],
  hypercall: [ENOSYS],
};

// ---- The machine: d1 (2 vCPUs, a live 4-level tree: va 0x10000 → 0x1010), d2, privileged d0 ----
const D1 = 0x1000;
const D2 = 0x2000;
const D0 = 0x3000;
function machine(): Hypervisor {
  const hv = new Hypervisor();
  hv.createDomain({ domid: 1, vcpus: 2, base: D1, count: 64 });
  hv.createDomain({ domid: 2, vcpus: 1, base: D2, count: 16 });
  hv.createDomain({ domid: 0, vcpus: 1, base: D0, count: 16, privileged: true });
  const c = { dom: 1, vcpu: 0 };
  hv.store(c, D1, 0, 0x1001067n);
  hv.store(c, D1 + 1, 0, 0x1002067n);
  hv.store(c, D1 + 2, 0, 0x1003067n);
  hv.store(c, D1 + 3, 16, 0x1010063n);
  const r = hv.hypercall(c, { op: 'mmuext_op', ops: [{ cmd: 3, mfn: D1 }, { cmd: 5, mfn: D1 }] });
  if (r.rc !== 0) throw new Error('the tree did not build');
  return hv;
}

// ---- Values, biased to the edges ----------------------------------------------------------------
const ALL = 2n ** 64n - 1n;
const EDGES: bigint[] = [0n, 1n, 2n, 3n, 4n, 7n, 8n, ALL, ALL - 3n, -1n << 21n & ALL];
for (const n of [8, 12, 16, 20, 21, 31, 32, 39, 40, 47, 48, 52, 53, 63]) {
  const p = 1n << BigInt(n);
  EDGES.push(p - 1n, p, p + 1n);
}
EDGES.push(ALL - (1n << 63n) + 1n);
const FRAMES = [D1, D1 + 1, D1 + 3, D1 + 0x10, D1 + 0x20, D1 + 63, D1 + 64, D2, D2 + 5, D0, D0 + 3, 0x10, 0x800];
const DOMIDS = [0, 1, 2, 3, 9, DOMID_SELF, DOMID_IO, DOMID_XEN, 0x7ff3, 0x7ff4, 0x7fff, 0xffff];

const u64 = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...EDGES) },
  { weight: 2, arbitrary: fc.constantFrom(...FRAMES.map(BigInt), ...DOMIDS.map(BigInt)) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: ALL }) },
);
const frame = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...FRAMES.map(BigInt)) }, { weight: 2, arbitrary: u64 });
const FLAGS = [0x0n, 0x1n, 0x3n, 0x7n, 0x23n, 0x63n, 0x67n, 0x65n, 0x80n, 0x18n, 0x100n, 0x8000000000000063n, 0xfff0000000000067n];
const pte = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(frame, fc.constantFrom(...FLAGS)).map(([m, f]) => ((m << 12n) | f) & ALL) },
  { weight: 1, arbitrary: u64 },
);
const ptr = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(frame, fc.integer({ min: 0, max: 511 }), fc.integer({ min: 0, max: 7 })).map(([m, s, c]) => ((m << 12n) | BigInt(s * 8 + c)) & ALL) },
  { weight: 1, arbitrary: u64 },
);
const VAS = [0x10000n, 0x10fffn, 0n, 0x7fffffffffffn, 0x800000000000n, 0xffff800000000000n, 0xffff800000010000n, ALL];
const va = fc.oneof({ weight: 2, arbitrary: fc.constant(0x10000n) }, { weight: 2, arbitrary: fc.constantFrom(...VAS) }, { weight: 1, arbitrary: u64 });
/** A 32-bit struct field (cmd, nr_ents): its range, and now and then the 64-bit word it sits in. */
const u32 = (small: number[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...small.map(BigInt)) },
    { weight: 2, arbitrary: fc.constantFrom(0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 0xffffffffn }) },
    { weight: 1, arbitrary: u64 },
  );
const cmd = u32([...Array.from({ length: 22 }, (_, i) => i), 255]);
/** A register that narrows to a domain id: domids, PFD encodings, garbage above. */
const fd = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(BigInt(DOMID_SELF)) },
  { weight: 3, arbitrary: fc.constantFrom(...DOMIDS.map(BigInt)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(0n, 1n, 2n, 3n, 10n, 0xffffn), fc.constantFrom(...DOMIDS.map(BigInt))).map(([p, d]) => (p << 16n) | d) },
  { weight: 1, arbitrary: fc.tuple(u64, fc.constantFrom(...DOMIDS.map(BigInt))).map(([hi, d]) => ((hi << 32n) | d) & ALL) },
  { weight: 1, arbitrary: u64 },
);
const mask = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 4, arbitrary: fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(63, 64, 127, 128, 4095, 4096, 2 ** 32, 2 ** 53 - 1)), { maxLength: 4 }) },
);
const flags = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n) },
  { weight: 2, arbitrary: fc.tuple(u64, fc.integer({ min: 0, max: 3 })).map(([p, t]) => (p & ~3n) | BigInt(t)) },
  { weight: 1, arbitrary: u64 },
);
const list = <T,>(a: fc.Arbitrary<T>) => fc.array(a, { maxLength: 3 });

/** A 64-bit value as the trace spells it: a JSON integer when it is one, a hex string otherwise. */
function j(v: bigint, asNumber: boolean): number | string {
  return asNumber && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : '0x' + v.toString(16);
}
const spell = <T,>(a: fc.Arbitrary<T>) => fc.tuple(a, fc.boolean());
const J = (a: fc.Arbitrary<bigint>) => spell(a).map(([v, n]) => j(v, n));

type Obj = Record<string, unknown>;
const mmuUpdate = fc.record({ reqs: list(fc.record({ ptr: J(ptr), val: J(pte) })), fd: fc.option(J(fd), { freq: 2 }) }).map(({ reqs, fd }) => ({
  op: 'mmu_update',
  reqs,
  ...(fd === null ? {} : { foreigndom: fd }),
}));
const mmuextOp = fc
  .record({ ops: list(fc.record({ cmd: J(cmd), mfn: J(frame), linear_addr: J(va), vcpumask: mask, nr_ents: J(u32([0, 1, 16, 8192, 8193])), src_mfn: J(frame) })), fd: fc.option(J(fd), { freq: 2 }) })
  .map(({ ops, fd }) => ({ op: 'mmuext_op', ops, ...(fd === null ? {} : { foreigndom: fd }) }));
/** The mask is the pointer's memory: given whenever a flush would read it, now and then otherwise. */
function uvm(op: string, v: bigint, val: bigint, fl: bigint, m: number[] | null, give: boolean, asNum: boolean): Obj {
  const type = fl & 3n;
  const scope = fl & ~3n;
  const reads = (type === 1n || type === 2n) && scope !== 0n && scope !== 4n;
  return { op, va: j(v, asNum), val: j(val, asNum), flags: j(fl, asNum), ...(reads || give ? { vcpumask: m } : {}) };
}
const updateVa = fc.tuple(va, pte, flags, mask, fc.boolean(), fc.boolean()).map(([v, val, fl, m, give, n]) => uvm('update_va_mapping', v, val, fl, m, give, n));
const updateVaOther = fc
  .tuple(va, pte, flags, mask, fc.boolean(), fc.boolean(), J(fd))
  .map(([v, val, fl, m, give, n, domid]) => ({ ...uvm('update_va_mapping_otherdomain', v, val, fl, m, give, n), domid }));
const setGdt = fc.record({ frames: list(J(frame)), entries: J(u32([0, 1, 16, 511, 512, 513, 1024, 7168, 7169])) }).map((r) => ({ op: 'set_gdt', ...r }));
const reservation = fc.tuple(fc.constantFrom('decrease_reservation', 'memory_exchange'), list(J(frame))).map(([op, mfns]) => ({ op, mfns }));
/** A hypercall number without a handler (any 64-bit value Xen's table has nothing for). */
const unknown = J(u64.filter((n) => !hypercallHandled(n < 2n ** 53n ? Number(n) : n)));
const leaf: fc.Arbitrary<Obj> = fc.oneof(mmuUpdate, mmuextOp, updateVa, updateVaOther, setGdt, reservation, unknown.map((nr) => ({ op: 'hypercall', nr })));
/** Multicall entries: any of the above, some by number, unknown numbers, a nested multicall. */
const BY_NUMBER: Record<string, number> = { mmu_update: 1, set_gdt: 2, update_va_mapping: 14, update_va_mapping_otherdomain: 22, mmuext_op: 26 };
const entry = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(leaf, fc.boolean()).map(([c, n]) => (n && BY_NUMBER[c.op as string] !== undefined ? { ...c, op: BY_NUMBER[c.op as string] } : c)) },
  { weight: 1, arbitrary: unknown.map((op) => ({ op })) },
  { weight: 1, arbitrary: list(leaf).map((calls) => ({ op: 'multicall', calls })) },
);
const call = fc.oneof({ weight: 5, arbitrary: leaf }, { weight: 2, arbitrary: list(entry).map((calls) => ({ op: 'multicall', calls })) });
const caller = fc.constantFrom({ dom: 1, vcpu: 0 }, { dom: 1, vcpu: 1 }, { dom: 2, vcpu: 0 }, { dom: 0, vcpu: 0 });

// ---- The check ------------------------------------------------------------------------------------
function entries(c: Hypercall): number {
  return c.op === 'mmu_update' ? c.reqs.length : c.op === 'mmuext_op' ? c.ops.length : c.op === 'decrease_reservation' ? c.mfns.length : 0;
}

/** Why rc is not one Xen can return for c, or undefined. */
function badRc(c: Hypercall, rc: number, nested = false): string | undefined {
  if (c.op === 'multicall') return nested ? (rc === EINVAL ? undefined : `nested multicall rc ${rc}, expected -EINVAL`) : rc === 0 ? undefined : `multicall rc ${rc}`;
  if (c.op === 'decrease_reservation') return rc >= 0 && rc <= entries(c) ? undefined : `decrease_reservation rc ${rc} of ${entries(c)}`;
  return ALLOWED[c.op]!.includes(rc) ? undefined : `${c.op} rc ${rc} is not one Xen 4.17 returns (${ALLOWED[c.op]!.join(', ')})`;
}

function check(c: Hypercall, r: CallResult): string | undefined {
  const bad = badRc(c, r.rc);
  if (bad) return bad;
  if (r.done !== undefined && (r.done < 0 || r.done > entries(c))) return `done ${r.done} of ${entries(c)}`;
  if (c.op === 'multicall') {
    if (r.results?.length !== c.calls.length) return `${r.results?.length} results for ${c.calls.length} entries`;
    for (let i = 0; i < c.calls.length; i++) {
      const e = badRc(c.calls[i]!, r.results[i]!, true);
      if (e) return `calls[${i}]: ${e}`;
    }
  }
  return undefined;
}

/** ABI_STATS=FILE: which (call, rc) pairs the draws reached, written to FILE (to tune the biases). */
const STATS = process.env.ABI_STATS ? new Map<string, number>() : undefined;
function tally(c: Hypercall, r: CallResult): void {
  const add = (k: string) => STATS!.set(k, (STATS!.get(k) ?? 0) + 1);
  add(`${c.op} ${r.rc}`);
  if (c.op === 'multicall') c.calls.forEach((s, i) => add(`  in multicall: ${s.op} ${r.results![i]}`));
}
afterAll(() => {
  if (STATS) writeFileSync(process.env.ABI_STATS!, [...STATS].sort().map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
});

describe('issue 12: every register value of every expressible hypercall is answered as Xen 4.17 does', () => {
  it(
    'no draw is bad input (through the reader), the audit stays clean, every rc is one Xen can return',
    () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(caller, call), { minLength: 1, maxLength: 6 }), (seq) => {
          const hv = machine();
          for (const [who, raw] of seq) {
            const text = JSON.stringify({ ...raw, dom: who.dom, vcpu: who.vcpu });
            let rec: TraceRecord | null;
            try {
              rec = parseLine(text, 'draw.ndjson', 1);
            } catch (e) {
              throw new Error(`exit 2 for a register value: ${(e as Error).message}\n  ${text}`);
            }
            expect(rec, text).not.toBeNull();
            const c = rec as Hypercall & { dom: number; vcpu: number };
            const r = hv.hypercall({ dom: c.dom, vcpu: c.vcpu }, c);
            if (STATS) tally(c, r);
            const why = check(c, r);
            if (why !== undefined) throw new Error(`${why}\n  ${text}`);
            const audit = hv.audit();
            if (audit.length > 0) throw new Error(`audit after ${text}:\n  ${audit.join('\n  ')}`);
          }
        }),
        { numRuns: runs(400), seed: SEED },
      );
    },
    timeout(60_000),
  );

  it('the same draws run whole through `replay` (report, --json, log, --audit): exit 0, never bad input or an internal error', async () => {
    const prologue = [
      '{"op":"create_domain","domid":1,"vcpus":2,"frames":{"base":"0x1000","count":64}}',
      '{"op":"create_domain","domid":2,"vcpus":1,"frames":{"base":"0x2000","count":16}}',
      '{"op":"create_domain","domid":0,"vcpus":1,"frames":{"base":"0x3000","count":16},"privileged":true}',
      '{"op":"store","dom":1,"mfn":"0x1000","slot":0,"val":"0x1001067"}',
      '{"op":"store","dom":1,"mfn":"0x1001","slot":0,"val":"0x1002067"}',
      '{"op":"store","dom":1,"mfn":"0x1002","slot":0,"val":"0x1003067"}',
      '{"op":"store","dom":1,"mfn":"0x1003","slot":16,"val":"0x1010063"}',
      '{"op":"mmuext_op","dom":1,"ops":[{"cmd":"pin_l4_table","mfn":"0x1000"},{"cmd":"new_baseptr","mfn":"0x1000"}],"expect":0}',
    ];
    const draws = fc.sample(fc.tuple(caller, call), { numRuns: runs(300), seed: SEED });
    const path = join(mkdtempSync(join(tmpdir(), 'xensim-abi-prop-')), 'draws.ndjson');
    writeFileSync(path, [...prologue, ...draws.map(([who, raw]) => JSON.stringify({ ...raw, dom: who.dom, vcpu: who.vcpu }))].join('\n') + '\n');
    for (const json of [false, true]) {
      let err = '';
      let log = '';
      const s = await replay(path, {
        json,
        audit: true,
        out: { write: () => true },
        err: { write: (x: string) => (err += x) },
        log: { write: (x: string) => (log += x) },
      });
      expect(err).toBe('');
      expect(s).toMatchObject({ exit: 0, reason: 'finished', records: prologue.length + draws.length });
      expect(log).not.toContain('internal_error');
    }
  }, timeout(60_000));
});
