// Where the built-in scenarios are, and their names: no zod, no guest, so that `xensim --help`
// and `run --help` can list them without loading the scenario loader.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This file's directory in the sources; dist/scenarios in the build (src/build.mjs copies them there). */
export const BUILTIN_DIR = join(dirname(fileURLToPath(import.meta.url)), import.meta.url.endsWith('.ts') ? '' : 'scenarios');

export function builtinScenarios(): string[] {
  return readdirSync(BUILTIN_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}
