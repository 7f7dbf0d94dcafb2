// What every output format of inspect is: a printer fed the lines that passed the filters.
import type { LogLine } from '../log/read.ts';
import type { Obj } from '../log/line.ts';
import type { SummaryJson } from './summary.ts';

/** A log line that is a JSON object. */
export type ObjLine = LogLine & { o: Obj };

export interface PrinterOptions {
  path: string;
  json: boolean;
  /** Filters were given: the summary then counts only the matching lines. */
  filtering: boolean;
  /** pretty: colours (default: when stdout is a TTY). */
  color?: boolean | undefined;
}

export interface Printer {
  /** The text for one line that passed the filters ('' for none). */
  line(l: ObjLine): string;
  /** A line that is not a log line, or a comment. */
  skipped?(l: LogLine): void;
  /** After the last line (`problem`: why the log was not read cleanly): what else goes out, a note for stderr. */
  end(problem: string | undefined): { out?: string; note?: string; summary?: SummaryJson };
}
