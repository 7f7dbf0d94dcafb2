// `export`'s outputs under hostile input and unlucky operators (issue 15): the cost is bounded by
// the input (a 1 MB tlb_flush line naming 158,730 vCPUs writes about its own size, not 1.75 GB);
// an output that is the input, or two outputs on one path, are refused before anything is written;
// outputs are written to a temporary file and renamed, so a failed or stopped export leaves the
// old file whole; a full disk is one line and exit 2.
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageData } from '../../src/export/html.ts';
import { fileSink } from '../../src/export/out-file.ts';
import { exportPerfetto } from '../../src/export/outputs.ts';
import { MAX_FLUSH_FANOUT } from '../../src/export/timeline.ts';
import { OutputError } from '../../src/log/output.ts';
import { buildCommand, runBuilt, type Built } from './built.ts';

let built: Built;
let dir: string;
const SEED_LOG = join(import.meta.dirname, '../fixtures/export/seed.log');
beforeAll(() => {
  built = buildCommand('xensim-export-out-');
  dir = mkdtempSync(join(tmpdir(), 'xensim-export-out-'));
});
afterAll(() => {
  built?.remove();
  rmSync(dir, { recursive: true, force: true });
});

const L = (o: Record<string, unknown>): string => JSON.stringify({ level: 30, ...o, msg: String(o.event ?? o.op ?? 'x') });

/** The bomb of issue 15: one tlb_flush line of about 1 MB naming 158,730 vCPUs. */
function flushBomb(): string {
  const vcpus = Array.from({ length: 158_730 }, (_, i) => i);
  return [
    L({ time: 1, op: 'create_domain', domid: 1, vcpus: 1, frames: { base: '0x1000', count: 16 }, result: { rc: 0, errno: 'OK' } }),
    L({ time: 2, event: 'tlb_flush', cause: 'flush_all', vcpus, clock: 7 }),
    L({ time: 3, event: 'end', reason: 'finished' }),
  ].join('\n') + '\n';
}

/** Counts what an export writes. */
function counter(): { write(s: string | Uint8Array): void; bytes: number; text: string } {
  const c = {
    bytes: 0,
    text: '',
    write(s: string | Uint8Array) {
      c.bytes += typeof s === 'string' ? Buffer.byteLength(s) : s.length;
      if (typeof s === 'string' && c.text.length < 1 << 22) c.text += s;
    },
  };
  return c;
}

function oneLine(stderr: string, says: RegExp): void {
  expect(stderr).toMatch(says);
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr.trim().split('\n')).toHaveLength(1);
}

describe('cost bounded by the input', () => {
  it('a 1 MB tlb_flush line naming 158,730 vCPUs: one instant on Xen, output about the size of the line (JSON, protobuf, page)', async () => {
    const log = join(dir, 'flush-bomb.log');
    const text = flushBomb();
    writeFileSync(log, text);
    expect(text.length).toBeGreaterThan(1_000_000);
    const json = counter();
    const r = await exportPerfetto(log, json);
    expect(r.exit).toBe(0);
    // Before: 158,730 instants each carrying the whole list (1.75 GB). Now: one.
    expect(r.stats!.instants).toBe(2); // the flush and the end line
    expect(json.bytes).toBeLessThan(2 * text.length);
    const doc = JSON.parse(json.text) as { traceEvents: { name: string; pid: number; args?: { vcpus?: number[] } }[] };
    const flush = doc.traceEvents.filter((e) => e.name.startsWith('tlb_flush'));
    expect(flush).toHaveLength(1);
    expect(flush[0]!.name).toBe('tlb_flush flush_all (158730 vCPUs)');
    expect(flush[0]!.pid).toBe(0x7ff2);
    expect(flush[0]!.args!.vcpus).toHaveLength(158_730);
    const pb = counter();
    expect((await exportPerfetto(log, pb, { format: 'proto' })).exit).toBe(0);
    expect(pb.bytes).toBeLessThan(2 * text.length);
    const page = await pageData(log);
    expect(JSON.stringify(page).length).toBeLessThan(2 * text.length);
  });

  it(`a flush of at most ${MAX_FLUSH_FANOUT} vCPUs is still one instant per vCPU track`, async () => {
    const log = join(dir, 'flush-64.log');
    const vcpus = Array.from({ length: MAX_FLUSH_FANOUT }, (_, i) => i);
    writeFileSync(log, [L({ time: 1, event: 'tlb_flush', cause: 'x', vcpus, clock: 1 }), L({ time: 2, event: 'tlb_flush', cause: 'y', vcpus: [...vcpus, 64], clock: 2 })].join('\n') + '\n');
    const c = counter();
    await exportPerfetto(log, c);
    const doc = JSON.parse(c.text) as { traceEvents: { name: string; ph: string; tid: number }[] };
    expect(doc.traceEvents.filter((e) => e.name === 'tlb_flush x').map((e) => e.tid)).toEqual(vcpus);
    expect(doc.traceEvents.filter((e) => e.ph === 'i' && e.name.startsWith('tlb_flush y'))).toHaveLength(1);
  });
});

/** A log of `copies` seed runs one after another (times shifted): about 280 bytes a line. */
function bigLog(path: string, copies: number): number {
  const lines = readFileSync(SEED_LOG, 'utf8').trim().split('\n').map((t) => JSON.parse(t) as { time: number });
  const span = Math.max(...lines.map((o) => o.time)) + 1;
  const fd = openSync(path, 'w');
  let n = 0;
  for (let c = 0; c < copies; c++) {
    writeSync(fd, lines.map((o) => JSON.stringify({ ...o, time: o.time + c * span })).join('\n') + '\n');
    n += lines.length;
  }
  closeSync(fd);
  return n;
}

describe('streams: bounded memory, progress', () => {
  it('a 40 MB log to protobuf and HTML at once under a 96 MiB V8 heap: exit 0, resident memory far below the log', async () => {
    const log = join(dir, 'big.log');
    const lines = bigLog(log, 6000);
    expect(statSync(log).size).toBeGreaterThan(35e6);
    const r = await runBuilt(built.bin, ['export', log, '--perfetto', join(dir, 'big.pftrace'), '--html', join(dir, 'big.html')], { heapMiB: 96, timeoutMs: 120_000 });
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status, r.stderr).toBe(0);
    // Not a TTY: no progress bar, only the counts.
    expect(r.stderr.trim().split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/big\.html: \d+ slices, \d+ instants \(\d+ more left out: --max-events\)/);
    if (r.peakMiB !== undefined) expect(r.peakMiB).toBeLessThan(250);
    expect(lines).toBeGreaterThan(100_000);
  }, 150_000);

  it('progress: reported as the log is read, in bytes, rising to about the file size; --quiet prints nothing but errors', async () => {
    const log = join(dir, 'mid.log');
    bigLog(log, 400);
    const seen: number[] = [];
    const r = await exportPerfetto(log, counter(), { format: 'proto', progress: (b) => seen.push(b) });
    expect(r.exit).toBe(0);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every((b, i) => i === 0 || b > seen[i - 1]!)).toBe(true);
    expect(seen.at(-1)!).toBeLessThanOrEqual(statSync(log).size);
    const q = await runBuilt(built.bin, ['export', log, '--perfetto', join(dir, 'mid.pftrace'), '--quiet']);
    expect(q.status).toBe(0);
    expect(q.stderr).toBe('');
  });
});

describe('nothing destroyed', () => {
  it('export L --perfetto L (and --html L, and through another name) is refused; the log is intact', async () => {
    const log = join(dir, 'self.log');
    writeFileSync(log, readFileSync(SEED_LOG));
    const before = readFileSync(log, 'utf8');
    for (const args of [
      ['--perfetto', log],
      ['--html', log],
      ['--perfetto', join(dir, '.', 'self.log')],
    ]) {
      const r = await runBuilt(built.bin, ['export', log, ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      oneLine(r.stderr, /^xensim export: --(perfetto|html) .*self\.log: is the input .*self\.log; writing it would destroy it/);
      expect(readFileSync(log, 'utf8')).toBe(before);
    }
  });

  it('--html X --perfetto X is refused before anything is written', async () => {
    const out = join(dir, 'both.out');
    const r = await runBuilt(built.bin, ['export', SEED_LOG, '--html', out, '--perfetto', out]);
    expect(r.status).toBe(2);
    oneLine(r.stderr, /^xensim export: --html .*both\.out: is also the --perfetto output; one would overwrite the other/);
    expect(existsSync(out)).toBe(false);
  });

  it('a failed export leaves the old file as it was (no 0-byte or half file, no temporary file left); a good one replaces it', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const out = join(sub, 'trace.json');
    const html = join(sub, 'page.html');
    writeFileSync(out, 'old trace\n');
    writeFileSync(html, 'old page\n');
    // Many good lines, then a line over the 1 MiB limit: the read stops there.
    const log = join(sub, 'cut.log');
    const good = readFileSync(SEED_LOG, 'utf8');
    writeFileSync(log, good.repeat(200) + '{"level":30,"x":"' + 'a'.repeat(1 << 20) + '"}\n');
    const r = await runBuilt(built.bin, ['export', log, '--perfetto', out, '--html', html]);
    expect(r.status).toBe(2);
    oneLine(r.stderr, /cut\.log:\d+: line longer than 1048576 bytes/);
    expect(readFileSync(out, 'utf8')).toBe('old trace\n');
    expect(readFileSync(html, 'utf8')).toBe('old page\n');
    expect(readdirSync(sub).sort()).toEqual(['cut.log', 'page.html', 'trace.json']);
    const ok = await runBuilt(built.bin, ['export', SEED_LOG, '--perfetto', out]);
    expect(ok.status).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toHaveProperty('traceEvents');
    expect(readdirSync(sub).sort()).toEqual(['cut.log', 'page.html', 'trace.json']);
  });

  it('Ctrl-C during an export: exit 130, the old file as it was, no temporary file', async () => {
    const sub = mkdtempSync(join(dir, 'sigint-'));
    const log = join(sub, 'long.log');
    bigLog(log, 6000);
    const out = join(sub, 'trace.pftrace');
    writeFileSync(out, 'old trace\n');
    const r = await runBuilt(built.bin, ['export', log, '--perfetto', out], {
      timeoutMs: 120_000,
      started: (pid) => setTimeout(() => process.kill(pid, 'SIGINT'), 1500),
    });
    expect(r.status).toBe(130);
    oneLine(r.stderr, /^xensim export: interrupted: nothing written$/m);
    expect(readFileSync(out, 'utf8')).toBe('old trace\n');
    expect(readdirSync(sub).sort()).toEqual(['long.log', 'trace.pftrace']);
  }, 150_000);

  it('a missing log writes nothing', async () => {
    const out = join(dir, 'never.json');
    const r = await runBuilt(built.bin, ['export', join(dir, 'missing.log'), '--perfetto', out]);
    expect(r.status).toBe(2);
    oneLine(r.stderr, /missing\.log: no such file/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('a full disk', () => {
  it.skipIf(!existsSync('/dev/full'))('--perfetto /dev/full and --html /dev/full: one line, exit 2 (a device is written in place, never renamed onto)', async () => {
    for (const [flag, fmt] of [
      ['--perfetto', []],
      ['--perfetto', ['--format', 'proto']],
      ['--html', []],
    ] as const) {
      const r = await runBuilt(built.bin, ['export', SEED_LOG, flag, '/dev/full', ...fmt]);
      expect(r.status, flag).toBe(2);
      oneLine(r.stderr, new RegExp(`^xensim export: ${flag} /dev/full: no space left on device$`, 'm'));
    }
    expect(existsSync('/dev/full')).toBe(true);
  });

  it.skipIf(!existsSync('/dev/full'))('the write error reaches the sink as an OutputError naming the option and path', () => {
    const s = fileSink('/dev/full', '--perfetto', []);
    expect(() => {
      s.text('x'.repeat(100));
      s.commit();
    }).toThrow(OutputError);
    const t = fileSink('/dev/full', '--perfetto', []);
    expect(() => t.text('x'.repeat(1 << 17))).toThrow('--perfetto /dev/full: no space left on device');
  });
});
