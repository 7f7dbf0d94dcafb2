// `export --perfetto OUT.pftrace`: Perfetto's protobuf trace. Decoded back with protobufjs against
// the messages of perfetto's protos it uses (test/fixtures/export/perfetto-trace-subset.proto),
// every field is one the format defines (nothing left over), and the events — read as trace
// processor reads them: interned names resolved in packet order, then sorted by timestamp keeping
// the order of equal ones, SLICE_END closing the innermost open slice of its track — are exactly
// the JSON trace's slices, instants and counters, with the same args, on tracks of the same names.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportPerfetto, traceFormatOf } from '../../src/export/outputs.ts';
import { makeLogs, type Logs } from './inspect-logs.ts';

let logs: Logs;
let Trace: protobuf.Type;
beforeAll(async () => {
  logs = await makeLogs('xensim-export-proto-');
  Trace = protobuf.loadSync(join(import.meta.dirname, '../fixtures/export/perfetto-trace-subset.proto')).lookupType('perfetto.protos.Trace');
});

type Ann = { name?: string; nameIid?: number; boolValue?: boolean; intValue?: number; doubleValue?: number; stringValue?: string; legacyJsonValue?: string };
interface Packet {
  timestamp?: number;
  trustedPacketSequenceId?: number;
  sequenceFlags?: number;
  internedData?: { eventCategories?: { iid: number; name: string }[]; eventNames?: { iid: number; name: string }[]; debugAnnotationNames?: { iid: number; name: string }[] };
  trackDescriptor?: { uuid: number; name?: string; parentUuid?: number; process?: { pid: number; processName: string }; counter?: object; siblingOrderRank?: number };
  compressedPackets?: Uint8Array;
  trackEvent?: { type: number; trackUuid: number; nameIid?: number; name?: string; categoryIids?: number[]; categories?: string[]; debugAnnotations?: Ann[]; counterValue?: number; doubleCounterValue?: number };
}

interface Ev {
  ph: string;
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  name: string;
  cat?: string;
  args?: Record<string, unknown>;
}

async function capture(log: string, format: 'json' | 'proto'): Promise<Buffer> {
  const parts: Buffer[] = [];
  const r = await exportPerfetto(log, { write: (s: string | Uint8Array) => parts.push(typeof s === 'string' ? Buffer.from(s) : Buffer.from(s)) }, { format });
  expect(r.exit).toBe(0);
  return Buffer.concat(parts);
}

function annValue(a: Ann, names: Map<number, string>): [string | undefined, unknown] {
  const name = a.name ?? (a.nameIid !== undefined ? names.get(a.nameIid) : undefined);
  let v: unknown;
  if (a.stringValue !== undefined) v = a.stringValue;
  else if (a.intValue !== undefined) v = a.intValue;
  else if (a.doubleValue !== undefined) v = a.doubleValue;
  else if (a.boolValue !== undefined) v = a.boolValue;
  else if (a.legacyJsonValue !== undefined) v = JSON.parse(a.legacyJsonValue);
  return [name, v];
}

/** The trace as trace processor reads it: slices, instants and counters in the JSON's terms (ns). */
function readProto(buf: Buffer): { slices: string[]; instants: string[]; counters: string[]; packets: Packet[]; compressed: number } {
  let compressed = 0;
  const decode = (b: Uint8Array): Packet[] => {
    const msg = Trace.decode(b);
    expect(Trace.encode(msg).finish().length, 'every field is one the format defines').toBe(b.length);
    return (Trace.toObject(msg, { longs: Number, bytes: Buffer }) as { packet: Packet[] }).packet.flatMap((p) => {
      if (p.compressedPackets === undefined) return [p];
      compressed++;
      expect(Object.keys(p)).toEqual(['compressedPackets']);
      return decode(inflateSync(p.compressedPackets));
    });
  };
  const packets = decode(buf);
  const names = new Map<number, string>();
  const cats = new Map<number, string>();
  const keys = new Map<number, string>();
  const tracks = new Map<number, { name: string; parent?: number }>();
  const events: { ts: number; i: number; e: NonNullable<Packet['trackEvent']>; name?: string; cat?: string; args: Record<string, unknown> }[] = [];
  packets.forEach((p, i) => {
    expect(p.trustedPacketSequenceId).toBe(1);
    for (const n of p.internedData?.eventNames ?? []) names.set(n.iid, n.name);
    for (const n of p.internedData?.eventCategories ?? []) cats.set(n.iid, n.name);
    for (const n of p.internedData?.debugAnnotationNames ?? []) keys.set(n.iid, n.name);
    if (p.trackDescriptor) tracks.set(p.trackDescriptor.uuid, { name: p.trackDescriptor.name!, ...(p.trackDescriptor.parentUuid ? { parent: p.trackDescriptor.parentUuid } : {}) });
    const e = p.trackEvent;
    if (!e) return;
    if (e.nameIid !== undefined || e.categoryIids?.length) expect(p.sequenceFlags! & 2, 'uses interned data: SEQ_NEEDS_INCREMENTAL_STATE').toBe(2);
    const name = e.name ?? (e.nameIid !== undefined ? names.get(e.nameIid) : undefined);
    const cat = e.categories?.[0] ?? (e.categoryIids?.length ? cats.get(e.categoryIids[0]!) : undefined);
    const args = Object.fromEntries((e.debugAnnotations ?? []).map((a) => annValue(a, keys)));
    events.push({ ts: p.timestamp ?? 0, i, e, ...(name !== undefined ? { name } : {}), ...(cat !== undefined ? { cat } : {}), args });
  });
  expect(packets[0]!.sequenceFlags ?? packets.find((p) => p.sequenceFlags)!.sequenceFlags! & 1).toBeTruthy();
  events.sort((a, b) => a.ts - b.ts || a.i - b.i);
  const where = (uuid: number): string => {
    const t = tracks.get(uuid)!;
    return `${t.parent !== undefined ? tracks.get(t.parent)!.name : '?'}/${t.name}`;
  };
  const slices: string[] = [];
  const instants: string[] = [];
  const counters: string[] = [];
  const open = new Map<number, (typeof events)[number][]>();
  for (const ev of events) {
    const { e } = ev;
    if (e.type === 1) {
      const s = open.get(e.trackUuid) ?? [];
      s.push(ev);
      open.set(e.trackUuid, s);
    } else if (e.type === 2) {
      const b = open.get(e.trackUuid)!.pop()!;
      slices.push(JSON.stringify([where(e.trackUuid), b.name, b.cat, b.ts, ev.ts - b.ts, { ...b.args, ...ev.args }]));
    } else if (e.type === 3) instants.push(JSON.stringify([where(e.trackUuid), ev.name, ev.cat, ev.ts, ev.args]));
    else if (e.type === 4) counters.push(JSON.stringify([where(e.trackUuid), ev.ts, e.counterValue ?? e.doubleCounterValue]));
  }
  for (const s of open.values()) expect(s).toEqual([]);
  return { slices: slices.sort(), instants: instants.sort(), counters: counters.sort(), packets, compressed };
}

/** The JSON trace in the same terms. */
function readJson(buf: Buffer): { slices: string[]; instants: string[]; counters: string[] } {
  const evs = (JSON.parse(buf.toString('utf8')) as { traceEvents: Ev[] }).traceEvents;
  const proc = new Map<number, string>();
  const thread = new Map<string, string>();
  for (const e of evs) {
    if (e.ph === 'M' && e.name === 'process_name') proc.set(e.pid, String(e.args!.name));
    if (e.ph === 'M' && e.name === 'thread_name') thread.set(`${e.pid}:${e.tid}`, String(e.args!.name));
  }
  const ns = (us: number): number => Math.round(us * 1000);
  const norm = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
  const at = (e: Ev): string => `${proc.get(e.pid)}/${thread.get(`${e.pid}:${e.tid}`)}`;
  return {
    slices: evs.filter((e) => e.ph === 'X').map((e) => JSON.stringify([at(e), e.name, e.cat, ns(e.ts!), ns(e.dur!), norm(e.args)])).sort(),
    instants: evs.filter((e) => e.ph === 'i').map((e) => JSON.stringify([at(e), e.name, e.cat, ns(e.ts!), norm(e.args)])).sort(),
    counters: evs.filter((e) => e.ph === 'C').flatMap((e) => Object.entries(e.args!).map(([, v]) => JSON.stringify([`${proc.get(e.pid)}/${e.name}`, ns(e.ts!), v]))).sort(),
  };
}

describe('export --perfetto OUT.pftrace: the protobuf trace', () => {
  it('the format follows the extension (and --format)', () => {
    expect(traceFormatOf('x.pftrace')).toBe('proto');
    expect(traceFormatOf('x.perfetto-trace')).toBe('proto');
    expect(traceFormatOf('x.json')).toBe('json');
    expect(traceFormatOf('trace')).toBe('json');
  });

  it('every log: the same slices (nested as trace processor nests them), instants, counters and args as the JSON trace', async () => {
    for (const [name, path] of logs.all) {
      const pb = await capture(path, 'proto');
      const json = await capture(path, 'json');
      const p = readProto(pb);
      const j = readJson(json);
      expect(p.slices, name).toEqual(j.slices);
      expect(p.instants, name).toEqual(j.instants);
      expect(p.counters, name).toEqual(j.counters);
      expect(pb.length, name).toBeLessThan(json.length);
    }
  });

  it('the seed example: domain and vCPU tracks described, the refused pin an instant with its blocker', async () => {
    const p = readProto(await capture(logs.replay.seed!, 'proto'));
    const descs = p.packets.flatMap((x) => (x.trackDescriptor ? [x.trackDescriptor] : []));
    expect(descs.filter((d) => d.process).map((d) => [d.process!.pid, d.process!.processName])).toEqual([
      [1, 'd1'],
      [0x7ff2, 'Xen'],
    ]);
    expect(descs.filter((d) => d.parentUuid && !d.counter).map((d) => d.name)).toEqual(expect.arrayContaining(['toolstack, queries', 'vCPU0', 'vCPU1']));
    const refusal = p.instants.map((s) => JSON.parse(s) as [string, string, string, number, Record<string, unknown>]).find((i) => i[2] === 'refusal')!;
    expect(refusal.slice(0, 4)).toEqual(['d1/vCPU0', 'refused pin_l1_table', 'refusal', 13_010]); // 10 ns after its record
    expect(refusal[4].blockers).toEqual(['L1 0x1003 slot 17 maps it writable']);
  });

  it('written to a file by extension: starts with a TracePacket (field 1, length-delimited)', async () => {
    const out = join(logs.dir, 'seed.pftrace');
    expect((await exportPerfetto(logs.replay.seed!, join(logs.dir, 'seed.json'))).exit).toBe(0);
    const r = await exportPerfetto(logs.replay.seed!, out);
    expect(r.exit).toBe(0);
    const buf = readFileSync(out);
    expect(buf[0]).toBe(0x0a);
    const p = readProto(buf);
    expect(p.slices.length).toBe(r.stats!.slices);
    expect(p.compressed).toBe(1); // a small log: one deflated packet
    expect(buf.length).toBeLessThan(readFileSync(join(logs.dir, 'seed.json'), 'utf8').length / 4);
  });
});
