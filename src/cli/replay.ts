// `xensim replay FILE …`: the flags → replay (loaded when the subcommand runs) → its exit status.
import { Option, type Command } from 'commander';
import { XEN_VERSIONS, type XenVersion } from '../../hypervisor/abi.ts';
import { LOG_LEVELS, type LogLevel } from '../log/write.ts';
import type { ReplayOptions } from '../replay/replay.ts';
import { logSize } from '../export/pass.ts';
import { runCommand } from './command.ts';
import { progressLine, wantProgress } from './progress.ts';

interface ReplayFlags {
  json?: boolean;
  quiet?: boolean;
  log?: string;
  logLevel: LogLevel;
  audit?: boolean;
  xenBuild?: 'debug' | 'release';
  xenVersion?: XenVersion;
  on?: 'sim' | 'xen';
  xen?: string;
  compare?: boolean;
  check: boolean;
  progress?: boolean;
}

/** Traces from this size on get a progress line on stderr (a terminal, when stdout's report does not share it). */
const PROGRESS_FROM_BYTES = 4 << 20;

/** The progress line of a replay: records, rate, seconds; or null. */
async function replayProgress(file: string, flags: ReplayFlags) {
  const size = logSize(file);
  const reportOnTerminal = process.stdout.isTTY === true && !flags.json && !flags.quiet;
  if (!wantProgress(flags.progress, !reportOnTerminal && size !== undefined && size >= PROGRESS_FROM_BYTES)) return null;
  const t0 = performance.now();
  const line = await progressLine('replay {records} records  {rate} records/s  {elapsed}s', { records: 0, rate: 0, elapsed: 0 });
  return {
    update: (records: number) => {
      const s = (performance.now() - t0) / 1000;
      line.update({ records, rate: s > 0 ? Math.round(records / s) : 0, elapsed: Math.round(s) });
    },
    stop: line.stop,
  };
}

async function runReplay(file: string, flags: ReplayFlags): Promise<void> {
  await runCommand('replay', async (signal, err) => {
    // On real Xen (src/oracle/on-xen.ts): --on xen, or --compare (both).
    if (flags.on === 'xen' || flags.compare) {
      const { replayOnXen } = await import('../oracle/on-xen.ts');
      return replayOnXen(file, { xen: flags.xen, compare: flags.compare === true, json: flags.json === true });
    }
    const opts: ReplayOptions = { logLevel: flags.logLevel, signal, err };
    if (flags.json) opts.json = true;
    if (flags.quiet) opts.quiet = true;
    if (flags.log !== undefined) opts.log = flags.log;
    if (flags.audit) opts.audit = true;
    if (!flags.check) opts.check = false;
    // Not given: the model a log names on its end line, else 4.17 debug (src/replay/model.ts).
    if (flags.xenBuild !== undefined) opts.xenBuild = flags.xenBuild;
    if (flags.xenVersion !== undefined) opts.xenVersion = flags.xenVersion;
    const progress = await replayProgress(file, flags);
    if (progress) opts.onProgress = progress.update;
    const { replay } = await import('../replay/replay.ts');
    try {
      return (await replay(file, opts)).exit;
    } finally {
      progress?.stop();
    }
  });
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('replay a trace (or a hypercall log) against the simulated Xen')
    .argument('<file>', 'trace v1 (.ndjson) or a hypercall log')
    .option('--json', 'one JSON object per record on stdout')
    .option('-q, --quiet', 'report only the records that went wrong (a failed expectation, an audit mismatch) and the summary: for long traces, whose details are in the log')
    .option('--log <path>', 'write the hypercall log (pino NDJSON) to this file')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--no-check', 'replay a hypercall log without checking it against what it recorded (by default each result must match and the log must be whole)')
    .option('--progress', 'a progress line on stderr even when it is not a terminal or the trace is small (at most 5 a second)')
    .option('--audit', 'audit every reference after every record; stop at the first mismatch')
    .addOption(new Option('--xen-build <build>', "Xen's build: debug logs gdprintk texts with refusals, release none (default: a log's own, else debug)").choices(['debug', 'release']))
    .addOption(new Option('--on <hypervisor>', 'sim: the simulated Xen; xen: real Xen 4.17 under QEMU (scripts/get-xen; docs/oracle.md)').choices(['sim', 'xen']).default('sim'))
    .option('--xen <path>', 'the Xen image for --on xen (default oracle/.xen/xen-4.17-amd64)')
    .option('--compare', 'run on real Xen and on the model, and list every disagreement')
    .addOption(new Option('--xen-version <version>', 'the Xen release whose answers to give where they differ (docs/xen-versions.md; default: a log\'s own, else 4.17)').choices([...XEN_VERSIONS]))
    .action(runReplay);
}
