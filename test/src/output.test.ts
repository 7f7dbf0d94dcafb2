// Outputs a user can get wrong (issue 15): a log or report that cannot be written — a full disk,
// a directory, a directory that does not exist, a place under /proc — is one line naming the option,
// the path and the cause, with exit status 2 and no stack trace; a missing directory is not
// created; an output that is one of the command's inputs is refused before anything is truncated.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCommand, repo, runBuilt, type Built } from './built.ts';

let built: Built;
let dir: string;
const TRACE = 'examples/build-pin-4level.ndjson';
beforeAll(() => {
  built = buildCommand('xensim-output-');
  dir = mkdtempSync(join(tmpdir(), 'xensim-output-'));
});
afterAll(() => {
  built?.remove();
  rmSync(dir, { recursive: true, force: true });
});

function oneLine(stderr: string, says: RegExp): void {
  expect(stderr).toMatch(says);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(stderr.trim().split('\n')).toHaveLength(1);
}

/** The built command with stdout sent to a file through the shell (`> /dev/full`). */
function withStdoutTo(target: string, args: string[]): Promise<{ status: number; stderr: string }> {
  const quoted = args.map((a) => `'${a}'`).join(' ');
  return new Promise((resolve) => {
    execFile('sh', ['-c', `'${process.execPath}' '${built.bin}' ${quoted} > ${target}`], { cwd: repo, timeout: 30_000 }, (err, _out, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? -1) : 0, stderr });
    });
  });
}

describe('--log that cannot be written', () => {
  it.skipIf(!existsSync('/dev/full'))('a full disk: exit 2, one line', async () => {
    for (const args of [['replay', TRACE], ['run', 'fork-pin-clean']]) {
      const r = await runBuilt(built.bin, [...args, '--log', '/dev/full']);
      expect(r.status, args.join(' ')).toBe(2);
      oneLine(r.stderr, /^xensim (replay|run): --log \/dev\/full: no space left on device$/m);
    }
  });

  it('a directory: exit 2, one line', async () => {
    const r = await runBuilt(built.bin, ['replay', TRACE, '--log', dir]);
    expect(r.status).toBe(2);
    oneLine(r.stderr, /--log .*: is a directory/);
  });

  it('a directory that does not exist is an error, and is not created', async () => {
    const missing = join(dir, 'no', 'such', 'x.log');
    const r = await runBuilt(built.bin, ['replay', TRACE, '--log', missing]);
    expect(r.status).toBe(2);
    oneLine(r.stderr, /--log .*x\.log: no such directory .*such \(create it first\)/);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });

  it('a path under /proc ends at once (it used to hang)', async () => {
    const r = await runBuilt(built.bin, ['replay', TRACE, '--log', '/proc/nope/x.log'], { timeoutMs: 15_000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    oneLine(r.stderr, /no such directory \/proc\/nope/);
  });
});

describe('an output that is an input', () => {
  it('replay T --log T (or a link to T) is refused and T is left whole', async () => {
    const t = join(dir, 't.ndjson');
    copyFileSync(join(repo, TRACE), t);
    symlinkSync(t, join(dir, 'link.ndjson'));
    const before = readFileSync(t, 'utf8');
    for (const log of [t, join(dir, 'link.ndjson')]) {
      const r = await runBuilt(built.bin, ['replay', t, '--log', log]);
      expect(r.status).toBe(2);
      oneLine(r.stderr, /--log .*: is the input .*t\.ndjson; writing it would destroy it/);
    }
    expect(readFileSync(t, 'utf8')).toBe(before);
  });

  it('run S --log S is refused and the scenario is left whole', async () => {
    const s = join(dir, 's.json');
    copyFileSync(join(repo, 'examples/my-first-scenario.json'), s);
    const before = readFileSync(s, 'utf8');
    const r = await runBuilt(built.bin, ['run', s, '--log', s]);
    expect(r.status).toBe(2);
    oneLine(r.stderr, /is the input .*s\.json/);
    expect(readFileSync(s, 'utf8')).toBe(before);
  });
});

describe.skipIf(!existsSync('/dev/full'))('standard output that cannot be written', () => {
  for (const args of [['replay', TRACE, '--json'], ['run', 'fork-pin-clean'], ['explore', 'fork-pin-clean'], ['compare', '--scenarios', 'fork-pin-clean', '--seeds', '1']]) {
    it(`${args[0]} > /dev/full: exit 2, one line`, async () => {
      const r = await withStdoutTo('/dev/full', args);
      expect(r.status).toBe(2);
      oneLine(r.stderr, /^xensim: standard output: no space left on device$/m);
    });
  }
});

describe('every message starts the same way (issue 17: `error:`, `xensim run:`, `xensim: export:` and none at all)', () => {
  const cases: [string[], RegExp][] = [
    [['replay', 'nope.ndjson'], /^xensim replay: nope\.ndjson: /],
    [['replay', '--bogus', 'x'], /^xensim replay: unknown option '--bogus'/],
    [['replay'], /^xensim replay: missing required argument 'file'/],
    [['inspect', 'nope.log'], /^xensim inspect: nope\.log: no such file/],
    [['export', 'nope.log', '--html', 'x.html'], /^xensim export: nope\.log: no such file/],
    [['export', TRACE], /^xensim export: give --perfetto OUT\.json and\/or --html OUT\.html/],
    [['run', 'nope'], /^xensim run: nope: no such scenario file/],
    [['run', 'fork-pin-clean', '--seed', 'x'], /^xensim run: option '--seed <n>' argument 'x' is invalid/],
    [['frob'], /^xensim: unknown command 'frob'/],
  ];
  for (const [args, says] of cases) {
    it(args.join(' '), async () => {
      const r = await runBuilt(built.bin, args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(says);
    });
  }
});

describe('nothing on stdout when nothing ran (issue 17: a missing file printed an empty summary)', () => {
  for (const args of [['replay', 'nope.ndjson'], ['replay', 'test/fixtures/bad/empty'], ['inspect', 'nope.log'], ['run', 'nope']]) {
    it(args.join(' '), async () => {
      const r = await runBuilt(built.bin, args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
    });
  }
  it('a bad line after records still sums up what ran', async () => {
    const t = join(dir, 'late-bad.ndjson');
    const good = readFileSync(join(repo, TRACE), 'utf8');
    writeFileSync(t, good + '{"op":"nope"}\n');
    const r = await runBuilt(built.bin, ['replay', t]);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/stopped: bad input, exit 2/);
  });
});

describe('npm start (issue 17)', () => {
  it('`npm start -s replay T --json` (no `--`): npm takes --json for itself, xensim gets it back; stdout is JSON lines only', async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('npm', ['start', '-s', 'replay', TRACE, '--json'], { cwd: repo, timeout: 60_000 }, (err, out) => (err ? reject(err) : resolve(out)));
    });
    const lines = stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
  });
});
