// Start-up budget of the built `xensim` (issue 8): whole-process wall time of
//   node dist/xensim.js replay <a 20-record trace>     and     node dist/xensim.js run fork-pin-clean
// against two baselines measured in the same run — `node -e 0`, and `node` importing only pino and
// xstate (the import floor: what any xensim needs before its own code runs) — plus the sources
// under tsx, for what the build saves. The commands are interleaved (one sample of each per round,
// after an untimed warm-up round) and each figure is the median of its samples.
// Goal: replay ≤ 1.3× the import floor.
//
// The bundle is rebuilt first (src/build.mjs, what `npm run build` and `npm ci` run), so the
// figures are those of the current sources.
//
//   tsx test/bench/startup.ts [--runs N] [--json]     (alone)
//   npm run bench                                     (the "startup" section)
//
// Self-contained on purpose: the figures have the shape of report.ts's Figure without importing it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Figure } from './report.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'dist/xensim.js');
const SEED = join(REPO, 'examples/seed-alias-blocks-pin.ndjson');
/** Booting Xen 4.17 under QEMU with an XTF test kernel, per verdict (issue 8's measurement, not re-measured). */
export const REAL_XEN_MS = 1300;
export const REPLAY_GOAL = 1.3;

/** A start-up figure has the shape of every bench figure (report.ts). */
export type StartupFigure = Figure;

export interface StartupOptions {
  /** Timed samples of each command (default 15). */
  runs?: number;
  /** Skip the rebuild and measure dist/ as it is. */
  noBuild?: boolean;
  /** Also time `tsx src/cli/program.ts replay` (default true). */
  tsx?: boolean;
  progress?: (s: string) => void;
}

/** The first `n` records (comments and blank lines dropped) of the seed example, in a file. */
export function twentyRecordTrace(dir: string, n = 20): string {
  const records = readFileSync(SEED, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
    .slice(0, n);
  if (records.length < n) throw new Error(`${SEED} has only ${records.length} records`);
  const p = join(dir, `trace-${n}.ndjson`);
  writeFileSync(p, records.join('\n') + '\n');
  return p;
}

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One whole process, wall time in ms; throws if it does not exit 0. */
function timeOnce(args: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')}: exit ${r.status ?? r.signal}\n${r.stderr}`);
  return ms;
}

export async function startup(opts: StartupOptions = {}): Promise<StartupFigure[]> {
  const runs = opts.runs ?? 15;
  const say = opts.progress ?? (() => {});
  if (!opts.noBuild) {
    say('startup: building dist/ (src/build.mjs)…');
    execFileSync(process.execPath, [join(REPO, 'src/build.mjs')], { cwd: REPO, stdio: 'inherit' });
  }
  const dir = mkdtempSync(join(tmpdir(), 'xensim-startup-'));
  try {
    const trace = twentyRecordTrace(dir);
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const cmds: Record<string, string[]> = {
      node: ['-e', '0'],
      floor: ['--input-type=module', '-e', "await import('pino'); await import('xstate');"],
      replay: [BIN, 'replay', trace],
      run: [BIN, 'run', 'fork-pin-clean'],
    };
    if (opts.tsx !== false) cmds.tsx = ['--import', tsx, join(REPO, 'src/cli/program.ts'), 'replay', trace];
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
    for (const args of Object.values(cmds)) timeOnce(args); // warm-up: file cache, compile cache
    for (let i = 0; i < runs; i++) {
      say(`startup: round ${i + 1}/${runs}`);
      for (const [k, args] of Object.entries(cmds)) samples[k]!.push(timeOnce(args));
    }
    const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<string, number>;
    const min = (k: string) => Math.min(...samples[k]!);
    const round = (x: number) => Math.round(x * 10) / 10;
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const n = `median of ${runs}, interleaved`;
    const floorWhat = 'node importing pino + xstate';
    const figures: StartupFigure[] = [
      { id: 'startup.node', section: 'startup', what: 'node -e 0', value: round(med.node!), unit: 'ms', note: `${n}; min ${round(min('node'))} ms`, samples: { node: samples.node! } },
      {
        id: 'startup.floor',
        section: 'startup',
        what: `import floor: ${floorWhat}`,
        value: round(med.floor!),
        unit: 'ms',
        baseline: { what: 'node -e 0', value: round(med.node!), unit: 'ms' },
        ratio: ratio(med.floor!, med.node!),
        note: `${n}; min ${round(min('floor'))} ms`,
        samples: { floor: samples.floor! },
      },
      {
        id: 'startup.replay',
        section: 'startup',
        what: 'xensim replay, 20 records (node dist/xensim.js)',
        value: round(med.replay!),
        unit: 'ms',
        baseline: { what: floorWhat, value: round(med.floor!), unit: 'ms' },
        ratio: ratio(med.replay!, med.floor!),
        goal: { on: 'ratio', op: '<=', limit: REPLAY_GOAL },
        note: `${n}; min ${round(min('replay'))} ms; ${ratio(med.replay!, med.node!)}× node -e 0`,
        samples: { replay: samples.replay!, floor: samples.floor! },
      },
      {
        id: 'startup.run',
        section: 'startup',
        what: 'xensim run fork-pin-clean (node dist/xensim.js)',
        value: round(med.run!),
        unit: 'ms',
        baseline: { what: floorWhat, value: round(med.floor!), unit: 'ms' },
        ratio: ratio(med.run!, med.floor!),
        note: `${n}; min ${round(min('run'))} ms; loads the guest, xstate and zod`,
        samples: { run: samples.run!, floor: samples.floor! },
      },
      {
        id: 'startup.vs-xen',
        section: 'startup',
        what: `replay verdict vs booting real Xen (${REAL_XEN_MS} ms a case)`,
        value: ratio(REAL_XEN_MS, med.replay!),
        unit: '× faster',
        // Not judged: the 1.3 s was not measured in this run (the "at least 5×" follows
        // from the ratio goal when the import floor is ≈ 0.2 s, as on an idle machine).
        note: `${REAL_XEN_MS} ms: issue 8's measurement (Xen 4.17 under QEMU, XTF), not re-measured here, so not judged; ≥ 5× when the import floor is ≈ 0.2 s`,
      },
    ];
    if (med.tsx !== undefined) {
      figures.push({
        id: 'startup.tsx',
        section: 'startup',
        what: 'the sources: tsx src/cli/program.ts replay, 20 records',
        value: round(med.tsx),
        unit: 'ms',
        baseline: { what: 'node dist/xensim.js replay', value: round(med.replay!), unit: 'ms' },
        ratio: ratio(med.tsx, med.replay!),
        note: `${n}; what the build saves`,
        samples: { tsx: samples.tsx! },
      });
    }
    for (const f of figures) {
      if (!f.goal) continue;
      const x = f.goal.on === 'ratio' ? f.ratio! : f.value;
      f.met = f.goal.op === '<=' ? x <= f.goal.limit : x >= f.goal.limit;
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The figures as a plain table (when run alone). */
export function startupTable(figures: readonly StartupFigure[]): string {
  const rows = figures.map((f) => [
    f.what,
    `${f.value} ${f.unit}`,
    f.baseline ? `${f.baseline.value} ${f.baseline.unit} (${f.baseline.what})` : '',
    f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}×`,
    f.goal ? `${f.goal.on === 'ratio' ? 'ratio ' : ''}${f.goal.op === '<=' ? '≤' : '≥'} ${f.goal.limit}` : '',
    f.met === undefined ? '' : f.met ? 'met' : 'NOT MET',
  ]);
  const head = ['figure', 'value', 'baseline (same run)', 'ratio', 'goal', ''];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), line(w.map((x) => '-'.repeat(x))), ...rows.map(line)].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, json: { type: 'boolean', default: false }, 'no-build': { type: 'boolean', default: false } } });
  const runs = values.runs === undefined ? 15 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error('startup: --runs takes a positive integer');
    process.exit(2);
  }
  const figures = await startup({ runs, noBuild: values['no-build'], progress: (s) => process.stderr.write(s + '\n') });
  process.stdout.write(values.json ? JSON.stringify(figures, null, 2) + '\n' : startupTable(figures) + '\n');
}
