// The CLI's conventions for a subcommand's body, shared by every subcommand: `… | head` (EPIPE on
// stdout) stops quietly, SIGINT stops between records or lines, a UsageError prints and exits 2.

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
  const onStdoutError = (e: NodeJS.ErrnoException): void => {
    if (e.code === 'EPIPE') ac.abort();
    else throw e;
  };
  process.once('SIGINT', onSigint);
  process.stdout.on('error', onStdoutError);
  try {
    process.exitCode = await body(ac.signal);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
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
