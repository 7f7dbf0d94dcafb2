// `xensim export LOG --perfetto OUT.json | --html OUT.html`: the log's timeline for
// ui.perfetto.dev / chrome://tracing, or as one self-contained page. Both may be given at once.
// Exit 0; 2 when the log cannot be read or has lines that are not log lines (the output is still
// written from the rest), an output cannot be written, or no output was asked for.
import type { Command } from 'commander';
import { DEFAULT_MAX_EVENTS, exportHtml } from '../export/html.ts';
import { exportPerfetto } from '../export/perfetto.ts';
import { runCommand, UsageError } from './command.ts';

interface ExportFlags {
  perfetto?: string;
  html?: string;
  maxEvents?: string;
}

export function registerExport(program: Command): Command {
  return program
    .command('export')
    .description('export a hypercall log as a timeline: Chrome/Perfetto trace JSON, or a self-contained HTML page')
    .argument('<log>', 'a hypercall log (pino NDJSON from replay --log or run); - for stdin')
    .option('--perfetto <out.json>', 'Chrome Trace Event JSON (opens in ui.perfetto.dev and chrome://tracing)')
    .option('--html <out.html>', 'one page with the per-vCPU timeline and the summary (no network needed)')
    .option('--max-events <n>', `--html: draw at most n slices and marks (default ${DEFAULT_MAX_EVENTS})`)
    .action(async (log: string, flags: ExportFlags) => {
      await runCommand('export', async (_signal, err) => {
        if (flags.perfetto === undefined && flags.html === undefined) throw new UsageError('give --perfetto OUT.json and/or --html OUT.html');
        if (log === '-' && flags.perfetto !== undefined && flags.html !== undefined) {
          throw new UsageError('standard input can be read once: give one of --perfetto, --html');
        }
        let maxEvents: number | undefined;
        if (flags.maxEvents !== undefined) {
          maxEvents = Number(flags.maxEvents);
          if (!/^\d+$/.test(flags.maxEvents) || maxEvents < 1) throw new UsageError(`--max-events: not a positive integer: ${flags.maxEvents}`);
        }
        if (flags.perfetto !== undefined) {
          const r = await exportPerfetto(log, flags.perfetto);
          if (r.error !== undefined) {
            err.write(r.error + '\n');
            return r.exit;
          }
          process.stderr.write(`${flags.perfetto}: ${r.stats!.slices} slices, ${r.stats!.instants} instants, ${r.stats!.counters} counter values\n`);
        }
        if (flags.html !== undefined) {
          const r = await exportHtml(log, flags.html, maxEvents !== undefined ? { maxEvents } : {});
          if (r.error !== undefined) {
            err.write(r.error + '\n');
            return r.exit;
          }
          const cut = r.dropped ? ` (${r.dropped} more left out: --max-events)` : '';
          process.stderr.write(`${flags.html}: ${r.stats!.slices} slices, ${r.stats!.instants} instants${cut}\n`);
        }
        return 0;
      });
    });
}
