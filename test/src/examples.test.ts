// The scenario files in examples/ (user-editable: copy one, edit it, `xensim run FILE`) load like
// any other scenario file and meet every verdict their `expect` names, for several seeds; compare
// takes them by path.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compare, compareTable } from '../../src/lab/compare.ts';
import { runScenario } from '../../src/lab/run.ts';
import { loadScenario } from '../../src/lab/scenarios/load.ts';
import { repo } from './built.ts';

const files = readdirSync(join(repo, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => `examples/${f}`);

describe('examples/*.json', () => {
  it('there is one to start from', () => {
    expect(files).toContain('examples/my-first-scenario.json');
  });

  for (const file of files) {
    describe(file, () => {
      const s = loadScenario(join(repo, file));
      it('expects verdicts under several policies', () => {
        expect(Object.keys(s.expect).length).toBeGreaterThanOrEqual(2);
      });
      for (const [policy, want] of Object.entries(s.expect)) {
        it(`${policy}: ${want.outcome}`, () => {
          for (const seed of [1, 2, 3]) {
            const v = runScenario(s, { policy, seed });
            expect(v.outcome, `seed ${seed}`).toBe(want.outcome);
            const counts: Record<string, number> = { va_hazards: v.va_hazards, warnings: v.warnings, ipis: v.ipis, pins_refused: v.pins.refused };
            for (const [k, n] of Object.entries(counts)) {
              const w = (want as unknown as Record<string, string | undefined>)[k];
              if (w === 'none') expect(n, `${k}, seed ${seed}`).toBe(0);
              if (w === 'some') expect(n, `${k}, seed ${seed}`).toBeGreaterThan(0);
            }
          }
        });
      }
    });
  }

  it('compare takes a scenario file by path: its row is filled, and named by the scenario (issue 17: it was the path)', async () => {
    const scenarios = [join(repo, 'examples/my-first-scenario.json'), 'fork-pin-clean'];
    const policies = ['default', 'never'];
    const verdicts = await compare({ scenarios, policies, seeds: [1, 2], workers: 1 });
    const table = compareTable(verdicts, scenarios, policies).split('\n');
    expect(table[2]).toMatch(/^my-first-scenario\s+ok \(IPIs\)\s+ok \(VA hazard\)$/);
    expect(table[3]).toMatch(/^fork-pin-clean\s+ok\s+ok$/);
  });
});
