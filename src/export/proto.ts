// `export LOG --perfetto OUT.pftrace`: the timeline (timeline.ts) in Perfetto's own protobuf trace
// format — a `Trace` of `TracePacket`s (protos/perfetto/trace/trace_packet.proto): a
// `TrackDescriptor` per domain (with its `ProcessDescriptor`), per vCPU track (a child of its
// domain, ordered as in the JSON) and per counter, then `TrackEvent`s — SLICE_BEGIN when a slice
// opens and SLICE_END when it closes (the flags closing adds, `closed_early` / `unfinished`, as
// the end's debug annotations), INSTANT, COUNTER — with the same args as debug annotations
// (nested ones as JSON text). Event names, categories and annotation names are interned
// (InternedData on the one sequence, at most MAX_INTERNED of each, of at most 256 characters;
// others are written inline). Timestamps are the timeline's ns.
// Packets are written as the timeline makes them, not sorted: trace processor sorts by timestamp
// and keeps the order of equal ones, which on each track is the order of the timeline. Every
// COMPRESS_AT bytes of packets are deflated (zlib, as Perfetto's tracing service does) into one
// packet's `compressed_packets`, which trace processor expands as it reads: a sixth of the JSON's
// size. The field numbers are those of Perfetto's protos (cited at each constant's group).
import { constants, deflate } from 'node:zlib';
import type { Obj } from '../log/line.ts';
import type { Sink } from './out-file.ts';
import { PbWriter } from './pb.ts';
import type { Opened, TlEvent } from './timeline.ts';

// Field numbers (perfetto protos/perfetto/trace/…).
const TRACE_PACKET = 1; // Trace.packet
const P_TIMESTAMP = 8;
const P_SEQ_ID = 10;
const P_TRACK_EVENT = 11;
const P_INTERNED = 12;
const P_SEQ_FLAGS = 13;
const P_TRACK_DESCRIPTOR = 60;
const P_COMPRESSED = 50;
const TD_UUID = 1;
const TD_NAME = 2;
const TD_PROCESS = 3;
const TD_PARENT = 5;
const TD_COUNTER = 8;
const TD_CHILD_ORDERING = 11;
const TD_RANK = 12;
const PD_PID = 1;
const PD_NAME = 6;
const TE_CATEGORY_IIDS = 3;
const TE_ANNOTATIONS = 4;
const TE_TYPE = 9;
const TE_NAME_IID = 10;
const TE_TRACK = 11;
const TE_CATEGORIES = 22;
const TE_NAME = 23;
const TE_COUNTER = 30;
const TE_DOUBLE_COUNTER = 44;
const DA_NAME_IID = 1;
const DA_BOOL = 2;
const DA_INT = 4;
const DA_DOUBLE = 5;
const DA_STRING = 6;
const DA_JSON = 9;
const DA_NAME = 10;
const ID_CATEGORIES = 1;
const ID_NAMES = 2;
const ID_ANNOTATION_NAMES = 3;
const SLICE_BEGIN = 1;
const SLICE_END = 2;
const INSTANT = 3;
const COUNTER = 4;
const SEQ_CLEARED = 1;
const SEQ_NEEDS_STATE = 2;
const ORDER_EXPLICIT = 3;

const SEQ = 1;
/** Interned strings per kind: past this, a name is written in each event (memory stays bounded). */
export const MAX_INTERNED = 4096;
/** Longer strings are never interned (4,096 of them at most 256 units each: at most 1 MiB held per kind). */
const MAX_INTERNED_LENGTH = 256;
const COMPRESS_AT = 1 << 20;
const MAX_INFLIGHT = 4;
const INT32_MAX = 2 ** 31 - 1;

/** Strings interned once each: their iid, and the new ones to add to the next packet. */
class Interner {
  private readonly ids = new Map<string, number>();
  fresh: [number, string][] = [];

  iid(s: string): number | undefined {
    const id = this.ids.get(s);
    if (id !== undefined || this.ids.size >= MAX_INTERNED || s.length > MAX_INTERNED_LENGTH) return id;
    const n = this.ids.size + 1;
    this.ids.set(s, n);
    this.fresh.push([n, s]);
    return n;
  }
}

/** JSON text of a nested arg (log lines hold no bigint, but the timeline's own args might). */
function jsonText(v: unknown): string {
  if (Array.isArray(v) && v.length === 0) return '[]';
  try {
    return JSON.stringify(v) ?? 'null';
  } catch {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? '0x' + x.toString(16) : x)) ?? 'null';
  }
}

const clampTs = (ns: number): number => Math.min(Math.max(0, Math.round(ns)), Number.MAX_SAFE_INTEGER);

export class ProtoTraceWriter {
  private readonly w = new PbWriter();
  private readonly sink: Sink;
  private readonly uuids = new Map<string, number>();
  private readonly names = new Interner();
  private readonly cats = new Interner();
  private readonly keys = new Interner();
  private readonly procNames = new Map<number, string>();
  private readonly threadNames = new Map<string, string>();
  /** Per track, the args of its open slices (innermost last): an end says only what closing added. */
  private readonly openArgs = new Map<number, Obj[]>();
  private first = true;
  private readonly compress: boolean;
  /** The chain of deflated chunks being written, in order; how many are not written yet. */
  private written: Promise<void> = Promise.resolve();
  private inflight = 0;
  /** Each chunk's place in the chain (oldest first): drain() waits for the oldest only. */
  private readonly pending: Promise<void>[] = [];
  private failed: unknown;
  private aborted = false;
  packets = 0;

  /** `compress` false: the packets as they are (for a reader without zlib). */
  constructor(sink: Sink, compress = true) {
    this.sink = sink;
    this.compress = compress;
  }

  /**
   * The packets written so far to the sink, deflated into one packet when compressing. Deflating
   * runs on libuv's thread pool (another core) while the timeline goes on; the results are written
   * in order. At most MAX_INFLIGHT chunks wait: drain() waits for them (memory stays bounded).
   */
  private flush(): void {
    const raw = this.w.take();
    if (!this.compress) return this.sink.bytes(raw);
    // One output buffer big enough for the whole chunk (zlib's bound: n + n/8 + a little): with
    // zlib's default of 16 KiB, a chunk came back in dozens of pieces, each a trip through the
    // event loop that cost the main thread more than the deflating cost the other one. The
    // bytes are the same (deflate's output does not depend on how it is collected).
    const chunkSize = Math.max(16 << 10, raw.length + (raw.length >> 3) + 1024);
    const z = new Promise<Buffer>((resolve, reject) => deflate(raw, { level: constants.Z_BEST_SPEED, chunkSize }, (e, out) => (e ? reject(e) : resolve(out))));
    this.inflight++;
    // Never rejects: a failure is kept and thrown by drain() or finish(); after it (or abort) nothing more is written.
    this.written = this.written.then(async () => {
      try {
        const body = await z;
        if (this.failed !== undefined || this.aborted) return;
        const outer = new PbWriter();
        outer.open(TRACE_PACKET);
        outer.bytes(P_COMPRESSED, body);
        outer.close();
        this.sink.bytes(outer.take());
      } catch (e) {
        this.failed ??= e;
      } finally {
        this.inflight--;
      }
    });
    this.pending.push(this.written);
  }

  /** Waits while too many deflated chunks are still to be written; throws a write error kept meanwhile. */
  async drain(): Promise<void> {
    // The oldest chunks only, not the whole chain: the pool keeps deflating the newer ones while
    // the timeline goes on.
    while (this.inflight > MAX_INFLIGHT && this.pending.length > 0) await this.pending.shift();
    if (this.inflight > MAX_INFLIGHT) await this.written;
    // (Chunks written already need no place: keep the newest few.)
    if (this.pending.length > MAX_INFLIGHT * 4) this.pending.splice(0, this.pending.length - MAX_INFLIGHT);
    if (this.failed !== undefined) throw this.failed;
  }

  /** The export failed or stopped: chunks still being deflated are dropped. */
  abort(): void {
    this.aborted = true;
  }

  private uuid(key: string): { id: number; fresh: boolean } {
    const id = this.uuids.get(key);
    if (id !== undefined) return { id, fresh: false };
    const n = this.uuids.size + 1;
    this.uuids.set(key, n);
    return { id: n, fresh: true };
  }

  private packet(build: () => void, ts?: number, interned = false): void {
    this.beginPacket(ts, interned);
    build();
    this.endPacket();
  }

  /** A TracePacket's start: its timestamp, sequence and (for events) the sequence flags. */
  private beginPacket(ts: number | undefined, interned: boolean): void {
    const w = this.w;
    w.open(TRACE_PACKET);
    if (ts !== undefined) w.uint(P_TIMESTAMP, clampTs(ts));
    w.uint(P_SEQ_ID, SEQ);
    if (interned) {
      w.uint(P_SEQ_FLAGS, this.first ? SEQ_CLEARED | SEQ_NEEDS_STATE : SEQ_NEEDS_STATE);
      this.first = false;
    }
  }

  private endPacket(): void {
    const w = this.w;
    w.close();
    this.packets++;
    if (w.pos >= COMPRESS_AT) this.flush();
  }

  /** The InternedData of strings first seen by the event being written (in its packet). */
  private internedData(): void {
    const w = this.w;
    const kinds: [Interner, number, number][] = [
      [this.cats, ID_CATEGORIES, 2],
      [this.names, ID_NAMES, 2],
      [this.keys, ID_ANNOTATION_NAMES, 2],
    ];
    if (kinds.every(([k]) => k.fresh.length === 0)) return;
    w.open(P_INTERNED);
    for (const [k, field, nameField] of kinds) {
      for (const [iid, s] of k.fresh) {
        w.open(field);
        w.uint(1, iid);
        w.string(nameField, s);
        w.close();
      }
      k.fresh = [];
    }
    w.close();
  }

  readonly onEvent = (e: TlEvent): void => {
    if (e.ph === 'M') this.meta(e);
    else if (e.ph === 'C') this.counter(e);
    else if (e.ph === 'i') this.event(INSTANT, this.thread(e.pid, e.tid), e.ts, e.name, e.cat, e.args);
    else this.end(e);
  };

  readonly onOpen = (o: Opened): void => {
    const track = this.thread(o.pid, o.tid);
    let stack = this.openArgs.get(track);
    if (stack === undefined) this.openArgs.set(track, (stack = []));
    stack.push(o.args);
    this.event(SLICE_BEGIN, track, o.ts, o.name, o.cat, o.args);
  };

  /** A slice closed: SLICE_END, with the args closing added (closed_early, unfinished, irqs on). */
  private end(e: Extract<TlEvent, { ph: 'X' }>): void {
    const track = this.thread(e.pid, e.tid);
    const began = this.openArgs.get(track)?.pop();
    let extra: Obj | undefined;
    if (began !== e.args) {
      extra = {};
      for (const [k, v] of Object.entries(e.args)) if (began === undefined || began[k] !== v) extra[k] = v;
    }
    this.event(SLICE_END, track, e.ts + e.dur, undefined, undefined, extra);
  }

  private event(type: number, track: number, ts: number, name: string | undefined, cat: string | undefined, args: Obj | undefined): void {
    // The hot path (every slice's begin and end): written straight, no closure per event.
    const nameId = name !== undefined ? this.names.iid(name) : undefined;
    const catId = cat !== undefined ? this.cats.iid(cat) : undefined;
    this.beginPacket(ts, true);
    const w = this.w;
    w.open(P_TRACK_EVENT);
    w.uint(TE_TYPE, type);
    w.uint(TE_TRACK, track);
    if (catId !== undefined) w.uint(TE_CATEGORY_IIDS, catId);
    else if (cat !== undefined) w.string(TE_CATEGORIES, cat);
    if (nameId !== undefined) w.uint(TE_NAME_IID, nameId);
    else if (name !== undefined) w.string(TE_NAME, name);
    if (args !== undefined) for (const k in args) this.annotation(k, args[k]);
    w.close();
    // After the event in the packet's bytes: trace processor reads a packet's interned data first.
    if (this.cats.fresh.length + this.names.fresh.length + this.keys.fresh.length > 0) this.internedData();
    this.endPacket();
  }

  /**
   * One debug annotation: a string, bool or number as such; an object or array (a record's
   * result, a refusal's blockers) as its JSON text in `legacy_json_value`, which trace processor
   * parses into nested args — one native JSON.stringify instead of a message per leaf.
   */
  private annotation(name: string, v: unknown): void {
    if (v === undefined) return;
    const w = this.w;
    w.open(TE_ANNOTATIONS);
    const id = this.keys.iid(name);
    if (id !== undefined) w.uint(DA_NAME_IID, id);
    else w.string(DA_NAME, name);
    if (typeof v === 'string') w.string(DA_STRING, v);
    else if (typeof v === 'boolean') w.uint(DA_BOOL, v ? 1 : 0);
    else if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) w.int(DA_INT, v);
      else w.double(DA_DOUBLE, v);
    } else w.string(DA_JSON, jsonText(v));
    w.close();
  }

  private meta(e: Extract<TlEvent, { ph: 'M' }>): void {
    if (e.name === 'process_name') this.procNames.set(e.pid, String(e.args.name));
    else if (e.name === 'thread_name') this.threadNames.set(`${e.pid}:${e.tid}`, String(e.args.name));
    else if (e.name === 'process_sort_index') this.process(e.pid);
    else this.describeThread(e.pid, e.tid, Number(e.args.sort_index));
  }

  /** The domain's track (described the first time). */
  private process(pid: number): number {
    const { id, fresh } = this.uuid(`p${pid}`);
    if (!fresh) return id;
    const name = this.procNames.get(pid) ?? `d${pid}`;
    this.packet(() => {
      const w = this.w;
      w.open(P_TRACK_DESCRIPTOR);
      w.uint(TD_UUID, id);
      w.string(TD_NAME, name);
      if (Number.isInteger(pid) && pid >= 0 && pid <= INT32_MAX) {
        w.open(TD_PROCESS);
        w.int(PD_PID, pid);
        w.string(PD_NAME, name);
        w.close();
      }
      w.uint(TD_CHILD_ORDERING, ORDER_EXPLICIT);
      w.close();
    });
    return id;
  }

  private describeThread(pid: number, tid: number, rank: number): number {
    const parent = this.process(pid);
    const { id, fresh } = this.uuid(`t${pid}:${tid}`);
    if (!fresh) return id;
    const name = this.threadNames.get(`${pid}:${tid}`) ?? `${tid}`;
    this.packet(() => {
      const w = this.w;
      w.open(P_TRACK_DESCRIPTOR);
      w.uint(TD_UUID, id);
      w.uint(TD_PARENT, parent);
      w.string(TD_NAME, name);
      if (Number.isSafeInteger(rank) && Math.abs(rank) <= INT32_MAX) w.int(TD_RANK, rank);
      w.close();
    });
    return id;
  }

  /** The last track looked up (most events are on the track of the one before). */
  private lastThread = { pid: NaN, tid: NaN, id: 0 };

  private thread(pid: number, tid: number): number {
    const l = this.lastThread;
    if (l.pid === pid && l.tid === tid) return l.id;
    const id = this.uuids.get(`t${pid}:${tid}`) ?? this.describeThread(pid, tid, 0);
    this.lastThread = { pid, tid, id };
    return id;
  }

  private counter(e: Extract<TlEvent, { ph: 'C' }>): void {
    const parent = this.process(e.pid);
    for (const [k, v] of Object.entries(e.args)) {
      const { id, fresh } = this.uuid(`c${e.pid}:${e.name}:${k}`);
      if (fresh) {
        this.packet(() => {
          const w = this.w;
          w.open(P_TRACK_DESCRIPTOR);
          w.uint(TD_UUID, id);
          w.uint(TD_PARENT, parent);
          w.string(TD_NAME, Object.keys(e.args).length > 1 ? `${e.name} ${k}` : e.name);
          w.open(TD_COUNTER);
          w.close();
          w.close();
        });
      }
      this.packet(
        () => {
          const w = this.w;
          w.open(P_TRACK_EVENT);
          w.uint(TE_TYPE, COUNTER);
          w.uint(TE_TRACK, id);
          if (Number.isSafeInteger(v)) w.int(TE_COUNTER, v);
          else w.double(TE_DOUBLE_COUNTER, v);
          w.close();
        },
        e.ts,
      );
    }
  }

  /** Writes what is still buffered, and waits until all of it is written. */
  async finish(): Promise<void> {
    if (this.w.pos > 0) this.flush();
    await this.written;
    if (this.failed !== undefined) throw this.failed;
  }
}
