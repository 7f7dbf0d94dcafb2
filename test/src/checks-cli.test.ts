// The checks of issue 16 as a user meets them, through the built command: replay of a tampered log,
// `diff`, `test`, and run/compare/explore holding a scenario to its own expect (exit 1 naming each
// failed expectation; --no-expect).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCommand, repo, runBuilt, type Built } from './built.ts';

const dir = mkdtempSync(join(tmpdir(), 'xensim-checks-'));
let built: Built;
beforeAll(() => {
  built = buildCommand('xensim-checks-built-');
});
afterAll(() => built.remove());
const xensim = (args: string[]) => runBuilt(built.bin, args, { cwd: dir, timeoutMs: 60_000, heapMiB: 256 });

/** The seed scenario with wrong expectations: never completes with a hazard, not none; force's deadlock is said to be unreachable. */
function wrongScenario(): string {
  const s = JSON.parse(readFileSync(join(repo, 'src/lab/scenarios/suspend-pin-all-irqs-off.json'), 'utf8')) as { name: string; expect: Record<string, unknown> };
  s.name = 'wrong-expect';
  s.expect = { never: { outcome: 'deadlock', va_hazards: 'none' }, force: { outcome: 'deadlock', explore: { deadlock: 'never' } } };
  const p = join(dir, 'wrong-expect.json');
  writeFileSync(p, JSON.stringify(s));
  return p;
}

describe('run, compare, explore check the scenario\'s own expect', () => {
  it('run: exit 1 naming each failed expectation; --no-expect: 0; a built-in: 0', async () => {
    const w = wrongScenario();
    const r = await xensim(['run', w, '--policy', 'never']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('xensim run: expect[never] failed: outcome: expected deadlock, got completed');
    expect(r.stderr).toContain('xensim run: expect[never] failed: va_hazards: expected none, got 1');
    expect((await xensim(['run', w, '--policy', 'never', '--no-expect'])).status).toBe(0);
    expect((await xensim(['run', 'suspend-pin-all-irqs-off', '--policy', 'never'])).status).toBe(0);
  });

  it('compare: exit 1, each run that failed with its seed', async () => {
    const r = await xensim(['compare', '--scenarios', wrongScenario(), '--policy', 'never', '--seeds', '1..2']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('wrong-expect seed 2: expect[never] failed: va_hazards: expected none, got 1');
  });

  it('explore: a reachability expectation that fails is exit 1; the built-in\'s hold', async () => {
    const r = await xensim(['explore', wrongScenario(), '--policy', 'force']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/expect\[force\] failed: explore\.deadlock: expected never, found in \d+ of \d+ schedules/);
    expect((await xensim(['explore', 'suspend-pin-all-irqs-off', '--policy', 'never'])).status).toBe(0);
  });
});

describe('replay, diff and test from the command line', () => {
  it('a log with one rc changed replays with exit 1, --no-check 0', async () => {
    const log = join(dir, 'seed.log');
    expect((await xensim(['replay', join(repo, 'examples/seed-alias-blocks-pin.ndjson'), '--log', log, '-q'])).status).toBe(0);
    expect((await xensim(['replay', log, '-q'])).status).toBe(0);
    const bad = join(dir, 'bad.log');
    writeFileSync(bad, readFileSync(log, 'utf8').replace('"result":{"rc":-22', '"result":{"rc":0'));
    const r = await xensim(['replay', bad, '-q']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the replay diverges from the log');
    expect((await xensim(['replay', bad, '-q', '--no-check'])).status).toBe(0);
  });

  it('diff: 1 when the runs differ, 0 for a log and itself, 2 for a trace', async () => {
    const r = await xensim(['diff', '--run', 'suspend-pin-all-irqs-off', '--policy', 'default', '--policy', 'never']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/IPIs +1 → 0 +differs/);
    expect(r.stdout).toMatch(/VA hazards +0 → 1 +differs/);
    const log = join(dir, 'run.log');
    await xensim(['run', 'fork-pin-clean', '--log', log]);
    expect((await xensim(['diff', log, log])).status).toBe(0);
    const t = await xensim(['diff', join(repo, 'examples/seed-alias-blocks-pin.ndjson'), log]);
    expect(t.status).toBe(2);
    expect(t.stderr).toContain('Make its log with: xensim replay');
  });

  it('test --reporter junit: exit 1 with a wrong expect, the XML on stdout', async () => {
    const r = await xensim(['test', wrongScenario(), '--reporter', 'junit', '--jobs', '1']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^<\?xml/);
    expect(r.stdout).toContain('<failure message="outcome: expected deadlock, got completed');
  });
});
