// inspect's output formats, by name (one file each).
import { linesPrinter } from './format-lines.ts';
import { prettyPrinter } from './format-pretty.ts';
import { summaryPrinter } from './format-summary.ts';
import { xenPrinter } from './format-xen.ts';
import type { Printer, PrinterOptions } from './printer.ts';

export type InspectFormat = 'summary' | 'xen' | 'pretty' | 'lines';
export const INSPECT_FORMATS: readonly InspectFormat[] = ['summary', 'xen', 'pretty', 'lines'];

const PRINTERS: Record<InspectFormat, (o: PrinterOptions) => Printer> = {
  summary: summaryPrinter,
  xen: xenPrinter,
  pretty: prettyPrinter,
  lines: linesPrinter,
};

export function printerFor(format: InspectFormat, o: PrinterOptions): Printer {
  return PRINTERS[format](o);
}
