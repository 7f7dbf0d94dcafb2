#!/usr/bin/env node
// The `xensim` command. `npm start -- replay FILE` (tsx, the sources) is the same as `xensim replay
// FILE` (`npx xensim`: dist/xensim.js, this file bundled by src/build.mjs); with no arguments
// at all it shows the bundled demo's hypercalls and the seed's headline (run-command.ts headline).
// Exit statuses, the same for every subcommand (help.ts): 0 done, 1 an expectation, an audit or the
// model failed, 2 bad input or a usage error, 130 interrupted. process.exitCode, never
// process.exit, so the log is flushed.
//
// Start-up: what only some subcommands need is import()ed by their actions (the simulator, the
// guest and xstate, zod, cli-progress); inspect and export (pino-pretty) are only registered when
// the command line does not name another subcommand.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCommand } from './command.ts';
import { Command, CommanderError, Option } from 'commander';
import { addHelp, EXIT, programHelp } from './help.ts';
import { LOG_LEVELS, type LogLevel } from './log.ts';
import type { replay } from './replay.ts';
import { headline, registerCompare, registerExplore, registerRun } from './run-command.ts';

export const DEMO_TRACE = fileURLToPath(new URL('../examples/seed-alias-blocks-pin.ndjson', import.meta.url));

/** package.json's version (the file is one level up from src/cli.ts and from dist/xensim.js). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Subcommands defined in modules that load what only they need: registered on demand. */
const ON_DEMAND: Record<string, () => Promise<(program: Command) => Command>> = {
  inspect: async () => (await import('./inspect.ts')).registerInspect,
  export: async () => (await import('./export/index.ts')).registerExport,
};
const EAGER = ['replay', 'run', 'compare', 'explore'];

interface ReplayFlags {
  json?: boolean;
  quiet?: boolean;
  log?: string;
  logLevel: LogLevel;
  audit?: boolean;
  xenBuild?: 'debug' | 'release';
  on?: 'sim' | 'xen';
  xen?: string;
  compare?: boolean;
}

async function runReplay(file: string, flags: ReplayFlags): Promise<void> {
  await runCommand(async (signal) => {
    // On real Xen (src/oracle/on-xen.ts): --on xen, or --compare (both).
    if (flags.on === 'xen' || flags.compare) {
      const { replayOnXen } = await import('./oracle/on-xen.ts');
      return replayOnXen(file, { xen: flags.xen, compare: flags.compare === true, json: flags.json === true });
    }
    const opts: Parameters<typeof replay>[1] = { logLevel: flags.logLevel, signal };
    if (flags.json) opts.json = true;
    if (flags.quiet) opts.quiet = true;
    if (flags.log !== undefined) opts.log = flags.log;
    if (flags.audit) opts.audit = true;
    if (flags.xenBuild === 'release') opts.xenBuild = 'release';
    const { replay } = await import('./replay.ts');
    return (await replay(file, opts)).exit;
  });
}

/**
 * The program. `argv` (process.argv's form) only decides what to register: a command line that
 * names replay/run/compare/explore does not load inspect and export; any other (help, an unknown
 * subcommand that needs suggestions, inspect, export) gets every subcommand.
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('xensim')
    .description('Simulates Xen PV (x86-64) page types and a Linux 2.6.28 PV guest: replay pin/unpin traces, run guest scenarios under paravirt policies, read the hypercall log.')
    .version(version(), '-V, --version', 'print the version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText('after', programHelp);

  program
    .command('replay')
    .description('replay a trace (or a hypercall log) against the simulated Xen')
    .argument('<file>', 'trace v1 (.ndjson) or a hypercall log')
    .option('--json', 'one JSON object per record on stdout')
    .option('-q, --quiet', 'report only the records that went wrong (a failed expectation, an audit mismatch) and the summary: for long traces, whose details are in the log')
    .option('--log <path>', 'write the hypercall log (pino NDJSON) to this file')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--audit', 'audit every reference after every record; stop at the first mismatch')
    .addOption(new Option('--xen-build <build>', "Xen's build: debug logs gdprintk texts with refusals, release none").choices(['debug', 'release']).default('debug'))
    .addOption(new Option('--on <hypervisor>', 'sim: the simulated Xen; xen: real Xen 4.17 under QEMU (scripts/get-xen; docs/oracle.md)').choices(['sim', 'xen']).default('sim'))
    .option('--xen <path>', 'the Xen image for --on xen (default oracle/.xen/xen-4.17-amd64)')
    .option('--compare', 'run on real Xen and on the model, and list every disagreement')
    .action(runReplay);
  registerRun(program);
  registerCompare(program);
  registerExplore(program);
  const sub = argv[2];
  if (sub === undefined || !EAGER.includes(sub)) {
    for (const load of Object.values(ON_DEMAND)) (await load())(program);
  }
  for (const cmd of program.commands) addHelp(cmd);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  // `xensim … | head`: a closed stdout ends the output quietly (replay and inspect also stop early).
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  if (args.length === 0) {
    await headline(DEMO_TRACE);
    return;
  }
  try {
    const program = await buildProgram(argv);
    // `xensim help repaly`: the unknown-command error with its suggestion, not the whole help.
    const [first, second] = args;
    if (first === 'help' && second !== undefined && !second.startsWith('-') && !program.commands.some((c) => c.name() === second)) {
      argv = [...argv.slice(0, 2), second];
    }
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not errors; everything else commander rejects is a usage error.
      process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.badInput;
      return;
    }
    // Not the input's fault: a bug in xensim (the subcommands turn bad input into exit 2).
    process.stderr.write(`xensim: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = EXIT.failed;
  }
}

await main(process.argv);
