// Keys a scenario file may not have, found on the text (JSON.parse cannot see them): a key given
// twice in one object (JSON.parse silently keeps the last, so an edit that "changes" a value can be
// lost without a word) and "__proto__" (JSON.parse makes it an own key, but every object built
// from it would take it as its prototype and drop it). jsonc-parser's visitor gives each key's
// place in the text and its path.

import { visit } from 'jsonc-parser';

export interface KeyProblem {
  /** The path of the key itself: ["expect", "never"]. */
  path: (string | number)[];
  /** Line of the offending key (1-based). */
  line: number;
  text: string;
}

/** The first duplicate or "__proto__" key of a JSON text that JSON.parse accepted, if any. */
export function keyProblem(text: string): KeyProblem | undefined {
  const open: Map<string, number>[] = [];
  let found: KeyProblem | undefined;
  visit(
    text,
    {
      onObjectBegin: () => {
        open.push(new Map());
      },
      onObjectEnd: () => {
        open.pop();
      },
      onObjectProperty: (name, _offset, _length, startLine, _startCharacter, pathSupplier) => {
        if (found !== undefined) return;
        const keys = open[open.length - 1]!;
        const path = [...pathSupplier(), name];
        if (name === '__proto__') {
          found = { path, line: startLine + 1, text: 'the key "__proto__" is not allowed in a scenario file' };
        } else if (keys.has(name)) {
          found = { path, line: startLine + 1, text: `duplicate key "${name}" (first on line ${keys.get(name)! + 1}; JSON keeps only the last, so write it once)` };
        } else {
          keys.set(name, startLine);
        }
      },
    },
    { disallowComments: true },
  );
  return found;
}
