// Small inputs, bounded costs (issue 15, item 1; docs/limits.md "What a command costs"): each bomb
// of test/fixtures/bombs/ replays as it should, and its cost is checked by a counter or a size —
// frames examined one by one, bytes of log — never by wall time.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Hypervisor, MMUEXT } from '../../hypervisor/index.ts';
import { getHeapStatistics } from 'node:v8';
import { explore, exploreText } from '../../src/lab/explore.ts';
import { MAX_EXPLORE_DEPTH } from '../../src/lab/explore/dpor.ts';
import { loadScenario } from '../../src/lab/scenarios/load.ts';
import { MAX_LOGGED_BLOCKERS } from '../../src/log/write.ts';
import { replay } from '../../src/replay/replay.ts';
import { repo } from './built.ts';

const BOMBS = join(repo, 'test/fixtures/bombs');
const tmp = mkdtempSync(join(tmpdir(), 'xensim-bounds-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const quiet = { quiet: true, out: { write: () => true }, err: { write: () => true } };
const BIG = 0x400000;

/** The fixtures' big domain: BIG frames from 0x1000, of which an L1 (0x1000) maps one (0x1001). */
function bigDomain(hv: Hypervisor): void {
  hv.createDomain({ domid: 1, vcpus: 1, base: 0x1000, count: BIG });
  expect(hv.store({ dom: 1, vcpu: 0 }, 0x1000, 0, 0x1001067n)).toBe(0);
  expect(hv.hypercall({ dom: 1, vcpu: 0 }, { op: 'mmuext_op', ops: [{ cmd: MMUEXT.pin_l1_table, mfn: 0x1000 }] }).rc).toBe(0);
}

describe('create/destroy and audit cost what the domain uses, not its size', () => {
  it('create-destroy.ndjson: ten pairs of a 4 M-frame domain using two frames replay cleanly', async () => {
    const s = await replay(join(BOMBS, 'create-destroy.ndjson'), quiet);
    expect(s).toMatchObject({ exit: 0, failed: 0, held: 10 });
  });

  it('destruction examines only the used frames one by one, and leaves every frame free', () => {
    const hv = new Hypervisor();
    for (let i = 0; i < 2; i++) {
      bigDomain(hv);
      const before = hv.framesExamined;
      hv.destroyDomain(1);
      // The L1 (pinned, typed) and the frame it maps (one reference more): 2 of 4,194,304.
      expect(hv.framesExamined - before).toBe(2);
      for (const m of [0x1000, 0x1001, 0x1002, 0x1000 + BIG - 1]) expect(hv.frame(m)).toMatchObject({ owner: null, count: 0, type: 'none' });
    }
  });

  it('audit-big-domain.ndjson: 20 audits of a 4 M-frame domain hold, each examining the used frames only', async () => {
    const s = await replay(join(BOMBS, 'audit-big-domain.ndjson'), quiet);
    expect(s).toMatchObject({ exit: 0, failed: 0, held: 21 });
    const hv = new Hypervisor();
    bigDomain(hv);
    const before = hv.framesExamined;
    expect(hv.audit()).toEqual([]);
    expect(hv.framesExamined - before).toBe(2);
  });

  it('the audit still finds a broken count on a frame in its state at creation', () => {
    const hv = new Hypervisor();
    bigDomain(hv);
    // A second L1 entry to 0x1002 stored behind Xen's back (the L1 is live: only a raw write can).
    const page = (hv as unknown as { x: { frames: { page(m: number): Uint32Array } } }).x.frames.page(0x1000)!;
    page[2] = 0x1002067;
    expect(hv.audit().join('\n')).toMatch(/mfn 0x1002 .*general count 1, holders 2/);
  });
});

describe('a refusal line lists at most MAX_LOGGED_BLOCKERS blockers and counts the rest', () => {
  it('multicall-blockers.ndjson: 200 refusals of a frame with 2048 holders: bounded lines, the rest counted', async () => {
    const log = join(tmp, 'blockers.log');
    const s = await replay(join(BOMBS, 'multicall-blockers.ndjson'), { ...quiet, log });
    expect(s).toMatchObject({ exit: 0, failed: 0 });
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const refusals = lines.flatMap((l) => (l.refusal ? [l.refusal as { blockers: unknown[]; more_blockers: number }] : []));
    expect(refusals).toHaveLength(200);
    for (const r of refusals) expect(r).toMatchObject({ blockers: expect.any(Array), more_blockers: 2048 - MAX_LOGGED_BLOCKERS });
    expect(refusals[0]!.blockers).toHaveLength(MAX_LOGGED_BLOCKERS);
    // Listing all 2048 would take ~190 KB a refusal (38 MB); bounded, under 3 KB each.
    const input = statSync(join(BOMBS, 'multicall-blockers.ndjson')).size;
    expect(statSync(log).size).toBeLessThan(200 * 3000);
    expect(statSync(log).size / input).toBeLessThan(50);
  });
});

describe('explore stops at its depth limit and heap budget with a partial result', () => {
  it('explore-64x60.json (64 vCPUs × 60 operations): stops at the depth limit, not exhaustive, the heap bounded', () => {
    const s = loadScenario(join(BOMBS, 'explore-64x60.json'));
    const before = getHeapStatistics().used_heap_size;
    const r = explore(s, {});
    expect(r).toMatchObject({ exhaustive: false, stopped: 'max-depth', max_depth: MAX_EXPLORE_DEPTH });
    expect(exploreText(r)).toContain('NOT EXHAUSTIVE: a run went past 4096 steps');
    // Race detection on a run of n steps keeps up to n²/2 numbers: 4096 steps, at most ~70 MB.
    expect(getHeapStatistics().used_heap_size - before).toBeLessThan(256 * 2 ** 20);
  });

  it('a heap budget already spent: stops before the first run, not exhaustive', () => {
    const s = loadScenario('cross-vcpu-irqsoff-purge');
    const r = explore(s, { maxHeapBytes: 1 });
    expect(r).toMatchObject({ exhaustive: false, stopped: 'max-memory', schedules: 0 });
    expect(exploreText(r)).toContain('NOT EXHAUSTIVE: stopped at the memory budget');
  });
});
