// One streaming pass over a log for `export`: each line goes to every consumer (the timeline of
// each output, the HTML page's summary) and is dropped; what is kept is the consumers' own state.
// It stops between lines when the signal fires (Ctrl-C), and reports how far it got (bytes of
// text read) for a progress line.
import { statSync } from 'node:fs';
import { LogCheck, logReadError, readLog, type LogLine } from '../log/read.ts';

export interface PassOptions {
  signal?: AbortSignal;
  /** Called every few thousand lines with the bytes read so far (about: text length + line breaks). */
  progress?: (bytes: number) => void;
  /** Awaited every few thousand lines: lets a writer with work in flight (deflating) catch up. */
  drain?: () => Promise<void>;
}

export interface PassResult {
  /** Lines that are not log lines, or none at all (LogCheck): exit 2, the outputs still written. */
  problem?: string;
  /** The log could not be read on (missing, a directory, an over-long line, binary data). */
  error?: string;
  interrupted: boolean;
}

const PROGRESS_EVERY = 4096;

/** The size of LOG in bytes, for a progress bar (undefined: standard input, or not a file). */
export function logSize(log: string): number | undefined {
  if (log === '-') return undefined;
  try {
    const st = statSync(log);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

export async function readPass(log: string, consume: (line: LogLine) => void, opts: PassOptions = {}): Promise<PassResult> {
  const check = new LogCheck(log);
  let bytes = 0;
  let n = 0;
  // (An error from drain() is a writer's, not the log's: it is thrown on, past logReadError.)
  try {
    for await (const line of readLog(log)) {
      check.see(line);
      consume(line);
      bytes += line.text.length + 1;
      if (++n % PROGRESS_EVERY === 0) {
        opts.progress?.(bytes);
        await opts.drain?.();
      }
      if (opts.signal?.aborted) return { interrupted: true };
    }
  } catch (e) {
    return { error: logReadError(log, e), interrupted: false };
  }
  opts.progress?.(bytes);
  const problem = check.problem();
  return problem !== undefined ? { problem, interrupted: false } : { interrupted: false };
}
