// `export LOG --html OUT.html`: one self-contained page (inline CSS and JS, no network, no server)
// that draws the log's per-vCPU timeline (timeline.ts: operations, IPI waits and hypercalls as
// nested slices, interrupts-off spans, refusals, flushes, WARNs, BUGs, deadlock as markers, the
// pinned-frames and TLB-clock counters) with the `inspect` summary beside it. A click on any mark
// shows its details; on a refused pin, its reason, blockers, validation chain and Xen's messages.
// The log is read in one streaming pass; the page holds at most `maxEvents` slices and instants,
// and at most MAX_PAGE_ARGS_BYTES of their args (the summary always covers the whole log, and the
// page says when the drawing was cut), so its memory is bounded whatever the log's size.
import type { Obj } from '../log/line.ts';
import type { LogLine } from '../log/read.ts';
import { summaryText } from '../inspect/format-summary.ts';
import { Summary, type SummaryJson } from '../inspect/summary.ts';
import { readPass } from './pass.ts';
import { Timeline, type TimelineStats, type TlEvent } from './timeline.ts';

export const DEFAULT_MAX_EVENTS = 50_000;
/** The most text of args (JSON) the page holds for its marks; past it, marks are left out like past maxEvents. */
export const MAX_PAGE_ARGS_BYTES = 64 << 20;

/** What the page's script draws (embedded as JSON). Times in ns. */
export interface PageData {
  source: string;
  summary: SummaryJson;
  summaryText: string;
  /** Tracks in drawing order. */
  tracks: { pid: number; tid: number; name: string; proc: string }[];
  /** [track, ts, dur, name, cat, args] for slices; dur -1 for instants. */
  marks: [number, number, number, string, string, Obj][];
  /** Counter series: name, pid and its points [ts, value]. */
  counters: { name: string; pid: number; proc: string; key: string; points: [number, number][] }[];
  end: number;
  dropped: number;
  stats: TimelineStats;
  /** Lines that are not log lines, or none at all (LogCheck): the page shows the rest, exit 2. */
  problem?: string;
}

export interface HtmlOptions {
  maxEvents?: number;
  source?: string;
}

/** The timeline's events as the page draws them: tracks, marks (capped at `max`), counter series. */
class PageTimeline {
  private readonly procNames = new Map<number, string>();
  private readonly procSort = new Map<number, number>();
  private readonly trackInfo = new Map<string, { pid: number; tid: number; name: string; sort: number }>();
  private readonly trackIndex = new Map<string, number>();
  private readonly tracks: PageData['tracks'] = [];
  readonly marks: PageData['marks'] = [];
  private readonly counters = new Map<string, PageData['counters'][number]>();
  dropped = 0;
  private argsBytes = 0;
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  readonly onEvent = (e: TlEvent): void => {
    if (e.ph === 'M') this.meta(e);
    else if (e.ph === 'C') this.counter(e);
    else if (e.ph === 'X' || e.ph === 'i') this.mark(e);
  };

  private trackOf(pid: number, tid: number): number {
    const key = `${pid}:${tid}`;
    let i = this.trackIndex.get(key);
    if (i === undefined) {
      i = this.tracks.length;
      this.trackIndex.set(key, i);
      this.tracks.push({ pid, tid, name: this.trackInfo.get(key)?.name ?? `${tid}`, proc: this.procNames.get(pid) ?? `${pid}` });
    }
    return i;
  }

  /** Process and thread names and sort indices. */
  private meta(e: Extract<TlEvent, { ph: 'M' }>): void {
    if (e.name === 'process_name') this.procNames.set(e.pid, String(e.args.name));
    else if (e.name === 'process_sort_index') this.procSort.set(e.pid, Number(e.args.sort_index));
    else if (e.name === 'thread_name') this.trackInfo.set(`${e.pid}:${e.tid}`, { pid: e.pid, tid: e.tid, name: String(e.args.name), sort: 0 });
    else {
      const t = this.trackInfo.get(`${e.pid}:${e.tid}`);
      if (t) t.sort = Number(e.args.sort_index);
    }
  }

  private counter(e: Extract<TlEvent, { ph: 'C' }>): void {
    for (const [k, v] of Object.entries(e.args)) {
      const key = `${e.pid}:${e.name}:${k}`;
      let c = this.counters.get(key);
      if (c === undefined) this.counters.set(key, (c = { name: e.name, pid: e.pid, proc: this.procNames.get(e.pid) ?? String(e.pid), key: k, points: [] }));
      if (c.points.length < this.max) c.points.push([e.ts, v]);
    }
  }

  private mark(e: Extract<TlEvent, { ph: 'X' | 'i' }>): void {
    if (this.marks.length >= this.max || this.argsBytes > MAX_PAGE_ARGS_BYTES) {
      this.dropped++;
      return;
    }
    this.argsBytes += JSON.stringify(e.args).length + e.name.length;
    this.marks.push([this.trackOf(e.pid, e.tid), e.ts, e.ph === 'X' ? e.dur : -1, e.name, e.cat, e.args]);
  }

  /** Drawing order: domains by id (Xen first), then each domain's tracks by their sort index. Renumbers the marks' tracks. */
  sortedTracks(): PageData['tracks'] {
    const { procNames, procSort, trackInfo } = this;
    const order = this.tracks.map((t, i) => ({ t, i, ps: procSort.get(t.pid) ?? t.pid, ts: trackInfo.get(`${t.pid}:${t.tid}`)?.sort ?? t.tid }));
    order.sort((a, b) => a.ps - b.ps || a.ts - b.ts);
    const remap = new Map(order.map((o, j) => [o.i, j]));
    for (const m of this.marks) m[0] = remap.get(m[0])!;
    return order.map((o) => ({ ...o.t, name: trackInfo.get(`${o.t.pid}:${o.t.tid}`)?.name ?? o.t.name, proc: procNames.get(o.t.pid) ?? o.t.proc }));
  }

  counterSeries(): PageData['counters'] {
    return [...this.counters.values()].map((c) => ({ ...c, proc: this.procNames.get(c.pid) ?? c.proc }));
  }
}

/** The page's data as a pass over the log builds it: the summary from the lines, the drawing from the timeline. */
export class PageBuilder {
  private readonly summary: Summary;
  private readonly page: PageTimeline;
  private readonly source: string;
  readonly onEvent: (e: TlEvent) => void;

  constructor(source: string, maxEvents = DEFAULT_MAX_EVENTS) {
    this.source = source;
    this.summary = new Summary(source);
    this.page = new PageTimeline(maxEvents);
    this.onEvent = this.page.onEvent;
  }

  onLine(line: LogLine): void {
    if (line.o === null) this.summary.addUnparsed(line.comment);
    else this.summary.add(line.o, line.n);
  }

  data(stats: TimelineStats, problem: string | undefined): PageData {
    const tracks = this.page.sortedTracks();
    const s = this.summary.json();
    return {
      ...(problem !== undefined ? { problem } : {}),
      source: this.source,
      summary: s,
      summaryText: summaryText(s),
      tracks,
      marks: this.page.marks,
      counters: this.page.counterSeries(),
      end: stats.end,
      dropped: this.page.dropped,
      stats,
    };
  }
}

/** Reads LOG and builds the page's data (one pass); a log that cannot be read throws. */
export async function pageData(log: string, opts: HtmlOptions = {}): Promise<PageData> {
  const b = new PageBuilder(opts.source ?? log, opts.maxEvents);
  const tl = new Timeline(b.onEvent);
  const r = await readPass(log, (line) => {
    b.onLine(line);
    if (line.o !== null) tl.feed(line.o);
  });
  if (r.error !== undefined) throw new Error(r.error);
  return b.data(tl.finish(), r.problem);
}

/** JSON safe inside <script>: no "</script>", no U+2028/9. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const CSS = `
:root { --bg:#fff; --fg:#1d1d1f; --muted:#6b7280; --line:#e5e7eb; --panel:#f8fafc; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; align-items:center; gap:12px; padding:8px 12px; border-bottom:1px solid var(--line); }
header h1 { font-size:15px; margin:0; font-weight:600; }
header .src { color:var(--muted); font-family:ui-monospace, Menlo, monospace; font-size:12px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
header .tools { margin-left:auto; display:flex; gap:6px; align-items:center; }
button { font:inherit; padding:2px 9px; border:1px solid #cbd5e1; background:#fff; border-radius:4px; cursor:pointer; }
button:hover { background:#f1f5f9; }
main { display:flex; height:calc(100vh - 42px); }
#left { flex:1; min-width:0; display:flex; flex-direction:column; }
#legend { padding:4px 12px; border-bottom:1px solid var(--line); color:var(--muted); font-size:12px; display:flex; flex-wrap:wrap; gap:12px; }
#legend span i { display:inline-block; width:10px; height:10px; margin-right:4px; vertical-align:-1px; border-radius:2px; }
#rows { flex:1; overflow:auto; display:flex; position:relative; }
#labels { flex:0 0 150px; position:sticky; left:0; background:var(--bg); z-index:2; border-right:1px solid var(--line); }
#plot { flex:1; }
svg text { font:11px system-ui, sans-serif; }
.track-label { font-weight:600; fill:#111827; }
.proc-label { font-weight:700; fill:#374151; }
.slice { stroke:rgba(0,0,0,.25); stroke-width:.5; cursor:pointer; }
.slice:hover, .instant:hover { stroke:#000; stroke-width:1.5; }
.instant { cursor:pointer; }
.sel { stroke:#000 !important; stroke-width:2.5 !important; }
.slabel { fill:#111; pointer-events:none; }
#side { flex:0 0 430px; border-left:1px solid var(--line); background:var(--panel); overflow:auto; padding:10px 12px; }
#side h2 { font-size:13px; margin:12px 0 6px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
#side h2:first-child { margin-top:0; }
#details { background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px 10px; min-height:48px; }
#details .k { color:var(--muted); }
#details .reason { color:#b91c1c; font-weight:600; }
#details pre, #summary { font:12px/1.4 ui-monospace, Menlo, monospace; white-space:pre-wrap; word-break:break-word; margin:0; }
#summary { background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px 10px; }
#refused-list a { display:block; color:#b91c1c; cursor:pointer; text-decoration:none; padding:2px 0; font-family:ui-monospace, Menlo, monospace; font-size:12px; }
#refused-list a:hover { text-decoration:underline; }
.note { color:#92400e; background:#fffbeb; border:1px solid #fde68a; padding:4px 8px; border-radius:4px; margin:6px 12px; }
`;

/** The page's script: draws the data in <script id="data"> and wires the clicks. */
const JS = String.raw`
(function () {
  const D = JSON.parse(document.getElementById('data').textContent);
  const LABEL_W = 150, AXIS_H = 24, PROC_H = 18, MARK_H = 14, ROW_H = 17, COUNTER_H = 36, GAP = 6;
  const COLORS = { op: '#9ecae1', hypercall: '#74c476', record: '#c7c7c7', ipi: '#fdae6b', stop_machine: '#bcbddc', irq: '#fdd49e' };
  const NS = 'http://www.w3.org/2000/svg';
  const t0 = 0, tEnd = Math.max(D.end, 1);
  let pxPerNs = 1, selected = -1;

  // Per-track layout: depth of each slice by a stack walk (slices nest by construction).
  const byTrack = D.tracks.map(() => ({ slices: [], instants: [], depth: 0 }));
  D.marks.forEach((m, i) => { (m[2] >= 0 ? byTrack[m[0]].slices : byTrack[m[0]].instants).push(i); });
  const depthOf = new Int32Array(D.marks.length);
  byTrack.forEach((tr) => {
    tr.slices.sort((a, b) => D.marks[a][1] - D.marks[b][1] || D.marks[b][2] - D.marks[a][2]);
    const stack = [];
    for (const i of tr.slices) {
      const m = D.marks[i];
      while (stack.length && stack[stack.length - 1] <= m[1]) stack.pop();
      depthOf[i] = stack.length;
      stack.push(m[1] + m[2]);
      tr.depth = Math.max(tr.depth, stack.length);
    }
  });
  // Marks at (nearly) the same place on a track — the refusals of one multicall share a tick —
  // are stacked in lanes so that each can be clicked: a mark goes to the first lane where it is
  // at least MARK_GAP px right of the last mark there (at most MAX_LANES; the rest share the last).
  const MARK_GAP = 13, LANE_H = 14, MAX_LANES = 8;
  const laneOf = new Int32Array(D.marks.length);
  byTrack.forEach((tr) => tr.instants.sort((a, b) => D.marks[a][1] - D.marks[b][1] || a - b));
  function lanes() {
    byTrack.forEach((tr) => {
      const last = [];
      tr.lanes = 1;
      for (const i of tr.instants) {
        const x = D.marks[i][1] * pxPerNs;
        let l = 0;
        while (l < last.length && x - last[l] < MARK_GAP) l++;
        if (l >= MAX_LANES) l = MAX_LANES - 1;
        last[l] = x;
        laneOf[i] = l;
        tr.lanes = Math.max(tr.lanes, l + 1);
      }
    });
  }
  // Rows: a process header, then its tracks (their lanes of marks, then their slices); then the
  // counters. Laid out again at each zoom (the lanes depend on it).
  let rows = [], H = 0;
  function layout() {
    lanes();
    rows = [];
    let y = AXIS_H, lastProc = null;
    D.tracks.forEach((t, ti) => {
      if (t.proc !== lastProc) { rows.push({ kind: 'proc', y, h: PROC_H, label: t.proc }); y += PROC_H; lastProc = t.proc; }
      const tr = byTrack[ti];
      tr.y = y;
      tr.marksH = Math.max(MARK_H, tr.lanes * LANE_H);
      const h = tr.marksH + Math.max(1, tr.depth) * ROW_H + GAP;
      rows.push({ kind: 'track', y, h, label: t.name, ti });
      y += h;
    });
    D.counters.forEach((c, ci) => { rows.push({ kind: 'counter', y, h: COUNTER_H + GAP, label: c.proc + ' ' + c.name, ci }); y += COUNTER_H + GAP; });
    H = y + 8;
  }

  function esc(s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'); }
  function fmtT(ns) { const u = ns / 1000; return Number.isInteger(u) ? String(u) : u.toFixed(3).replace(/0+$/, '').replace(/\.$/, ''); }
  function colorOf(m) {
    if (m[3].indexOf(' → ') >= 0) return '#fb6a4a';
    return COLORS[m[4]] || '#d9d9d9';
  }
  function markerOf(m, x, yy) {
    const c = m[4];
    if (c === 'refusal') return '<path d="M' + x + ' ' + (yy - 6) + 'l6 6l-6 6l-6 -6z" fill="#dc2626"/>';
    if (c === 'deadlock') return '<path d="M' + (x - 5) + ' ' + (yy - 5) + 'l10 10m0 -10l-10 10" stroke="#111" stroke-width="2.5"/>';
    if (c === 'bug') return '<rect x="' + (x - 5) + '" y="' + (yy - 5) + '" width="10" height="10" fill="#7f1d1d"/>';
    if (c === 'warn') return '<path d="M' + x + ' ' + (yy - 6) + 'l6 11h-12z" fill="#f59e0b"/>';
    if (c === 'hazard') return '<path d="M' + x + ' ' + (yy - 6) + 'l6 11h-12z" fill="#a21caf"/>';
    if (c === 'flush') return '<rect x="' + (x - 1) + '" y="' + (yy - 6) + '" width="2" height="12" fill="#2563eb"/>';
    if (c === 'ipi') return '<circle cx="' + x + '" cy="' + yy + '" r="3.5" fill="#ea580c"/>';
    if (c === 'end' || c === 'phase') return '<rect x="' + (x - 1) + '" y="' + (yy - 6) + '" width="2" height="12" fill="#6b7280"/>';
    return '<circle cx="' + x + '" cy="' + yy + '" r="3" fill="#6b7280"/>';
  }
  function classOf(m) {
    let c = 'instant ' + m[4];
    if (m[4] === 'refusal') c += ' refused-' + (m[5].kind || 'other');
    return c;
  }

  function draw() {
    layout();
    const W = Math.max(600, Math.ceil((tEnd - t0) * pxPerNs) + 40);
    const X = (ns) => 10 + (ns - t0) * pxPerNs;
    let s = '';
    // Axis with about one tick per 90 px.
    const stepNs = niceStep(90 / pxPerNs);
    for (let t = 0; t <= tEnd; t += stepNs) {
      const x = X(t);
      s += '<line x1="' + x + '" y1="' + (AXIS_H - 6) + '" x2="' + x + '" y2="' + H + '" stroke="#f1f5f9"/>';
      s += '<text x="' + (x + 2) + '" y="' + (AXIS_H - 9) + '" fill="#6b7280">' + fmtT(t) + '</text>';
    }
    for (const r of rows) {
      if (r.kind === 'proc') s += '<rect x="0" y="' + r.y + '" width="' + W + '" height="' + r.h + '" fill="#f3f4f6"/>';
      else s += '<line x1="0" y1="' + (r.y + r.h - 0.5) + '" x2="' + W + '" y2="' + (r.y + r.h - 0.5) + '" stroke="#eef0f3"/>';
    }
    byTrack.forEach((tr) => {
      // A slice's label may run on into the free space after it, up to the next slice of its row.
      const nextAt = [];
      const room = new Float64Array(tr.slices.length);
      for (let k = tr.slices.length - 1; k >= 0; k--) {
        const i = tr.slices[k], d = depthOf[i];
        room[k] = (nextAt[d] !== undefined ? X(nextAt[d]) : W) - X(D.marks[i][1]);
        nextAt[d] = D.marks[i][1];
      }
      tr.slices.forEach((i, k) => {
        const m = D.marks[i];
        const x = X(m[1]), w = Math.max(1, m[2] * pxPerNs), yy = tr.y + tr.marksH + depthOf[i] * ROW_H;
        s += '<rect class="slice cat-' + m[4] + (i === selected ? ' sel' : '') + '" data-i="' + i + '" x="' + x + '" y="' + yy + '" width="' + w + '" height="' + (ROW_H - 2) + '" fill="' + colorOf(m) + '"><title>' + esc(m[3]) + '</title></rect>';
        const label = w > 20 ? fitText(m[3], room[k] - 6) : '';
        if (label !== '') s += '<text class="slabel" data-i="' + i + '" x="' + (x + 3) + '" y="' + (yy + 11) + '">' + esc(label) + '</text>';
      });
      for (const i of tr.instants) {
        const m = D.marks[i];
        s += '<g class="' + classOf(m) + (i === selected ? ' sel' : '') + '" data-i="' + i + '"><title>' + esc(m[3]) + '</title>' + markerOf(m, X(m[1]), tr.y + 7 + laneOf[i] * LANE_H) + '</g>';
      }
    });
    rows.filter((r) => r.kind === 'counter').forEach((r) => {
      const c = D.counters[r.ci];
      const max = Math.max(1, ...c.points.map((p) => p[1]));
      let d = '', prev = null;
      for (const p of c.points) {
        const x = X(p[0]), yy = r.y + COUNTER_H - 4 - (p[1] / max) * (COUNTER_H - 10);
        d += prev === null ? 'M' + x + ' ' + yy : 'H' + x + 'V' + yy;
        prev = yy;
      }
      if (prev !== null) d += 'H' + X(tEnd);
      s += '<path class="counter" d="' + d + '" fill="none" stroke="#0f766e" stroke-width="1.5"/>';
      s += '<text x="' + (W - 6) + '" y="' + (r.y + 11) + '" text-anchor="end" fill="#0f766e">max ' + max + '</text>';
    });
    const plot = document.getElementById('plot');
    plot.innerHTML = '<svg id="timeline-svg" xmlns="' + NS + '" width="' + W + '" height="' + H + '">' + s + '</svg>';
    let l = '';
    for (const r of rows) {
      if (r.kind === 'proc') l += '<text class="proc-label" x="8" y="' + (r.y + 13) + '">' + esc(r.label) + '</text>';
      else if (r.kind === 'track') l += '<text class="track-label" x="14" y="' + (r.y + 13) + '">' + esc(r.label) + '</text>';
      else l += '<text class="counter-label" x="14" y="' + (r.y + 13) + '" fill="#0f766e">' + esc(r.label) + '</text>';
    }
    document.getElementById('labels').innerHTML = '<svg width="' + LABEL_W + '" height="' + H + '">' + l + '</svg>';
  }
  function niceStep(ns) {
    const p = Math.pow(10, Math.floor(Math.log10(Math.max(ns, 1))));
    for (const k of [1, 2, 5, 10]) if (k * p >= ns) return k * p;
    return 10 * p;
  }
  // Text widths as the page draws them (11px system-ui), measured, not guessed.
  const ctx2d = document.createElement('canvas').getContext('2d');
  ctx2d.font = '11px system-ui, sans-serif';
  const widths = new Map();
  function textW(t) { let v = widths.get(t); if (v === undefined) { v = ctx2d.measureText(t).width; if (widths.size < 20000) widths.set(t, v); } return v; }
  /** The name, whole when it fits in w px, else its longest prefix that fits with an ellipsis ('' when not even one letter does). */
  function fitText(t, w) {
    if (textW(t) <= w) return t;
    let lo = 0, hi = t.length;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (textW(t.slice(0, mid) + '…') <= w) lo = mid; else hi = mid - 1; }
    return lo === 0 ? '' : t.slice(0, lo) + '…';
  }

  function show(i) {
    selected = i;
    const m = D.marks[i], a = m[5] || {};
    const t = D.tracks[m[0]];
    let h = '';
    if (m[4] === 'refusal') {
      h += '<div><b>Refused</b> ' + esc(a.what || m[3]) + ' <span class="k">(' + esc(a.errno || '') + ')</span></div>';
      h += '<div class="k">' + esc(t.proc + ' ' + t.name) + ', time ' + esc(a.time) + (a.line !== undefined ? ', line ' + esc(a.line) : '') + '</div>';
      h += '<div class="reason">' + esc(a.reason || '') + '</div>';
      const bl = a.blockers || [];
      h += '<div><span class="k">' + (bl.length === 1 ? 'blocker' : 'blockers') + ':</span> <span class="blockers">' + (bl.length ? bl.map(esc).join('; ') : 'none named') + '</span></div>';
      if (a.chain) h += '<div><span class="k">via:</span> ' + esc(a.chain) + '</div>';
      if (a.dmesg && a.dmesg.length) h += '<pre class="dmesg">' + a.dmesg.map(esc).join('\n') + '</pre>';
    } else {
      h += '<div><b>' + esc(m[3]) + '</b> <span class="k">' + esc(m[4]) + '</span></div>';
      h += '<div class="k">' + esc(t.proc + ' ' + t.name) + ', at ' + fmtT(m[1]) + (m[2] >= 0 ? ' for ' + fmtT(m[2]) : '') + '</div>';
      h += '<pre>' + esc(JSON.stringify(a, null, 2)) + '</pre>';
    }
    document.getElementById('details').innerHTML = h;
    draw();
  }
  function reveal(i) {
    const m = D.marks[i];
    const rowsEl = document.getElementById('rows');
    rowsEl.scrollLeft = Math.max(0, 10 + m[1] * pxPerNs - rowsEl.clientWidth / 2);
    rowsEl.scrollTop = Math.max(0, byTrack[m[0]].y - 40);
    show(i);
  }
  function zoom(f) {
    const rowsEl = document.getElementById('rows');
    const mid = (rowsEl.scrollLeft + rowsEl.clientWidth / 2 - 10) / pxPerNs;
    pxPerNs = Math.min(5, Math.max(1e-9, pxPerNs * f));
    draw();
    rowsEl.scrollLeft = Math.max(0, 10 + mid * pxPerNs - rowsEl.clientWidth / 2);
  }
  function fit() {
    const w = document.getElementById('rows').clientWidth - LABEL_W - 40;
    pxPerNs = Math.max(1e-9, w / Math.max(1, tEnd - t0));
    draw();
  }

  document.getElementById('summary').textContent = D.summaryText;
  document.getElementById('src').textContent = D.source;
  const list = document.getElementById('refused-list');
  const refusedPins = [];
  D.marks.forEach((m, i) => { if (m[4] === 'refusal') refusedPins.push(i); });
  if (refusedPins.length === 0) list.textContent = 'none';
  for (const i of refusedPins.slice(0, 200)) {
    const a = D.marks[i][5];
    const el = document.createElement('a');
    el.dataset.i = String(i);
    el.textContent = 't=' + a.time + '  ' + a.what + '  -' + a.errno;
    el.title = a.reason;
    el.addEventListener('click', () => reveal(i));
    list.appendChild(el);
  }
  if (D.dropped > 0) {
    const n = document.createElement('div');
    n.className = 'note';
    n.textContent = 'Drawn: the first ' + D.marks.length + ' marks; ' + D.dropped + ' more were left out (the summary covers the whole log).';
    document.getElementById('left').insertBefore(n, document.getElementById('rows'));
  }
  document.getElementById('plot').addEventListener('click', (ev) => {
    const el = ev.target.closest('[data-i]');
    if (el) show(Number(el.getAttribute('data-i')));
  });
  document.getElementById('zin').onclick = () => zoom(2);
  document.getElementById('zout').onclick = () => zoom(0.5);
  document.getElementById('zfit').onclick = fit;
  document.getElementById('rows').addEventListener('wheel', (ev) => {
    if (!ev.ctrlKey && !ev.metaKey) return;
    ev.preventDefault();
    zoom(ev.deltaY < 0 ? 1.25 : 0.8);
  }, { passive: false });
  fit();
  window.xensim = { data: D, show, reveal, zoom, fit };
})();
`;

/** The whole page. */
export function renderHtml(d: PageData): string {
  const title = `xensim timeline — ${d.source.split('/').pop() ?? d.source}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>xensim timeline</h1><span class="src" id="src"></span>
<span class="tools"><button id="zout" title="zoom out">−</button><button id="zin" title="zoom in (or ctrl + wheel)">+</button><button id="zfit">fit</button></span></header>
<main>
<section id="left">
<div id="legend">
<span><i style="background:#9ecae1"></i>kernel operation</span><span><i style="background:#74c476"></i>hypercall</span>
<span><i style="background:#c7c7c7"></i>other record</span><span><i style="background:#fb6a4a"></i>failed</span>
<span><i style="background:#fdae6b"></i>IPI wait</span><span><i style="background:#fdd49e"></i>irqs off</span>
<span><i style="background:#dc2626"></i>refusal (click)</span><span><i style="background:#2563eb"></i>TLB flush</span>
<span><i style="background:#f59e0b"></i>WARN</span><span><i style="background:#7f1d1d"></i>BUG</span><span><i style="background:#111"></i>deadlock</span>
</div>
<div id="rows"><div id="labels"></div><div id="plot"></div></div>
</section>
<aside id="side">
<h2>Details</h2><div id="details"><span class="k">Click a slice or a mark. Refused pins are the red diamonds.</span></div>
<h2>Refusals</h2><div id="refused-list"></div>
<h2>Summary</h2><pre id="summary"></pre>
</aside>
</main>
<script type="application/json" id="data">${scriptJson(d)}</script>
<script>${JS}</script>
</body>
</html>
`;
}
