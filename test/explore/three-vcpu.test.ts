// Issue 13, item 5: 3-vCPU scenarios explored exhaustively (bounded: each in seconds).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/lab/explore.ts';
import { runScenario } from '../../src/lab/run.ts';
import { loadScenario } from '../../src/lab/scenarios/load.ts';

describe('three vCPUs', () => {
  it('three-vcpu-purge: every schedule explored; the purge_lock / IPI deadlock and clean runs both found', () => {
    const file = fileURLToPath(new URL('../fixtures/explore/three-vcpu-purge.json', import.meta.url));
    const s = loadScenario(file);
    const r = explore(s, { source: file });
    expect(r.exhaustive).toBe(true);
    expect(r.schedules).toBeGreaterThan(100);
    expect(r.outcomes.completed).toBeGreaterThan(0);
    expect(r.outcomes.deadlock).toBeGreaterThan(0);
    const cx = r.counterexamples.deadlock!;
    expect(new Set(cx.schedule)).toEqual(new Set([0, 1, 2]));
    expect(runScenario(s, { schedule: cx.schedule }).deadlock).toEqual(cx.verdict.deadlock);
  }, 120_000);

  it('a shipped scenario on 3 vCPUs (cross-vcpu-irqsoff-purge --vcpus 3): the third vCPU acks the flush IPIs; still the deadlock under FORCE, none under NEVER', () => {
    const s = loadScenario('cross-vcpu-irqsoff-purge');
    const force = explore(s, { policy: 'force', vcpus: 3 });
    expect(force.exhaustive).toBe(true);
    expect(force.outcomes.deadlock).toBe(force.schedules);
    const never = explore(s, { policy: 'never', vcpus: 3 });
    expect(never.exhaustive).toBe(true);
    expect(never.outcomes.deadlock).toBe(0);
    expect(force.counterexamples.deadlock!.repro).toContain('--vcpus 3');
  }, 120_000);
});
