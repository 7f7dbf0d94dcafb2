// `xensim diff`: what changed between two hypercall logs (two policies, two seeds, two versions of
// the model). A piece of the shell: the logs are aligned step by step — each record line with its
// result and refusals, each guest event — the first step that differs is shown in context, then a
// summary of what each side has that the other has not (refused pins, IPIs, flushes, WARNs, VA
// hazards, deadlocks, BUGs), each with its simulated time. docs/diff-test.md.
import { LogCheck, logReadError, readLog } from '../log/read.ts';
import { isObj, type Obj } from '../log/line.ts';

/** One step of a log: a record (with what it came to) or a guest event. */
export interface Step {
  /** The log's physical line and its simulated time. */
  line: number;
  time: number;
  /** What the step is, without its time or line: equal on both sides when the step is the same. */
  what: string;
  /** What it came to: the record's result and refusals ('' for an event). */
  came: string;
}

/** What a summary counts, and how a line is one of them. */
const KINDS: readonly { name: string; is: (o: Obj) => boolean }[] = [
  { name: 'pins refused', is: (o) => isObj(o.refusal) && o.event === undefined && String(o.refusal.what).startsWith('pin_') },
  { name: 'refusals', is: (o) => isObj(o.refusal) && o.event === undefined },
  { name: 'IPIs', is: (o) => o.event === 'ipi_send' },
  { name: 'flushes', is: (o) => o.event === 'tlb_flush' || o.event === 'tlb_flush_kernel' },
  { name: 'WARNs', is: (o) => o.event === 'warn' },
  { name: 'VA hazards', is: (o) => o.event === 'va_hazard' },
  { name: 'deadlocks', is: (o) => o.event === 'deadlock' },
  { name: 'BUGs', is: (o) => o.event === 'bug' },
];

/** One thing a summary counts: when, and what. */
export interface Item {
  time: number;
  what: string;
}

export interface KindDiff {
  name: string;
  a: number;
  b: number;
  /** In A only (gone in B), and in B only (new in B), each with its time. */
  gone: Item[];
  added: Item[];
}

export interface DiffResult {
  same: boolean;
  a: string;
  b: string;
  /** The first step that differs (undefined when none), with the steps before it. */
  first?: { index: number; a?: Step; b?: Step; context: { a: Step; b: Step }[] };
  kinds: KindDiff[];
  /** How each log ended: the end line's reason. */
  end: { a: string; b: string };
}

export class DiffInputError extends Error {
  override name = 'DiffInputError';
}

/** A line's fields in words, without the keys that say where or when it was. */
function words(o: Obj, skip: ReadonlySet<string>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(o)) if (!skip.has(k)) parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.join(' ');
}

const PLACE = new Set(['level', 'time', 'line', 'msg', 'result', 'event', 'op', 'expect']);

/** What makes two items the same thing: the flush clock and a deadlock's full wait list are the run's, not the thing's. */
const ITEM_PLACE = new Set([...PLACE, 'clock', 'waits']);

function itemText(o: Obj): string {
  if (isObj(o.refusal)) return `${String(o.refusal.what)}: ${String(o.refusal.reason)}`;
  return `${String(o.event)} ${words(o, ITEM_PLACE)}`;
}

interface ReadLog {
  steps: Step[];
  items: Map<string, Item[]>;
  end: string;
}

/** Reads one log into its steps and the items the summary counts. Throws DiffInputError. */
async function readSteps(path: string): Promise<ReadLog> {
  const steps: Step[] = [];
  const items = new Map<string, Item[]>(KINDS.map((k) => [k.name, []]));
  const check = new LogCheck(path);
  let end = '';
  let logLines = 0;
  try {
    for await (const l of readLog(path)) {
      check.see(l);
      const o = l.o;
      if (o === null) continue;
      if (typeof o.level !== 'number' || typeof o.time !== 'number') {
        throw new DiffInputError(`${path}:${l.n}: not a hypercall log line (no level and time): a trace? Make its log with: xensim replay ${path} --log OUT.log`);
      }
      logLines++;
      const time = o.time;
      for (const k of KINDS) if (k.is(o)) items.get(k.name)!.push({ time, what: itemText(o) });
      if (typeof o.op === 'string') steps.push({ line: l.n, time, what: `${o.op} ${words(o, PLACE)}`, came: JSON.stringify(o.result) });
      else if (isObj(o.refusal) && o.event === undefined && steps.length > 0) steps.at(-1)!.came += ` refused ${String(o.refusal.what)}: ${String(o.refusal.reason)}`;
      else if (o.event === 'end') end = String(o.reason);
      else if (typeof o.event === 'string' && o.event !== 'tlb_flush') steps.push({ line: l.n, time, what: `${o.event} ${words(o, PLACE)}`, came: '' });
    }
  } catch (e) {
    if (e instanceof DiffInputError) throw e;
    throw new DiffInputError(logReadError(path, e));
  }
  const bad = check.problem();
  if (bad !== undefined) throw new DiffInputError(bad);
  if (logLines === 0) throw new DiffInputError(`${path}: no log lines`);
  return { steps, items, end: end || '(no end line)' };
}

/** What one side has more of than the other, by what it is: the items, in order, with their times. */
function onlyIn(x: readonly Item[], y: readonly Item[]): Item[] {
  const left = new Map<string, number>();
  for (const i of y) left.set(i.what, (left.get(i.what) ?? 0) + 1);
  const out: Item[] = [];
  for (const i of x) {
    const n = left.get(i.what) ?? 0;
    if (n > 0) left.set(i.what, n - 1);
    else out.push(i);
  }
  return out;
}

const CONTEXT = 3;
/** Items listed per kind and side in the text form. */
const LISTED = 8;

/** Diffs the logs at `a` and `b`. Throws DiffInputError (exit 2) for a file that is not a log. */
export async function diffLogs(a: string, b: string, names: { a?: string; b?: string } = {}): Promise<DiffResult> {
  const [la, lb] = [await readSteps(a), await readSteps(b)];
  const n = Math.max(la.steps.length, lb.steps.length);
  let first: DiffResult['first'];
  for (let i = 0; i < n; i++) {
    const sa = la.steps[i];
    const sb = lb.steps[i];
    if (sa !== undefined && sb !== undefined && sa.what === sb.what && sa.came === sb.came) continue;
    const context = [];
    for (let j = Math.max(0, i - CONTEXT); j < i; j++) context.push({ a: la.steps[j]!, b: lb.steps[j]! });
    first = { index: i, context };
    if (sa !== undefined) first.a = sa;
    if (sb !== undefined) first.b = sb;
    break;
  }
  const kinds = KINDS.map((k) => {
    const x = la.items.get(k.name)!;
    const y = lb.items.get(k.name)!;
    return { name: k.name, a: x.length, b: y.length, gone: onlyIn(x, y), added: onlyIn(y, x) };
  });
  const same = first === undefined && la.end === lb.end && kinds.every((k) => k.gone.length === 0 && k.added.length === 0);
  const r: DiffResult = { same, a: names.a ?? a, b: names.b ?? b, kinds, end: { a: la.end, b: lb.end } };
  if (first !== undefined) r.first = first;
  return r;
}

function stepText(s: Step | undefined): string {
  if (s === undefined) return '(the log has ended)';
  const came = s.came === '' ? '' : ` → ${s.came}`;
  return `time ${s.time}: ${s.what}${came}`;
}

/** The diff in words: the first divergence in context, then the summary. */
export function diffText(r: DiffResult): string {
  const out = [`--- A ${r.a}`, `+++ B ${r.b}`];
  if (r.same) return [...out, 'no difference: the same steps, results, refusals, IPIs, flushes, WARNs, hazards and end'].join('\n');
  if (r.first === undefined) out.push('the same steps and results');
  else {
    out.push(`first divergence at step ${r.first.index + 1}:`);
    for (const c of r.first.context) out.push(`    ${stepText(c.a)}${c.a.time !== c.b.time ? ` (B: time ${c.b.time})` : ''}`);
    out.push(`  - ${stepText(r.first.a)}${r.first.a ? ` (A line ${r.first.a.line})` : ''}`);
    out.push(`  + ${stepText(r.first.b)}${r.first.b ? ` (B line ${r.first.b.line})` : ''}`);
  }
  out.push('', 'summary (A → B):');
  const w = Math.max(...r.kinds.map((k) => k.name.length));
  for (const k of r.kinds) {
    const mark = k.gone.length + k.added.length === 0 ? '' : '   differs';
    out.push(`  ${k.name.padEnd(w)}  ${k.a} → ${k.b}${mark}`);
    for (const [sign, list] of [['-', k.gone], ['+', k.added]] as const) {
      for (const i of list.slice(0, LISTED)) out.push(`  ${''.padEnd(w)}    ${sign} time ${i.time}: ${i.what}`);
      if (list.length > LISTED) out.push(`  ${''.padEnd(w)}    ${sign} … and ${list.length - LISTED} more (--json lists them all)`);
    }
  }
  out.push(`  ${'end'.padEnd(w)}  ${r.end.a} → ${r.end.b}${r.end.a === r.end.b ? '' : '   differs'}`);
  return out.join('\n');
}
