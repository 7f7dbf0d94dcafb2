// Logs to inspect and export, made fresh for the tests: the examples replayed with --log, and a
// guest run (`xensim run --log`) of every built-in scenario.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fullLine } from '../../src/log/read.ts';
import { replay } from '../../src/replay/replay.ts';
import { runScenario } from '../../src/lab/run.ts';
import { builtinScenarios, loadScenario } from '../../src/lab/scenarios/load.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
export const EXAMPLES = {
  seed: join(repo, 'examples/seed-alias-blocks-pin.ndjson'),
  build: join(repo, 'examples/build-pin-4level.ndjson'),
};

export interface Logs {
  dir: string;
  /** name → log path. */
  replay: Record<string, string>;
  guest: Record<string, string>;
  all: [string, string][];
}

const quiet = { write: () => true };

export async function makeLogs(prefix: string): Promise<Logs> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const rp: Record<string, string> = {};
  for (const [name, trace] of Object.entries(EXAMPLES)) {
    const log = join(dir, `${name}.log`);
    await replay(trace, { log, out: quiet, err: quiet });
    rp[name] = log;
  }
  const guest: Record<string, string> = {};
  for (const name of builtinScenarios()) {
    const log = join(dir, `run-${name}.log`);
    runScenario(loadScenario(name), { log });
    guest[name] = log;
  }
  return { dir, replay: rp, guest, all: [...Object.entries(rp), ...Object.entries(guest)] };
}

export type Line = Record<string, unknown> & { level: number; time: number };

/**
 * A log's lines, each parsed by JSON.parse alone and put in format 1's words (fullLine: what a
 * format-2 line leaves to its reader, see src/log/write.ts), the words these tests count in;
 * `text` as `inspect` prints the line.
 */
export function rawLines(path: string): { text: string; o: Line }[] {
  const last = { time: undefined, line: undefined, dom: undefined, vcpu: undefined };
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((raw) => {
      const parsed = JSON.parse(raw) as Line;
      const o = fullLine(parsed, last) as Line;
      // `text`: the line as inspect prints it (a filled-in format-2 line in full: format-lines.ts).
      return { text: o === parsed ? raw : JSON.stringify(o), o };
    });
}
