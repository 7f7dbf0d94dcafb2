// Budget, the command wrapper for fc.commands, and counterexamples: when a property fails,
// fast-check shrinks it; runProperty() then re-runs the shrunk sequence with the trace recorder
// on, writes it as a replayable trace (trace-format.md: one JSON record a line, hex strings for
// 64-bit values) to test/fixtures/shrunk/<name>.ndjson, replays that file with the simulator's own
// `replay --audit` to see whether the file alone reproduces the failure, and fails the test with a
// message that names the file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { replay } from '../../src/replay/replay.ts';
import { parseLine } from '../../src/trace/read.ts';
import type { TraceRecord } from '../../src/trace/types.ts';
import { recordToLine } from '../../src/trace/write.ts';
import { showOp, type MachineCfg, type Op } from './gen.ts';
import { Sim, Violation, type SimOptions } from './sim.ts';

// ---- Budget -----------------------------------------------------------------------------------
/**
 * XENSIM_FUZZ_SCALE multiplies every property's number of sequences (npm run fuzz sets 20);
 * XENSIM_FUZZ_RUNS sets it outright; XENSIM_FUZZ_SEED replaces the fixed CI seed.
 */
export const SCALE = Number(process.env.XENSIM_FUZZ_SCALE ?? '1');
export const SEED = Number(process.env.XENSIM_FUZZ_SEED ?? '20260806');
export function runs(ciRuns: number): number {
  const fixed = process.env.XENSIM_FUZZ_RUNS;
  return fixed !== undefined ? Number(fixed) : Math.max(1, Math.round(ciRuns * SCALE));
}
/** Per-test timeout: generous for CI, and growing with the fuzz budget. */
export function timeout(ciMs: number): number {
  const fixed = process.env.XENSIM_FUZZ_RUNS;
  const factor = fixed !== undefined ? Math.max(1, Number(fixed) / 50) : Math.max(1, SCALE);
  return Math.round(ciMs * factor);
}

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'shrunk');
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// ---- Commands ---------------------------------------------------------------------------------
/** The model fast-check threads through the commands: the Sim keeps pins, bases and live domains. */
export type Model = Pick<Sim, 'alive'>;

/** One abstract operation as a fast-check command (model-based: Sim holds the model and the Xen). */
export class OpCommand implements fc.Command<Model, Sim> {
  readonly op: Op;
  constructor(op: Op) {
    this.op = op;
  }
  check(m: Readonly<Model>): boolean {
    // Destruction needs a survivor (the sequence goes on); everything else resolves to a live domain.
    return this.op.k !== 'destroy' || m.alive.size >= 2;
  }
  run(_m: Model, sim: Sim): void {
    sim.run(this.op);
  }
  toString(): string {
    return showOp(this.op);
  }
}

export function runCommands(sim: Sim, cmds: Iterable<fc.Command<Model, Sim>>): void {
  fc.modelRun(() => ({ model: sim, real: sim }), cmds);
}

// ---- Counterexamples --------------------------------------------------------------------------
export interface Reproduction {
  sim: Sim;
  violation: unknown;
}

const hex = (v: number | bigint) => `0x${v.toString(16)}`;

/** Writes the recorded trace with the violation's annotation; returns the path and what replay said. */
export async function writeCounterexample(
  name: string,
  header: string[],
  rep: Reproduction,
  dir = FIXTURES,
): Promise<{ path: string; replayNote: string }> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.ndjson`);
  const lines = header.map((h) => `# ${h}`);
  const v = rep.violation;
  const msg = v instanceof Error ? v.message : String(v);
  lines.push(`# violation: ${msg.replace(/\n/g, ' ')}`);
  const trace = [...rep.sim.records()];
  const annotation = v instanceof Violation ? v.annotation : { after: [] as TraceRecord[] };
  let last = -1;
  for (let i = trace.length - 1; i >= 0; i--) {
    if (typeof trace[i] !== 'string') {
      last = i;
      break;
    }
  }
  if (last >= 0 && annotation.expect !== undefined) {
    trace[last] = { ...(trace[last] as TraceRecord), expect: annotation.expect } as TraceRecord;
  }
  let unrepresentable = 0;
  trace.forEach((r, i) => {
    if (typeof r === 'string') {
      lines.push(`# ${r}`);
      return;
    }
    const line = recordToLine(r);
    try {
      parseLine(line, relative(REPO, path), i + 1);
    } catch (e) {
      unrepresentable++;
      lines.push(`# NOT REPRESENTABLE IN TRACE v1 (${e instanceof Error ? e.message : String(e)}):`);
    }
    lines.push(line);
    if (i === last) {
      if (annotation.after.length > 0) lines.push('# what the check saw, as records whose expectations fail on replay:');
      for (const a of annotation.after) lines.push(recordToLine(a));
    }
  });
  writeFileSync(path, lines.join('\n') + '\n');

  let replayNote: string;
  if (unrepresentable > 0) {
    replayNote = `${unrepresentable} record(s) cannot be expressed in trace v1 (see the comments in the file)`;
  } else {
    const sink = { write: () => true };
    const s = await replay(path, { json: true, out: sink, err: sink, audit: true });
    replayNote =
      s.exit === 0
        ? 'replaying the file alone does not reproduce it (the check is test-side; see the violation comment)'
        : `replaying it reproduces the failure: \`npx tsx src/cli/program.ts replay ${relative(REPO, path)} --audit\` exits ${s.exit} (${s.reason}${s.error ? `: ${s.error}` : ''})`;
  }
  return { path, replayNote };
}

/**
 * Re-runs a machine + command list with the recorder on, up to the first violation (`make`: the
 * Sim to run it on, if not a plain one).
 */
export function reproduce(
  cfg: MachineCfg,
  cmds: Iterable<fc.Command<Model, Sim>>,
  finish?: (sim: Sim) => void,
  make: (cfg: MachineCfg, opts: SimOptions) => Sim = (c, o) => new Sim(c, o),
): Reproduction {
  let sim: Sim | undefined;
  try {
    sim = make(cfg, { record: true });
    for (const c of cmds) {
      if (c.check(sim)) {
        sim.records().push(`op ${c.toString()}`);
        c.run(sim, sim);
      }
    }
    finish?.(sim);
  } catch (e) {
    return { sim: sim ?? make(cfg, { record: true }), violation: e };
  }
  return { sim, violation: new Error('the shrunk counterexample did not fail again when re-run') };
}

export interface PropertyRun<T> {
  /** File name (without .ndjson) under test/fixtures/shrunk. */
  name: string;
  arb: fc.Arbitrary<T>;
  /** Runs one case; throws (a Violation) when a check fails. */
  predicate: (t: T) => void;
  /** Rebuilds the failing case with the recorder on. */
  reproduce: (t: T) => Reproduction;
  /** The machine, for the file's header. */
  machine: (t: T) => MachineCfg;
  numRuns: number;
  dir?: string;
  /** Overrides the CI / XENSIM_FUZZ_SEED seed. */
  seed?: number;
}

/** A property failed: fast-check's report, the shrunk case's violation, the file written. */
export class PropertyFailure extends Error {
  readonly violation: unknown;
  readonly sim: Sim | undefined;
  readonly path: string | undefined;
  constructor(message: string, violation: unknown, sim: Sim | undefined, path: string | undefined) {
    super(message);
    this.name = 'PropertyFailure';
    this.violation = violation;
    this.sim = sim;
    this.path = path;
  }
}

/**
 * fc.check with the fixed seed; on failure writes the shrunk counterexample and throws a
 * PropertyFailure whose message names the file. Returns fast-check's run details on success.
 */
export async function runProperty<T>(p: PropertyRun<T>): Promise<fc.RunDetails<[T]>> {
  const details = fc.check(fc.property(p.arb, p.predicate), { seed: p.seed ?? SEED, numRuns: p.numRuns });
  if (!details.failed) return details;
  const ce = details.counterexample;
  let fileNote = 'no counterexample to write';
  let rep: Reproduction | undefined;
  let written: string | undefined;
  if (ce !== null) {
    rep = p.reproduce(ce[0]);
    const header = [
      `xensim property counterexample: ${p.name}`,
      `fast-check seed ${details.seed}, path "${details.counterexamplePath}", ${details.numShrinks} shrinks`,
      `machine: ${JSON.stringify(p.machine(ce[0]))}`,
      'lines "# op …" name the abstract operation (test/props/gen.ts) that issued the records below them',
    ];
    const { path, replayNote } = await writeCounterexample(p.name, header, rep, p.dir);
    written = path;
    fileNote = `shrunk counterexample written to ${relative(REPO, path)}; ${replayNote}`;
  }
  throw new PropertyFailure(`${fc.defaultReportMessage(details)}\n\n${fileNote}`, rep?.violation ?? details.errorInstance, rep?.sim, written);
}

export { hex };
