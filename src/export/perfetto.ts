// `export LOG --perfetto OUT.json`: the log's timeline (see timeline.ts) as Chrome Trace Event JSON
// — `{"traceEvents":[…]}` with ph X (slices), i (instants), C (counters) and M (names, order) —
// which ui.perfetto.dev and chrome://tracing open. ts and dur are µs (one unit of simulated time
// = 1 µs), printed with at most three decimals so they are whole ns; pid = domain, tid = vCPU.
// Streams: each event is written as the timeline emits it, through a 64 KiB buffer (out-file.ts).
// The protobuf form of the same timeline: proto.ts; the pass that feeds them: outputs.ts.
import type { Obj } from '../log/line.ts';
import type { Sink } from './out-file.ts';
import type { TimelineStats, TlEvent } from './timeline.ts';

/** ns → the µs number Chrome's format wants (exact: ns are integers, three decimals at most). */
export function us(ns: number): number {
  return ns / 1000;
}

/** One trace event as JSON, keys in the order Chrome's own traces use. */
export function eventJson(e: TlEvent): string {
  const o: Obj = { name: e.name, ph: e.ph, pid: e.pid, tid: e.tid };
  if (e.ph !== 'M') o.ts = us(e.ts);
  if (e.ph === 'X') {
    o.dur = us(e.dur);
    o.cat = e.cat;
  } else if (e.ph === 'i') {
    o.cat = e.cat;
    o.s = e.s;
  }
  o.args = e.args;
  // Without a replacer JSON.stringify takes V8's fast path; a bigint (none comes from a log line) throws, and is then written as hex.
  try {
    return JSON.stringify(o);
  } catch {
    return JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v));
  }
}

export interface ExportResult {
  exit: number;
  stats?: TimelineStats;
  /** Lines that were not JSON objects (skipped). */
  unparsed: number;
  error?: string;
}

/** The Chrome Trace Event JSON writer: a header, one event per line as the timeline emits them, the trailer. */
export class JsonTraceWriter {
  private readonly sink: Sink;
  private first = true;

  constructor(sink: Sink) {
    this.sink = sink;
    sink.text('{"traceEvents":[\n');
  }

  readonly onEvent = (e: TlEvent): void => {
    this.sink.text((this.first ? '' : ',\n') + eventJson(e));
    this.first = false;
  };

  finish(stats: TimelineStats, source: string): void {
    const other: Record<string, string> = { source, generator: 'xensim export --perfetto', time_unit: '1 unit of simulated time = 1 us' };
    for (const [k, v] of Object.entries(stats)) other[k] = String(v);
    this.sink.text(`\n],\n"displayTimeUnit":"ns",\n"otherData":${JSON.stringify(other)}}\n`);
  }
}
