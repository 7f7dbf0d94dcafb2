// Kill tests (issue 15, acceptance): SIGINT, SIGTERM and SIGHUP stop run and explore between steps
// (run: the log's end line, exit 128 + n; explore: the partial report, marked interrupted); kill -9
// runs no handler, so no end line or closing bracket: what a streaming compare wrote is whole rows
// in matrix order, at most the last one cut (one write in flight), a run's log whole lines.
// replay × the four is in stop.test.ts, compare × the three in compare-stream.test.ts; the table
// of which test covers which is in test/fixtures/README.md.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareJobs } from '../../src/lab/compare.ts';
import { builtinScenarios } from '../../src/lab/scenarios/load.ts';
import { SEED_QUESTION } from '../../src/lab/scenarios/policies.ts';
import { buildCommand, repo, runBuilt, type Built, whenFileGrows } from './built.ts';

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

const STOPS = [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const;
/** A run of about 7 s writing ~1.4 MB of log (64 vCPUs × 60 operations), a search of minutes. */
const LONG_RUN = 'test/fixtures/bombs/explore-64x60.json';
const LONG_SEARCH = 'test/fixtures/explore/three-vcpu-purge.json';

/**
 * Calls `then` once process `pid` has used `cpuMs` of CPU (/proc/PID/stat utime + stime, in ticks
 * of 10 ms): the command is past its start-up, its handlers installed, deep in its work, however
 * loaded the machine is.
 */
function whenBusy(pid: number, cpuMs: number, then: () => void): void {
  const poll = setInterval(() => {
    let ticks = 0;
    try {
      // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
      const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks = Number(rest[11]) + Number(rest[12]);
    } catch {
      return;
    }
    if (ticks * 10 < cpuMs) return;
    clearInterval(poll);
    then();
  }, 10);
}

function logLines(log: string): { event?: string; reason?: string; exit?: number; level?: number }[] {
  const text = readFileSync(log, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n').map((l) => JSON.parse(l) as { event?: string });
}

describe('run --log stopped by a signal between scheduler steps', () => {
  for (const [sig, code] of STOPS) {
    it(`${sig}: exit ${code}, whole lines, the end line says interrupted, the lock is gone, no verdict`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'xensim-kill-run-'));
      const log = join(dir, 'run.log');
      let sent = false;
      const r = await runBuilt(built.bin, ['run', LONG_RUN, '--log', log], {
        heapMiB: 512,
        timeoutMs: 120_000,
        started: (pid) => whenFileGrows(log, 64 * 1024, () => {
          process.kill(pid, sig);
          sent = true;
        }),
      });
      expect(sent).toBe(true);
      expect(r.signal).toBe(null);
      expect(r.status).toBe(code);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^xensim run: interrupted by ${sig} after \\d+ steps: no verdict \\(.*run\\.log ends with reason interrupted\\)\\n$`));
      const lines = logLines(log);
      expect(lines.at(-1)).toMatchObject({ event: 'end', reason: 'interrupted', exit: code, level: 40 });
      expect(lines.filter((l) => l.event === 'end')).toHaveLength(1);
      expect(existsSync(`${log}.lock`)).toBe(false);
      rmSync(dir, { recursive: true, force: true });
    }, 180_000);
  }

  it('SIGKILL: whole lines, no end line; the lock it left is recovered by the next run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xensim-kill-run-'));
    const log = join(dir, 'run.log');
    const r = await runBuilt(built.bin, ['run', LONG_RUN, '--log', log], {
      heapMiB: 512,
      timeoutMs: 120_000,
      started: (pid) => whenFileGrows(log, 64 * 1024, () => process.kill(pid, 'SIGKILL')),
    });
    expect(r.signal).toBe('SIGKILL');
    // What was written is whole lines: a line is one write(2).
    expect(logLines(log).some((l) => l.event === 'end')).toBe(false);
    expect(existsSync(`${log}.lock`)).toBe(true);
    const again = await runBuilt(built.bin, ['run', 'fork-pin-clean', '--log', log]);
    expect(again.status).toBe(0);
    expect(readFileSync(log, 'utf8')).toMatch(/"event":"end","reason":"completed"/);
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});

describe('explore stopped by a signal between runs', () => {
  for (const [sig, code] of STOPS) {
    it(`${sig}: exit ${code}, one whole report: not exhaustive, stopped: interrupted`, async () => {
      const r = await runBuilt(built.bin, ['explore', LONG_SEARCH, '--json'], {
        heapMiB: 512,
        timeoutMs: 120_000,
        // No file grows: after a second of CPU, the search (minutes long) is under way.
        started: (pid) => whenBusy(pid, 1000, () => process.kill(pid, sig)),
      });
      expect(r.signal).toBe(null);
      expect(r.status).toBe(code);
      expect(r.stdout.endsWith('\n')).toBe(true);
      expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ scenario: 'three-vcpu-purge', exhaustive: false, stopped: 'interrupted' });
      expect(r.stderr).not.toMatch(/^\s{4}at /m);
    }, 180_000);
  }

  it('SIGKILL: no partial output (the report is written whole at the end)', async () => {
    const r = await runBuilt(built.bin, ['explore', LONG_SEARCH, '--json'], {
      heapMiB: 512,
      timeoutMs: 120_000,
      started: (pid) => whenBusy(pid, 1000, () => process.kill(pid, 'SIGKILL')),
    });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('');
  }, 180_000);
});
