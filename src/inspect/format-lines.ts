// `inspect --format lines` (the default with filters, and --json with filters): the matching lines
// as they are in the log, raw NDJSON — a format-2 line (src/log/write.ts) with what it leaves to
// the line before it filled in, so that a refusal line picked out alone still says where and who.
import type { Printer } from './printer.ts';

export function linesPrinter(): Printer {
  return { line: (l) => (l.filled ? JSON.stringify(l.o) : l.text) + '\n', end: () => ({}) };
}
