// Shared helpers of `npm run bench`: a scratch directory, seeded traces written to files, and
// timing (the best of interleaved samples).
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { iterateTrace, type GenerateOptions } from '../../src/trace/generate.ts';

/** A discarding sink for replay's report (the report is still built: it is part of replay's cost). */
export const discard = { write: (): boolean => true };

/** A scratch directory removed at exit. */
export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'xensim-bench-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Writes a generated trace (src/trace/generate.ts: the seeded realistic mix) of `records` records
 * to `path`, streaming, so a million records never sit in memory at once. Returns the count by op.
 */
export function writeTrace(path: string, opts: GenerateOptions): Record<string, number> {
  const fd = openSync(path, 'w');
  const byOp: Record<string, number> = {};
  let buf = '';
  try {
    for (const r of iterateTrace(opts)) {
      byOp[r.op] = (byOp[r.op] ?? 0) + 1;
      buf += JSON.stringify(r) + '\n';
      if (buf.length > 1 << 20) {
        writeSync(fd, buf);
        buf = '';
      }
    }
    writeSync(fd, buf);
  } finally {
    closeSync(fd);
  }
  return byOp;
}

/**
 * Milliseconds taken by fn. No forced collection before it: a full GC between samples made the
 * next replay twice as slow (it ages and flushes compiled code), which no user run pays.
 */
export async function timeMs(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs each named job `rounds` times, interleaved (a, b, c, a, b, c, …) so that a slow phase of
 * a noisy machine hits every job alike; returns every sample and the best (least) time per job.
 * The best, not the median: other work on the machine only ever adds time, and it adds it
 * unevenly (on a shared 2-core machine the median of the same code moved by 50 % between runs).
 */
export async function interleaved<K extends string>(
  rounds: number,
  jobs: Record<K, () => unknown>,
): Promise<Record<K, { samples: number[]; ms: number }>> {
  const keys = Object.keys(jobs) as K[];
  const samples = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (const k of keys) samples[k].push(await timeMs(jobs[k]));
  }
  const out = {} as Record<K, { samples: number[]; ms: number }>;
  for (const k of keys) out[k] = { samples: samples[k].map(round3), ms: round3(Math.min(...samples[k])) };
  return out;
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Significant figures for the table: 1234567 → "1.23 M". */
export function human(x: number): string {
  const abs = Math.abs(x);
  if (abs >= 1e9) return `${(x / 1e9).toPrecision(3)} G`;
  if (abs >= 1e6) return `${(x / 1e6).toPrecision(3)} M`;
  if (abs >= 1e4) return `${(x / 1e3).toPrecision(3)} k`;
  if (abs >= 100) return x.toFixed(0);
  return x.toPrecision(3);
}
