// `inspect LOG`: reads a hypercall log back (the pino NDJSON that `replay --log` and `run` write,
// docs/trace-extensions.md) and answers the questions people open logs for — why was a pin
// refused, who flushed what, which vCPU waited for whom — without reading 10,000 lines.
//
// Default: a summary a person reads in seconds (hypercalls by op and errno, refusals grouped by
// reason and blocker, flushes by cause, IPIs, WARNs, BUGs, deadlocks, hazards). Filters print
// the matching lines, in order (raw NDJSON by default; `--format xen` as a Xen debug build's
// `xl dmesg`, `--format pretty` as pino-pretty, `--format summary` the summary of just those).
// It streams (the trace reader's line batches, with its limits: docs/limits.md): memory stays
// bounded whatever the log's length — per-line state is a few counters, plus for `--mfn` the
// entries and VAs known to map that one frame.
//
// Line kinds, in the order they are told apart: `event` (a string `event`: flushes, expectation
// failures, audit, bad input, end, and every guest event — `op_start` carries an `op` too, so
// `event` goes first), `record` (a string `op`), `refusal` (a `refusal` object), `other`. An event
// kind this file does not know is counted by name, never an error.

import { LogCheck, logReadError, readLog, type LogLine } from '../log/read.ts';
import type { LogSink } from '../log/write.ts';
import { filterText, hasFilter, LineFilter, type FilterOptions } from './filter.ts';
import { printerFor, type InspectFormat } from './formats.ts';
import type { SummaryJson } from './summary.ts';
import { Writer } from './writer.ts';

export { INSPECT_FORMATS, type InspectFormat } from './formats.ts';

export interface InspectOptions extends FilterOptions {
  json?: boolean;
  /** Default: summary without filters, lines with them. */
  format?: InspectFormat;
  /** pretty: colours (default: when stdout is a TTY). */
  color?: boolean;
  out?: LogSink;
  err?: LogSink;
  signal?: AbortSignal;
}

export interface InspectResult {
  exit: number;
  /** Lines that passed the filters (all parsed lines without filters). */
  matched: number;
  summary?: SummaryJson;
}

/** The format asked for: summary without filters, the raw lines with them; --json is JSON either way. */
function formatOf(opts: InspectOptions, filtering: boolean): InspectFormat {
  const format = opts.format ?? (filtering ? 'lines' : 'summary');
  return opts.json && format !== 'summary' ? 'lines' : format;
}

/**
 * Runs `inspect` on LOG: read → filter → print, line by line. Exit 0, or 2 when the log cannot be
 * read or has lines that are not log lines (what could be read is still shown). Never throws for a
 * bad log.
 */
export async function inspect(path: string, opts: InspectOptions = {}): Promise<InspectResult> {
  const out = new Writer(opts.out ?? process.stdout);
  const err = opts.err ?? process.stderr;
  const filtering = hasFilter(opts);
  const filter = filtering ? new LineFilter(opts) : undefined;
  const printer = printerFor(formatOf(opts, filtering), { path, json: opts.json === true, filtering, color: opts.color });
  const check = new LogCheck(path);
  let matched = 0;
  try {
    for await (const line of readLog(path)) {
      if (opts.signal?.aborted) break;
      check.see(line);
      if (line.o === null) {
        printer.skipped?.(line);
        continue;
      }
      if (filter !== undefined && !filter.test(line.o)) continue;
      matched++;
      const text = printer.line(line as LogLine & { o: NonNullable<LogLine['o']> });
      if (text !== '') await out.write(text);
    }
  } catch (e) {
    const msg = logReadError(path, e);
    await out.flush();
    err.write(msg + '\n');
    return { exit: 2, matched };
  }
  // Lines that are not log lines (or none at all): what could be read is shown, and exit 2 says the rest.
  const problem = opts.signal?.aborted ? undefined : check.problem();
  const end = printer.end(problem);
  if (end.out !== undefined) await out.write(end.out);
  await out.flush();
  if (problem !== undefined) err.write(problem + '\n');
  if (end.note !== undefined) err.write(end.note + '\n');
  const lacks = problem === undefined ? check.lacks() : undefined;
  if (lacks !== undefined) err.write(lacks + '\n');
  // An empty answer is said, not left to look like a bug (an MFN typed in the wrong base, say).
  if (filtering && matched === 0 && problem === undefined && opts.signal?.aborted !== true) {
    err.write(`${path}: no line matches ${filterText(opts)}\n`);
  }
  const result: InspectResult = { exit: problem === undefined ? 0 : 2, matched };
  if (end.summary !== undefined) result.summary = end.summary;
  return result;
}
