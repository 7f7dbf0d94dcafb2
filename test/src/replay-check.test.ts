// Replaying a hypercall log checks it (src/replay/check.ts): untampered logs of every example and
// every built-in scenario replay with exit 0; a tampered one stops at the exact line (exit 1), and
// one that cannot be replayed faithfully is exit 2 with why. In process, on the real hypervisor.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/lab/run.ts';
import { builtinScenarios, loadScenario } from '../../src/lab/scenarios/load.ts';
import { replay, type ReplayOptions } from '../../src/replay/replay.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const SEED = join(repo, 'examples/seed-alias-blocks-pin.ndjson');
const dir = mkdtempSync(join(tmpdir(), 'xensim-check-'));
let n = 0;

function file(text: string): string {
  const p = join(dir, `f${n++}.log`);
  writeFileSync(p, text);
  return p;
}

async function replayed(path: string, opts: ReplayOptions = {}): Promise<{ exit: number; reason: string; err: string }> {
  let err = '';
  const s = await replay(path, { out: { write: () => true }, err: { write: (t: string) => (err += t) }, ...opts });
  return { exit: s.exit, reason: s.reason, err };
}

/** The log of a replay of `trace`. */
async function logOf(trace: string, opts: ReplayOptions = {}): Promise<string> {
  const p = join(dir, `log${n++}.log`);
  await replayed(trace, { log: p, ...opts });
  return readFileSync(p, 'utf8');
}

/** The 1-based number of the first line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

describe('untampered logs replay with exit 0', () => {
  for (const ex of ['seed-alias-blocks-pin', 'build-pin-4level']) {
    it(`example ${ex}`, async () => {
      const log = file(await logOf(join(repo, 'examples', `${ex}.ndjson`)));
      const r = await replayed(log);
      expect(r.err).toBe('');
      expect(r.exit).toBe(0);
    });
  }
  for (const name of [...builtinScenarios(), join(repo, 'examples/my-first-scenario.json')]) {
    it(`scenario ${name} (run --log)`, async () => {
      const p = join(dir, `s${n++}.log`);
      runScenario(loadScenario(name), { log: p });
      const r = await replayed(p);
      expect(r.err).toBe('');
      expect(r.exit).toBe(0);
    });
  }
});

describe('a tampered log stops at the exact line, exit 1', () => {
  it('one rc changed: both values and each side\'s blame', async () => {
    const text = await logOf(SEED);
    const at = lineOf(text, '"result":{"rc":-22');
    const r = await replayed(file(text.replace('"result":{"rc":-22', '"result":{"rc":0')));
    expect(r.exit).toBe(1);
    expect(r.reason).toBe('diverged');
    expect(r.err).toContain(`:${at}: the replay diverges from the log`);
    expect(r.err).toContain('result.rc: the log says 0, the replay gives -22 (EINVAL)');
    expect(r.err).toMatch(/the log's blame: +refused pin_l1_table mfn 0x1011: Bad type/);
    expect(r.err).toMatch(/the replay's blame: +refused pin_l1_table mfn 0x1011: Bad type/);
  });

  it('a refusal line removed: the blame differs', async () => {
    const lines = (await logOf(SEED)).split('\n');
    const refusal = lines.findIndex((l) => l.includes('"refusal":'));
    const r = await replayed(file(lines.filter((_, i) => i !== refusal).join('\n')));
    expect(r.exit).toBe(1);
    expect(r.err).toContain(`:${refusal}: the replay diverges`); // the record line just before it
    expect(r.err).toMatch(/the log's blame: +none/);
  });

  it('one record line removed: the line after the gap', async () => {
    const lines = (await logOf(SEED)).split('\n');
    const gone = lines.findIndex((l) => l.includes('"time":9,') && l.includes('"op"'));
    const r = await replayed(file(lines.filter((_, i) => i !== gone).join('\n')));
    expect(r.exit).toBe(1);
    expect(r.err).toContain(`:${gone + 1}: a record line is missing before this one`);
  });

  it('the last record line removed: the end line says so', async () => {
    const lines = (await logOf(SEED)).trimEnd().split('\n');
    lines.splice(lines.length - 2, 1);
    const r = await replayed(file(lines.join('\n')));
    expect(r.exit).toBe(1);
    expect(r.err).toContain(`:${lines.length}: the end line says 25 records, the log has 24`);
  });

  it('one line duplicated: the copy', async () => {
    const lines = (await logOf(SEED)).split('\n');
    const dup = lines.findIndex((l) => l.includes('"time":5,'));
    lines.splice(dup, 0, lines[dup]!);
    const r = await replayed(file(lines.join('\n')));
    expect(r.exit).toBe(1);
    expect(r.err).toContain(`:${dup + 2}: this record line repeats or goes back`);
  });

  it('--no-check only re-runs', async () => {
    const text = await logOf(SEED);
    const r = await replayed(file(text.replace('"result":{"rc":-22', '"result":{"rc":0')), { check: false });
    expect(r.exit).toBe(0);
  });
});

describe('a log that cannot be replayed faithfully: exit 2, with why', () => {
  it('written at warn level', async () => {
    const r = await replayed(file(await logOf(SEED, { logLevel: 'warn' })));
    expect(r.exit).toBe(2);
    expect(r.err).toContain('its 25 record lines are missing: the log was written at --log-level warn');
  });

  it('truncated: no end line', async () => {
    const lines = (await logOf(SEED)).trimEnd().split('\n');
    const r = await replayed(file(lines.slice(0, 10).join('\n')));
    expect(r.exit).toBe(2);
    expect(r.err).toContain('truncated: no end line');
  });

  it('not a hypercall log: another program\'s pino log', async () => {
    const r = await replayed(file('{"level":30,"time":1700000000000,"msg":"server started"}\n'));
    expect(r.exit).toBe(2);
    expect(r.err).toContain('not a hypercall log');
  });

  it('not a hypercall log: log lines and plain trace records mixed', async () => {
    const text = await logOf(SEED);
    const r = await replayed(file(text + '{"op":"audit"}\n'));
    expect(r.exit).toBe(2);
    expect(r.err).toContain('not a hypercall log');
  });

  it('a plain trace is not checked against anything: exit 0', async () => {
    expect((await replayed(SEED)).exit).toBe(0);
  });
});
