// The BUILT command (issue 8): src/build.mjs bundles src/cli/program.ts into a scratch copy of the
// layout `npm ci` leaves (dist/, package.json, examples/), and these tests run that bundle with
// plain node — no tsx — as `npx xensim` does: replay, run, compare on worker threads (the second
// entry point), --log, --version, help, usage errors; and what start-up loads (the metafile).
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLES } from '../../src/cli/help.ts';
import type { CompareBatch, CompareWorkerData } from '../../src/lab/compare.ts';
import { runScenario } from '../../src/lab/run.ts';
import { builtinScenarios } from '../../src/lab/scenarios/builtin.ts';
import { loadScenario } from '../../src/lab/scenarios/load.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
};
const root = mkdtempSync(join(tmpdir(), 'xensim-build-'));
const BIN = join(root, pkg.bin.xensim ?? 'dist/xensim.js');
const SEED = 'examples/seed-alias-blocks-pin.ndjson';
const REFUSAL = 'mmuext_op pin_l1_table 0x1011  -EINVAL  Bad type (saw writable != exp l1) for mfn 0x1011 — blocker: L1 0x1003 slot 17 maps it writable';

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function node(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: repo, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}
/** The built command, run by plain node from the repository (relative example paths work). */
const xensim = (...args: string[]) => node([BIN, ...args]);

beforeAll(() => {
  execFileSync(process.execPath, [join(repo, 'src/build.mjs'), join(root, 'dist'), '--metafile'], { cwd: repo, stdio: 'pipe' });
  copyFileSync(join(repo, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(repo, 'examples'), join(root, 'examples'));
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the package', () => {
  it('bin xensim → dist/xensim.js, built by `npm run build` and by `prepare` (npm ci); dist/ stays out of git', () => {
    expect(pkg.bin).toEqual({ xensim: 'dist/xensim.js' });
    expect(pkg.scripts.build).toBe('node src/build.mjs');
    expect(pkg.scripts.prepare).toBe('node src/build.mjs');
    expect(readFileSync(join(repo, '.gitignore'), 'utf8').split('\n')).toContain('dist/');
    expect(readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(existsSync(join(root, 'dist/compare-worker.js'))).toBe(true);
    expect(existsSync(join(root, 'dist/scenarios/fork-pin-clean.json'))).toBe(true);
  });

  it('start-up loads neither the guest, xstate, zod, cli-progress nor pino-pretty: only their subcommands import() them', () => {
    const meta = JSON.parse(readFileSync(join(root, 'dist/meta.json'), 'utf8')) as {
      outputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[]; inputs: Record<string, unknown> }>;
    };
    const outs = meta.outputs;
    const byBase = (p: string) => Object.keys(outs).find((k) => k.split('/').pop() === p.split('/').pop())!;
    /** The outputs evaluated when `file` is imported: its static imports, transitively. */
    const staticClosure = (file: string): Set<string> => {
      const seen = new Set<string>();
      const todo = [byBase(file)];
      while (todo.length) {
        const k = todo.pop()!;
        if (seen.has(k)) continue;
        seen.add(k);
        for (const i of outs[k]!.imports) if (!i.external && i.kind !== 'dynamic-import') todo.push(byBase(i.path));
      }
      return seen;
    };
    const replayChunk = Object.keys(outs).find((k) => /\/replay-[A-Z0-9]+\.js$/.test(k))!;
    expect(replayChunk).toBeDefined();
    const atReplay = new Set([...staticClosure('xensim.js'), ...staticClosure(replayChunk)]);
    const inputs = [...atReplay].flatMap((k) => Object.keys(outs[k]!.inputs));
    expect(inputs).toContain('src/replay/replay.ts');
    expect(inputs.some((i) => i.includes('node_modules/pino/'))).toBe(true);
    for (const lazy of ['node_modules/zod/', 'node_modules/xstate/', 'node_modules/cli-progress/', 'node_modules/pino-pretty/', 'src/inspect/', 'src/lab/run.ts']) {
      expect(inputs.filter((i) => i.includes(lazy)), lazy).toEqual([]);
    }
    // Of the guest, only its policy table (plain data, which the help lists) and its "did you mean".
    expect(inputs.filter((i) => i.startsWith('guest/')).sort()).toEqual(['guest/policy.ts', 'guest/suggest.ts']);
  });
});

describe.concurrent('the built command (node dist/xensim.js)', () => {
  it('replay examples/seed-alias-blocks-pin.ndjson: exit 0, the refusal line', async () => {
    const r = await xensim('replay', SEED);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(REFUSAL);
    expect(r.stdout).toContain('stopped: finished, exit 0');
  });

  it('replay --log: the same log, byte for byte, as the sources under tsx write', async () => {
    const built = join(root, 'built.log');
    const sources = join(root, 'sources.log');
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const [a, b] = await Promise.all([
      xensim('replay', SEED, '--log', built),
      node(['--import', tsx, join(repo, 'src/cli/program.ts'), 'replay', SEED, '--log', sources]),
    ]);
    expect([a.status, b.status]).toEqual([0, 0]);
    const log = readFileSync(built, 'utf8');
    expect(log).toBe(readFileSync(sources, 'utf8'));
    expect(JSON.parse(log.trim().split('\n').at(-1)!)).toMatchObject({ event: 'end', reason: 'finished', exit: 0 });
  });

  it('run fork-pin-clean --json: the verdict', async () => {
    const r = await xensim('run', 'fork-pin-clean', '--json');
    expect(r.status).toBe(0);
    const v = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(v).toMatchObject({ scenario: 'fork-pin-clean', outcome: 'completed', pins: { ok: 3, refused: 0 } });
  });

  it('compare --seeds 1..30 --workers 2 --json runs on worker threads from dist/compare-worker.js, and agrees with one thread', async () => {
    const args = ['compare', '--scenarios', 'fork-pin-clean', '--seeds', '1..30', '--json'];
    const [two, one] = await Promise.all([xensim(...args, '--workers', '2'), xensim(...args, '--workers', '1')]);
    expect(two.stderr).toBe('');
    expect([two.status, one.status]).toEqual([0, 0]);
    const verdicts = JSON.parse(two.stdout) as { scenario: string; seed: number }[];
    expect(verdicts).toHaveLength(4 * 30);
    expect(verdicts.every((v) => v.scenario === 'fork-pin-clean')).toBe(true);
    expect(verdicts).toEqual(JSON.parse(one.stdout));
  });

  it('the built worker (dist/compare-worker.js) alone claims every run and gives run\'s verdicts', async () => {
    // compare's own thread may finish a small matrix before a worker starts: here the worker is
    // the only thread that runs.
    const scenario = { ...loadScenario('fork-pin-clean'), file: 'fork-pin-clean' };
    const jobs: [number, string, number][] = [1, 2, 3].map((seed) => [0, 'force', seed]);
    const next = new SharedArrayBuffer(4);
    const data: CompareWorkerData = { scenarios: [scenario], jobs, set: [], next, threads: 1, thread: 1, startedAt: Date.now() };
    const got: CompareBatch = [];
    let stats: { runs: number; chunks: number } | undefined;
    await new Promise<void>((resolve, reject) => {
      const w = new Worker(join(root, 'dist/compare-worker.js'), { workerData: data });
      w.on('message', (b: CompareBatch | { stats: { runs: number; chunks: number } }) => (Array.isArray(b) ? got.push(...b) : (stats = b.stats)));
      w.on('error', reject);
      w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
    });
    expect(got.map(([i]) => i).sort()).toEqual([0, 1, 2]);
    for (const [i, v] of got) expect(v).toEqual(runScenario(loadScenario('fork-pin-clean'), { policy: 'force', seed: jobs[i]![2], set: [] }));
    expect(new Int32Array(next)[0]).toBeGreaterThanOrEqual(3);
    // …and says what it did at its end: every run, in chunks (the first of one run).
    expect(stats!.runs).toBe(3);
    expect(stats!.chunks).toBeGreaterThanOrEqual(2);
  });

  it('--version prints package.json\'s version', async () => {
    const r = await xensim('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('help run, run --help: options, examples, the built-in scenarios, the exit statuses', async () => {
    const [help, flag] = await Promise.all([xensim('help', 'run'), xensim('run', '--help')]);
    expect([help.status, flag.status]).toEqual([0, 0]);
    expect(help.stdout).toBe(flag.stdout);
    expect(help.stdout).toContain('Usage: xensim run [options] <scenario>');
    expect(help.stdout).toContain('$ xensim run fork-pin-clean');
    for (const s of builtinScenarios()) expect(help.stdout).toContain(s);
    expect(help.stdout).toMatch(/Exit status[^]*\n {2}130 {2}interrupted/);
  });

  it('--help and every subcommand\'s help end with examples and the exit statuses', async () => {
    const names = ['replay', 'run', 'compare', 'explore', 'inspect', 'export'];
    const rs = await Promise.all([xensim('--help'), ...names.map((n) => xensim('help', n))]);
    for (const r of rs) {
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('Examples:\n  $ xensim');
      expect(r.stdout).toContain('Exit status (every subcommand):');
    }
    expect(rs[0]!.stdout).toContain(SEED);
    expect(rs[1]!.stdout).toContain('examples/build-pin-4level.ndjson');
  });

  it('the help\'s examples name example files that exist and built-in scenarios', () => {
    const scenarios = new Set(builtinScenarios());
    for (const [cmd] of Object.values(EXAMPLES).flat()) {
      for (const f of cmd.match(/examples\/\S+/g) ?? []) expect(existsSync(join(repo, f)), f).toBe(true);
      const m = /^xensim (?:run|explore) (\S+)/.exec(cmd);
      if (m) expect(scenarios.has(m[1]!), m[1]).toBe(true);
      for (const list of cmd.match(/--scenarios (\S+)/g) ?? []) {
        for (const s of list.split(' ')[1]!.split(',')) expect(scenarios.has(s), s).toBe(true);
      }
    }
    expect(relative(repo, join(repo, SEED))).toBe(SEED);
  });

  it('an unknown subcommand exits 2 and suggests the nearest', async () => {
    const [sub, help] = await Promise.all([xensim('repaly', SEED), xensim('help', 'explor')]);
    expect(sub.status).toBe(2);
    // Every message starts `xensim …:` (issue 17: commander's said `error:`).
    expect(sub.stderr).toContain("xensim: unknown command 'repaly'\n(Did you mean replay?)");
    expect(help.status).toBe(2);
    expect(help.stderr).toContain('(Did you mean explore?)');
  });

  it('unknown flags of run, compare and explore exit 2 and suggest the nearest; so do missing and extra arguments', async () => {
    const [run, compare, explore, missing, extra] = await Promise.all([
      xensim('run', 'fork-pin-clean', '--polcy', 'never'),
      xensim('compare', '--seed', '1..3'),
      xensim('explore', 'fork-pin-clean', '--max-schedule', '3'),
      xensim('run'),
      xensim('run', 'fork-pin-clean', 'exec-activate-pin'),
    ]);
    expect(run).toMatchObject({ status: 2, stdout: '' });
    expect(run.stderr).toContain("unknown option '--polcy'\n(Did you mean --policy?)");
    expect(compare.status).toBe(2);
    expect(compare.stderr).toContain('(Did you mean --seeds?)');
    expect(explore.status).toBe(2);
    expect(explore.stderr).toContain('(Did you mean --max-schedules?)');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'scenario'");
    expect(extra.status).toBe(2);
    expect(extra.stderr).toContain('too many arguments');
  });

  it('bad input exits 2 (an unknown scenario, a missing trace); an expectation that fails exits 1', async () => {
    const failing = join(root, 'fail.ndjson');
    writeFileSync(
      failing,
      [
        '{"op":"create_domain","domid":1,"vcpus":2,"frames":{"base":"0x1000","count":64}}',
        '{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x1000"}],"expect":-22}',
      ].join('\n') + '\n',
    );
    const [scenario, missing, failed] = await Promise.all([
      xensim('run', 'fork-pin-dirty'),
      xensim('replay', join(root, 'does-not-exist.ndjson')),
      xensim('replay', failing),
    ]);
    expect(scenario.status).toBe(2);
    expect(scenario.stderr).toContain('fork-pin-dirty: no such scenario file or built-in scenario');
    expect(missing.status).toBe(2);
    expect(failed.status).toBe(1);
  });
});
