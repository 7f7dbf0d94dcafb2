// Issue 13, item 2: explore against brute force. A brute-force enumerator with no reduction at all
// (src/lab/explore/brute.ts) runs every schedule; explore must report exactly the same set of
// outcomes (completed / deadlock with its cycle / BUG with where and what, each with or without a
// VA hazard), and as many complete schedules as brute force finds Mazurkiewicz traces (sleep sets:
// none twice; soundness: none missed). Over every shipped scenario brute force can finish, and
// over generated small scenarios. XENSIM_FUZZ_SCALE (npm run fuzz:props) multiplies the counts and caps.
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/lab/explore.ts';
import { runScenario } from '../../src/lab/run.ts';
import { bruteForce } from '../../src/lab/explore/brute.ts';
import { builtinScenarios, loadScenario } from '../../src/lab/scenarios/load.ts';
import type { Scenario } from '../../src/lab/scenarios/schema.ts';
import { scenarioArb } from './gen.ts';

const SCALE = Math.max(1, Number(process.env.XENSIM_FUZZ_SCALE ?? 1) || 1);
const SEED = Number(process.env.XENSIM_FUZZ_SEED ?? 20081201);
// Longer generated runs under npm run fuzz:props.
const MAX_STEPS = SCALE > 1 ? 13 : 11;

/** Brute force and explore of one scenario under one policy; null when brute force is over its cap. */
function check(s: Scenario, policy: string, cap: number): { brute: number; traces: number; explored: number } | null {
  const b = bruteForce(s, { policy }, { maxSchedules: cap, traces: true });
  if (!b.finished) return null;
  const r = explore(s, { policy });
  const label = `${s.name} under ${policy}: ${JSON.stringify(s.programs)} setup ${JSON.stringify(s.setup)} set ${JSON.stringify(s.set)}`;
  expect(r.exhaustive, label).toBe(true);
  expect(r.distinct.map((d) => d.outcome).sort(), label).toEqual([...b.outcomes].sort());
  expect(r.mazurkiewicz, label).toBe(b.traces.size);
  return { brute: b.schedules, traces: b.traces.size, explored: r.schedules };
}

/**
 * The smallest case found where the old fingerprint pruning was wrong ("0 deadlocks, exhaustive"):
 * vCPU0's vm_unmap_aliases computed its flush (a coroutine local the fingerprint could not see)
 * before or after vCPU1 dirtied the block, and the two states collided.
 */
const LOCALS_COLLIDE = {
  name: 'locals-collide',
  title: 'a flush decided in a coroutine local',
  description: 'the old fingerprint pruning missed this deadlock',
  vcpus: 2,
  memory_pages: 256,
  vmalloc_pages: 2048,
  policy: 'linux-2.6.28',
  set: [],
  vmalloc_initialized: true,
  setup: [{ op: 'vm_map_ram', name: 'm', pages: 1 }],
  programs: [
    [{ op: 'vm_unmap_aliases' }, { op: 'barrier', name: 'end', count: 2 }],
    [{ op: 'local_irq_disable' }, { op: 'vm_unmap_ram', name: 'm' }, { op: 'barrier', name: 'end', count: 2 }],
  ],
  expect: {},
} as unknown as Scenario;

describe('explore finds exactly what brute force finds', () => {
  it('on three vCPUs (three-vcpu-small: 1,725 schedules, 178 traces)', () => {
    const s = loadScenario(fileURLToPath(new URL('../fixtures/explore/three-vcpu-small.json', import.meta.url)));
    const r = check(s, s.policy, 2000);
    expect(r).toEqual({ brute: 1725, traces: 178, explored: 178 });
  }, 120_000);

  it('where the old fingerprint pruning found no deadlock (a coroutine local decides it)', () => {
    const r = check(LOCALS_COLLIDE, 'default', 2000);
    expect(r).not.toBeNull();
    expect(explore(LOCALS_COLLIDE).outcomes.deadlock).toBeGreaterThan(0);
  }, 120_000);

  it('on every shipped scenario brute force can finish (under its own policy, force and never)', () => {
    let checked = 0;
    for (const name of builtinScenarios()) {
      const s = loadScenario(name);
      for (const policy of [s.policy, 'force', 'never']) if (check(s, policy, 120 * SCALE)) checked++;
    }
    console.log(`[explore/brute] ${checked} shipped scenario × policy cells checked against brute force`);
    // 9 of the 14 finish under the test's cap (the others need thousands of schedules).
    expect(checked).toBeGreaterThanOrEqual(27);
  }, 600_000);

  it('on at least 200 generated scenarios of 2–3 vCPUs (locks, irq sections, vmalloc, vm_map_ram, purges, forks)', () => {
    // npm run fuzz:props (scale 20): 1,000 scenarios, with caps 3× larger.
    const want = 200 * Math.ceil(SCALE / 4);
    const cap = 80 * Math.min(SCALE, 3);
    let checked = 0;
    let tooBig = 0;
    let withFindings = 0;
    let schedules = 0;
    const samples = fc.sample(scenarioArb, { seed: SEED, numRuns: want * 10 });
    for (const { scenario, policy } of samples) {
      if (checked >= want) break;
      // One seeded run first: a long one would only exhaust the cap.
      const steps = runScenario(scenario, { policy }).steps;
      const r = steps <= MAX_STEPS ? check(scenario, policy, cap) : null;
      if (!r) {
        tooBig++;
        continue;
      }
      checked++;
      schedules += r.brute;
      const e = explore(scenario, { policy });
      if (e.outcomes.deadlock + e.outcomes.bug + e.va_hazards > 0) withFindings++;
    }
    console.log(`[explore/brute] seed ${SEED}: ${checked} generated scenarios checked (${schedules} brute-force schedules), ${withFindings} with a deadlock, BUG or hazard; ${tooBig} skipped as too big (over ${MAX_STEPS} steps in one run, or over ${cap} schedules)`);
    expect(checked).toBe(want);
    // The generator must reach the interesting cases, not only clean runs.
    expect(withFindings).toBeGreaterThan(want / 10);
  }, 1_200_000);
});
