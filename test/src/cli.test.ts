// The `xensim` command as a child process: exit statuses, the log file, the demo, usage errors.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(repo, 'src/cli/program.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const SEED = join(repo, 'examples/seed-alias-blocks-pin.ndjson');
const BUILD = join(repo, 'examples/build-pin-4level.ndjson');
const dir = mkdtempSync(join(tmpdir(), 'xensim-cli-'));

/** node --import tsx src/cli/program.ts ARGS, from `cwd` (default: a directory outside the repo). */
function xensim(args: string[], cwd = dir): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, CLI, ...args], { cwd, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ status: code, stdout, stderr });
    });
  });
}

function trace(name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}
const logLines = (p: string) =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const CD = '{"op":"create_domain","domid":1,"vcpus":2,"frames":{"base":"0x1000","count":64}}';

describe.concurrent('xensim replay: exit statuses', async () => {
  it('0: every record ran and every expectation held', async () => {
    const r = await xensim(['replay', BUILD, '--json', '--audit']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const objs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs).toHaveLength(36);
    expect(objs[0]).toEqual({ line: 8, op: 'create_domain', rc: 0 });
  });

  it('1: an expectation failed (the replay goes on to the end)', async () => {
    const p = trace('fail.ndjson', [
      CD,
      '{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x1000"}],"expect":-22}',
      '{"op":"frame","mfn":"0x1000","expect":{"type":"l1"}}',
    ]);
    const log = join(dir, 'fail.log');
    const r = await xensim(['replay', p, '--json', '--log', log]);
    expect(r.status).toBe(1);
    const objs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs.map((o) => [o.line, o.rc, o.expect])).toEqual([
      [1, 0, undefined],
      [2, 0, 'failed'],
      [3, 0, undefined],
    ]);
    expect(logLines(log).at(-1)).toMatchObject({ event: 'end', reason: 'expect_failed', records: 3, exit: 1 });
  });

  it('2: a bad line; the records before it are in the log file and the last line says why', async () => {
    const p = trace('bad.ndjson', [
      CD,
      '{"op":"store","mfn":"0x1000","slot":0,"val":"0x1001067"}',
      '# the next line has a 65-bit value',
      '{"op":"mmu_update","reqs":[{"ptr":"0x1000000","val":"0x1"},{"ptr":"0x1000008","val":"0x10000000000000000"}]}',
      '{"op":"frame","mfn":"0x1000"}',
    ]);
    const log = join(dir, 'bad.log');
    const r = await xensim(['replay', p, '--log', log]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`xensim replay: ${p}:4: field "reqs[1].val": value over 64 bits, got "0x10000000000000000"\n`);
    const lines = logLines(log);
    expect(lines.filter((l) => l.op !== undefined).map((l) => [l.line ?? l.time, l.op])).toEqual([ // (a line that is its time is not said)
      [1, 'create_domain'],
      [2, 'store'],
    ]);
    expect(lines.at(-2)).toMatchObject({ event: 'bad_input', line: 4, field: 'reqs[1].val' });
    expect(lines.at(-1)).toEqual({ level: 50, time: 2, event: 'end', reason: 'bad_input', records: 2, exit: 2, xen: '4.17', build: 'debug', msg: 'replay stopped' });
  });
});

describe('xensim replay: the log file', async () => {
  it('two replays of the same trace give byte-identical log files; the log replays to the same results', async () => {
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    const [ra, rb] = await Promise.all([xensim(['replay', SEED, '--log', a]), xensim(['replay', SEED, '--log', b, '--log-level', 'info'])]);
    expect([ra.status, rb.status]).toEqual([0, 0]);
    const text = readFileSync(a, 'utf8');
    expect(text).toBe(readFileSync(b, 'utf8'));
    expect(text.split('\n').length).toBeGreaterThan(25);

    const [fromTrace, fromLog] = await Promise.all([xensim(['replay', SEED, '--json']), xensim(['replay', a, '--json'])]);
    expect(fromLog.status).toBe(0);
    const strip = (s: string) =>
      s
        .trim()
        .split('\n')
        .map((l) => {
          const { line: _line, ...rest } = JSON.parse(l) as Record<string, unknown>;
          return rest;
        });
    expect(strip(fromLog.stdout)).toEqual(strip(fromTrace.stdout));
  });
});

describe.concurrent('xensim: the demo and usage errors', async () => {
  it('with no arguments, shows the bundled demo\'s refused pin and the headline policy table (from any cwd)', async () => {
    const r = await xensim([], tmpdir());
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('mmuext_op pin_l1_table 0x1011  -EINVAL  Bad type (saw writable != exp l1) for mfn 0x1011 — blocker: L1 0x1003 slot 17 maps it writable');
    expect(r.stdout).toMatch(/suspend-pin-all-irqs-off\s+DEADLOCK.*\s+ok \(VA hazard\)\s+DEADLOCK/);
    expect(r.stdout).toMatch(/cross-vcpu-irqsoff-purge\s+DEADLOCK/);
    expect(r.stdout).toContain('vCPU1 parked with interrupts off by stop_machine on vCPU0');
  });

  it('an unknown subcommand or flag exits 2 with a suggestion', async () => {
    const [sub, flag, level] = await Promise.all([
      xensim(['repaly', SEED]),
      xensim(['replay', SEED, '--jsno']),
      xensim(['replay', SEED, '--log-level', 'loud']),
    ]);
    expect(sub.status).toBe(2);
    expect(sub.stderr).toContain("unknown command 'repaly'");
    expect(sub.stderr).toContain('Did you mean replay?');
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('Did you mean --json?');
    expect(level.status).toBe(2);
    expect(level.stderr).toContain('Allowed choices are trace, debug, info, warn, error, fatal, silent');
  });

  it('replay --quiet prints only the summary when nothing went wrong; with --json, nothing', async () => {
    const [quiet, both] = await Promise.all([xensim(['replay', SEED, '-q']), xensim(['replay', SEED, '--quiet', '--json'])]);
    expect(quiet.status).toBe(0);
    expect(quiet.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^25 records: \d+ hypercalls \(\d+ refused\)/),
      expect.stringMatching(/^expectations: \d+ held, 0 failed$/),
      'stopped: finished, exit 0',
    ]);
    expect(both.status).toBe(0);
    expect(both.stdout).toBe('');
  });
});
