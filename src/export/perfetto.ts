// `export LOG --perfetto OUT.json`: the log's timeline (see timeline.ts) as Chrome Trace Event JSON
// — `{"traceEvents":[…]}` with ph X (slices), i (instants), C (counters) and M (names, order) —
// which ui.perfetto.dev and chrome://tracing open. ts and dur are µs (one unit of simulated time
// = 1 µs), printed with at most three decimals so they are whole ns; pid = domain, tid = vCPU.
// Streams: each event is written as the timeline emits it, through a 64 KiB buffer.
import { closeSync, openSync, writeSync } from 'node:fs';
import { isObj, type Obj } from '../log/line.ts';
import { LogCheck, logReadError, readLog } from '../log/read.ts';
import { Timeline, type TimelineStats, type TlEvent } from './timeline.ts';

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
  return JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v));
}

export interface ExportResult {
  exit: number;
  stats?: TimelineStats;
  /** Lines that were not JSON objects (skipped). */
  unparsed: number;
  error?: string;
}

interface Out {
  write(s: string): void;
  close(): void;
}

function fileOut(path: string): Out {
  const fd = openSync(path, 'w');
  let buf = '';
  return {
    write(s) {
      buf += s;
      if (buf.length >= 1 << 16) {
        writeSync(fd, buf);
        buf = '';
      }
    },
    close() {
      if (buf !== '') writeSync(fd, buf);
      closeSync(fd);
    },
  };
}

/** Writes the Perfetto JSON of LOG to OUT (a path, or a sink for tests). */
export async function exportPerfetto(log: string, out: string | { write(s: string): unknown }, source = log): Promise<ExportResult> {
  let o: Out;
  try {
    o = typeof out === 'string' ? fileOut(out) : { write: (s) => void out.write(s), close: () => undefined };
  } catch (e) {
    return { exit: 2, unparsed: 0, error: `${String(out)}: ${(e as Error).message}` };
  }
  let first = true;
  o.write('{"traceEvents":[\n');
  const tl = new Timeline((e) => {
    o.write((first ? '' : ',\n') + eventJson(e));
    first = false;
  });
  let unparsed = 0;
  const check = new LogCheck(log);
  try {
    for await (const line of readLog(log)) {
      check.see(line);
      if (line.o === null) {
        if (!line.comment) unparsed++;
        continue;
      }
      if (isObj(line.o)) tl.feed(line.o);
    }
  } catch (e) {
    o.close();
    return { exit: 2, unparsed, error: logReadError(log, e) };
  }
  const stats = tl.finish();
  const other: Record<string, string> = { source, generator: 'xensim export --perfetto', time_unit: '1 unit of simulated time = 1 us' };
  for (const [k, v] of Object.entries(stats)) other[k] = String(v);
  o.write(`\n],\n"displayTimeUnit":"ns",\n"otherData":${JSON.stringify(other)}}\n`);
  o.close();
  // Lines that are not log lines (or none at all): the timeline of the rest is written, exit 2.
  const problem = check.problem();
  if (problem !== undefined) return { exit: 2, stats, unparsed, error: problem };
  return { exit: 0, stats, unparsed };
}
