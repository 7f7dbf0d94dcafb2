// Issue 13, item 3: a deadlock that needs one specific preemption — vCPU0 stopping between the
// barrier and its dirty-map walk while vCPU1 dirties a vmap block. The old fingerprint pruning
// reported "0 deadlocks (exhaustive)" here; explore must find it, and its schedule must replay.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/lab/explore.ts';
import { runScenario } from '../../src/lab/run.ts';
import { loadScenario } from '../../src/lab/scenarios/load.ts';

describe('preempted-dirty-walk', () => {
  // A test fixture, not a built-in: src/scenarios/ holds exactly linux-guest.md §6's list.
  const file = fileURLToPath(new URL('../fixtures/explore/preempted-dirty-walk.json', import.meta.url));
  const s = loadScenario(file);

  it('explore finds the deadlock, exhaustively, and run --schedule reproduces it', () => {
    const r = explore(s, { source: file });
    expect(r.exhaustive).toBe(true);
    expect(r.outcomes.deadlock).toBeGreaterThan(0);
    expect(r.outcomes.completed).toBeGreaterThan(0);
    const cx = r.counterexamples.deadlock!;
    expect(cx.verdict.deadlock!.map((e) => e.why)).toEqual([
      'waits for vCPU1 to ack IPI do_flush_tlb_all (vCPU1 has interrupts off)',
      'waits at barrier end for vCPU0',
    ]);
    const again = runScenario(s, { schedule: cx.schedule });
    expect(again.outcome).toBe('deadlock');
    expect(again.deadlock).toEqual(cx.verdict.deadlock);
    // The repro names the file, not the scenario's name (which `run` would not find).
    expect(cx.repro).toBe(`xensim run ${file} --policy linux-2.6.28 --schedule ${cx.schedule.join(',')}`);
  });

  it('with kernel flushes by hypercall there is no flush IPI, so no schedule deadlocks', () => {
    const r = explore(s, { policy: 'default,kernelFlushVia=hypercall_flush_all' });
    expect(r.exhaustive).toBe(true);
    expect(r.outcomes.deadlock).toBe(0);
  });
});
