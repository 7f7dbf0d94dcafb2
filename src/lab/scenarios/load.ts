// Finding and reading scenario files: a built-in name (src/lab/scenarios/NAME.json) or a path. Every
// problem is a ScenarioFileError naming the file, the line and the field:
//   `my.json:14: field "programs[0][3].pages": expected at most 4096, got 10000`.
// The limits of docs/limits.md hold before anything is parsed: at most MAX_SCENARIO_BYTES read
// (a bigger file, a pipe or a device is refused after that many bytes), UTF-8 text with no NUL,
// nesting of at most MAX_DEPTH levels, no key twice in one object and no "__proto__" (keys.ts);
// then the schema (schema.ts: at most MAX_PROGRAM_OPS
// operations a program) and the policy: the preset, every knob=value of `set` and every policy
// label under `expect` must be ones the guest knows.

import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { show } from '../../trace/fields.ts';
import { binaryProblem, MAX_DEPTH, nestingOverAt, printable } from '../../trace/lines.ts';
import { BUILTIN_DIR, builtinScenarios } from './builtin.ts';
import { didYouMean } from '../../../guest/suggest.ts';
import { keyProblem } from './keys.ts';
import { lineAt, offsetOf } from './locate.ts';
import { resolvePolicy } from './policies.ts';
import { ExpectationSchema, OpSchema, ScenarioSchema, type Scenario } from './schema.ts';

export { BUILTIN_DIR, builtinScenarios };
/** A scenario file larger than this is refused before it is parsed. */
export const MAX_SCENARIO_BYTES = 1 << 20;

export class ScenarioFileError extends Error {
  override name = 'ScenarioFileError';
}

/** At most `max` + 1 bytes of the file: enough to know it is too big, whatever it is. */
function readBounded(file: string, max: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(max + 1);
    let len = 0;
    for (;;) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
      if (len === buf.length) break;
    }
    return buf.subarray(0, len);
  } finally {
    closeSync(fd);
  }
}

/** A path as a field name: programs[0][3].pages. */
function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let v = json;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

const OP_KEYS = new Map(OpSchema.options.map((o) => [o.shape.op.value as string, Object.keys(o.shape)]));

/** The keys a strict object at `path` takes (for an unknown key's message). */
function knownKeys(json: unknown, path: readonly PropertyKey[]): string[] | undefined {
  if (path.length === 0) return Object.keys(ScenarioSchema.shape);
  if (path[0] === 'expect' && path.length === 2) return Object.keys(ExpectationSchema.shape);
  const op = (valueAt(json, path) as { op?: unknown } | undefined)?.op;
  return typeof op === 'string' ? OP_KEYS.get(op) : undefined;
}

/** One zod issue in the words of the trace reader's errors: the field and what was wrong. */
function issueText(issue: z.core.$ZodIssue, json: unknown): { path: PropertyKey[]; text: string } {
  const path = [...issue.path];
  const got = valueAt(json, path);
  switch (issue.code) {
    case 'invalid_type': {
      const want = issue.expected === 'int' ? 'an integer' : issue.expected === 'object' ? 'an object' : issue.expected === 'array' ? 'an array' : `a ${issue.expected}`;
      return { path, text: `expected ${want}, got ${show(got)}` };
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
      if (issue.origin === 'array') return { path, text: `${(got as unknown[]).length} entries, expected ${bound}` };
      if (issue.origin === 'string') return { path, text: `${(got as string).length} characters, expected ${bound}` };
      return { path, text: `expected ${bound}, got ${show(got)}` };
    }
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      if (options !== undefined) {
        return { path, text: got === undefined ? `expected an operation (one of: ${options.join(', ')}), got nothing (missing)` : `unknown operation ${show(got)} (known: ${options.join(', ')})` };
      }
      return { path, text: `${issue.message}, got ${show(got)}` };
    }
    case 'unrecognized_keys': {
      const known = knownKeys(json, path);
      return { path: [...path, issue.keys[0]!], text: `unknown key${known ? ` (known: ${known.join(', ')})` : ''}` };
    }
    case 'invalid_value':
      return { path, text: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${show(got)}` };
    default:
      return { path, text: `${issue.message}, got ${show(got)}` };
  }
}

/** One program per vCPU at most: a program beyond the last vCPU would never run. */
function checkPrograms(s: Scenario): { path: PropertyKey[]; text: string } | undefined {
  if (s.programs.length <= s.vcpus) return undefined;
  return { path: ['programs', s.vcpus], text: `a program for vCPU ${s.vcpus}, but the scenario has ${s.vcpus} vCPU${s.vcpus === 1 ? '' : 's'} ("vcpus": ${s.vcpus}); it would never run` };
}

/** The policy a scenario names: its preset, each setting, each policy label it expects a verdict for. */
function checkPolicy(s: Scenario): { path: PropertyKey[]; text: string } | undefined {
  const attempt = (path: PropertyKey[], f: () => unknown): { path: PropertyKey[]; text: string } | undefined => {
    try {
      f();
      return undefined;
    } catch (e) {
      if (e instanceof Error && e.name === 'PolicyError') return { path, text: e.message };
      throw e;
    }
  };
  return (
    attempt(['policy'], () => resolvePolicy('', s.policy, [])) ??
    s.set.reduce<{ path: PropertyKey[]; text: string } | undefined>((found, kv, i) => found ?? attempt(['set', i], () => resolvePolicy('', s.policy, [kv])), undefined) ??
    Object.keys(s.expect).reduce<{ path: PropertyKey[]; text: string } | undefined>((found, label) => found ?? attempt(['expect', label], () => resolvePolicy(label, s.policy, s.set)), undefined)
  );
}

export function loadScenario(nameOrPath: string): Scenario & { file: string } {
  const builtin = join(BUILTIN_DIR, `${nameOrPath}.json`);
  const file = existsSync(builtin) && !nameOrPath.includes('/') ? builtin : nameOrPath;
  if (!existsSync(file)) {
    const hint = nameOrPath.includes('/') ? '' : didYouMean(nameOrPath, builtinScenarios());
    throw new ScenarioFileError(`${nameOrPath}: no such scenario file or built-in scenario${hint} (built-ins: ${builtinScenarios().join(', ')})`);
  }
  if (statSync(file).isDirectory()) throw new ScenarioFileError(`${file}: is a directory, expected a scenario .json file`);
  let bytes: Buffer;
  try {
    bytes = readBounded(file, MAX_SCENARIO_BYTES);
  } catch (e) {
    throw new ScenarioFileError(`${file}: cannot read the scenario (${(e as Error).message})`);
  }
  if (bytes.length > MAX_SCENARIO_BYTES) throw new ScenarioFileError(`${file}: more than ${MAX_SCENARIO_BYTES} bytes (1 MiB, the limit of a scenario file)`);
  const binary = binaryProblem(bytes);
  if (binary !== undefined) throw new ScenarioFileError(`${file}:${binary.line}: ${binary.detail}`);
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 BOM
  if (text.trim() === '') throw new ScenarioFileError(`${file}: empty file (a scenario is one JSON object: copy one from examples/ or src/lab/scenarios/)`);
  const deep = nestingOverAt(text);
  if (deep >= 0) throw new ScenarioFileError(`${file}:${lineAt(text, deep)}: arrays and objects nested deeper than ${MAX_DEPTH} levels (the limit of a scenario file)`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const msg = printable((e as Error).message);
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? `:${lineAt(text, Number(pos[1]))}` : '';
    throw new ScenarioFileError(`${file}${where}: not valid JSON (${msg})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ScenarioFileError(`${file}:${lineAt(text, offsetOf(text, []))}: expected a JSON object (one scenario), got ${Array.isArray(json) ? 'an array' : show(json)}`);
  }
  const key = keyProblem(text);
  if (key !== undefined) throw new ScenarioFileError(`${file}:${key.line}: field "${fieldName(key.path)}": ${key.text}`);
  const parsed = ScenarioSchema.safeParse(json);
  let problem: { path: PropertyKey[]; text: string } | undefined;
  if (!parsed.success) {
    // Integers beyond 2^53 fail two checks (the safe range, then the field's own): the field's says more.
    const issues = parsed.error.issues;
    const issue = issues.find((i) => !(i.code === 'too_big' && i.origin === 'int' && issues.some((j) => j !== i && fieldName(j.path) === fieldName(i.path)))) ?? issues[0]!;
    problem = issueText(issue, json);
  } else {
    problem = checkPrograms(parsed.data) ?? checkPolicy(parsed.data);
  }
  if (problem !== undefined) {
    const line = lineAt(text, offsetOf(text, problem.path));
    throw new ScenarioFileError(`${file}:${line}: field "${fieldName(problem.path) || '(top)'}": ${problem.text}`);
  }
  return { ...parsed.data!, file };
}

/**
 * The message of an error found while running a scenario (src/cli/run.ts): a ScenarioError names
 * the operation that failed (guest/ops.ts), so the message gets its file, line and field —
 * `my.json:27: field "programs[1][0]": no vmalloc area named "b" exists at this point`; an
 * OutOfMemory gets the file. Anything else (about the command line's flags) is left as it is.
 */
export function runErrorText(file: string | undefined, e: Error): string {
  if (file === undefined || (e.name !== 'ScenarioError' && e.name !== 'OutOfMemory')) return e.message;
  const op = (e as { op?: { program: number | 'setup'; index: number } }).op;
  if (op === undefined) return `${file}: ${e.message}`;
  const path = op.program === 'setup' ? ['setup', op.index] : ['programs', op.program, op.index];
  let line = '';
  try {
    const text = readBounded(file, MAX_SCENARIO_BYTES).toString('utf8');
    line = `:${lineAt(text, offsetOf(text, path))}`;
  } catch {
    // The file changed under us: no line, then.
  }
  return `${file}${line}: field "${fieldName(path)}": ${e.message}`;
}
