// Issue 6, property 1: Xen's invariants under random and hostile hypercall streams.
// Long model-based command sequences (fc.commands) over 2–3 domains (sometimes one privileged) and a
// few dozen frames each: table-building stores and whole trees, writable maps of tables, linear
// entries of every level, pins of every level (double, wrong level), unpins, NEW_(USER_)BASEPTR,
// mmu_update with every cmd (ptr & 7 = 0…7) incl. Xen's L4 slots and foreign frames/foreigndoms,
// update_va_mapping with every flag combination, multicalls (incl. a nested one), restricted flag
// bits, guest loads/stores filling TLBs, decrease_reservation, clear_page/copy_page, set_gdt; and
// the same over big machines (thousands of frames, up to 64 vCPUs).
// After EVERY record (sim.ts): refusals are results, audit clean, no writable path to a live page
// table (checked independently of the audit), the pin/base-pointer/GDT model holds.
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { bigMachineArb, machineArb, opArb, type MachineCfg } from './gen.ts';
import { OpCommand, reproduce, runCommands, runProperty, runs, SEED, timeout, type Model } from './shrunk.ts';
import { knownLine, tolerateKnown } from './known.ts';
import { coverageLine, Sim, stats } from './sim.ts';

const cmdArb = opArb(process.env.XDBG ? { pmap: 0, fmap: 3 } : {}).map((op) => new OpCommand(op));
const caseArb = fc.tuple(machineArb, fc.commands<Model, Sim>([cmdArb], { maxCommands: 120, size: 'max' }));
type Case = [MachineCfg, Iterable<fc.Command<Model, Sim>>];
const bigCaseArb = fc.tuple(bigMachineArb, fc.commands<Model, Sim>([cmdArb], { maxCommands: 60, size: 'max' }));

const start = performance.now();
afterAll(() => {
  const s = ((performance.now() - start) / 1000).toFixed(1);
  console.log(
    `[props/streams] seed ${SEED}: ${stats.sequences} sequences, ${stats.ops} operations, ${stats.records} records (calls) ` +
      `(${stats.hypercalls} hypercalls, ${stats.refused} refused), each followed by audit + reachability + model checks, in ${s} s; ${knownLine()}`,
  );
  if (process.env.XENSIM_FUZZ_COVERAGE) console.log(`[props/streams] coverage: ${coverageLine()}`);
});

/** Streams over machines of `arb`: every sequence run, then every frame checked once more. */
function streams(name: string, arb: fc.Arbitrary<Case>, numRuns: number): Promise<unknown> {
  return runProperty<Case>({
    name,
    arb,
    predicate: ([cfg, cmds]) => {
      const sim = new Sim(cfg);
      tolerateKnown(sim, () => {
        runCommands(sim, cmds);
        sim.finish();
      });
    },
    reproduce: ([cfg, cmds]) => reproduce(cfg, cmds, (sim) => sim.finish()),
    machine: ([cfg]) => cfg,
    numRuns,
  });
}

describe('issue 6: random and hostile hypercall streams', () => {
  it(
    'after every call: refusals are results, hv.audit() is clean, no vCPU reaches a live page table writable, pins and base pointers follow the model',
    async () => {
      await streams('hostile-streams', caseArb, runs(300));
    },
    timeout(90_000),
  );

  it(
    'the same on big machines (up to 4,096 frames a domain, up to 64 vCPUs): the checks follow the frames records name, and sweep all at the end',
    async () => {
      await streams('hostile-streams-big', bigCaseArb, runs(12));
    },
    timeout(60_000),
  );
});
