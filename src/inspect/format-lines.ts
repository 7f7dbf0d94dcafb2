// `inspect --format lines` (the default with filters, and --json with filters): the matching lines
// as they are in the log, raw NDJSON.
import type { Printer } from './printer.ts';

export function linesPrinter(): Printer {
  return { line: (l) => l.text + '\n', end: () => ({}) };
}
