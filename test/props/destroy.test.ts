// Issue 6, property 2: domain destruction after any random history (xen-pv-mm.md §4.5).
// A random / hostile history over 2–3 domains, with domains destroyed in the middle of it (the
// others go on), then every survivor destroyed in a random order. After each destruction:
// destroyDomain never throws; every frame of the dead domain is free (owner null, count 0,
// type_count 0, not pinned) unless a live domain still maps it through one of its live L1s (a
// privileged domain's foreign mapping: then the frame lives on with exactly those references);
// the survivors' audit, reachability and model checks stay clean (sim.ts). After the last one:
// every frame of every domain is free.
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { machineArb, opArb, type MachineCfg } from './gen.ts';
import { OpCommand, reproduce, runCommands, runProperty, runs, SEED, timeout, type Model } from './shrunk.ts';
import { knownLine, tolerateKnown } from './known.ts';
import { coverageLine, Violation, type Sim, Sim as SimClass, stats } from './sim.ts';

const cmdArb = opArb({ destroy: 2 }).map((op) => new OpCommand(op));
/** The order in which the survivors die: a rotation and a direction over the live domains. */
const orderArb = fc.record({ rot: fc.integer({ min: 0, max: 2 }), rev: fc.boolean() });
type Order = { rot: number; rev: boolean };
const caseArb = fc.tuple(machineArb, fc.commands<Model, Sim>([cmdArb], { maxCommands: 80, size: 'max' }), orderArb);
type Case = [MachineCfg, Iterable<fc.Command<Model, Sim>>, Order];

/** Destroys every survivor, then checks that no frame of any domain is left. */
function destroyAll(sim: Sim, order: Order): void {
  let live = [...sim.alive].sort((a, b) => a - b);
  if (order.rev) live = live.reverse();
  live = [...live.slice(order.rot % live.length), ...live.slice(0, order.rot % live.length)];
  for (const di of live) {
    sim.records().push(`op destroy survivor d${sim.doms[di]!.domid}`);
    sim.destroy(di);
  }
  // A debug build of Xen stopped earlier (and a release build leaks a frame there for good).
  if (sim.stoppedByXen) return;
  for (const d of sim.doms) {
    for (let m = d.base; m < d.base + d.count; m++) {
      const f = sim.hv.frame(m);
      if (f.owner !== null || f.count !== 0 || f.type_count !== 0 || f.pinned || f.allocated) {
        throw new Violation(
          `every domain destroyed, but mfn 0x${m.toString(16)} of d${d.domid} is not free: owner ${f.owner} count ${f.count} ` +
            `type_count ${f.type_count} (caf=${f.caf} taf=${f.taf}) (§4.5)`,
          { after: [{ op: 'frame', mfn: m, expect: { owner: null, count: 0, type_count: 0 } }] },
        );
      }
    }
  }
}

const start = performance.now();
afterAll(() => {
  const s = ((performance.now() - start) / 1000).toFixed(1);
  console.log(
    `[props/destroy] seed ${SEED}: ${stats.sequences} sequences, ${stats.ops} operations, ${stats.records} records (calls) ` +
      `(${stats.hypercalls} hypercalls, ${stats.refused} refused, ${stats.destroys} domain destructions), in ${s} s; ${knownLine()}`,
  );
  if (process.env.XENSIM_FUZZ_COVERAGE) console.log(`[props/destroy] coverage: ${coverageLine()}`);
});

describe('issue 6: domain destruction after any random history (§4.5)', () => {
  it(
    'destroyDomain never throws, frees every frame of the domain (bar live foreign mappings), leaves the others clean; all dead = all free',
    async () => {
      await runProperty<Case>({
        name: 'destroy-after-history',
        arb: caseArb,
        predicate: ([cfg, cmds, order]) => {
          const sim = new SimClass(cfg);
          tolerateKnown(sim, () => {
            runCommands(sim, cmds);
            sim.finish();
            destroyAll(sim, order);
          });
        },
        reproduce: ([cfg, cmds, order]) => reproduce(cfg, cmds, (sim) => {
          sim.finish();
          destroyAll(sim, order);
        }),
        machine: ([cfg]) => cfg,
        numRuns: runs(250),
      });
    },
    timeout(90_000),
  );
});
