// One writer per log: a `--log` path another running xensim writes is refused, rather than two
// processes truncating and interleaving one file. The lock is proper-lockfile's (a directory
// PATH.lock made by mkdir, atomic on every local file system), with two choices of ours:
// - never stale by age: proper-lockfile refreshes the lock's mtime from a timer, and a replay or a
//   run is synchronous for long stretches, so the timer may not fire for minutes; a live holder
//   must not look dead. `stale` is set to ~12 days (the most its timer can take).
// - a crashed holder (kill -9, a power cut) is recovered by its pid, written in PATH.lock/pid: a
//   lock whose process no longer exists on this host is removed and taken. (A lock on a network
//   file system held from another host, or a pid reused since the crash, is reported as in use:
//   remove PATH.lock by hand.)
// A normal end, an exception or a signal the CLI handles release it (LogFile.end).
// proper-lockfile loads signal-exit 3, which listens for SIGINT, SIGTERM, SIGHUP and more to
// remove its locks on the way out. A JS listener defers a signal to the next turn of the event
// loop, so a synchronous `run` would finish, and exit 0, instead of dying of it: those listeners
// are taken off here (they are the only signal listeners when this module loads, at start-up). A
// lock is still given back at a normal exit and after the signals the CLI handles (LogFile's exit
// hook); a process killed by a signal leaves it for the next one to recover by its pid.

import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { ioCause, OutputError } from './output.ts';

for (const event of process.eventNames()) {
  if (typeof event !== 'string' || !event.startsWith('SIG')) continue;
  for (const l of process.listeners(event as NodeJS.Signals)) if (l.name === 'listener') process.off(event, l);
}

/** ~12 days: over proper-lockfile's timer limit (stale / 2 must fit setTimeout's 2^31 ms). */
const NEVER_STALE_MS = 2 ** 30;

/** Takes the lock on `path` (which need not exist yet); returns its release. */
export function lockOutput(path: string, what: string): () => void {
  const dir = `${path}.lock`;
  const opts = { realpath: false, stale: NEVER_STALE_MS, lockfilePath: dir };
  let release: () => void;
  try {
    release = lockfile.lockSync(path, opts);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw new OutputError(`${what} ${path}: cannot lock it: ${ioCause(e)}`);
    const pid = holder(dir);
    if (pid === undefined || alive(pid)) {
      const by = pid === undefined ? 'another xensim' : `another xensim (pid ${pid})`;
      throw new OutputError(`${what} ${path}: in use by ${by}; if none is running, remove ${dir}`);
    }
    rmSync(dir, { recursive: true, force: true });
    return lockOutput(path, what);
  }
  const pidFile = join(dir, 'pid');
  writeFileSync(pidFile, `${process.pid}\n`);
  return () => {
    try {
      unlinkSync(pidFile);
      release();
    } catch {
      // Released already (the lock directory removed by hand): nothing to give back.
    }
  };
}

function holder(dir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dir, 'pid'), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
