// compare's scenario arguments (issue 15, "paths"): `--scenario PATH` takes a path as it is (a
// comma, a space); `--scenarios` is a comma list whose items may hold spaces; a list naming
// nothing is a usage error (exit 2), never an empty matrix.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCommand, repo, runBuilt, type Built } from './built.ts';

const tmp = mkdtempSync(join(tmpdir(), 'xensim compare args-'));
const odd = join(tmp, 'my scenario, copy.json');
let built: Built;
beforeAll(() => {
  built = buildCommand();
  copyFileSync(join(repo, 'src/lab/scenarios/fork-pin-clean.json'), odd);
});
afterAll(() => {
  built?.remove();
  rmSync(tmp, { recursive: true, force: true });
});

const one = ['--policy', 'never', '--seeds', '1', '--ndjson'];

describe('compare: scenario arguments', () => {
  it('--scenario takes a path with a comma and a space', async () => {
    const r = await runBuilt(built.bin, ['compare', '--scenario', odd, ...one]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { scenario: string });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.scenario).toBe('fork-pin-clean');
  });

  it('--scenarios and --scenario add up; an item of --scenarios may hold a space', async () => {
    const spaced = join(tmp, 'with space.json');
    copyFileSync(join(repo, 'src/lab/scenarios/fork-pin-clean.json'), spaced);
    const r = await runBuilt(built.bin, ['compare', '--scenarios', `${spaced} , exit-with-stale-cr3`, '--scenario', odd, ...one]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
  });

  for (const list of [',', '', ' , ']) {
    it(`--scenarios "${list}" is a usage error, exit 2`, async () => {
      const r = await runBuilt(built.bin, ['compare', '--scenarios', list, ...one]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/--scenarios.*names nothing/);
    });
  }
});

describe('--vcpus fewer than the programs that do something', () => {
  it('run and explore: exit 2, naming the program that would be dropped; an empty program may go', async () => {
    for (const cmd of ['run', 'explore']) {
      const r = await runBuilt(built.bin, [cmd, 'cross-vcpu-irqsoff-purge', '--vcpus', '1']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--vcpus 1 would drop programs: the scenario's program 1 needs vCPU 1 \(give at least 2\)/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // suspend-pin-all-irqs-off's second program is empty: one vCPU runs it all.
    const ok = await runBuilt(built.bin, ['run', 'suspend-pin-all-irqs-off', '--vcpus', '1']);
    expect(ok.status).toBe(0);
  });
});
