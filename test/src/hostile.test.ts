// Hostile input (issue 6, item 3) to every command that reads a file: `replay` (traces and logs),
// `inspect`, `export --perfetto`, `export --html`, `run`, `explore`, `compare --scenarios`. Each
// file of test/fixtures/bad/ (small, committed; README.md there says what each one is) and each
// generated one (a 100 MB line, 100,000 nested brackets, a program over its limit — made here, in a
// temporary directory, never committed), plus a missing file and a directory, goes to every
// command it is meant for, as the built command in a child process. Each must exit 2 with a
// message naming the file, the line (where the format has lines) and the field, with no stack
// trace, within a few seconds and a bounded amount of memory (docs/limits.md).
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PROGRAM_OPS } from '../../src/lab/scenarios/schema.ts';
import { buildCommand, limiter, repo, runBuilt, type Built } from './built.ts';

const BAD = join(repo, 'test/fixtures/bad');
const TRACE = ['replay'] as const;
const LOG = ['replay', 'inspect', 'export-perfetto', 'export-html'] as const;
const LOG_READERS = ['inspect', 'export-perfetto', 'export-html'] as const;
const SCENARIO = ['run', 'explore', 'compare'] as const;
/**
 * Field-level problems of a scenario go to `run` only: `explore` and `compare` read scenarios
 * through the same loadScenario and print its message the same way, which the file-level cases
 * (and one field-level case) check for them too. A child process costs about 0.3 s of CPU.
 */
const RUN = ['run'] as const;
const ALL = [...LOG, ...SCENARIO] as const;
type Cmd = (typeof ALL)[number];

interface Case {
  commands: readonly Cmd[];
  /** The line the message must name (FILE:LINE:); none for what is about the whole file. */
  line?: number | Partial<Record<Cmd, number>>;
  /** The field the message must name (field "…"). */
  field?: string | Partial<Record<Cmd, string>>;
  /** What the message must say. */
  says: RegExp | Partial<Record<Cmd, RegExp>>;
}

/** Every file in test/fixtures/bad/ and what each command must say about it. */
const CORPUS: Record<string, Case> = {
  'trace-broken-json.ndjson': { commands: TRACE, line: 3, says: /not valid JSON/ },
  'trace-wrong-type.ndjson': { commands: TRACE, line: 2, field: 'slot', says: /expected a slot number 0–511, got "five"/ },
  'trace-negative.ndjson': { commands: TRACE, line: 3, field: 'mfn', says: /expected an MFN .*, got -1/ },
  'trace-65-bit.ndjson': { commands: TRACE, line: 2, field: 'reqs[0].val', says: /value over 64 bits/ },
  'trace-big-integer.ndjson': { commands: TRACE, line: 2, field: 'va', says: /above 2\^53-1 loses precision/ },
  'trace-unknown-op.ndjson': { commands: TRACE, line: 2, field: 'op', says: /unknown op "pin_table" \(known: / },
  'trace-unknown-cmd.ndjson': { commands: TRACE, line: 2, field: 'ops[1].cmd', says: /unknown MMUEXT command "pin_l5_table"/ },
  'trace-unknown-expect-key.ndjson': { commands: TRACE, line: 2, field: 'expect.rcc', says: /not a result of mmuext_op/ },
  'trace-not-an-object.ndjson': { commands: TRACE, line: 2, says: /expected a JSON object/ },
  'trace-nul.ndjson': { commands: TRACE, line: 2, says: /binary data: a NUL byte at column 10/ },
  'trace-invalid-utf8.ndjson': { commands: TRACE, line: 3, says: /not UTF-8 text: byte 0xc3 at column 41/ },
  'trace-deep-multicall.ndjson': { commands: TRACE, line: 2, says: /nested deeper than 64 levels/ },
  empty: {
    commands: ALL,
    says: { replay: /empty file: no records/, inspect: /no log lines/, 'export-perfetto': /no log lines/, 'export-html': /no log lines/, run: /empty file/, explore: /empty file/, compare: /empty file/ },
  },
  'log-broken-json.log': { commands: LOG, line: 2, says: /not valid JSON/ },
  'log-wrong-type.log': {
    commands: LOG,
    line: 2,
    field: { replay: 'mfn', inspect: 'level', 'export-perfetto': 'level', 'export-html': 'level' },
    says: { replay: /expected an MFN/, inspect: /expected a number \(pino's level\), got "info"/, 'export-perfetto': /got "info"/, 'export-html': /got "info"/ },
  },
  'log-not-an-object.log': { commands: LOG, line: 2, says: /expected a JSON object/ },
  'log-nul.log': { commands: LOG, line: 3, says: /binary data: a NUL byte at column 1/ },
  'log-invalid-utf8.log': { commands: LOG, line: 2, says: /not UTF-8 text: byte 0xff/ },
  'scenario-broken-json.json': { commands: SCENARIO, line: 6, says: /not valid JSON/ },
  'scenario-wrong-type.json': { commands: RUN, line: 5, field: 'vcpus', says: /expected a number, got "two"/ },
  'scenario-negative.json': { commands: RUN, line: 17, field: 'programs[0][0].pages', says: /expected at least 1, got -8/ },
  'scenario-65-bit.json': { commands: RUN, line: 6, field: 'memory_pages', says: /expected at most 4194304, got 36893488147419103/ },
  'scenario-unknown-operation.json': { commands: RUN, line: 27, field: 'programs[1][0].op', says: /unknown operation "vm_unmap_all_aliases" \(known: vmalloc, / },
  'scenario-unknown-knob.json': { commands: SCENARIO, line: 37, field: 'set[0]', says: /unknown knob "pinAliasFlushh" \(did you mean "pinAliasFlush"\?\); knobs: / },
  'scenario-bad-knob-value.json': { commands: RUN, line: 38, field: 'set[1]', says: /knob pinAliasFlush takes .*, got "sometimes"/ },
  'scenario-unknown-policy.json': { commands: RUN, line: 36, field: 'policy', says: /unknown policy preset "linux-2.6.99" \(did you mean "linux-2.6.28"\?\); presets: / },
  'scenario-unknown-key.json': { commands: RUN, line: 6, field: 'vcpu', says: /unknown key \(known: name, title, / },
  'scenario-unknown-op-key.json': { commands: RUN, line: 18, field: 'programs[0][0].size', says: /unknown key \(known: op, name, pages\)/ },
  'scenario-expect-label.json': { commands: RUN, line: 35, field: 'expect.forse', says: /unknown policy preset "forse"/ },
  'scenario-expect-outcome.json': { commands: RUN, line: 33, field: 'expect.never.outcome', says: /expected one of "completed", "deadlock", "bug", got "hang"/ },
  'scenario-names-nothing.json': { commands: SCENARIO, line: 30, field: 'programs[1][1]', says: /no vmalloc area named "c" exists at this point/ },
  'scenario-missing-field.json': { commands: RUN, line: 1, field: 'programs', says: /expected an array, got nothing \(missing\)/ },
  'scenario-not-an-object.json': { commands: SCENARIO, line: 1, says: /expected a JSON object \(one scenario\), got an array/ },
  'scenario-nul.json': { commands: SCENARIO, line: 3, says: /binary data: a NUL byte at column 6/ },
  'scenario-invalid-utf8.json': { commands: SCENARIO, line: 2, says: /not UTF-8 text: byte 0xe9 at column 16/ },
  'scenario-deep.json': { commands: SCENARIO, line: 6, says: /nested deeper than 64 levels/ },
  'scenario-duplicate-key.json': { commands: SCENARIO, line: 6, field: 'vcpus', says: /duplicate key "vcpus" \(first on line 5; JSON keeps only the last/ },
  'scenario-proto-key.json': { commands: SCENARIO, line: 32, field: 'expect.__proto__', says: /the key "__proto__" is not allowed/ },
  'scenario-more-programs.json': { commands: RUN, line: 25, field: 'programs[1]', says: /a program for vCPU 1, but the scenario has 1 vCPU \("vcpus": 1\); it would never run/ },
  'scenario-object-knob.json': { commands: SCENARIO, line: 37, field: 'set[0]', says: /unknown knob "toString"; knobs: / },
  'scenario-constructor-knob.json': { commands: SCENARIO, line: 37, field: 'set[0]', says: /unknown knob "constructor"; knobs: / },
  'scenario-constructor-policy.json': { commands: SCENARIO, line: 36, field: 'policy', says: /unknown policy preset "constructor"; presets: / },
  'scenario-tostring-expect.json': { commands: SCENARIO, line: 32, field: 'expect.toString', says: /unknown policy preset "toString"; presets: / },
};

let built: Built;
let gen: string;
/** Files made at test time: too big to commit. */
const GENERATED: Record<string, Case> = {
  '100mb-line': {
    commands: ALL,
    line: { replay: 1, inspect: 1, 'export-perfetto': 1, 'export-html': 1 },
    says: { replay: /line longer than 1048576 bytes/, inspect: /line longer than 1048576 bytes/, 'export-perfetto': /line longer/, 'export-html': /line longer/, run: /more than 1048576 bytes/, explore: /more than 1048576 bytes/, compare: /more than 1048576 bytes/ },
  },
  'deep-100k': { commands: ALL, line: 1, says: /nested deeper than 64 levels/ },
  'scenario-huge-program.json': { commands: SCENARIO, line: 1, field: 'programs[0]', says: new RegExp(`${MAX_PROGRAM_OPS + 1} entries, expected at most ${MAX_PROGRAM_OPS}`) },
  missing: {
    commands: ALL,
    says: { replay: /no such file/, inspect: /no such file/, 'export-perfetto': /no such file/, 'export-html': /no such file/, run: /no such scenario file/, explore: /no such scenario file/, compare: /no such scenario file/ },
  },
  directory: { commands: ALL, says: /is a directory/ },
};

beforeAll(async () => {
  built = buildCommand('xensim-hostile-');
  gen = mkdtempSync(join(tmpdir(), 'xensim-hostile-gen-'));
  // A 100 MB line: one record whose padding never ends in time.
  await new Promise<void>((resolve, reject) => {
    const ws = createWriteStream(join(gen, '100mb-line'));
    ws.on('error', reject);
    ws.write('{"op":"audit","pad":"');
    const mb = 'a'.repeat(1 << 20);
    for (let i = 0; i < 100; i++) ws.write(mb);
    ws.end('"}\n', () => resolve());
  });
  writeFileSync(join(gen, 'deep-100k'), '['.repeat(100_000) + ']'.repeat(100_000) + '\n');
  const huge = { name: 'huge', title: 't', description: 'd', vcpus: 1, programs: [new Array(MAX_PROGRAM_OPS + 1).fill({ op: 'suspend' })] };
  writeFileSync(join(gen, 'scenario-huge-program.json'), JSON.stringify(huge));
  mkdirSync(join(gen, 'directory'));
}, 120_000);

afterAll(() => {
  built?.remove();
  if (gen) rmSync(gen, { recursive: true, force: true });
});

function argv(cmd: Cmd, file: string, out: string): string[] {
  switch (cmd) {
    case 'replay':
      return ['replay', file, '--log', join(out, 'replay.log')];
    case 'inspect':
      return ['inspect', file];
    case 'export-perfetto':
      return ['export', file, '--perfetto', join(out, 'out.json')];
    case 'export-html':
      return ['export', file, '--html', join(out, 'out.html')];
    case 'run':
      return ['run', file];
    case 'explore':
      return ['explore', file];
    case 'compare':
      return ['compare', '--scenarios', file, '--seeds', '1'];
  }
}

const pick = <T,>(v: T | Partial<Record<Cmd, T>> | undefined, cmd: Cmd, isT: (x: unknown) => x is T): T | undefined =>
  v === undefined ? undefined : isT(v) ? v : (v as Partial<Record<Cmd, T>>)[cmd];
const isNum = (x: unknown): x is number => typeof x === 'number';
const isStr = (x: unknown): x is string => typeof x === 'string';
const isRe = (x: unknown): x is RegExp => x instanceof RegExp;

const slot = limiter(3);

async function check(file: string, c: Case): Promise<void> {
  const failures: string[] = [];
  await Promise.all(
    c.commands.map((cmd) =>
      slot(async () => {
        const out = mkdtempSync(join(gen, 'out-'));
        // Bounded time: a command still running after 20 s is killed, and then its exit is not 2
        // (a hang guard, not a timing assertion: npm test asserts no speed, `npm run bench` does).
        const r = await runBuilt(built.bin, argv(cmd, file, out), { timeoutMs: 20_000 });
        const problems: string[] = [];
        if (r.status !== 2) problems.push(`exit ${r.status ?? r.signal}, expected 2`);
        if (/^\s{4}at /m.test(r.stderr)) problems.push('a stack trace');
        if (/internal error/.test(r.stderr)) problems.push('an internal error');
        const line = pick(c.line, cmd, isNum);
        const field = pick(c.field, cmd, isStr);
        const says = pick(c.says, cmd, isRe);
        if (!r.stderr.includes(file)) problems.push('the file is not named');
        if (line !== undefined && !r.stderr.includes(`${file}:${line}: `)) problems.push(`line ${line} is not named`);
        if (field !== undefined && !r.stderr.includes(`field "${field}": `)) problems.push(`field "${field}" is not named`);
        if (says !== undefined && !says.test(r.stderr)) problems.push(`it does not say ${says}`);
        if (r.peakMiB !== undefined && r.peakMiB > 200) problems.push(`it peaked at ${Math.round(r.peakMiB)} MiB resident`);
        if (cmd === 'replay') {
          // The log of a refused input still ends with a line saying why (item 4).
          const log = readFileSync(join(out, 'replay.log'), 'utf8').trim().split('\n');
          const end = JSON.parse(log.at(-1)!) as Record<string, unknown>;
          if (end.event !== 'end' || end.reason !== 'bad_input' || end.exit !== 2) problems.push(`the log ends ${log.at(-1)}`);
        }
        if (problems.length > 0) failures.push(`${cmd}: ${problems.join('; ')}\n    stderr: ${r.stderr.trim().slice(0, 400)}`);
      }),
    ),
  );
  expect(failures, file).toEqual([]);
}

describe('the corpus', () => {
  it('every file in test/fixtures/bad/ is exercised below (and every case has its file)', () => {
    const files = readdirSync(BAD).filter((f) => f !== 'README.md').sort();
    expect(files).toEqual(Object.keys(CORPUS).sort());
  });
});

describe.concurrent('hostile input: exit 2, FILE:LINE and the field, no stack trace, bounded time and memory', () => {
  for (const [name, c] of Object.entries(CORPUS)) {
    it(`test/fixtures/bad/${name} → ${c.commands.join(', ')}`, () => check(join(BAD, name), c), 120_000);
  }
  for (const [name, c] of Object.entries(GENERATED)) {
    it(`generated ${name} → ${c.commands.join(', ')}`, () => check(join(gen, name), c), 120_000);
  }
});
