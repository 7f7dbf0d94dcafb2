// `xensim test PATH…`: the cases under the paths. A trace (.ndjson) is one case: it replays with
// every `expect` holding. A scenario file (.json with `programs`) is one case per policy of its
// `expect`: the run under that policy meets it. Directories are walked in name order; other files
// are not cases.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type Case =
  | { kind: 'trace'; name: string; file: string }
  | { kind: 'scenario'; name: string; file: string; policy?: string; seed: number }
  | { kind: 'explore'; name: string; file: string; policy: string };

export class CaseError extends Error {
  override name = 'CaseError';
}

/** The files under `path` (itself when a file), in name order. */
function filesUnder(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new CaseError(`${path}: no such file or directory`);
  }
  if (!st.isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((f) => (f.startsWith('.') || f === 'node_modules' ? [] : filesUnder(join(path, f))));
}

/** The policies a scenario file expects something of ([] when it has no `expect`, or is not a scenario). */
function scenarioPolicies(file: string): { policy: string; explore: boolean }[] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // Not JSON: a scenario file is, so this is a case only if it says it is one (a .json with
    // `programs`); a broken scenario file is found by its loader when run.
    return /"programs"\s*:/.test(readFileSync(file, 'utf8')) ? [] : undefined;
  }
  if (v === null || typeof v !== 'object' || !('programs' in v)) return undefined;
  const expect = (v as { expect?: unknown }).expect;
  if (expect === null || typeof expect !== 'object') return [];
  return Object.entries(expect).map(([policy, want]) => ({ policy, explore: want !== null && typeof want === 'object' && 'explore' in want }));
}

/** Every case under the paths, in order. Throws CaseError for a path that does not exist. */
export function collectCases(paths: readonly string[], seed = 1): Case[] {
  const cases: Case[] = [];
  for (const p of paths) {
    for (const file of filesUnder(p)) {
      if (file.endsWith('.ndjson')) cases.push({ kind: 'trace', name: file, file });
      else if (file.endsWith('.json')) {
        const policies = scenarioPolicies(file);
        if (policies === undefined) continue;
        // A scenario that expects nothing is still a case: it must load and run.
        if (policies.length === 0) cases.push({ kind: 'scenario', name: file, file, seed });
        for (const { policy, explore } of policies) {
          cases.push({ kind: 'scenario', name: `${file} [${policy}]`, file, policy, seed });
          if (explore) cases.push({ kind: 'explore', name: `${file} [${policy}] explore`, file, policy });
        }
      }
    }
  }
  return cases;
}
