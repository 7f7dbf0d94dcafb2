// inspect knows what it was given: a trace is said to be one, with the command that makes its log
// (exit 2); a log written at warn level says what it lacks (a note; exit 0).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { inspect } from '../../src/inspect/inspect.ts';
import { replay } from '../../src/replay/replay.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const SEED = join(repo, 'examples/seed-alias-blocks-pin.ndjson');
const dir = mkdtempSync(join(tmpdir(), 'xensim-given-'));
const quiet = { write: () => true };

async function inspected(path: string) {
  let err = '';
  const r = await inspect(path, { out: quiet, err: { write: (s: string) => (err += s) } });
  return { exit: r.exit, err };
}

describe('inspect knows what it was given', () => {
  it('a trace: said so, with the replay --log line that makes its log; exit 2', async () => {
    const r = await inspected(SEED);
    expect(r.exit).toBe(2);
    expect(r.err).toContain(`${SEED}: a trace, not a hypercall log`);
    expect(r.err).toContain(`make its log with: xensim replay ${SEED} --log run.log`);
  });

  it('a log at warn level: what it lacks; exit 0', async () => {
    const log = join(dir, 'warn.log');
    await replay(SEED, { out: quiet, log, logLevel: 'warn' });
    const r = await inspected(log);
    expect(r.exit).toBe(0);
    expect(r.err).toContain('written at --log-level warn or above: its 25 record lines (info) are not in it');
  });

  it('a whole log: no note', async () => {
    const log = join(dir, 'info.log');
    await replay(SEED, { out: quiet, log });
    expect(await inspected(log)).toEqual({ exit: 0, err: '' });
  });
});
