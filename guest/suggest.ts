// "Did you mean": the known name nearest to one a user typed (a knob, a preset, a purge-flush
// label, a scenario), by edit distance — close enough only when at most a third of it differs,
// so a name that is nothing like any known one gets the list alone.

import { closest, distance } from 'fastest-levenshtein';

/** ` (did you mean "x"?)`, or '' when no known name is near. */
export function didYouMean(typed: string, known: readonly string[]): string {
  if (known.length === 0 || typed === '') return '';
  const best = closest(typed, [...known]);
  const d = distance(typed.toLowerCase(), best.toLowerCase());
  return d > 0 && d <= Math.max(1, Math.floor(best.length / 3)) ? ` (did you mean "${best}"?)` : '';
}
