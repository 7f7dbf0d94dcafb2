// compare streams what it finishes (issue 15: "compare killed after 6 s of a long sweep prints
// nothing — every finished run is lost"). --csv, --ndjson and --json write each verdict as soon as
// it and every one before it are done; SIGTERM, SIGHUP and SIGINT stop the sweep between runs with
// 128 + n, the output closed properly (a whole JSON array, whole rows), and each row written is the
// verdict `run` gives for that cell. With --workers 2 the rows still come in matrix order.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvRow, compareJobs } from '../../src/lab/compare.ts';
import { runScenario } from '../../src/lab/run.ts';
import { builtinScenarios, loadScenario } from '../../src/lab/scenarios/load.ts';
import { SEED_QUESTION } from '../../src/lab/scenarios/policies.ts';
import type { Verdict } from '../../src/lab/verdict.ts';
import { buildCommand, repo, type Built } from './built.ts';

/** The default matrix over seeds 1..400: every built-in scenario × the four policies × 400. */
const TOTAL = builtinScenarios().length * SEED_QUESTION.length * 400;
let built: Built;
beforeAll(() => {
  built = buildCommand('xensim-compare-stream-');
});
afterAll(() => built?.remove());

/**
 * A sweep far longer than the test waits (TOTAL runs), stopped by `sig` once `lines` lines are
 * out — or, for the table (nothing out until the end), `lines` = -1: one second after it starts.
 */
function stopAfter(args: string[], sig: NodeJS.Signals, lines: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [built.bin, 'compare', '--seeds', '1..400', ...args], { cwd: repo });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      if (!sent && stdout.split('\n').length > lines) {
        sent = true;
        child.kill(sig);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    if (lines < 0) {
      // Once the command has installed its handlers (the caught-signal mask in /proc: SIGHUP's bit,
      // which node leaves alone until then, while it catches SIGINT and SIGTERM from the start),
      // plus a moment for the sweep to get going: a signal before that would kill node outright.
      const bit = 1n; // SIGHUP (1): bit 0
      const poll = setInterval(() => {
        let caught = 0n;
        try {
          caught = BigInt('0x' + (/SigCgt:\s+([0-9a-f]+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? '0'));
        } catch {
          return;
        }
        if ((caught & bit) === 0n) return;
        clearInterval(poll);
        setTimeout(() => ((sent = true), child.kill(sig)), 300);
      }, 20);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The first n cells of the default matrix over seeds 1..400, as `run` gives them. */
function expectedVerdicts(n: number): Verdict[] {
  const jobs = compareJobs({ scenarios: builtinScenarios(), policies: [...SEED_QUESTION], seeds: Array.from({ length: 400 }, (_, i) => i + 1) });
  return jobs.slice(0, n).map((j) => runScenario(loadScenario(j.scenario), { policy: j.policy, seed: j.seed }));
}

describe('compare stopped by a signal keeps every finished run', () => {
  it('--csv, SIGTERM: exit 143, whole rows, each the verdict run gives', async () => {
    const r = await stopAfter(['--csv', '--workers', '1'], 'SIGTERM', 30);
    expect(r.status).toBe(143);
    expect(r.stdout.endsWith('\n')).toBe(true);
    const rows = r.stdout.trimEnd().split('\n').slice(1);
    expect(rows.length).toBeGreaterThanOrEqual(29);
    expect(rows.length).toBeLessThan(TOTAL);
    expect(rows.slice(0, 10)).toEqual(expectedVerdicts(10).map(csvRow));
  });

  it('--json with two threads, SIGHUP: exit 129, one whole array in matrix order', async () => {
    const r = await stopAfter(['--json', '--workers', '2'], 'SIGHUP', 0);
    expect(r.status).toBe(129);
    const got = JSON.parse(r.stdout) as Verdict[];
    expect(got.length).toBeLessThan(TOTAL);
    const want = expectedVerdicts(got.length);
    expect(got.map((v) => [v.scenario, v.policy, v.seed, v.outcome])).toEqual(want.map((v) => [v.scenario, v.policy, v.seed, v.outcome]));
  });

  it('the table, SIGINT: exit 130, the finished cells and a note; cells not run are "…"', async () => {
    const r = await stopAfter(['--workers', '1'], 'SIGINT', -1);
    expect(r.status).toBe(130);
    expect(r.stdout).toMatch(/^scenario +force +if_needed +never +default$/m);
    expect(r.stdout).toMatch(new RegExp(`stopped after \\d+ of ${TOTAL} runs \\(… = not run\\)\\n$`));
    expect(r.stdout).toMatch(/…/);
  });
});
