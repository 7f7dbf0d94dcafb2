// `export`'s one pass: the log read once, line by line, into one timeline whose events go to every
// output asked for — the Perfetto trace (JSON, perfetto.ts, or protobuf, proto.ts) and the HTML
// page (html.ts) — each written to a temporary file renamed into place when complete
// (out-file.ts). Memory: the timeline's open slices and tracks, the protobuf writer's interned
// strings (bounded), the page's capped marks and the summary; never the log or the trace.
import { stopExit } from '../log/output.ts';
import { OutputError } from '../log/output.ts';
import { PageBuilder, renderHtml } from './html.ts';
import { fileSink, memorySink, type Sink } from './out-file.ts';
import { readPass } from './pass.ts';
import { JsonTraceWriter } from './perfetto.ts';
import { ProtoTraceWriter } from './proto.ts';
import { Timeline, type Opened, type TimelineStats, type TlEvent } from './timeline.ts';

export type TraceFormat = 'json' | 'proto';

/** protobuf for `.pftrace`, `.perfetto-trace`, `.pb` and `.proto`; JSON otherwise. */
export function traceFormatOf(path: string): TraceFormat {
  return /\.(pftrace|perfetto-trace|pb|proto)$/i.test(path) ? 'proto' : 'json';
}

/** A path (`--perfetto`/`--html`), or a test's capture. */
export type Out = string | { write(s: string | Uint8Array): unknown };

export interface ExportRequest {
  perfetto?: { out: Out; format: TraceFormat };
  html?: { out: Out; maxEvents?: number };
}

export interface ExportOptions {
  source?: string;
  signal?: AbortSignal;
  progress?: (bytes: number) => void;
}

export interface ExportOutcome {
  exit: number;
  error?: string;
  stats?: TimelineStats;
  /** Lines that were not log lines (or comments). */
  unparsed: number;
  /** Marks the page left out (--max-events, or its args budget). */
  dropped: number;
  /** Protobuf packets written. */
  packets: number;
  interrupted: boolean;
}

function open(out: Out, what: string, log: string): Sink {
  return typeof out === 'string' ? fileSink(out, what, log === '-' ? [] : [log]) : memorySink(out);
}

/** The writers an export asks for, each on its own sink. */
interface Writers {
  emit: ((e: TlEvent) => void)[];
  onOpen?: (o: Opened) => void;
  json?: JsonTraceWriter;
  proto?: ProtoTraceWriter;
  page?: { b: PageBuilder; sink: Sink };
}

/** Opens the outputs `req` asks for into `w`, each sink pushed to `sinks` as it opens (so a failure can discard it). */
function openWriters(log: string, req: ExportRequest, source: string, sinks: Sink[], w: Writers): void {
  if (req.perfetto !== undefined) {
    const sink = open(req.perfetto.out, '--perfetto', log);
    sinks.push(sink);
    if (req.perfetto.format === 'proto') {
      w.proto = new ProtoTraceWriter(sink);
      w.emit.push(w.proto.onEvent);
      w.onOpen = w.proto.onOpen;
    } else {
      w.json = new JsonTraceWriter(sink);
      w.emit.push(w.json.onEvent);
    }
  }
  if (req.html !== undefined) {
    const sink = open(req.html.out, '--html', log);
    sinks.push(sink);
    w.page = { b: new PageBuilder(source, req.html.maxEvents), sink };
    w.emit.push(w.page.b.onEvent);
  }
}

/** Exports LOG to every output in `req`, in one pass. Exit 0; 2 for a log that could not be (wholly) read or an output that could not be written; 128 + n when a signal stopped it (130 for Ctrl-C). */
export async function exportLog(log: string, req: ExportRequest, opts: ExportOptions = {}): Promise<ExportOutcome> {
  const source = opts.source ?? log;
  const sinks: Sink[] = [];
  const w: Writers = { emit: [] };
  const outcome: ExportOutcome = { exit: 0, unparsed: 0, dropped: 0, packets: 0, interrupted: false };
  try {
    openWriters(log, req, source, sinks, w);
    const { emit, json, proto, page } = w;
    const tl = new Timeline(emit.length === 1 ? emit[0]! : (e) => emit.forEach((f) => f(e)), w.onOpen);
    const r = await readPass(
      log,
      (line) => {
        page?.b.onLine(line);
        if (line.o !== null) tl.feed(line.o);
        else if (!line.comment) outcome.unparsed++;
      },
      { ...opts, ...(proto !== undefined ? { drain: () => proto.drain() } : {}) },
    );
    if (r.interrupted || r.error !== undefined) {
      proto?.abort();
      for (const s of sinks) s.discard();
      return { ...outcome, exit: r.interrupted ? stopExit(opts.signal) : 2, interrupted: r.interrupted, ...(r.error !== undefined ? { error: r.error } : {}) };
    }
    const stats = tl.finish();
    json?.finish(stats, source);
    await proto?.finish();
    if (page !== undefined) {
      const d = page.b.data(stats, r.problem);
      page.sink.text(renderHtml(d));
      outcome.dropped = d.dropped;
    }
    for (const s of sinks) s.commit();
    // Lines that are not log lines (or none at all): the outputs hold the rest, exit 2.
    return { ...outcome, stats, packets: proto?.packets ?? 0, exit: r.problem !== undefined ? 2 : 0, ...(r.problem !== undefined ? { error: r.problem } : {}) };
  } catch (e) {
    w.proto?.abort();
    for (const s of sinks) s.discard();
    if (e instanceof OutputError) return { ...outcome, exit: 2, error: e.message };
    throw e;
  }
}

/** The Perfetto trace of LOG to OUT: JSON, or protobuf by OUT's extension (or `format`). */
export async function exportPerfetto(log: string, out: Out, opts: ExportOptions & { format?: TraceFormat } = {}): Promise<ExportOutcome> {
  return exportLog(log, { perfetto: { out, format: opts.format ?? (typeof out === 'string' ? traceFormatOf(out) : 'json') } }, opts);
}

/** The HTML page of LOG to OUT. */
export async function exportHtml(log: string, out: Out, opts: ExportOptions & { maxEvents?: number } = {}): Promise<ExportOutcome> {
  return exportLog(log, { html: { out, ...(opts.maxEvents !== undefined ? { maxEvents: opts.maxEvents } : {}) } }, opts);
}
