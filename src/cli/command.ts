// The CLI's conventions for a subcommand's body, shared by every subcommand: `… | head` (EPIPE on
// stdout) stops quietly, SIGINT stops between records or lines, a UsageError or an OutputError (a
// file or stdout that cannot be written: full disk, read-only, no such directory) prints one line
// and exits 2.

import { OutputError } from '../log/output.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Something that takes text: stderr, or a test's capture. */
export interface ErrSink {
  write(s: string): unknown;
}

/**
 * stderr with every line starting `xensim SUB: `: one prefix for every message of every
 * subcommand (its own, a file's `FILE:LINE: …`, a usage error), so a script can tell them apart.
 */
export function errorSink(sub: string, to: ErrSink = process.stderr): ErrSink {
  let atLineStart = true;
  return {
    write(s: string) {
      let out = '';
      for (const piece of s.split(/(?<=\n)/)) {
        if (piece === '') continue;
        out += (atLineStart ? `xensim ${sub}: ` : '') + piece;
        atLineStart = piece.endsWith('\n');
      }
      return to.write(out);
    },
  };
}

/**
 * Why a command was stopped: the abort reason its AbortSignal carries, with the exit status the
 * stop means (128 + the signal's number, as a shell reports a process a signal ended; 130 for a
 * closed stdout, as before).
 */
export interface StopReason {
  why: 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'stdout closed';
  exit: number;
}

/** The signals that stop a command between two steps, like Ctrl-C: the log gets its end line. */
const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * Runs subcommand `sub`'s body with the CLI's conventions: `… | head` (EPIPE on stdout) stops
 * quietly; SIGINT, SIGTERM and SIGHUP stop it between steps (the body sees its signal aborted, with
 * a StopReason); a UsageError or OutputError prints one line and exits 2. The body gets `err`,
 * stderr with the subcommand's prefix. Sets process.exitCode.
 */
export async function runCommand(sub: string, body: (signal: AbortSignal, err: ErrSink) => Promise<number>): Promise<void> {
  const err = errorSink(sub);
  const ac = new AbortController();
  const handlers = Object.entries(STOP_SIGNALS).map(([sig, exit]) => {
    const h = (): void => ac.abort({ why: sig, exit } as StopReason);
    process.once(sig as NodeJS.Signals, h);
    return [sig, h] as const;
  });
  // program.ts says a stdout write error (other than EPIPE) and sets the exit status; here the
  // body is only stopped.
  const onStdoutError = (): void => ac.abort({ why: 'stdout closed', exit: 130 } as StopReason);
  process.stdout.on('error', onStdoutError);
  try {
    process.exitCode = await body(ac.signal, err);
  } catch (e) {
    if (!(e instanceof UsageError) && !(e instanceof OutputError)) throw e;
    err.write(`${e.message}\n`);
    process.exitCode = 2;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
  }
}

/** commander's collector for a repeatable option. */
export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}
