// The generator (src/trace/generate.ts) and a long randomized run against the facade with the
// audit after EVERY record (§6 "Global invariants, asserted after every hypercall").
import { describe, expect, test } from 'vitest';
import { Hypervisor, errnoName } from '../../hypervisor/index.ts';
import { generateTrace, iterateTrace, mulberry32 } from '../../src/trace/generate.ts';
import { newStats, runRecord } from './trace-run.ts';
import type { RunStats } from './trace-run.ts';

function runAudited(seed: number, records: number, extensions = true): RunStats {
  // A release build: random traces reach the nested validation failure at which a debug build of
  // Xen stops (ASSERT_UNREACHABLE() in promote_l4_table); the audit accepts the release build's leak
  // there and nothing else, and reports it in a debug build (partial.test.ts).
  const hv = new Hypervisor({ debugBuild: false });
  const s = newStats();
  let i = 0;
  for (const r of iterateTrace({ seed, records, extensions })) {
    runRecord(hv, r, s);
    const bad = hv.audit();
    if (bad.length) {
      throw new Error(`audit failed after record ${i} ${JSON.stringify(r)}:\n${bad.slice(0, 10).join('\n')}`);
    }
    i++;
  }
  return s;
}

function summary(s: RunStats): string {
  const errnos = [...s.byErrno.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([rc, n]) => `${errnoName(rc)} ${n}`)
    .join(', ');
  const ops = [...s.byOp.entries()].map(([op, c]) => `${op} ${c.ok}/${c.refused}`).join(', ');
  return (
    `${s.records} records, ${s.hypercalls} hypercalls: ${s.ok} succeeded, ${s.refused} refused (${errnos}); ` +
    `per op ok/refused: ${ops}; stores ${s.stores.ok}/${s.stores.refused}; ` +
    `access ok ${s.access.ok} fault ${s.access.fault} stale ${s.access.stale}`
  );
}

describe('src/trace/generate.ts: a seeded, realistic trace generator', () => {
  test('mulberry32 is deterministic and spreads over [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.filter((x) => x < 0.5).length).toBeGreaterThan(400);
  });

  test('the same seed gives the same records; another seed other records', () => {
    const a = generateTrace({ seed: 7, records: 3000 }).map((r) => JSON.stringify(r));
    const b = generateTrace({ seed: 7, records: 3000 }).map((r) => JSON.stringify(r));
    const c = generateTrace({ seed: 8, records: 3000 }).map((r) => JSON.stringify(r));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(a).toHaveLength(3000);
  });

  test('trace-format.md shape: create_domain first, hex strings for MFNs/PTEs/VAs, every line is JSON', () => {
    const recs = generateTrace({ seed: 3, records: 5000, domains: 3, frames: 96 });
    expect(recs.slice(0, 3).map((r) => r.op)).toEqual(['create_domain', 'create_domain', 'create_domain']);
    expect(recs[0]).toEqual({ op: 'create_domain', domid: 1, vcpus: 2, frames: { base: '0x1000', count: 96 } });
    const ops = new Set(recs.map((r) => r.op));
    for (const o of ['store', 'mmu_update', 'mmuext_op', 'update_va_mapping', 'multicall', 'frame', 'read', 'access']) {
      expect(ops.has(o), o).toBe(true);
    }
    const hexy = /^0x[0-9a-f]+$/;
    for (const r of recs) {
      const line = JSON.stringify(r);
      expect(JSON.parse(line)).toEqual(r);
      if (r.op === 'store') expect([r.mfn, r.val].every((v) => typeof v === 'string' && hexy.test(v))).toBe(true);
      if (r.op === 'update_va_mapping') expect(hexy.test(r.va as string) && hexy.test(r.val as string)).toBe(true);
    }
    const pins = recs.filter((r) => r.op === 'mmuext_op' && JSON.stringify(r).includes('pin_l'));
    expect(pins.length).toBeGreaterThan(100);
  });

  test('without extensions only trace-format.md v1 ops appear', () => {
    const recs = generateTrace({ seed: 11, records: 5000, extensions: false });
    const v1 = new Set(['create_domain', 'store', 'mmu_update', 'mmuext_op', 'update_va_mapping', 'multicall', 'frame', 'read']);
    expect(recs.filter((r) => !v1.has(r.op))).toEqual([]);
  });

  test('the generated lines parse with the project\'s trace v1 reader (src/trace)', async () => {
    const { parseLine } = await import('../../src/trace/index.ts');
    const recs = generateTrace({ seed: 5, records: 5000 });
    recs.forEach((r, i) => {
      expect(() => parseLine(JSON.stringify(r), 'gen.ndjson', i + 1), JSON.stringify(r)).not.toThrow();
    });
  });
});

describe('§6 global invariants under a long random trace: audit after every record', () => {
  test('100,000 generated records, audited after each: no mismatch; many calls refused, many succeeded', () => {
    const t0 = performance.now();
    const s = runAudited(20261125, 100_000);
    const ms = performance.now() - t0;
    console.log(`trace-fuzz seed 20261125: ${summary(s)}; ${(ms / 1000).toFixed(1)} s`);
    expect(s.records).toBe(100_000);
    const total = s.ok + s.refused;
    expect(s.refused / total).toBeGreaterThan(0.2);
    expect(s.ok / total).toBeGreaterThan(0.3);
    // every hypercall kind both succeeded and was refused
    for (const op of ['mmu_update', 'mmuext_op', 'update_va_mapping']) {
      const c = s.byOp.get(op)!;
      expect(c.ok, `${op} ok`).toBeGreaterThan(500);
      expect(c.refused, `${op} refused`).toBeGreaterThan(500);
    }
    // the errno mix covers the main refusals
    for (const rc of [-22, -16, -1, -3, -38, -14]) expect(s.byErrno.get(rc) ?? 0, errnoName(rc)).toBeGreaterThan(0);
    // the TLB model was exercised: stale hits happened
    expect(s.access.stale).toBeGreaterThan(0);
  }, 300_000); // ≈ 40 s once hypervisor/holders.ts's scan loop is fast; ≈ 110 s before (see the report)

  test.each([1, 2, 3])('seed %i, 3,000 records (v1 ops only), audited after each', (seed) => {
    const s = runAudited(seed, 3_000, false);
    console.log(`trace-fuzz seed ${seed} (v1): ${summary(s)}`);
    expect(s.ok).toBeGreaterThan(0);
    expect(s.refused).toBeGreaterThan(0);
  });

  test('the run is deterministic: the same seed gives the same results', () => {
    const run = () => {
      const hv = new Hypervisor();
      const s = newStats();
      return generateTrace({ seed: 99, records: 5000 }).map((r) =>
        JSON.stringify(runRecord(hv, r, s), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v)),
      );
    };
    expect(run()).toEqual(run());
  });
});
