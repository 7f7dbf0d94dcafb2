// `inspect --format pretty`: the matching lines as pino-pretty prints them.
import pinoPretty from 'pino-pretty';
import type { Printer, PrinterOptions } from './printer.ts';

export function prettyPrinter(o: PrinterOptions): Printer {
  const pretty = pinoPretty.prettyFactory({
    colorize: o.color ?? (process.stdout.isTTY === true && process.env.NO_COLOR === undefined),
    // Simulated time is an ordinal, not an epoch: print it as it is.
    translateTime: false,
  });
  return { line: (l) => pretty(l.o), end: () => ({}) };
}
