// Logs to inspect and export, made fresh for the tests: the examples replayed with --log, and a
// guest run (`xensim run --log`) of every built-in scenario.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

export function rawLines(path: string): { text: string; o: Line }[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((text) => ({ text, o: JSON.parse(text) as Line }));
}
