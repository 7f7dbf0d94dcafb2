// The house's rules, read off the import graph (issue 14): arrows go one way — src/cli/ →
// the capabilities of src/ → guest/ → hypervisor/ — and no new cycle appears. Every import counts
// (static, `import type`, `export … from`, dynamic `import()`), as the TypeScript compiler's own
// pre-processor lists them. Tests are not part of the graph: they may import any layer.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Cycles that exist today, each as the sorted files of one strongly connected component. The list
 * may only shrink: a cycle not listed fails, and so does a listed one that no longer exists
 * exactly (remove or update its entry when you break or shrink it).
 */
const KNOWN_CYCLES: string[][] = [
  // Xen's own recursion (mm.c): validating a table (page-type.ts, alloc_lN_table) takes references
  // through its entries (entries.ts, get_page_from_lNe), which take the type of the table below.
  ['hypervisor/entries.ts', 'hypervisor/page-type.ts'],
];

type Graph = Map<string, string[]>;

/** The folders whose files form the graph, from the bottom floor up. */
const ROOTS = ['hypervisor', 'guest', 'src'];

function sources(dir: string): string[] {
  return readdirSync(join(repo, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(repo, join(e.parentPath, e.name)).split('\\').join('/'))
    .sort();
}

/** file → the repository files it imports (relative specifiers only: packages are not layers). */
export function importGraph(): Graph {
  const g: Graph = new Map();
  for (const file of ROOTS.flatMap(sources)) {
    const info = ts.preProcessFile(readFileSync(join(repo, file), 'utf8'), true, true);
    const deps = info.importedFiles.map((i) => i.fileName).filter((s) => s.startsWith('.'));
    g.set(file, [...new Set(deps.map((s) => posix.normalize(posix.join(dirname(file), s))))].sort());
  }
  return g;
}

/** The floor a file lives on: 0 hypervisor, 1 guest, 2 a capability of src/, 3 src/cli/. */
function floor(file: string): number {
  if (file.startsWith('hypervisor/')) return 0;
  if (file.startsWith('guest/')) return 1;
  if (file.startsWith('src/cli/')) return 3;
  if (file.startsWith('src/')) return 2;
  return -1;
}
const FLOOR_NAMES = ['hypervisor/', 'guest/', 'a capability of src/', 'src/cli/'];

/** Arrows that point up: each as "from → to (why)". */
export function upwardArrows(g: Graph): string[] {
  const bad: string[] = [];
  for (const [from, deps] of g) {
    for (const to of deps) {
      const [a, b] = [floor(from), floor(to)];
      if (b < 0) bad.push(`${from} → ${to} (outside hypervisor/, guest/ and src/)`);
      else if (b > a) bad.push(`${from} → ${to} (${FLOOR_NAMES[a]} imports ${FLOOR_NAMES[b]})`);
    }
  }
  return bad;
}

/** Strongly connected components of more than one file (or a file importing itself): Tarjan's. */
export function cycles(g: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
  }
  for (const v of [...g.keys()].sort()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** What is wrong with the cycles of `g` against the allow-list. */
export function cycleProblems(g: Graph, known: string[][]): string[] {
  const key = (c: string[]) => JSON.stringify([...c].sort());
  const now = cycles(g);
  const have = new Set(now.map(key));
  const allowed = new Set(known.map(key));
  return [
    ...now.filter((c) => !allowed.has(key(c))).map((c) => `a cycle not in KNOWN_CYCLES: ${c.join(', ')}`),
    ...known.filter((c) => !have.has(key(c))).map((c) => `KNOWN_CYCLES lists a cycle that no longer exists (shrink the list): ${c.join(', ')}`),
  ];
}

describe('the import graph', () => {
  const g = importGraph();

  it('is read from the sources: every folder has files, and the arrows between floors that exist are seen', () => {
    const arrows = [...g].flatMap(([f, ds]) => ds.map((d) => `${f.split('/')[0]} → ${d.split('/')[0]}`));
    expect(new Set(arrows)).toEqual(new Set(['hypervisor → hypervisor', 'guest → guest', 'guest → hypervisor', 'src → src', 'src → guest', 'src → hypervisor']));
    // a dynamic import() is an arrow too
    expect(g.get('src/cli/run.ts')).toContain('src/lab/run.ts');
  });

  it('points one way: src/cli/ → capabilities → guest/ → hypervisor/; hypervisor/ imports neither guest/ nor src/; guest/ never imports src/; no capability imports src/cli/', () => {
    expect(upwardArrows(g)).toEqual([]);
  });

  it('has no cycle but the known ones, and every known one still exists', () => {
    expect(cycleProblems(g, KNOWN_CYCLES), `the cycles now: ${JSON.stringify(cycles(g), null, 2)}`).toEqual([]);
  });

  it('would catch an upward arrow, a new cycle and a stale allow-list entry', () => {
    const planted: Graph = new Map([
      ['hypervisor/a.ts', ['guest/b.ts']],
      ['guest/b.ts', ['hypervisor/a.ts']],
      ['src/lab/c.ts', ['src/cli/d.ts']],
      ['src/cli/d.ts', ['src/lab/c.ts']],
    ]);
    expect(upwardArrows(planted)).toEqual([
      'hypervisor/a.ts → guest/b.ts (hypervisor/ imports guest/)',
      'src/lab/c.ts → src/cli/d.ts (a capability of src/ imports src/cli/)',
    ]);
    expect(cycleProblems(planted, [['guest/b.ts', 'hypervisor/a.ts'], ['guest/x.ts', 'guest/y.ts']])).toEqual([
      'a cycle not in KNOWN_CYCLES: src/cli/d.ts, src/lab/c.ts',
      'KNOWN_CYCLES lists a cycle that no longer exists (shrink the list): guest/x.ts, guest/y.ts',
    ]);
  });
});
