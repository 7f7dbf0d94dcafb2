// Where a field is in a JSON text: the line of the value at a path (["programs", 0, 3, "pages"]),
// so that an error in a scenario file names its line as well as its field. A small scanner over
// text JSON.parse has already accepted (and nestingOver has bounded to MAX_DEPTH levels, so the
// recursion in skipValue stays shallow). Duplicate keys: the last one, as JSON.parse keeps it.

const WS = new Set([32, 9, 10, 13]);

function skipWs(t: string, i: number): number {
  while (i < t.length && WS.has(t.charCodeAt(i))) i++;
  return i;
}

/** The index just after the string starting at i (a double quote). */
function skipString(t: string, i: number): number {
  for (i++; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 92) i++;
    else if (c === 34) return i + 1;
  }
  return i;
}

/** The index just after the value starting at i. */
function skipValue(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c === 34) return skipString(t, i);
  if (c === 123 || c === 91) {
    const close = c === 123 ? 125 : 93;
    i = skipWs(t, i + 1);
    if (t.charCodeAt(i) === close) return i + 1;
    for (;;) {
      if (c === 123) {
        i = skipWs(t, skipString(t, i)) + 1; // the key and its colon
        i = skipWs(t, i);
      }
      i = skipWs(t, skipValue(t, i));
      if (t.charCodeAt(i) === 44) i = skipWs(t, i + 1);
      else return i + 1;
    }
  }
  // A number or a literal: up to the next delimiter.
  while (i < t.length && !WS.has(t.charCodeAt(i)) && !',]}'.includes(t[i]!)) i++;
  return i;
}

/** The offset of the value at `path` in `text`, or of the deepest part of the path that exists. */
export function offsetOf(text: string, path: readonly PropertyKey[]): number {
  let i = skipWs(text, 0);
  for (const key of path) {
    const c = text.charCodeAt(i);
    let found = -1;
    if (c === 123 && typeof key === 'string') {
      let j = skipWs(text, i + 1);
      while (j < text.length && text.charCodeAt(j) === 34) {
        const end = skipString(text, j);
        const k = JSON.parse(text.slice(j, end)) as string;
        const v = skipWs(text, skipWs(text, end) + 1);
        if (k === key) found = v;
        j = skipWs(text, skipValue(text, v));
        if (text.charCodeAt(j) !== 44) break;
        j = skipWs(text, j + 1);
      }
    } else if (c === 91 && typeof key === 'number') {
      let j = skipWs(text, i + 1);
      for (let n = 0; j < text.length && text.charCodeAt(j) !== 93; n++) {
        if (n === key) {
          found = j;
          break;
        }
        j = skipWs(text, skipValue(text, j));
        if (text.charCodeAt(j) !== 44) break;
        j = skipWs(text, j + 1);
      }
    }
    if (found < 0) return i;
    i = found;
  }
  return i;
}

/** The line (from 1) of an offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
