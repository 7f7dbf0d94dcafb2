// The `xensim` command as a child process, many times: src/build.mjs bundles the sources into a
// scratch copy of the layout `npm ci` leaves (dist/, package.json, examples/), which plain node
// starts in about 0.2 s where tsx takes about 1 s (build.test.ts checks the bundle says and does
// what the sources do). Each run is timed, its V8 heap capped (--max-old-space-size) and, on Linux,
// its peak resident memory sampled from /proc.
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('../../', import.meta.url));

export interface Built {
  root: string;
  bin: string;
  remove(): void;
}

/** Bundles the command into a scratch directory (about a second). */
export function buildCommand(prefix = 'xensim-built-'): Built {
  const root = mkdtempSync(join(tmpdir(), prefix));
  execFileSync(process.execPath, [join(repo, 'src/build.mjs'), join(root, 'dist')], { cwd: repo, stdio: 'pipe' });
  copyFileSync(join(repo, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(repo, 'examples'), join(root, 'examples'));
  return { root, bin: join(root, 'dist/xensim.js'), remove: () => rmSync(root, { recursive: true, force: true }) };
}

export interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall-clock milliseconds. */
  ms: number;
  /** Peak resident set (VmHWM) in MiB, when /proc could be read; else undefined. */
  peakMiB: number | undefined;
}

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
  /** V8 heap cap in MiB (default 128): going over it kills the child (status 134), failing the test. */
  heapMiB?: number;
  /** Called once the child has started (e.g. to signal it later). */
  started?: (pid: number) => void;
  stdin?: string;
}

function vmHwm(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** node BIN ARGS, with the limits above. */
export function runBuilt(bin: string, args: string[], opts: RunOptions = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [`--max-old-space-size=${opts.heapMiB ?? 128}`, bin, ...args], {
      cwd: opts.cwd ?? repo,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 30_000,
    });
    let stdout = '';
    let stderr = '';
    let peak: number | undefined;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin.end(opts.stdin ?? '');
    const sample = (): void => {
      const v = child.pid !== undefined ? vmHwm(child.pid) : undefined;
      if (v !== undefined) peak = Math.max(peak ?? 0, v);
    };
    const timer = setInterval(sample, 10);
    if (child.pid !== undefined) opts.started?.(child.pid);
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('exit', () => clearInterval(timer));
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr, ms: performance.now() - t0, peakMiB: peak }));
  });
}

/** At most `n` at a time: child processes on a two-core machine. */
export function limiter(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(f: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await f();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

/** Calls `then` once the file at `path` has grown past `bytes` (polled: a log being written). */
export function whenFileGrows(path: string, bytes: number, then: () => void, everyMs = 10): void {
  const poll = setInterval(() => {
    let size = 0;
    try {
      size = statSync(path).size;
    } catch {
      return;
    }
    if (size > bytes) {
      clearInterval(poll);
      then();
    }
  }, everyMs);
}
