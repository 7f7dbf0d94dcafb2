#!/usr/bin/env node
// The `xensim` command. `npm start -- replay FILE` (tsx, the sources) is the same as `xensim replay
// FILE` (`npx xensim`: dist/xensim.js, this file bundled by src/build.mjs); with no arguments
// at all it shows the bundled demo's hypercalls and the seed's headline (headline.ts).
// Exit statuses, the same for every subcommand (help.ts): 0 done, 1 an expectation, an audit or the
// model failed, 2 bad input or a usage error, 130 interrupted. process.exitCode, never
// process.exit, so the log is flushed.
//
// Start-up: what only some subcommands need is import()ed by their actions (the simulator, the
// guest and xstate, zod, cli-progress); inspect and export (pino-pretty) are only registered when
// the command line does not name another subcommand.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { addHelp, EXIT, PACKAGE_ROOT, programHelp } from './help.ts';
import { ioCause, OutputError } from '../log/output.ts';
import { registerCompare } from './compare.ts';
import { registerDiff } from './diff.ts';
import { registerExplore } from './explore.ts';
import { registerMerge } from './merge.ts';
import { headline } from './headline.ts';
import { registerReplay } from './replay.ts';
import { registerRun } from './run.ts';
import { registerTest } from './test.ts';

export const DEMO_TRACE = fileURLToPath(new URL('examples/seed-alias-blocks-pin.ndjson', PACKAGE_ROOT));

/** package.json's version. */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version: string }).version;
}

/** Subcommands defined in modules that load what only they need: registered on demand. */
const ON_DEMAND: Record<string, () => Promise<(program: Command) => Command>> = {
  inspect: async () => (await import('./inspect.ts')).registerInspect,
  export: async () => (await import('./export.ts')).registerExport,
};
const EAGER = ['replay', 'run', 'compare', 'explore', 'diff', 'test'];

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

  registerReplay(program);
  registerRun(program);
  registerCompare(program);
  registerExplore(program);
  registerMerge(program);
  registerDiff(program);
  registerTest(program);
  const sub = argv[2];
  if (sub === undefined || !EAGER.includes(sub)) {
    for (const load of Object.values(ON_DEMAND)) (await load())(program);
  }
  for (const cmd of program.commands) addHelp(cmd);
  // commander's own messages ("error: unknown option '--x'") get the prefix every other message
  // has: `xensim SUB: …`, or `xensim: …` before a subcommand is known.
  const prefixed = (who: string) => (str: string, write: (s: string) => void) => write(str.replace(/^error: /, `${who}: `));
  program.configureOutput({ outputError: prefixed('xensim') });
  for (const cmd of program.commands) cmd.configureOutput({ outputError: prefixed(`xensim ${cmd.name()}`) });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  // `xensim … | head`: a closed stdout ends the output quietly (replay and inspect also stop early).
  // Any other write error (`> /dev/full`, a read-only file) is said once, in one line, and the
  // command ends with exit status 2 whatever it would have said (runCommand also stops its body).
  let stdoutBroken = false;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || stdoutBroken) return;
    stdoutBroken = true;
    process.stderr.write(`xensim: standard output: ${ioCause(e)}\n`);
    process.once('exit', () => {
      process.exitCode = EXIT.badInput;
    });
  });
  // `npm start replay X --json` without `--`: npm takes --json as its own setting and passes it on
  // only as npm_config_json; give it back rather than lose it silently.
  if (process.env.npm_lifecycle_event === 'start' && process.env.npm_config_json === 'true' && args.length > 0 && !args.includes('--json')) {
    args.push('--json');
    argv = [...argv, '--json'];
  }
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
    if (e instanceof OutputError) {
      process.stderr.write(`xensim: ${e.message}\n`);
      process.exitCode = EXIT.badInput;
      return;
    }
    // Not the input's fault: a bug in xensim (the subcommands turn bad input into exit 2).
    process.stderr.write(`xensim: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = EXIT.failed;
  }
}

await main(process.argv);
