// kill -9 (issue 15, acceptance): no handler runs, so no end line or closing bracket; what a
// streaming compare wrote is whole rows in matrix order, at most the last one cut (one write in
// flight). The replay case is in stop.test.ts; run is synchronous and has no handler (docs/limits.md).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareJobs } from '../../src/lab/compare.ts';
import { builtinScenarios } from '../../src/lab/scenarios/load.ts';
import { SEED_QUESTION } from '../../src/lab/scenarios/policies.ts';
import { buildCommand, repo, type Built, whenFileGrows } from './built.ts';

let built: Built;
beforeAll(() => void (built = buildCommand('xensim-kill-')));
afterAll(() => built?.remove());

describe('compare --ndjson killed with SIGKILL', () => {
  it('keeps whole rows, the matrix prefix in order; at most the last row is cut', async () => {
    const { stdout, signal } = await new Promise<{ stdout: string; signal: NodeJS.Signals | null }>((resolve) => {
      const child = spawn(process.execPath, [built.bin, 'compare', '--seeds', '1..400', '--ndjson', '--workers', '1'], { cwd: repo });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        if (out.split('\n').length > 30) child.kill('SIGKILL');
      });
      child.on('close', (_code, sig) => resolve({ stdout: out, signal: sig }));
    });
    expect(signal).toBe('SIGKILL');
    const cut = stdout.lastIndexOf('\n');
    const rows = stdout.slice(0, cut).split('\n').map((l) => JSON.parse(l) as { scenario: string; policy: string; seed: number });
    expect(rows.length).toBeGreaterThanOrEqual(30);
    const jobs = compareJobs({ scenarios: builtinScenarios(), policies: [...SEED_QUESTION], seeds: Array.from({ length: 400 }, (_, i) => i + 1) });
    expect(rows.map((r) => [r.scenario, r.seed])).toEqual(jobs.slice(0, rows.length).map((j) => [j.scenario, j.seed]));
    // What follows the last line break is a prefix of one row, never more.
    expect(stdout.slice(cut + 1)).not.toContain('\n');
  });
});

describe('run --log stopped by SIGTERM', () => {
  it('dies of the signal mid-run (no end line, whole lines); the lock it left is recovered by the next run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xensim-kill-run-'));
    const log = join(dir, 'run.log');
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
      const child = spawn(process.execPath, [built.bin, 'run', 'test/fixtures/bombs/explore-64x60.json', '--log', log], { cwd: repo, stdio: 'ignore' });
      whenFileGrows(log, 64 * 1024, () => child.kill('SIGTERM'), 5);
      child.on('close', (_code, sig) => resolve(sig));
    });
    expect(signal).toBe('SIGTERM');
    const text = readFileSync(log, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { event?: string });
    expect(lines.some((l) => l.event === 'end')).toBe(false);
    expect(existsSync(`${log}.lock`)).toBe(true);
    const again = await new Promise<number | null>((resolve) => {
      spawn(process.execPath, [built.bin, 'run', 'fork-pin-clean', '--log', log], { cwd: repo, stdio: 'ignore' }).on('close', (code) => resolve(code));
    });
    expect(again).toBe(0);
    expect(readFileSync(log, 'utf8')).toMatch(/"event":"end","reason":"completed"/);
    rmSync(dir, { recursive: true, force: true });
  });
});
