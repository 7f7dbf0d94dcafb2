// The `xensim` command. `npm start -- replay FILE` is the same as `xensim replay FILE`; with no
// arguments at all it replays the bundled demo (examples/seed-alias-blocks-pin.ndjson) in human form.
// Exit status: replay's (0/1/2, 130 interrupted); 2 for a usage error. process.exitCode, never
// process.exit, so the log is flushed.
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { LOG_LEVELS, type LogLevel } from './log.ts';
import { replay } from './replay.ts';
import { registerInspect } from './inspect.ts';
import { registerExport } from './export/index.ts';
import { headline, registerCompare, registerExplore, registerRun } from './run-command.ts';

export const DEMO_TRACE = fileURLToPath(new URL('../examples/seed-alias-blocks-pin.ndjson', import.meta.url));

interface ReplayFlags {
  json?: boolean;
  log?: string;
  logLevel: LogLevel;
  audit?: boolean;
  xenBuild?: 'debug' | 'release';
}

async function runReplay(file: string, flags: ReplayFlags): Promise<void> {
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  // `xensim replay … | head`: a closed stdout stops the replay quietly.
  const onStdoutError = (e: NodeJS.ErrnoException): void => {
    if (e.code === 'EPIPE') ac.abort();
    else throw e;
  };
  process.once('SIGINT', onSigint);
  process.stdout.on('error', onStdoutError);
  try {
    const opts: Parameters<typeof replay>[1] = { logLevel: flags.logLevel, signal: ac.signal };
    if (flags.json) opts.json = true;
    if (flags.log !== undefined) opts.log = flags.log;
    if (flags.audit) opts.audit = true;
    if (flags.xenBuild === 'release') opts.xenBuild = 'release';
    const summary = await replay(file, opts);
    process.exitCode = summary.exit;
  } finally {
    process.off('SIGINT', onSigint);
    // The stdout error listener stays: an EPIPE may be reported after the last write.
  }
}

export function buildProgram(): Command {
  const program = new Command('xensim')
    .description('Simulates Xen PV (x86-64) page types: replay pin/unpin traces and read the hypercall log.')
    .exitOverride()
    .showSuggestionAfterError(true);

  program
    .command('replay')
    .description('replay a trace (or a hypercall log) against the simulated Xen')
    .argument('<file>', 'trace v1 (.ndjson) or a hypercall log')
    .option('--json', 'one JSON object per record on stdout')
    .option('--log <path>', 'write the hypercall log (pino NDJSON) to this file')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--audit', 'audit every reference after every record; stop at the first mismatch')
    .addOption(new Option('--xen-build <build>', "Xen's build: debug logs gdprintk texts with refusals, release none").choices(['debug', 'release']).default('debug'))
    .action(runReplay);
  registerRun(program);
  registerCompare(program);
  registerExplore(program);
  registerInspect(program);
  registerExport(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  if (args.length === 0) {
    await headline(DEMO_TRACE);
    return;
  }
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not errors; everything else commander rejects is a usage error.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    throw e;
  }
}

await main(process.argv);
