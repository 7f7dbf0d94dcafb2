// §3 Scale: a domain of 16,777,216 frames (a 64 GiB guest). Memory per frame (heap + array buffers)
// and creation time, measured in a child process (scale-child.ts) so that the bench's own heap
// does not blur the figure. Baseline for the memory: what the sparse frame table counts itself
// (frameTableBytes, the counter the bounds test trusts); for the time: allocating and zero-filling
// that many bytes.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { judge, type Figure } from './report.ts';
import { human, median, round3 } from './util.ts';

export const SCALE_FRAMES = 2 ** 24;

interface ChildResult {
  frames: number;
  bytes: number;
  /** Bytes of the frame table's typed arrays. */
  arrays: number;
  ms: number;
}

function child(frames: number): ChildResult {
  const script = fileURLToPath(new URL('./scale-child.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, String(frames)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

/** The floor for creation: allocate and zero-fill `bytes` bytes of typed arrays. */
function allocFloorMs(bytes: number): number {
  const t0 = performance.now();
  const a = new Uint8Array(bytes).fill(1);
  const ms = performance.now() - t0;
  if (a[bytes - 1] !== 1) throw new Error('unreachable');
  return ms;
}

export function scale(rounds: number): Figure[] {
  const runs = Array.from({ length: rounds }, () => child(SCALE_FRAMES));
  const bytesPerFrame = round3(median(runs.map((r) => r.bytes)) / SCALE_FRAMES);
  const ms = round3(median(runs.map((r) => r.ms)));
  const arraysPerFrame = round3(median(runs.map((r) => r.arrays)) / SCALE_FRAMES);
  const floorMs = round3(median(Array.from({ length: rounds }, () => allocFloorMs(Math.round(bytesPerFrame * SCALE_FRAMES)))));
  const section = `3a. Scale: one domain of ${human(SCALE_FRAMES)} frames (64 GiB), in a child process`;
  return [
    judge({
      id: 'scale.memory',
      section,
      what: 'memory per frame (heap + array buffers)',
      value: bytesPerFrame,
      unit: 'B/frame',
      baseline: { what: "the frame table's own count (frameTableBytes)", value: arraysPerFrame, unit: 'B/frame' },
      ratio: round3(bytesPerFrame / arraysPerFrame),
      goal: { on: 'value', op: '<=', limit: 24 },
      note: 'ratio = all that creation added (heap + array buffers) / what the sparse frame table counts',
      samples: { bytes: runs.map((r) => r.bytes) },
    }),
    judge({
      id: 'scale.create',
      section,
      what: 'domain creation time',
      value: ms,
      unit: 'ms',
      baseline: { what: 'allocate + fill as many bytes', value: floorMs, unit: 'ms' },
      ratio: round3(ms / floorMs),
      goal: { on: 'value', op: '<', limit: 1000 },
      samples: { create: runs.map((r) => r.ms) },
    }),
  ];
}
