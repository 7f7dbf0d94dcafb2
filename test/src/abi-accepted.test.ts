// Issue 12: what a guest can put in a register is Xen's to answer, never bad input. Each record
// below used to stop a replay with exit 2; now it runs, through the real reader and the real
// hypervisor (in process, --audit on), and gets the answer Xen 4.17 gives — each `expect` names
// the source line it follows. What no register can hold stays exit 2 (the last tests here, and
// test/src/hostile.test.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replay, type ReplayOptions, type ReplaySummary } from '../../src/replay/replay.ts';

const dir = mkdtempSync(join(tmpdir(), 'xensim-abi-'));
let n = 0;
function trace(lines: string[]): string {
  const p = join(dir, `t${n++}.ndjson`);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

async function run(lines: string[], opts: ReplayOptions = {}): Promise<{ s: ReplaySummary; out: string; err: string; json: Record<string, unknown>[] }> {
  let out = '';
  let err = '';
  const s = await replay(trace(lines), {
    json: true,
    audit: true,
    out: { write: (x: string) => (out += x) },
    err: { write: (x: string) => (err += x) },
    ...opts,
  });
  const json = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { s, out, err, json };
}

/** Runs the records after a 4-level tree (va 0x10000 → mfn 0x1010) and expects every expect to hold. */
async function holds(records: string[]): Promise<void> {
  const r = await run([...TREE, ...records]);
  expect(r.err, r.out).toBe('');
  expect(r.s).toMatchObject({ exit: 0, failed: 0, held: TREE_EXPECTS + records.length });
}

const TREE = [
  '{"op":"create_domain","domid":1,"vcpus":2,"frames":{"base":"0x1000","count":64}}',
  '{"op":"create_domain","domid":2,"vcpus":1,"frames":{"base":"0x2000","count":16}}',
  '{"op":"store","mfn":"0x1000","slot":0,"val":"0x1001067"}',
  '{"op":"store","mfn":"0x1001","slot":0,"val":"0x1002067"}',
  '{"op":"store","mfn":"0x1002","slot":0,"val":"0x1003067"}',
  '{"op":"store","mfn":"0x1003","slot":16,"val":"0x1010063"}',
  '{"op":"mmuext_op","ops":[{"cmd":"pin_l4_table","mfn":"0x1000"},{"cmd":"new_baseptr","mfn":"0x1000"}],"expect":0}',
];
const TREE_EXPECTS = 1;

describe('MFN arguments: any 64-bit value; past the frame table Xen says -EINVAL (mfn_valid)', () => {
  it("XSA-167's mark_super of -1 << 21: -EOPNOTSUPP (mm.c:3912, do_mmuext_op), nothing stops", async () => {
    await holds([
      '{"op":"mmuext_op","ops":[{"cmd":"mark_super","mfn":"0xffffffffffe00000"}],"expect":{"rc":-95,"done":0}}',
      '{"op":"mmuext_op","ops":[{"cmd":"unmark_super","mfn":"0xffffffffffe00000"}],"expect":{"rc":-95,"done":0}}',
    ]);
  });

  it('pin, unpin, base pointers, clear and copy of a frame past the table: -EINVAL (get_page_from_gfn fails)', async () => {
    const bad = ['"0x10000000000"', '"0x20000000000000"', '"0xffffffffffffffff"', '9007199254740991'];
    const recs: string[] = [];
    for (const m of bad) {
      for (const cmd of ['pin_l1_table', 'pin_l4_table', 'unpin_table', 'new_baseptr', 'new_user_baseptr', 'clear_page']) {
        recs.push(`{"op":"mmuext_op","ops":[{"cmd":"${cmd}","mfn":${m}}],"expect":{"rc":-22,"done":0}}`);
      }
      recs.push(`{"op":"mmuext_op","ops":[{"cmd":"copy_page","mfn":"0x1020","src_mfn":${m}}],"expect":{"rc":-22,"done":0}}`);
      recs.push(`{"op":"mmuext_op","ops":[{"cmd":"copy_page","mfn":${m},"src_mfn":"0x1020"}],"expect":{"rc":-22,"done":0}}`);
      recs.push(`{"op":"set_gdt","frames":[${m}],"entries":1,"expect":-22}`);
      recs.push(`{"op":"decrease_reservation","mfns":[${m}],"expect":0}`);
      recs.push(`{"op":"memory_exchange","mfns":[${m}],"expect":-22}`);
      recs.push(`{"op":"frame","mfn":${m},"expect":{"owner":null,"count":0}}`);
    }
    await holds(recs);
  });

  it('an argument the command ignores is ignored, whatever it holds', async () => {
    await holds([
      '{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_local","mfn":"0xffffffffffffffff","src_mfn":"0xffffffffffffffff"}],"expect":{"rc":0,"done":1}}',
      '{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_all","linear_addr":"0xffffffffffffffff","nr_ents":"0xffffffffffffffff"}],"expect":{"rc":0,"done":1}}',
      // SET_LDT with no entries ignores linear_addr (mm.c:3811: ptr = ents ? linear_addr : …).
      '{"op":"mmuext_op","ops":[{"cmd":"set_ldt","linear_addr":"0xffffffffffffffff","nr_ents":0}],"expect":{"rc":0,"done":1}}',
    ]);
  });
});

describe('narrowed arguments: truncated where the C type of the prototype narrows', () => {
  it('foreigndom is an unsigned int; mmuext_op keeps 16 bits of it (get_pg_owner(domid_t))', async () => {
    await holds([
      // 0x1_0000_7ff0 → 0x7ff0 = DOMID_SELF (do_mmuext_op(…, unsigned int foreigndom)).
      '{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_local"}],"foreigndom":"0x100007ff0","expect":{"rc":0,"done":1}}',
      // 0x1_7ff0 → unsigned int keeps it, get_pg_owner((domid_t)…) → 0x7ff0.
      '{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_local"}],"foreigndom":"0x17ff0","expect":{"rc":0,"done":1}}',
      // mmu_update: 0xffffffff_00007ff0 → 0x7ff0 (do_mmu_update(…, unsigned int foreigndom)).
      '{"op":"mmu_update","reqs":[{"ptr":"0x1003080","val":"0x1011063"}],"foreigndom":"0xffffffff00007ff0","expect":{"rc":0,"done":1}}',
      // Your own numeric id after truncation: -ESRCH (get_pg_owner, "Cannot specify itself").
      '{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_local"}],"foreigndom":"0xffff00000001","expect":{"rc":-3,"done":0}}',
    ]);
  });

  it('cmd and nr_ents are unsigned ints of struct mmuext_op; set_gdt entries an unsigned int', async () => {
    await holds([
      // cmd 0x1_0000_0006 → 6 = TLB_FLUSH_LOCAL.
      '{"op":"mmuext_op","ops":[{"cmd":"0x100000006"}],"expect":{"rc":0,"done":1}}',
      // An unknown command: -ENOSYS (do_mmuext_op's default).
      '{"op":"mmuext_op","ops":[{"cmd":"0xffffffffffffffff"}],"expect":{"rc":-38,"done":0}}',
      // nr_ents 2^32 + 16 → 16.
      '{"op":"mmuext_op","ops":[{"cmd":"set_ldt","linear_addr":"0x20000","nr_ents":"0x100000010"}],"expect":{"rc":0,"done":1}}',
      // entries 2^32 → 0: no frames, an empty GDT (pv_set_gdt).
      '{"op":"set_gdt","frames":[],"entries":"0x100000000","expect":0}',
    ]);
  });
});

describe('vCPU bitmaps and UVMF flags', () => {
  it('vCPU ids past max_vcpus are skipped (vcpumask_to_pcpumask, mm.c:3394)', async () => {
    await holds([
      '{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_multi","vcpumask":[0,1,4096,9007199254740991]}],"expect":{"rc":0,"done":1}}',
      '{"op":"mmuext_op","ops":[{"cmd":"invlpg_multi","linear_addr":"0x10000","vcpumask":[5000]}],"expect":{"rc":0,"done":1}}',
    ]);
  });

  it('UVMF_MULTI: pointer bits anywhere in the 64; flush type 3 flushes nothing and reads no mask', async () => {
    await holds([
      '{"op":"update_va_mapping","va":"0x10000","val":"0x1010063","flags":"0xffff888000001002","vcpumask":[0,1,200],"expect":0}',
      '{"op":"update_va_mapping","va":"0x10000","val":"0x1010063","flags":"0xffff888000001001","vcpumask":null,"expect":-14}',
      '{"op":"update_va_mapping","va":"0x10000","val":"0x1010063","flags":"0xffffffffffffffff","expect":0}',
      '{"op":"update_va_mapping","va":"0x10000","val":"0x1010063","flags":"0x100000000","expect":0}',
    ]);
  });
});

describe('multicall runs every hypercall the trace expresses; unknown numbers get -ENOSYS', () => {
  it('set_gdt, decrease_reservation, memory_exchange, update_va_mapping_otherdomain and numbers in one batch', async () => {
    const calls = [
      '{"op":"set_gdt","frames":["0x1030"],"entries":16}',
      '{"op":"memory_exchange","mfns":["0x1031"]}',
      '{"op":"decrease_reservation","mfns":["0x1032","0x1033"]}',
      '{"op":"update_va_mapping_otherdomain","va":"0x10000","val":"0x1010063","flags":"invlpg|local","domid":"0x7ff0"}',
      '{"op":"update_va_mapping_otherdomain","va":"0x10000","val":"0x1010063","flags":0,"domid":"0x10007ff0"}',
      '{"op":"update_va_mapping_otherdomain","va":"0x10000","val":"0x1010063","flags":0,"domid":2}',
      '{"op":"update_va_mapping_otherdomain","va":"0x10000","val":"0x1010063","flags":0,"domid":9}',
      '{"op":38}',
      '{"op":"0xffffffffffffffff"}',
      '{"op":"hypercall","nr":64}',
      '{"op":26,"ops":[{"cmd":"tlb_flush_local"}]}',
      '{"op":"multicall","calls":[]}',
    ];
    // domid 2: a domU may not act on d2 (XSM_TARGET: -EPERM); domid 9: no such domain (-ESRCH).
    const results = [0, 0, 2, 0, 0, -1, -3, -38, -38, -38, 0, -22];
    await holds([`{"op":"multicall","calls":[${calls.join(',')}],"expect":{"rc":0,"results":[${results.join(',')}]}}`]);
  });

  it('set_gdt, in a multicall or not, flushes the caller\'s TLB on success (do_set_gdt, pv/descriptor-tables.c:145)', async () => {
    await holds([
      '{"op":"access","va":"0x10000","write":false,"expect":{"rc":0,"tlb_hit":false}}',
      '{"op":"access","va":"0x10000","write":false,"expect":{"rc":0,"tlb_hit":true}}',
      '{"op":"multicall","calls":[{"op":"set_gdt","frames":["0x1030"],"entries":16}],"expect":{"results":[0]}}',
      '{"op":"access","va":"0x10000","write":false,"expect":{"rc":0,"tlb_hit":false}}',
      '{"op":"set_gdt","frames":["0x1031"],"entries":1,"expect":0}',
      '{"op":"access","va":"0x10000","write":false,"expect":{"rc":0,"tlb_hit":false}}',
    ]);
  });

  it('update_va_mapping_otherdomain and an unknown number as records of their own', async () => {
    await holds([
      '{"op":"update_va_mapping_otherdomain","va":"0x10000","val":"0x1010063","flags":"tlb_flush|all","domid":"0x7ff0","expect":0}',
      '{"op":22,"va":"0x10000","val":"0x1010063","flags":0,"domid":1,"expect":-3}',
      '{"op":99,"expect":-38}',
    ]);
  });

  it('a decrease_reservation of 65,546 MFNs (once refused as too long) runs as Xen runs it: rc 1', async () => {
    const mfns = new Array(65_546).fill('"0x1000"').join(',');
    const r = await run([
      '{"op":"create_domain","domid":1,"vcpus":1,"frames":{"base":"0x1000","count":16}}',
      `{"op":"decrease_reservation","mfns":[${mfns}],"expect":1}`,
    ]);
    expect(r.s).toMatchObject({ exit: 0, failed: 0, held: 1 });
  });
});

describe('one Xen version, named: 4.17 by default, master on request (docs/xen-versions.md)', () => {
  it("an unpermitted FLUSH_CACHE_GLOBAL: -EINVAL in 4.17 (mm.c:3805), -EACCES in master", async () => {
    const lines = [
      '{"op":"create_domain","domid":1,"vcpus":1,"frames":{"base":"0x1000","count":16}}',
      '{"op":"mmuext_op","ops":[{"cmd":"flush_cache_global"}]}',
      '{"op":"mmuext_op","ops":[{"cmd":"flush_cache"}]}',
    ];
    const rcs = async (opts: ReplayOptions) => (await run(lines, opts)).json.slice(1).map((r) => r.rc);
    expect(await rcs({})).toEqual([-22, -13]);
    expect(await rcs({ xenVersion: '4.17' })).toEqual([-22, -13]);
    expect(await rcs({ xenVersion: 'master' })).toEqual([-13, -13]);
  });
});

describe('still bad input (exit 2): what no register can hold, and hypercalls not modelled', () => {
  for (const [what, line, says] of [
    ['an MFN over 64 bits', '{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x10000000000000000"}]}', 'field "ops[0].mfn": value over 64 bits'],
    ['a negative foreigndom', '{"op":"mmu_update","reqs":[],"foreigndom":-1}', 'field "foreigndom": expected'],
    ['flags that are not a number', '{"op":"update_va_mapping","va":0,"val":0,"flags":true}', 'field "flags": expected'],
    ['a missing domid', '{"op":"update_va_mapping_otherdomain","va":0,"val":0,"flags":0}', 'field "domid": expected'],
    ['a hypercall Xen has but the simulator does not model', '{"op":"multicall","calls":[{"op":24}]}', 'field "calls[0].op": hypercall 24 (vcpu_op) is not modelled'],
    ['memory_op by number', '{"op":12}', 'field "op": memory_op (12) by number'],
  ] as const) {
    it(what, async () => {
      const r = await run(['{"op":"create_domain","domid":1,"vcpus":1,"frames":{"base":"0x1000","count":16}}', line]);
      expect(r.s.exit).toBe(2);
      expect(r.err).toContain(says);
    });
  }
});
