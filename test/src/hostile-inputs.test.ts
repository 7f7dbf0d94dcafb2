// The inputs of issue 15 that are a command line rather than a file (test/fixtures/README.md maps
// every input the issue lists to its fixture and test): object keys as knob and policy names on
// the command line, logs that cannot be written (a full disk, a read-only or pseudo file system),
// and the valid scenario that once crashed (vmalloc of 2^20 pages). Each: its exit status and one
// line naming what was wrong, never a stack trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCommand, runBuilt, type Built } from './built.ts';

let built: Built;
beforeAll(() => void (built = buildCommand('xensim-hostile-inputs-')));
afterAll(() => built?.remove());

const TRACE = 'test/fixtures/bombs/create-destroy.ndjson';
const KNOBS = /; knobs: pinAliasFlush, /;
const PRESETS = /; presets: linux-2\.6\.28, /;

/** A command line, the one line it must print on stderr (after `xensim SUB: `), exit 2. */
const REFUSED: [string[], RegExp][] = [
  [['run', 'fork-pin-clean', '--set', '__proto__=1'], new RegExp(`^unknown knob "__proto__"${KNOBS.source}`)],
  [['run', 'fork-pin-clean', '--set', 'constructor=force'], new RegExp(`^unknown knob "constructor"${KNOBS.source}`)],
  [['run', 'fork-pin-clean', '--policy', 'toString'], new RegExp(`^unknown policy preset "toString"${PRESETS.source}`)],
  [['explore', 'fork-pin-clean', '--policy', '__proto__'], new RegExp(`^unknown policy preset "__proto__"${PRESETS.source}`)],
  [['explore', 'fork-pin-clean', '--set', 'hasOwnProperty=1'], new RegExp(`^unknown knob "hasOwnProperty"${KNOBS.source}`)],
  [['compare', '--scenarios', 'fork-pin-clean', '--seeds', '1', '--set', '__proto__=1'], new RegExp(`^unknown knob "__proto__"${KNOBS.source}`)],
  [['compare', '--scenarios', 'fork-pin-clean', '--seeds', '1', '--policy', 'constructor'], new RegExp(`^unknown policy preset "constructor"${PRESETS.source}`)],
  // Logs that cannot be written: one line, exit 2 (a pseudo file system; a full disk: output.test.ts).
  [['replay', TRACE, '--log', '/proc/version'], /^--log \/proc\/version: /],
  [['run', 'fork-pin-clean', '--log', '/sys/kernel/x.log'], /^--log \/sys\/kernel\/x\.log: /],
];

describe('command-line inputs of issue 15: exit 2, one line, no stack trace', () => {
  for (const [args, says] of REFUSED) {
    it(args.join(' '), async () => {
      const r = await runBuilt(built.bin, args, { timeoutMs: 60_000 });
      expect(r.status).toBe(2);
      // A replay reports the records it ran before the log failed; the others ran nothing.
      if (args[0] !== 'replay') expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]!.startsWith(`xensim ${args[0]}: `)).toBe(true);
      expect(lines[0]!.slice(`xensim ${args[0]}: `.length)).toMatch(says);
    }, 90_000);
  }
});

describe('a scenario the schema accepts that once crashed (internal error)', () => {
  it('bombs/vmalloc-2-20.json: vmalloc of 2^20 pages is the guest\'s BUG (the vmalloc area is exhausted), a verdict: exit 0', async () => {
    const r = await runBuilt(built.bin, ['run', 'test/fixtures/bombs/vmalloc-2-20.json', '--json'], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const v = JSON.parse(r.stdout) as { outcome: string; bug: { where: string; message: string } };
    expect(v).toMatchObject({ outcome: 'bug', bug: { where: 'vmalloc', message: 'vmalloc(1048576 pages) failed: vmalloc area exhausted' } });
  }, 90_000);
});
