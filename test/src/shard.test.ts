// Issue 18, `--shard K/N` and `xensim merge`: N shard processes of one compare (or explore), their
// outputs merged, print the very bytes the unsharded command prints — the table, --json, --csv,
// --ndjson for compare; the report and --json for explore. And a shard set that does not join up
// (one missing, twice, another run's) is refused with the file named, exit 2.
// XENSIM_FUZZ_SCALE (npm run fuzz:props) runs the full sizes: 100 seeds, and three-vcpu-irqsoff-purge.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explore } from '../../src/lab/explore.ts';
import { mergeExplore } from '../../src/lab/merge.ts';
import { builtinScenarios, loadScenario } from '../../src/lab/scenarios/load.ts';
import { buildCommand, limiter, runBuilt, type Built } from './built.ts';

const SCALE = Math.max(1, Number(process.env.XENSIM_FUZZ_SCALE ?? 1) || 1);
/** Seeds of the compare matrix: 3 in `npm test`, 100 under `npm run fuzz:props`. */
const SEEDS = `1..${SCALE > 1 ? 100 : 3}`;
/** The one shipped scenario whose search takes ~10 CPU-s (5328 schedules): under `npm run fuzz:props` only. */
const BIG = 'three-vcpu-irqsoff-purge';

let built: Built;
let dir: string;
beforeAll(() => {
  built = buildCommand('xensim-shard-');
  dir = mkdtempSync(join(tmpdir(), 'xensim-shard-out-'));
});
afterAll(() => {
  built?.remove();
  rmSync(dir, { recursive: true, force: true });
});

const two = limiter(2);
async function xensim(...args: string[]): Promise<string> {
  const r = await two(() => runBuilt(built.bin, args, { timeoutMs: 300_000, heapMiB: 512 }));
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

/** Runs the shards K/N (each its own process), writes their outputs to files, returns the paths. */
async function shards(n: number, args: string[], json: (k: number) => boolean = () => false): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const out = await xensim(...args, '--shard', `${i + 1}/${n}`, ...(json(i + 1) ? ['--json'] : []));
      const file = join(dir, `${args.join('_').replace(/[^\w.-]/g, '_')}.${i + 1}of${n}`);
      writeFileSync(file, out);
      return file;
    }),
  );
}

describe('compare --shard K/N + merge', () => {
  it(`every scenario × 4 policies × seeds ${SEEDS}, 3 shards (one of them --json): merge prints what one run prints, in each format`, async () => {
    const args = ['compare', '--seeds', SEEDS];
    const files = await shards(3, args, (k) => k === 2);
    // Files in any order.
    const given = [files[2]!, files[0]!, files[1]!];
    for (const format of [[], ['--json'], ['--csv'], ['--ndjson']]) {
      const [one, merged] = await Promise.all([xensim(...args, ...format), xensim('merge', ...given, ...format)]);
      expect(merged.length).toBeGreaterThan(0);
      expect(merged).toBe(one);
    }
  }, 600_000);

  it('a shard set that does not join up is refused, naming the file (exit 2)', async () => {
    const files = await shards(2, ['compare', '--seeds', '1..2', '--scenarios', 'fork-pin-clean']);
    const other = await shards(2, ['compare', '--seeds', '1..3', '--scenarios', 'fork-pin-clean']);
    const cases: [string[], RegExp][] = [
      [[files[0]!], /shard 2 of 2 missing/],
      [[files[0]!, files[0]!], /shard 1\/2 again/],
      [[files[0]!, other[1]!], /shard of another run/],
    ];
    for (const [given, says] of cases) {
      const r = await runBuilt(built.bin, ['merge', ...given]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(says);
      expect(r.stdout).toBe('');
    }
    const csv = await runBuilt(built.bin, ['compare', '--shard', '1/2', '--csv']);
    expect(csv.status).toBe(2);
    expect(csv.stderr).toContain('--shard writes what `xensim merge` reads');
  }, 120_000);
});

describe('explore --shard K/N + merge', () => {
  it('the CLI: 3 shard processes of cross-vcpu-irqsoff-purge merge to the unsharded report and --json', async () => {
    const files = await shards(3, ['explore', 'cross-vcpu-irqsoff-purge', '--policy', 'force']);
    for (const format of [[], ['--json']]) {
      const [one, merged] = await Promise.all([xensim('explore', 'cross-vcpu-irqsoff-purge', '--policy', 'force', ...format), xensim('merge', ...files.reverse(), ...format)]);
      expect(merged).toBe(one);
    }
    expect(await xensim('merge', ...files)).toContain('shortest deadlock');
  }, 120_000);

  const names = builtinScenarios().filter((n) => SCALE > 1 || n !== BIG);
  it.each(names)(`%s: ${SCALE > 1 ? '2 and 3' : '3'} shards merge to the unsharded report, byte for byte`, (name) => {
    const s = loadScenario(name);
    const one = JSON.stringify(explore(s));
    for (const n of SCALE > 1 ? [2, 3] : [3]) {
      const parts = Array.from({ length: n }, (_, index) => ({ report: explore(s, { shard: { index, count: n } }), file: `shard ${index + 1}` }));
      // A shard alone explores less (when the root has more than one choice)…
      if (JSON.parse(one).schedules > 1) expect(parts[0]!.report.schedules).toBeLessThanOrEqual(JSON.parse(one).schedules);
      // …and the shards together, exactly the whole.
      expect(JSON.stringify(mergeExplore(parts))).toBe(one);
    }
  }, 120_000);
});
