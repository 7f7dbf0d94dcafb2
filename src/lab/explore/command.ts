// `xensim explore`'s command side: the progress line on stderr (a TTY only, not with --json),
// --max-time, and Ctrl-C, which stops the search between runs and prints what it found so far.

import { exploreAsync, exploreText, type ExploreOptions, type ExploreProgress, type ExploreReport } from '../../explore.ts';
import type { Scenario } from '../../scenarios/schema.ts';

export interface ExploreCommandFlags {
  policy?: string;
  set: string[];
  vcpus?: number;
  maxSchedules: number;
  /** Seconds. */
  maxTime?: number;
  json?: boolean;
}

export async function exploreCommand(s: Scenario, source: string, flags: ExploreCommandFlags): Promise<ExploreReport> {
  const opts: ExploreOptions = { set: flags.set, maxSchedules: flags.maxSchedules, source };
  if (flags.policy !== undefined) opts.policy = flags.policy;
  if (flags.vcpus !== undefined) opts.vcpus = flags.vcpus;
  if (flags.maxTime !== undefined) opts.maxTimeMs = flags.maxTime * 1000;
  const progress = process.stderr.isTTY && !flags.json ? await progressLine() : null;
  if (progress) opts.onRun = progress.update;
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.on('SIGINT', onSigint);
  try {
    const r = await exploreAsync(s, opts, abort.signal);
    progress?.stop();
    process.stdout.write(flags.json ? JSON.stringify(r) + '\n' : exploreText(r) + '\n');
    return r;
  } finally {
    process.off('SIGINT', onSigint);
    progress?.stop();
  }
}

/** One line, redrawn at most ~10 times a second: schedules, states, depth, rate. */
async function progressLine(): Promise<{ update: (p: ExploreProgress) => void; stop: () => void }> {
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'explore {schedules} schedules  {states} states  depth {depth}  {rate} schedules/s  {elapsed}s',
      fps: 10,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  bar.start(1, 0, { schedules: 0, states: 0, depth: 0, rate: 0, elapsed: 0 });
  let stopped = false;
  return {
    update: (p) => {
      const s = (performance.now() - t0) / 1000;
      bar.update(0, { schedules: p.schedules, states: p.states, depth: p.depth, rate: s > 0 ? Math.round(p.schedules / s) : 0, elapsed: Math.round(s) });
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
