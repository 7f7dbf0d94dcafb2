// The progress line of the long commands (issue 17: "no progress on long explore, export or big
// replays"): --progress draws it on stderr even on a pipe, throttled, and stdout — the report, the
// --json output — is byte for byte what it is without it. Without --progress, on a pipe, nothing.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(repo, 'src/cli/program.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const SEED = join(repo, 'examples/seed-alias-blocks-pin.ndjson');
const dir = mkdtempSync(join(tmpdir(), 'xensim-progress-'));

function xensim(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

/** The same command with and without --progress: same status and stdout; the progress lines on stderr only with it. */
async function both(args: string[], line: RegExp): Promise<string[]> {
  const [plain, shown] = await Promise.all([xensim(args), xensim([...args, '--progress'])]);
  expect(shown.status).toBe(plain.status);
  expect(shown.stdout).toBe(plain.stdout);
  expect(plain.stderr).not.toMatch(line);
  const lines = shown.stderr.split('\n').filter((l) => line.test(l));
  expect(lines.length).toBeGreaterThanOrEqual(2);
  expect(shown.stdout).not.toMatch(line);
  return lines;
}

describe('--progress', () => {
  it('explore: schedules, states, depth on stderr; the --json report unchanged', async () => {
    const lines = await both(['explore', 'cross-vcpu-irqsoff-purge', '--policy', 'force', '--json'], /^explore \d+ schedules {2}\d+ states {2}depth \d+/);
    // The last line is the final count: every schedule the report counts.
    const last = /^explore (\d+) schedules/.exec(lines.at(-1)!)!;
    expect(Number(last[1])).toBeGreaterThan(0);
  }, 120_000);

  it('replay: records on stderr; the --json records unchanged', async () => {
    const lines = await both(['replay', SEED, '--json'], /^replay \d+ records/);
    expect(lines.at(-1)).toMatch(/^replay 25 records/);
  }, 120_000);

  it('export: the bar on stderr, to 100 %; the trace file the same', async () => {
    const log = join(dir, 'seed.log');
    expect((await xensim(['replay', SEED, '--quiet', '--log', log])).status).toBe(0);
    const plain = await xensim(['export', log, '--perfetto', join(dir, 'a.json')]);
    const shown = await xensim(['export', log, '--perfetto', join(dir, 'b.json'), '--progress']);
    expect(shown.status).toBe(plain.status);
    expect(shown.stdout).toBe(plain.stdout);
    expect(plain.stderr).not.toMatch(/^export \[/m);
    expect(shown.stderr).toMatch(/^export \[.*\] 100% /m);
    expect(readFileSync(join(dir, 'b.json'), 'utf8')).toBe(readFileSync(join(dir, 'a.json'), 'utf8'));
  }, 120_000);
});
