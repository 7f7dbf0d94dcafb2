// `xensim export LOG --perfetto OUT.json|OUT.pftrace | --html OUT.html`: the log's timeline for
// ui.perfetto.dev / chrome://tracing (Chrome JSON, or Perfetto's protobuf trace for big logs), or
// as one self-contained page. Both may be given at once: the log is read once for both.
// Exit 0; 2 when the log cannot be read or has lines that are not log lines (the output is still
// written from the rest), an output cannot be written (or is the input, or both outputs are one
// path), or no output was asked for; 130 when stopped by Ctrl-C (the old files left as they were).
import type { Command } from 'commander';
import { DEFAULT_MAX_EVENTS } from '../export/html.ts';
import { refuseSameOutput } from '../export/out-file.ts';
import { exportLog, traceFormatOf, type ExportRequest, type TraceFormat } from '../export/outputs.ts';
import { logSize } from '../export/pass.ts';
import { runCommand, UsageError } from './command.ts';
import { progressLine, wantProgress } from './progress.ts';

interface ExportFlags {
  perfetto?: string;
  html?: string;
  maxEvents?: string;
  format?: string;
  quiet?: boolean;
  progress?: boolean;
}

/** Logs from this size on get a progress bar on stderr (when it is a terminal). */
const PROGRESS_FROM_BYTES = 4 << 20;

function traceFormat(flags: ExportFlags): TraceFormat {
  if (flags.format === undefined) return traceFormatOf(flags.perfetto!);
  if (flags.format !== 'json' && flags.format !== 'proto') throw new UsageError(`--format: expected json or proto, got ${flags.format}`);
  return flags.format;
}

function maxEventsOf(flags: ExportFlags): number | undefined {
  if (flags.maxEvents === undefined) return undefined;
  const n = Number(flags.maxEvents);
  if (!/^\d+$/.test(flags.maxEvents) || n < 1) throw new UsageError(`--max-events: not a positive integer: ${flags.maxEvents}`);
  return n;
}

/**
 * A bar over the log's bytes on stderr, or undefined: --progress draws it always (a count of
 * bytes for stdin), a terminal for a big log unless --quiet.
 */
async function progressBar(log: string, flags: ExportFlags) {
  const size = logSize(log);
  if (!wantProgress(flags.progress, flags.quiet !== true && size !== undefined && size >= PROGRESS_FROM_BYTES)) return undefined;
  const mb = (b: number): number => Math.round(b / 1e5) / 10;
  if (size === undefined) {
    const line = await progressLine('export {mb} MB read', { mb: 0 });
    return { update: (bytes: number) => line.update({ mb: mb(bytes) }), stop: line.stop };
  }
  const line = await progressLine('export [{bar}] {percentage}% {mb}/{total_mb} MB', { mb: 0, total_mb: mb(size) }, size);
  return { update: (bytes: number) => line.update({ mb: mb(Math.min(bytes, size)), total_mb: mb(size) }, Math.min(bytes, size)), stop: line.stop };
}

export function registerExport(program: Command): Command {
  return program
    .command('export')
    .description('export a hypercall log as a timeline: Perfetto trace (Chrome JSON, or protobuf for big logs), or a self-contained HTML page')
    .argument('<log>', 'a hypercall log (pino NDJSON from replay --log or run); - for stdin')
    .option('--perfetto <out>', 'a trace for ui.perfetto.dev: Chrome Trace Event JSON (also chrome://tracing), or protobuf when OUT ends in .pftrace (compact: for big logs)')
    .option('--format <json|proto>', '--perfetto: the trace format, whatever the extension')
    .option('--html <out.html>', 'one page with the per-vCPU timeline and the summary (no network needed)')
    .option('--max-events <n>', `--html: draw at most n slices and marks (default ${DEFAULT_MAX_EVENTS})`)
    .option('-q, --quiet', 'no progress bar and no counts on stderr (only errors)')
    .option('--progress', 'the progress bar on stderr even when it is not a terminal or the log is small (at most 5 a second)')
    .action(async (log: string, flags: ExportFlags) => {
      await runCommand('export', async (signal, err) => {
        if (flags.perfetto === undefined && flags.html === undefined) throw new UsageError('give --perfetto OUT.json and/or --html OUT.html');
        if (flags.format !== undefined && flags.perfetto === undefined) throw new UsageError('--format is for --perfetto');
        const req: ExportRequest = {};
        if (flags.perfetto !== undefined) req.perfetto = { out: flags.perfetto, format: traceFormat(flags) };
        const maxEvents = maxEventsOf(flags);
        if (flags.html !== undefined) req.html = { out: flags.html, ...(maxEvents !== undefined ? { maxEvents } : {}) };
        if (flags.perfetto !== undefined && flags.html !== undefined) {
          refuseSameOutput({ what: '--perfetto', path: flags.perfetto }, { what: '--html', path: flags.html });
        }
        const bar = await progressBar(log, flags);
        const r = await exportLog(log, req, { signal, ...(bar !== undefined ? { progress: bar.update } : {}) });
        bar?.stop();
        if (r.interrupted) {
          err.write('interrupted: nothing written\n');
          return 130;
        }
        if (r.stats === undefined) {
          err.write(r.error + '\n');
          return r.exit;
        }
        if (!flags.quiet) {
          const s = r.stats;
          if (req.perfetto?.format === 'proto') process.stderr.write(`${flags.perfetto}: ${s.slices} slices, ${s.instants} instants, ${s.counters} counter values (${r.packets} packets)\n`);
          else if (req.perfetto !== undefined) process.stderr.write(`${flags.perfetto}: ${s.slices} slices, ${s.instants} instants, ${s.counters} counter values\n`);
          if (req.html !== undefined) {
            const cut = r.dropped ? ` (${r.dropped} more left out: --max-events)` : '';
            process.stderr.write(`${flags.html}: ${s.slices} slices, ${s.instants} instants${cut}\n`);
          }
        }
        if (r.error !== undefined) err.write(r.error + '\n');
        return r.exit;
      });
    });
}
