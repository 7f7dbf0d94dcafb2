// §7 Export (issue 17 item 5): a hypercall log of a generated trace (1M records; the seeded mix of
// §1) exported as Perfetto's protobuf trace and as Chrome JSON, against the floor any log reader
// pays: read every line and JSON.parse it (src/log/read.ts, the same reader). Goal: 1M records in
// seconds — the protobuf export within 3× the floor. Sizes of the log and of both traces in the note.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { exportPerfetto } from '../../src/export/outputs.ts';
import { readPass } from '../../src/export/pass.ts';
import { replay } from '../../src/replay/replay.ts';
import { judge, type Figure } from './report.ts';
import { discard, human, interleaved, round3, writeTrace } from './util.ts';

const SEED = 7;
const mb = (path: string): number => Math.round(statSync(path).size / 1e5) / 10;

export async function exportSpeed(dir: string, records: number, rounds: number): Promise<Figure[]> {
  const trace = join(dir, `export-trace-${records}.ndjson`);
  const log = join(dir, `export-${records}.log`);
  writeTrace(trace, { seed: SEED, records });
  const s = await replay(trace, { out: discard, err: discard, quiet: true, log });
  if (s.exit !== 0) throw new Error(`bench: the replay for export stopped: ${s.reason}`);
  const pb = join(dir, 'export.pftrace');
  const json = join(dir, 'export.json');
  let lines = 0;
  const t = await interleaved(rounds, {
    floor: async () => {
      lines = 0;
      await readPass(log, () => void lines++);
    },
    proto: async () => {
      if ((await exportPerfetto(log, pb)).exit !== 0) throw new Error('bench: export --perfetto .pftrace failed');
    },
    json: async () => {
      if ((await exportPerfetto(log, json)).exit !== 0) throw new Error('bench: export --perfetto .json failed');
    },
  });
  const section = `7. Export (${human(records)} generated records: a log of ${human(lines)} lines, ${mb(log)} MB)`;
  const floor = { what: 'read + JSON.parse every line of the log', value: Math.round(t.floor.ms), unit: 'ms' };
  return [
    judge({
      id: 'export.proto',
      section,
      what: 'export --perfetto OUT.pftrace (protobuf, deflated)',
      value: Math.round(t.proto.ms),
      unit: 'ms',
      baseline: floor,
      ratio: round3(t.proto.ms / t.floor.ms),
      goal: { on: 'ratio', op: '<=', limit: 3 },
      note: `${mb(pb)} MB written (the JSON: ${mb(json)} MB); ${Math.round((records / t.proto.ms) * 1000)} records/s`,
      samples: { proto: t.proto.samples, floor: t.floor.samples },
    }),
    judge({
      id: 'export.json',
      section,
      what: 'export --perfetto OUT.json (Chrome Trace Event JSON)',
      value: Math.round(t.json.ms),
      unit: 'ms',
      baseline: floor,
      ratio: round3(t.json.ms / t.floor.ms),
      note: `${mb(json)} MB written; ${Math.round((records / t.json.ms) * 1000)} records/s`,
      samples: { json: t.json.samples },
    }),
  ];
}
