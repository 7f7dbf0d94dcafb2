// `xensim run SCENARIO`: boot the guest on a fresh simulated Xen, run the scenario's programs under
// a policy and a seed (or a forced schedule), and give the verdict. With a log, every port call is
// written as a trace record (so the log replays with `xensim replay`), with Xen's flushes and the
// guest's events beside it, in simulated time.

import type { GuestEvent } from '../../guest/events.ts';
import { Kernel, type RunOptions } from '../../guest/kernel.ts';
import { ScenarioError } from '../../guest/ops.ts';
import { Hypervisor, type FlushEvent, type Refusal } from '../../hypervisor/index.ts';
import { hypervisorPort, type PortRecord } from './guest-port.ts';
import { createLog, refusalJson, type BlameHolder, type HypercallLog, type LogLevel, type RunEndReason } from '../log/write.ts';
import { describeL1Slot } from '../../guest/blame.ts';
import { resolvePolicy, type ResolvedPolicy } from './scenarios/policies.ts';
import { opsOf, type Scenario } from './scenarios/schema.ts';
import type { RecordResult } from '../trace/result.ts';
import type { TraceRecord } from '../trace/types.ts';
import { hex } from '../trace/write.ts';
import { deadlockLines, VerdictCounter, type Verdict } from './verdict.ts';

export interface RunScenarioOptions {
  /** Policy spec (see scenarios/policies.ts); default: the scenario's. */
  policy?: string;
  /** knob=value settings on top. */
  set?: readonly string[];
  seed?: number;
  /** Override the scenario's vCPU count (programs beyond it are dropped; missing ones are empty). */
  vcpus?: number;
  schedule?: readonly number[];
  log?: string;
  logLevel?: LogLevel;
}

/** A port record as the trace record it is, with its result. */
function toTrace(r: PortRecord): { rec: TraceRecord; result: RecordResult } {
  switch (r.op) {
    case 'create_domain':
      return {
        rec: { op: 'create_domain', domid: r.spec.domid, vcpus: r.spec.vcpus, frames: { base: r.spec.base, count: r.spec.count } },
        result: { rc: 0 },
      };
    case 'store': {
      const rec: TraceRecord = { op: 'store', mfn: r.mfn, slot: r.slot, val: r.val, ...r.caller };
      if (r.count !== 1) rec.count = r.count;
      if (r.stride !== 0n) rec.stride = r.stride;
      return { rec, result: { rc: r.rc } };
    }
    case 'hypercall': {
      const res: RecordResult = { rc: r.result.rc, refusals: r.result.refusals };
      if (r.result.done !== undefined) res.done = r.result.done;
      if (r.result.results !== undefined) res.results = r.result.results;
      return { rec: { ...r.call, ...r.caller } as TraceRecord, result: res };
    }
    case 'memory_exchange':
      return { rec: { op: 'memory_exchange', mfns: r.mfns, ...r.caller }, result: { rc: r.result.rc, refusals: r.result.refusals } };
    case 'access': {
      const res: RecordResult = { rc: r.result.rc, tlb_hit: r.result.tlb_hit, stale: r.result.stale };
      if (r.result.mfn !== undefined) res.mfn = r.result.mfn;
      if (r.result.writable !== undefined) res.writable = r.result.writable;
      return { rec: { op: 'access', va: r.va, write: r.write, ...r.caller }, result: res };
    }
  }
}

/** Adds the guest's name for each L1 mapping of its own domain that stands in a refusal's way. */
function blame(k: Kernel, refusals: readonly Refusal[]): void {
  for (const r of refusals) {
    for (const h of r.blockers as BlameHolder[]) {
      if (h.kind !== 'l1e' || h.slot === undefined || h.dom !== k.dom || h.guest !== undefined) continue;
      const g = describeL1Slot(k, h.mfn, h.slot);
      if (g !== undefined) h.guest = g;
    }
  }
}

/** A guest event as log fields: bigints as hex, refusals in their JSON form. */
function eventFields(e: GuestEvent): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'refusal' && v) o.refusal = refusalJson(v as Parameters<typeof refusalJson>[0]);
    else o[k] = typeof v === 'bigint' ? hex(v) : v;
  }
  return o;
}

function eventLevel(e: GuestEvent): 'info' | 'warn' | 'error' {
  if (e.event === 'bug' || e.event === 'deadlock') return 'error';
  if (e.event === 'warn' || e.event === 'va_hazard' || (e.event === 'exchange' && !e.ok)) return 'warn';
  return 'info';
}

/** Writes a guest run into the hypercall log, one simulated tick per line. */
class RunLog {
  private records = 0;
  private readonly log: HypercallLog;

  constructor(log: HypercallLog) {
    this.log = log;
  }

  private tick(): void {
    this.log.clock.time++;
  }

  port(r: PortRecord): void {
    this.tick();
    this.log.clock.line = ++this.records;
    const { rec, result } = toTrace(r);
    const caller = r.op === 'create_domain' ? undefined : r.caller;
    this.log.record(rec, caller, result);
    if (caller && result.refusals) this.log.refusals(caller, result.refusals);
  }

  flush(e: FlushEvent): void {
    this.log.flush(e);
  }

  event(e: GuestEvent): void {
    this.tick();
    const level = eventLevel(e);
    if (this.log.logger.isLevelEnabled(level)) this.log.logger[level](eventFields(e), e.event);
  }

  /** The last line: the verdict's outcome (exit 0), or why the run stopped; then the file is closed. */
  end(reason: RunEndReason, exit: number): void {
    this.log.end(reason, this.records, exit, 'run');
    this.log.close();
  }

  /** An exception stopped the run: a line saying what, then the end line (bad_input 2 or internal_error 1). */
  fail(e: unknown): void {
    if (isRunInputError(e)) {
      if (this.log.logger.isLevelEnabled('error')) this.log.logger.error({ event: 'bad_input', error: e.message }, e.message);
      this.end('bad_input', 2);
    } else {
      this.log.internalError(errorText(e));
      this.end('internal_error', 1);
    }
  }
}

/** Exceptions of a run that mean its input was wrong (src/cli/args.ts's INPUT_ERRORS, less the file's). */
const RUN_INPUT_ERRORS = new Set(['PolicyError', 'ScheduleError', 'ScenarioError', 'OutOfMemory']);
function isRunInputError(e: unknown): e is Error {
  return e instanceof Error && RUN_INPUT_ERRORS.has(e.name);
}

/** An exception from the model in one line: its name, message and first stack frame. */
function errorText(e: unknown): string {
  if (e instanceof Error) {
    const at = e.stack?.split('\n').find((l) => l.trim().startsWith('at '))?.trim();
    return at ? `${e.name}: ${e.message} (${at})` : `${e.name}: ${e.message}`;
  }
  return String(e);
}

export function runScenario(s: Scenario, opts: RunScenarioOptions = {}): Verdict {
  const seed = opts.seed ?? 1;
  const runOpts: RunOptions = opts.schedule ? { seed, schedule: opts.schedule } : { seed };
  return runScenarioWith(s, opts, runOpts);
}

/** The file a scenario was read from, if any (loadScenario adds it): never overwritten by --log. */
function scenarioFiles(s: Scenario): string[] {
  const file = (s as { file?: unknown }).file;
  return typeof file === 'string' ? [file] : [];
}

/** runScenario with the scheduler's options given (a chooser, for explore). */
export function runScenarioWith(s: Scenario, opts: RunScenarioOptions, runOpts: RunOptions): Verdict {
  const run = startRun(s, opts, runOpts);
  for (;;) {
    const r = run.step();
    if (r !== undefined) return r;
  }
}

/** Why runScenarioAsync stopped before the end: the signal's reason (src/cli/command.ts StopReason), and the steps run. */
export interface RunInterrupted {
  interrupted: true;
  steps: number;
}

/**
 * runScenario handing the event loop a turn every ~50 ms (between scheduler steps), so that
 * SIGINT, SIGTERM and SIGHUP (`signal`) stop it there: the log ends with reason `interrupted` and
 * the exit status the stop means (128 + n), and the run is not finished (no verdict).
 */
export async function runScenarioAsync(s: Scenario, opts: RunScenarioOptions, signal: AbortSignal, exitOf: (signal: AbortSignal) => number): Promise<Verdict | RunInterrupted> {
  const seed = opts.seed ?? 1;
  const run = startRun(s, opts, opts.schedule ? { seed, schedule: opts.schedule } : { seed });
  let turn = performance.now();
  for (let steps = 0; ; steps++) {
    if (signal.aborted) {
      run.stop(exitOf(signal));
      return { interrupted: true, steps };
    }
    const r = run.step();
    if (r !== undefined) return r;
    if (performance.now() - turn > 50) {
      await new Promise((resolve) => setImmediate(resolve));
      turn = performance.now();
    }
  }
}

/** A run under way: step() runs one scheduler step (the verdict when it ends); stop() ends its log as interrupted. */
interface ScenarioRun {
  step(): Verdict | undefined;
  stop(exit: number): void;
}

/**
 * resolvePolicy, remembered: a compare resolves the same few (policy, scenario preset, settings)
 * for thousands of runs, and parsing them was 4 % of a run. The guest only reads its Policy.
 */
const resolved = new Map<string, ResolvedPolicy>();
function resolvePolicyOnce(spec: string, preset: string, set: readonly string[], extra: readonly string[]): ResolvedPolicy {
  const key = JSON.stringify([spec, preset, set, extra]);
  let r = resolved.get(key);
  if (r === undefined) {
    if (resolved.size >= 256) resolved.clear();
    resolved.set(key, (r = resolvePolicy(spec, preset, set, extra)));
  }
  return r;
}

function startRun(s: Scenario, opts: RunScenarioOptions, runOpts: RunOptions): ScenarioRun {
  const { label, policy } = resolvePolicyOnce(opts.policy ?? '', s.policy, s.set, opts.set ?? []);
  const vcpus = opts.vcpus ?? s.vcpus;
  // One program per vCPU: fewer vCPUs would drop programs without a word (more leave some idle;
  // an empty program may go).
  const needed = s.programs.reduce((n, p, i) => (p.length > 0 ? i + 1 : n), 0);
  if (vcpus < needed) {
    throw new ScenarioError(`--vcpus ${vcpus} would drop programs: the scenario's program ${needed - 1} needs vCPU ${needed - 1} (give at least ${needed})`);
  }
  const counter = new VerdictCounter();
  const log = opts.log ? new RunLog(createLog({ dest: opts.log, level: opts.logLevel ?? 'info', inputs: scenarioFiles(s) })) : null;
  // Whatever stops the run, the log ends with a line saying why: the outcome (a BUG and a deadlock
  // are verdicts, exit 0), a signal (interrupted, 128 + n), or the exception (then thrown on: bad
  // input exit 2, a model bug exit 1).
  const guarded = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      log?.fail(e);
      throw e;
    }
  };
  const steps = guarded(() => {
    const hv = new Hypervisor({
      observer: {
        flush: (e) => {
          counter.xenFlush(e);
          log?.flush(e);
        },
      },
    });
    // The kernel names the mappings Xen blames (guest/blame.ts): read at the refusal, before the
    // kernel moves on and the alias is purged.
    let kernel: Kernel | undefined;
    const port = hypervisorPort(hv, (r) => {
      if (kernel !== undefined && (r.op === 'hypercall' || r.op === 'memory_exchange')) blame(kernel, r.result.refusals);
      counter.port(r);
      log?.port(r);
    });
    const k = new Kernel(
      { vcpus, memoryPages: s.memory_pages, vmallocPages: s.vmalloc_pages, policy, vmallocInitialized: s.vmalloc_initialized },
      port,
      (e) => {
        counter.event(e);
        log?.event(e);
      },
    );
    kernel = k;
    const { setup, programs } = opsOf(s);
    return k.runSteps(programs.slice(0, vcpus), runOpts, setup);
  });
  return {
    step: () => {
      const r = guarded(() => steps.next());
      if (!r.done) return undefined;
      log?.end(r.value.outcome, 0);
      return counter.verdict(s.name, label, runOpts.seed, vcpus, r.value);
    },
    stop: (exit) => {
      steps.return(undefined as never);
      log?.end('interrupted', exit);
    },
  };
}

/** The verdict for people: read in seconds. */
export function verdictText(v: Verdict, title?: string): string {
  const lines: string[] = [];
  lines.push(`scenario  ${v.scenario}${title ? ` — ${title}` : ''}`);
  lines.push(`policy    ${v.policy}   seed ${v.seed}   vCPUs ${v.vcpus}   steps ${v.steps}`);
  lines.push(`outcome   ${v.outcome.toUpperCase()}`);
  if (v.deadlock) lines.push(...deadlockLines(v.deadlock));
  if (v.bug) {
    lines.push(`  BUG on vCPU${v.bug.vcpu} in ${v.bug.where}: ${v.bug.message}`);
    for (const d of v.bug.detail.slice(1)) lines.push(`  ${d}`);
  }
  lines.push(`pins      ${v.pins.ok} ok, ${v.pins.refused} refused`);
  for (const r of v.refusals.slice(0, 5)) {
    lines.push(`  refused ${r.what}: ${r.reason}${r.blockers.length ? ` — blocker: ${r.blockers.join(', ')}` : ''}`);
  }
  if (v.refusals.length > 5) lines.push(`  … ${v.refusals.length - 5} more refusals`);
  lines.push(`IPIs      ${v.ipis} sent    flush hypercalls ${v.flush_hypercalls}    Xen's own flushes ${v.xen_flushes}`);
  lines.push(`WARNs     ${v.warnings}${v.warning_sites.length ? ` (${v.warning_sites.join(', ')})` : ''}`);
  lines.push(`VA hazards ${v.va_hazards}`);
  for (const h of v.hazards) {
    const what = h.kind === 'freed_unflushed' ? 'freed without a TLB flush' : 'mapped again while a TLB still translates it';
    lines.push(`  [${h.start}, ${h.end}) ${what} (vCPU${h.vcpu}); stale TLB on vCPU${h.stale_vcpus.length === 1 ? '' : 's'} ${h.stale_vcpus.join(', ') || 'none'}`);
  }
  if (v.va_hazards > v.hazards.length) lines.push(`  … ${v.va_hazards - v.hazards.length} more`);
  if (v.exchanges.ok + v.exchanges.refused > 0) lines.push(`exchanges ${v.exchanges.ok} ok, ${v.exchanges.refused} refused`);
  lines.push(`schedule  ${v.schedule.join(',')}`);
  return lines.join('\n');
}
