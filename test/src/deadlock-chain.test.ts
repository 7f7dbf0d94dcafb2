// A deadlock shows where each vCPU is stuck (issue 17): run's text, its --json verdict, the log's
// deadlock line and explore's counterexample all carry each waiting vCPU's kernel call chain,
// innermost (the wait) last.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explore, exploreText } from '../../src/lab/explore.ts';
import { runScenario, verdictText } from '../../src/lab/run.ts';
import { loadScenario } from '../../src/lab/scenarios/load.ts';

const s = loadScenario('cross-vcpu-irqsoff-purge');
const SENDER = /^ {4}in (\S+ → )*__purge_vmap_area_lazy → flush_tlb_kernel_range → on_each_cpu → smp_call_function → smp_call_function_mask → csd_flag_wait$/m;
const SPINNER = /^ {4}in (\S+ → )*__purge_vmap_area_lazy → spin_lock$/m;

describe('a deadlock names each vCPU\'s call chain', () => {
  it('run: the text under each wait, the verdict\'s edges, the log\'s deadlock line', () => {
    const log = join(mkdtempSync(join(tmpdir(), 'xensim-chain-')), 'run.log');
    const v = runScenario(s, { policy: 'force', log });
    expect(v.outcome).toBe('deadlock');
    const text = verdictText(v);
    expect(text).toMatch(SENDER);
    expect(text).toMatch(SPINNER);
    // The chain line follows its vCPU's wait.
    expect(text).toMatch(/vCPU\d waits for vCPU\d to ack IPI do_flush_tlb_all.*\n {4}in .*csd_flag_wait\n/);
    for (const e of v.deadlock!) expect(e.chain.length).toBeGreaterThan(1);
    const line = readFileSync(log, 'utf8').split('\n').find((l) => l.includes('"event":"deadlock"'))!;
    const o = JSON.parse(line) as { cycle: { vcpu: number; chain: string[] }[] };
    expect(o.cycle.map((e) => e.chain)).toEqual(v.deadlock!.map((e) => e.chain));
    expect(o.cycle.some((e) => e.chain.at(-1) === 'csd_flag_wait')).toBe(true);
  });

  it('explore: the shortest deadlock\'s chains', () => {
    const r = explore(s, { policy: 'force' });
    const text = exploreText(r);
    expect(text).toMatch(/shortest deadlock/);
    expect(text).toMatch(SENDER);
    expect(text).toMatch(SPINNER);
  });
});
