// The CLI's conventions for a subcommand's body, shared by every subcommand: `… | head` (EPIPE on
// stdout) stops quietly, SIGINT stops between records or lines, a UsageError or an OutputError (a
// file or stdout that cannot be written: full disk, read-only, no such directory) prints one line
// and exits 2.

import { OutputError } from '../log/output.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Runs a command body with the CLI's conventions: `… | head` (EPIPE on stdout) stops quietly,
 * SIGINT stops between lines, a UsageError prints and exits 2. Sets process.exitCode.
 */
export async function runCommand(body: (signal: AbortSignal) => Promise<number>): Promise<void> {
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  // program.ts says a stdout write error (other than EPIPE) and sets the exit status; here the
  // body is only stopped.
  const onStdoutError = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  process.stdout.on('error', onStdoutError);
  try {
    process.exitCode = await body(ac.signal);
  } catch (e) {
    if (!(e instanceof UsageError) && !(e instanceof OutputError)) throw e;
    process.stderr.write(`xensim: ${e.message}\n`);
    process.exitCode = 2;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** commander's collector for a repeatable option. */
export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}
