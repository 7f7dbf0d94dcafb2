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

  it('a tlb_flush line removed: the record it came before', async () => {
    const lines = (await logOf(SEED)).split('\n');
    const flush = lines.findIndex((l) => l.includes('"event":"tlb_flush"'));
    expect(flush).toBeGreaterThan(0);
    const r = await replayed(file(lines.filter((_, i) => i !== flush).join('\n')));
    expect(r.exit).toBe(1);
    expect(r.reason).toBe('diverged');
    // the record line after the removed flush line is now at the flush line's place
    expect(r.err).toContain(`:${flush + 1}: the replay diverges`);
    expect(r.err).toContain('tlb_flush lines: the log says "0 (a tlb_flush line missing)", the replay gives 1');
  });

  it('a tlb_flush line duplicated, or its vCPUs edited', async () => {
    const lines = (await logOf(SEED)).split('\n');
    const flush = lines.findIndex((l) => l.includes('"event":"tlb_flush"'));
    const dup = [...lines];
    dup.splice(flush, 0, lines[flush]!);
    const r = await replayed(file(dup.join('\n')));
    expect(r.exit).toBe(1);
    expect(r.err).toContain('a tlb_flush line too many');
    const edited = [...lines];
    edited[flush] = lines[flush]!.replace('"vcpus":[0]', '"vcpus":[0,1]');
    expect(edited[flush]).not.toBe(lines[flush]);
    const e = await replayed(file(edited.join('\n')));
    expect(e.exit).toBe(1);
    expect(e.err).toContain('tlb_flush[0].vcpus: the log says [0,1], the replay gives [0]');
  });

  it('a tlb_flush line moved after the last record line: no record follows it', async () => {
    const lines = (await logOf(SEED)).trimEnd().split('\n');
    const flush = lines.findIndex((l) => l.includes('"event":"tlb_flush"'));
    const moved = lines.filter((_, i) => i !== flush);
    moved.splice(moved.length - 1, 0, lines[flush]!);
    const r = await replayed(file(moved.join('\n')));
    expect(r.exit).toBe(1);
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

describe('the model a log was written by', () => {
  it('its end line names it, and replay uses it without the flags', async () => {
    const text = await logOf(SEED, { xenVersion: 'master', xenBuild: 'release' });
    const end = JSON.parse(text.trimEnd().split('\n').pop()!) as Record<string, unknown>;
    expect(end).toMatchObject({ event: 'end', xen: 'master', build: 'release' });
    const r = await replayed(file(text));
    expect(r.err).toBe('');
    expect(r.exit).toBe(0);
  });

  it('where 4.17 and master differ, the log of one replays to what it recorded only under its own', async () => {
    // FLUSH_CACHE_GLOBAL without cache-flush rights: -EINVAL on 4.17, -EACCES on master (docs/xen-versions.md)
    const trace = file('{"op":"create_domain","domid":1,"vcpus":1,"frames":{"base":"0x1000","count":48}}\n{"op":"mmuext_op","dom":1,"ops":[{"cmd":"flush_cache_global"}]}\n');
    const text = await logOf(trace, { xenVersion: 'master' });
    expect(text).toContain('"rc":-13');
    expect((await replayed(file(text))).exit).toBe(0);
    const anonymous = text.replace(',"xen":"master","build":"debug"', '');
    expect(anonymous).not.toBe(text);
    const r = await replayed(file(anonymous));
    expect(r.exit).toBe(1);
    expect(r.err).toContain('result.rc: the log says -13 (EACCES), the replay gives -22 (EINVAL)');
  });

  it('a flag that contradicts the log is refused with why (exit 2); --no-check re-runs under it', async () => {
    const log = file(await logOf(SEED));
    const r = await replayed(log, { xenBuild: 'release' });
    expect(r.exit).toBe(2);
    expect(r.err).toContain('--xen-build release (the log\'s: debug)');
    const again = await replayed(log, { xenBuild: 'release', check: false });
    expect(again.exit).toBe(0);
  });
});

describe('replay --json says where a log diverged, on stdout', () => {
  it('one JSON object after the records that ran', async () => {
    const text = await logOf(SEED);
    const at = lineOf(text, '"result":{"rc":-22');
    let out = '';
    const s = await replay(file(text.replace('"result":{"rc":-22', '"result":{"rc":0')), {
      json: true,
      out: { write: (t: string) => ((out += t), true) },
      err: { write: () => true },
    });
    expect(s.exit).toBe(1);
    const last = JSON.parse(out.trimEnd().split('\n').pop()!) as Record<string, unknown>;
    expect(last).toMatchObject({ check: 'diverged', exit: 1, line: at, key: 'result.rc', log: 0, replay: -22 });
    expect(String(last.error)).toContain('the replay diverges from the log');
  });
});
