// §4 Memory bounded by design (issue 18): the peak resident set of a replay with the log at info,
// at two sizes (default 1 M and 5 M generated records), each in a child process of its own
// (memory-child.ts). Replay streams: the trace is read a 64 KiB chunk at a time, the log written
// 64 KiB at a time, and what a record leaves behind is the simulated machine's state, which the
// generator keeps to a fixed set of domains. So the peak must not grow with the trace: the goal is
// the big replay's peak within 10 % of the small one's, and under MEMORY_BOUND_MIB.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { judge, type Figure } from './report.ts';
import { human, round3, writeTrace } from './util.ts';

/** The stated bound on a replay's peak RSS, whatever the trace's length (docs/limits.md). */
export const MEMORY_BOUND_MIB = 256;
const SEED = 11;

interface ChildResult {
  records: number;
  maxRssKiB: number;
  ms: number;
  heapUsed: number;
}

function child(trace: string, log: string): ChildResult {
  const script = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', script, trace, log], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

/** Peak RSS of a replay with its log, at each size; the files are removed as soon as measured. */
export function memory(dir: string, sizes: readonly [number, number], progress: (s: string) => void): Figure[] {
  const runs = sizes.map((n) => {
    const trace = join(dir, `memory-${n}.ndjson`);
    const log = join(dir, `memory-${n}.log`);
    progress(`memory: writing a ${human(n)}-record trace…`);
    writeTrace(trace, { seed: SEED, records: n });
    progress(`memory: replaying it with --log (a child process)…`);
    try {
      return { n, ...child(trace, log) };
    } finally {
      rmSync(trace, { force: true });
      rmSync(log, { force: true });
    }
  });
  const [small, big] = runs as [ChildResult & { n: number }, ChildResult & { n: number }];
  const mib = (kib: number) => round3(kib / 1024);
  const section = `5. Memory: peak RSS of replay --log (log at info), in a child process`;
  return [
    judge({
      id: `memory.replay.${big.n}`,
      section,
      what: `replay --quiet --log, ${human(big.n)} records: peak RSS`,
      value: mib(big.maxRssKiB),
      unit: 'MiB',
      baseline: { what: `the same, ${human(small.n)} records`, value: mib(small.maxRssKiB), unit: 'MiB' },
      ratio: round3(big.maxRssKiB / small.maxRssKiB),
      goal: { on: 'ratio', op: '<=', limit: 1.1 },
      note:
        `flat: ${human(big.n / small.n)}× the records, ratio = peak / peak; bound ${MEMORY_BOUND_MIB} MiB ` +
        `(${mib(big.maxRssKiB) <= MEMORY_BOUND_MIB ? 'held' : 'NOT held'}); heap at the end ${mib(big.heapUsed / 1024)} MiB ` +
        `(${human(small.n)}: ${mib(small.heapUsed / 1024)} MiB); the replays took ${Math.round(small.ms)} and ${Math.round(big.ms)} ms`,
      samples: { maxRssKiB: [small.maxRssKiB, big.maxRssKiB] },
    }),
  ];
}
