// One writer per log (issue 15, "nothing destroyed"): a --log path another running xensim holds is
// refused before it is truncated; the lock goes back when the log ends; a holder that died
// (kill -9) is recovered by its pid (src/log/lock.ts, docs/limits.md).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputError } from '../../src/log/output.ts';
import { LogFile } from '../../src/log/write.ts';
import { buildCommand, runBuilt, type Built } from './built.ts';

const tmp = mkdtempSync(join(tmpdir(), 'xensim-lock-'));
let built: Built;
beforeAll(() => void (built = buildCommand()));
afterAll(() => {
  built?.remove();
  rmSync(tmp, { recursive: true, force: true });
});

describe('a log path held by another writer is refused', () => {
  it('a second LogFile on the same path: OutputError naming the holder; free again after end()', () => {
    const path = join(tmp, 'a.log');
    const a = new LogFile(path);
    a.write('{"first":1}\n');
    expect(() => new LogFile(path)).toThrow(OutputError);
    expect(() => new LogFile(path)).toThrow(new RegExp(`--log ${path}: in use by another xensim \\(pid ${process.pid}\\)`));
    // Refused before truncating: the holder's line is still there.
    expect(readFileSync(path, 'utf8')).toBe('{"first":1}\n');
    a.end();
    expect(existsSync(`${path}.lock`)).toBe(false);
    const b = new LogFile(path);
    b.end();
  });

  it('the built command: replay --log onto a held log exits 2 with one line, the log untouched', async () => {
    const path = join(tmp, 'held.log');
    const a = new LogFile(path);
    a.write('{"held":true}\n');
    const r = await runBuilt(built.bin, ['replay', 'examples/seed-alias-blocks-pin.ndjson', '--log', path]);
    a.end();
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`--log ${path}: in use by another xensim (pid ${process.pid})`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(path, 'utf8')).toBe('{"held":true}\n');
  });

  it('a holder that died (its pid gone) is recovered: the log is taken', async () => {
    const path = join(tmp, 'crashed.log');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    mkdirSync(`${path}.lock`);
    writeFileSync(join(`${path}.lock`, 'pid'), `${dead.stdout}\n`);
    const r = await runBuilt(built.bin, ['replay', 'examples/seed-alias-blocks-pin.ndjson', '--log', path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(path, 'utf8')).toMatch(/"event":"end","reason":"finished"/);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('a device (/dev/null) is not locked: no /dev/null.lock is made', () => {
    const a = new LogFile('/dev/null');
    const b = new LogFile('/dev/null');
    a.end();
    b.end();
    expect(existsSync('/dev/null.lock')).toBe(false);
  });
});
