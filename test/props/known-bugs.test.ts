// Known bugs the properties found in hypervisor/ (see known.ts; reported, not fixed here).
// Each test states the CORRECT behaviour as a property and runs it, strictly and focused on the
// operations that reach the bug (fixed seed, so the shrunk trace is always the same one and is
// kept in test/fixtures/shrunk/known-<id>.ndjson). The property fails while the bug is there, so
// the tests are marked it.fails; a test that "unexpectedly passes" means either the bug is fixed
// (drop the .fails and the entry in known.ts) or the property now fails for another reason (the
// console says which, and the stream properties will report it as a finding).
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { machineArb, opArb, type MachineCfg, type OpWeights } from './gen.ts';
import { KNOWN_ISSUES, type KnownIssue } from './known.ts';
import { OpCommand, PropertyFailure, reproduce, runCommands, runProperty, timeout, type Model } from './shrunk.ts';
import { Sim } from './sim.ts';

/** Not XENSIM_FUZZ_SEED: the fixtures these tests write must not change from run to run. */
const KNOWN_SEED = 20260806;

const FOCUS: Record<string, OpWeights> = {
  // A privileged domain maps a frame of another domain RW and writes it; then the stale-TLB attack.
  'stale-foreign-tlb': { fmap: 8, stale: 8, tree: 4, pmap: 0, probe: 1, call: 4, store: 2, linear: 0, access: 2, adopt: 0 },
  // A privileged domain writes into another domain's L1 through PFD (its own, a third domain's frame).
  'audit-pfd-l1e': { pmap: 8, tree: 4, fmap: 0, stale: 0, call: 4, store: 2, linear: 0, access: 1, adopt: 0 },
};

type Case = [MachineCfg, Iterable<fc.Command<Model, Sim>>];

async function stillReproduced(k: KnownIssue): Promise<void> {
  const cmdArb = opArb(FOCUS[k.id]).map((op) => new OpCommand(op));
  try {
    await runProperty<Case>({
      name: `known-${k.id}`,
      arb: fc.tuple(machineArb, fc.commands<Model, Sim>([cmdArb], { maxCommands: 40, size: 'max' })),
      predicate: ([cfg, cmds]) => runCommands(new Sim(cfg), cmds),
      reproduce: ([cfg, cmds]) => reproduce(cfg, cmds),
      machine: ([cfg]) => cfg,
      numRuns: 300,
      seed: KNOWN_SEED,
    });
  } catch (e) {
    if (e instanceof PropertyFailure && e.sim !== undefined && k.matches(e.violation as never, e.sim)) {
      // The known bug, as expected: fail (it.fails turns this into a pass).
      throw new Error(`KNOWN BUG ${k.id} still reproduced (${k.spec}):\n${e.message}`);
    }
    console.error(`known-bugs: the property for ${k.id} failed for another reason:\n${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  console.error(`known-bugs: ${k.id} no longer reproduced — fixed? Drop .fails and its entry in known.ts.`);
}

describe('issue 6: known bugs found by the properties (it.fails while they are there)', () => {
  // KNOWN BUG stale-foreign-tlb: _get_page_type's type-change flush covers only the frame owner's
  // vCPUs (§1.7a), so a privileged domain that mapped a domU frame RW (foreigndom), wrote it, and
  // dropped the mapping without a flush keeps a writable TLB entry to it after the domU pins it as
  // a page table — hv.audit() (§1.8/§6) reports it, and the stale entry can be written through.
  it.fails(
    'no vCPU — not even a privileged domain\'s, through a foreign mapping — keeps a writable TLB entry to a frame that becomes a page table',
    async () => stillReproduced(KNOWN_ISSUES.find((k) => k.id === 'stale-foreign-tlb')!),
    timeout(60_000),
  );
  // KNOWN BUG audit-pfd-l1e: mmu_update with foreigndom = (PFD+1)<<16 | FD lets a privileged
  // domain put a frame of its own (FD = DOMID_SELF), of a third domain, or I/O memory into a domU's
  // L1 — legal per §3.2 and §2.2 (the FD's rights decide), as in Xen — and hv.audit() then reports
  // "maps foreign mfn" / "maps I/O mfn … without iomem rights", judging by the L1's owner.
  it.fails(
    "hv.audit() accepts every state a legal hypercall leads to — incl. a privileged domain's PFD write of a foreign frame into a domU's L1",
    async () => stillReproduced(KNOWN_ISSUES.find((k) => k.id === 'audit-pfd-l1e')!),
    timeout(60_000),
  );
});
