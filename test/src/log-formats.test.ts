// The log's two formats (src/log/write.ts): format 2 says each thing once, format 1 (the logs
// written before issue 18, kept in test/fixtures/logs-format1/) said it on every line. Both read
// alike: inspect, export and diff of a format-1 log and of the format-2 log of the same input give
// the same output, and a replay checks either.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffLogs } from '../../src/diff/diff.ts';
import { exportHtml, exportPerfetto } from '../../src/export/outputs.ts';
import { inspect, INSPECT_FORMATS } from '../../src/inspect/inspect.ts';
import { runScenario } from '../../src/lab/run.ts';
import { loadScenario } from '../../src/lab/scenarios/load.ts';
import { replay } from '../../src/replay/replay.ts';
import { writeTrace } from '../bench/util.ts';

const repo = join(import.meta.dirname, '../..');
const FORMAT1 = join(repo, 'test/fixtures/logs-format1');
const dir = mkdtempSync(join(tmpdir(), 'xensim-log-formats-'));
const quiet = { write: () => true };

/** Each format-1 fixture and how its format-2 twin is made now (test/fixtures/logs-format1/README.md). */
const generated = join(dir, 'generated-300.ndjson');
writeTrace(generated, { seed: 7, records: 300 });
const CASES: Record<string, (log: string) => Promise<unknown>> = {
  'seed.log': (log) => replay(join(repo, 'examples/seed-alias-blocks-pin.ndjson'), { log, quiet: true, out: quiet, err: quiet }),
  'seed-warn.log': (log) => replay(join(repo, 'examples/seed-alias-blocks-pin.ndjson'), { log, logLevel: 'warn', quiet: true, out: quiet, err: quiet }),
  'build.log': (log) => replay(join(repo, 'examples/build-pin-4level.ndjson'), { log, quiet: true, out: quiet, err: quiet }),
  'multicall-refusals.log': (log) => replay(join(repo, 'test/fixtures/export/multicall-refusals.ndjson'), { log, quiet: true, out: quiet, err: quiet }),
  'generated-300.log': (log) => replay(generated, { log, quiet: true, out: quiet, err: quiet }),
  'run-suspend-never.log': async (log) => runScenario(loadScenario('suspend-pin-all-irqs-off'), { policy: 'never', log }),
};

function capture(): { write: (s: string) => boolean; text: () => string } {
  let s = '';
  return { write: (x: string) => ((s += x), true), text: () => s };
}

/** What inspect (every format but `lines`, which prints the lines as written), export and diff make of a log. */
async function readings(log: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const format of INSPECT_FORMATS.filter((f) => f !== 'lines')) {
    const c = capture();
    await inspect(log, { format, color: false, out: c, err: c });
    out[`inspect ${format}`] = c.text();
  }
  const j = capture();
  await inspect(log, { json: true, out: j, err: j });
  out['inspect --json'] = j.text();
  const f = capture();
  await inspect(log, { format: 'pretty', color: false, refused: true, out: f, err: f } as Parameters<typeof inspect>[1]);
  out['inspect pretty --refused'] = f.text();
  const p = capture();
  await exportPerfetto(log, p, { source: 'the log' });
  out['export --perfetto'] = p.text();
  const h = capture();
  await exportHtml(log, h, { source: 'the log' });
  out['export --html'] = h.text();
  // The log's own path, where an output names it, is not the log's content.
  for (const k of Object.keys(out)) out[k] = out[k]!.split(log).join('LOG');
  return out;
}

describe('format 1 and format 2 logs', () => {
  for (const [name, make] of Object.entries(CASES)) {
    it(`${name}: inspect, export and diff read the format-1 log as its format-2 twin; the new one is smaller`, async () => {
      const old = join(FORMAT1, name);
      const now = join(dir, name);
      await make(now);
      expect(readFileSync(now, 'utf8').split('\n').length).toBe(readFileSync(old, 'utf8').split('\n').length);
      expect(statSync(now).size).toBeLessThan(statSync(old).size);
      // The end line names the model that wrote the log (format 2 only): the one thing format 1 lacks.
      const twin = join(dir, `twin-${name}`);
      const text = readFileSync(now, 'utf8');
      expect(text).toContain(',"xen":"4.17","build":"debug"');
      writeFileSync(twin, text.replace(',"xen":"4.17","build":"debug"', ''));
      const [a, b] = [await readings(old), await readings(twin)];
      for (const k of Object.keys(a)) expect(b[k], k).toBe(a[k]);
      const d = await diffLogs(old, now);
      expect(d.same).toBe(true);
    });
  }

  it('a replay checks a log of either format, and a tampered format-2 log is caught', async () => {
    for (const name of ['seed.log', 'multicall-refusals.log', 'generated-300.log', 'run-suspend-never.log']) {
      const s = await replay(join(FORMAT1, name), { out: quiet, err: quiet, quiet: true });
      expect([name, s.exit, s.reason]).toEqual([name, 0, 'finished']);
      const now = join(dir, name);
      expect((await replay(now, { out: quiet, err: quiet, quiet: true })).exit).toBe(0);
    }
    // A refusal line's blame changed: the check says the replay diverges (exit 1).
    const text = readFileSync(join(dir, 'multicall-refusals.log'), 'utf8').replace(/"reason":"([^"]*)"/, '"reason":"not $1"');
    const tampered = join(dir, 'tampered.log');
    (await import('node:fs')).writeFileSync(tampered, text);
    const err = capture();
    const s = await replay(tampered, { out: quiet, err, quiet: true });
    expect(s.exit).toBe(1);
    expect(err.text()).toContain('diverges from the log');
  });

  it('format 2 writes a thing once: no msg, errno or repeated line on record lines; refusal lines without their record line\'s context', async () => {
    const lines = readFileSync(join(dir, 'multicall-refusals.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const rec = lines.find((o) => o.op === 'multicall')!;
    expect(rec.msg).toBeUndefined();
    expect(rec.result).not.toHaveProperty('errno');
    expect(rec.line).not.toBe(rec.time); // the trace has comment lines: its line is said
    // A trace without comments: every record's line is its time, and not said.
    const gen = readFileSync(join(dir, 'generated-300.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(gen.filter((o) => o.op !== undefined && o.line !== undefined)).toEqual([]);
    const refusals = lines.filter((o) => o.refusal !== undefined);
    expect(refusals.length).toBe(3);
    for (const r of refusals) {
      expect(Object.keys(r)).toEqual(['level', 'time', 'refusal']);
      expect(r.time).toBe(rec.time);
    }
    // At --log-level warn there is no record line: the refusal line says where and who itself.
    const warn = readFileSync(join(dir, 'seed-warn.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(warn.find((o) => o.refusal !== undefined)!)).toEqual(['level', 'time', 'line', 'dom', 'vcpu', 'refusal']);
  });
});
