// Finding and reading scenario files: a built-in name (src/scenarios/NAME.json) or a path. Every
// problem is a ScenarioFileError naming the file, the line where JSON says so, and the field.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_DIR, builtinScenarios } from './builtin.ts';
import { ScenarioSchema, type Scenario } from './schema.ts';

export { BUILTIN_DIR, builtinScenarios };
/** A scenario file larger than this is refused before it is parsed. */
export const MAX_SCENARIO_BYTES = 1 << 20;

export class ScenarioFileError extends Error {
  override name = 'ScenarioFileError';
}

function lineOf(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export function loadScenario(nameOrPath: string): Scenario & { file: string } {
  const builtin = join(BUILTIN_DIR, `${nameOrPath}.json`);
  const file = existsSync(builtin) && !nameOrPath.includes('/') ? builtin : nameOrPath;
  if (!existsSync(file)) {
    throw new ScenarioFileError(`${nameOrPath}: no such scenario file or built-in scenario (built-ins: ${builtinScenarios().join(', ')})`);
  }
  const st = statSync(file);
  if (st.isDirectory()) throw new ScenarioFileError(`${file}: is a directory, expected a scenario .json file`);
  if (st.size > MAX_SCENARIO_BYTES) throw new ScenarioFileError(`${file}: ${st.size} bytes, more than the ${MAX_SCENARIO_BYTES}-byte limit`);
  const text = readFileSync(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? `:${lineOf(text, Number(pos[1]))}` : '';
    throw new ScenarioFileError(`${file}${where}: not valid JSON (${msg})`);
  }
  const parsed = ScenarioSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    throw new ScenarioFileError(`${file}: field "${field || '(top)'}": ${issue.message}`);
  }
  return { ...parsed.data, file };
}
