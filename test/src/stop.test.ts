// Nothing lost (issue 6, item 4): whatever stops a replay or a guest run early — SIGINT, an
// exception inside the model, an invariant (--audit) failure, bad input found while running, and
// for runs a BUG or a deadlock — every line logged so far is in the log file, each line parses,
// the last one is the end line saying why, and the exit status says so: 130 interrupted, 1 a
// failed invariant or a model exception, 2 bad input; a run's BUG or deadlock is a verdict (0).
// A bad trace line and a failed expectation are covered in cli.test.ts and replay.test.ts.
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Hypervisor } from '../../hypervisor/index.ts';
import { replay } from '../../src/replay/replay.ts';
import { runScenario } from '../../src/lab/run.ts';
import { loadScenario } from '../../src/lab/scenarios/load.ts';
import { iterateTrace } from '../../src/trace/generate.ts';
import { buildCommand, repo, runBuilt, whenFileGrows, type Built } from './built.ts';

const dir = mkdtempSync(join(tmpdir(), 'xensim-stop-'));
const SEED = join(repo, 'examples/seed-alias-blocks-pin.ndjson');
const quiet = { write: () => true };
let n = 0;
const path = (name: string) => join(dir, `${n++}-${name}`);

type Line = Record<string, unknown>;
/** The log file, parsed line by line (a line that does not parse fails the test). */
function logOf(file: string): Line[] {
  const text = readFileSync(file, 'utf8');
  expect(text.endsWith('\n'), 'the log ends with a complete line').toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l, i) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        throw new Error(`${file}:${i + 1} does not parse: ${l.slice(0, 200)}`);
      }
    });
}

/** The record lines are every record run, in order; the end line is last and counts them. */
function expectComplete(lines: Line[], end: Partial<Line>): Line[] {
  const records = lines.filter((l) => typeof l.op === 'string' && l.event === undefined);
  expect(lines.at(-1)).toMatchObject({ event: 'end', records: records.length, ...end });
  expect(lines.slice(0, -1).some((l) => l.event === 'end')).toBe(false);
  const times = records.map((l) => l.time as number);
  expect(times).toEqual([...times].sort((a, b) => a - b));
  return records;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('replay: SIGINT stops a long replay between records', () => {
  let built: Built;
  let trace: string;
  const RECORDS = 150_000;

  beforeAll(async () => {
    built = buildCommand('xensim-stop-');
    trace = path('long.ndjson');
    const ws = createWriteStream(trace);
    let chunk: string[] = [];
    for (const r of iterateTrace({ seed: 11, records: RECORDS })) {
      chunk.push(JSON.stringify(r));
      if (chunk.length === 5000) {
        if (!ws.write(chunk.join('\n') + '\n')) await new Promise<void>((r) => ws.once('drain', () => r()));
        chunk = [];
      }
    }
    await new Promise<void>((resolve) => ws.end(chunk.join('\n') + '\n', () => resolve()));
  }, 120_000);
  afterAll(() => built?.remove());

  // SIGTERM and SIGHUP stop a replay as SIGINT does (issue 15), with 128 + the signal's number.
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`${sig}: exit ${code}; every record run so far is in the log, which ends with event end, reason interrupted`, async () => {
      const log = path('interrupted.log');
      let sent = false;
      const r = await runBuilt(built.bin, ['replay', trace, '--log', log], {
        timeoutMs: 120_000,
        started: (pid) => {
          // Once the log has started growing, the signal.
          whenFileGrows(log, 256 * 1024, () => {
            process.kill(pid, sig);
            sent = true;
          });
        },
      });
      expect(sent).toBe(true);
      expect(r.signal).toBe(null);
      expect(r.status).toBe(code);
      expect(r.stderr).not.toMatch(/^\s{4}at /m);
      expect(r.stdout).toMatch(new RegExp(`stopped: interrupted, exit ${code}\\n$`));
      const lines = logOf(log);
      const records = expectComplete(lines, { reason: 'interrupted', exit: code, level: 40, msg: 'replay stopped' });
      expect(records.length).toBeGreaterThan(0);
      expect(records.length).toBeLessThan(RECORDS);
      // The records are the trace's first ones, none skipped: the line numbers run 1, 2, 3, …
      expect(records.map((l) => l.line ?? l.time)).toEqual(records.map((_, i) => i + 1)); // (a line that is its time is not said)
      expect(lines.at(-1)!.time).toBe(records.at(-1)!.time);
    }, 180_000);
  }

  // kill -9 (issue 15): no handler runs, so no end line; what was written is whole lines (a chunk
  // is one write(2) of whole lines), the trace's first records in order; the lock the dead
  // process left is recovered by the next replay onto the same log (src/log/lock.ts).
  it('SIGKILL: only whole lines, the first records in order, no end line; the next replay takes the log', async () => {
    const log = path('killed.log');
    const r = await runBuilt(built.bin, ['replay', trace, '--log', log], {
      timeoutMs: 120_000,
      started: (pid) => {
        whenFileGrows(log, 256 * 1024, () => process.kill(pid, 'SIGKILL'));
      },
    });
    expect(r.signal).toBe('SIGKILL');
    const lines = logOf(log);
    expect(lines.some((l) => l.event === 'end')).toBe(false);
    const records = lines.filter((l) => typeof l.op === 'string' && l.event === undefined);
    expect(records.length).toBeGreaterThan(0);
    expect(records.map((l) => l.line ?? l.time)).toEqual(records.map((_, i) => i + 1)); // (a line that is its time is not said)
    const again = await runBuilt(built.bin, ['replay', SEED, '--log', log]);
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
  }, 180_000);
});

describe('replay: an exception inside the model, a failed --audit', () => {
  it('the model throws on the 5th hypercall: the records before it are logged, then internal_error, then end (exit 1)', async () => {
    const real = Hypervisor.prototype.hypercall;
    let calls = 0;
    vi.spyOn(Hypervisor.prototype, 'hypercall').mockImplementation(function (this: Hypervisor, ...args) {
      if (++calls === 5) throw new TypeError('planted: cannot read properties of undefined');
      return real.apply(this, args);
    });
    const log = path('internal.log');
    let err = '';
    const s = await replay(SEED, { log, out: quiet, err: { write: (x: string) => (err += x) } });
    expect(s).toMatchObject({ exit: 1, reason: 'internal_error' });
    expect(err).toMatch(/:\d+: internal error in the model running \w+: TypeError: planted/);
    const lines = logOf(log);
    const records = expectComplete(lines, { reason: 'internal_error', exit: 1, level: 50 });
    expect(records.length).toBe(s.records);
    expect(records.filter((l) => ['mmu_update', 'mmuext_op', 'update_va_mapping', 'multicall'].includes(l.op as string))).toHaveLength(4);
    expect(lines.at(-2)).toMatchObject({ event: 'internal_error', error: expect.stringMatching(/^TypeError: planted/) });
  });

  it('--audit finds a mismatch after the 6th record: the replay stops there, the log ends audit, end (exit 1)', async () => {
    const real = Hypervisor.prototype.audit;
    let audits = 0;
    vi.spyOn(Hypervisor.prototype, 'audit').mockImplementation(function (this: Hypervisor) {
      return ++audits === 6 ? ['planted: mfn 0x1011 type_count 1, counted 0'] : real.apply(this);
    });
    const log = path('audit.log');
    const s = await replay(SEED, { log, audit: true, out: quiet, err: quiet });
    expect(s).toMatchObject({ exit: 1, reason: 'audit', records: 6 });
    const lines = logOf(log);
    expectComplete(lines, { reason: 'audit', exit: 1, records: 6 });
    expect(lines.at(-2)).toMatchObject({ event: 'audit', source: '--audit', mismatches: ['planted: mfn 0x1011 type_count 1, counted 0'] });
  });
});

describe('run --log: a BUG, a deadlock, an exception', () => {
  it('a deadlock and a BUG are verdicts: the log ends with the outcome (exit 0 for the run)', () => {
    for (const [name, policy, outcome] of [
      ['suspend-pin-all-irqs-off', 'force', 'deadlock'],
      ['early-boot-before-vmalloc-init', 'default,vmapInitGuard=false', 'bug'],
      ['fork-pin-clean', 'never', 'completed'],
    ] as const) {
      const log = path(`${name}.log`);
      const v = runScenario(loadScenario(name), { policy, log });
      expect(v.outcome, name).toBe(outcome);
      const lines = logOf(log);
      expectComplete(lines, { reason: outcome, exit: 0, msg: 'run stopped', level: outcome === 'completed' ? 30 : 40 });
      if (outcome === 'deadlock') expect(lines.some((l) => l.event === 'deadlock')).toBe(true);
      if (outcome === 'bug') expect(lines.some((l) => l.event === 'bug')).toBe(true);
    }
  });

  it('an exception inside the model: every line so far, then internal_error, then end (the exception goes on: exit 1)', () => {
    const real = Hypervisor.prototype.hypercall;
    let calls = 0;
    vi.spyOn(Hypervisor.prototype, 'hypercall').mockImplementation(function (this: Hypervisor, ...args) {
      if (++calls === 3) throw new RangeError('planted: index out of range');
      return real.apply(this, args);
    });
    const log = path('run-internal.log');
    expect(() => runScenario(loadScenario('vmalloc-churn-then-fork'), { log })).toThrow('planted: index out of range');
    const lines = logOf(log);
    const records = expectComplete(lines, { reason: 'internal_error', exit: 1, msg: 'run stopped', level: 50 });
    expect(records.filter((l) => ['mmu_update', 'mmuext_op', 'update_va_mapping', 'multicall'].includes(l.op as string))).toHaveLength(2);
    expect(lines.at(-2)).toMatchObject({ event: 'internal_error', error: expect.stringMatching(/^RangeError: planted/) });
  });

  it('bad input found while running (an operation on a name that does not exist): the log ends bad_input (exit 2)', () => {
    const file = path('vfree-nothing.json');
    writeFileSync(file, JSON.stringify({ name: 'x', title: 't', description: 'd', vcpus: 1, setup: [{ op: 'vmalloc', name: 'a', pages: 2 }], programs: [[{ op: 'vfree', name: 'b' }]] }));
    const log = path('run-bad.log');
    expect(() => runScenario(loadScenario(file), { log })).toThrow('no vmalloc area named "b" exists at this point');
    const lines = logOf(log);
    expectComplete(lines, { reason: 'bad_input', exit: 2, msg: 'run stopped' });
    expect(lines.at(-2)).toMatchObject({ event: 'bad_input', error: 'no vmalloc area named "b" exists at this point' });
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
