// The guest kernel: boots on the simulated Xen, holds the kernel-wide state (memory, vmalloc,
// pgd_list, per-cpu data), and runs the vCPUs' programs — one xstate actor per vCPU — under a
// seeded scheduler (or a forced schedule) until every program is done, a BUG stops the machine,
// or no vCPU can move, in which case the wait-for cycle is the verdict.

import { createActor } from 'xstate';
import type { Caller, CallResult, Hypercall } from '../hypervisor/index.ts';
import type { KernelBug } from './bug.ts';
import type { GuestEvent, GuestEventSink, WaitEdge } from './events.ts';
import type { BlameCtx } from './blame.ts';
import { bootKernel, type BootCtx, type KernelTables } from './mm/boot.ts';
import { Mem } from './mm/mem.ts';
import type { Mm } from './mm/mm-struct.ts';
import { Objects, ScenarioError, type Op, type OpsCtx } from './ops.ts';
import type { Policy } from './policy.ts';
import type { HypercallPort } from './port.ts';
import { mulberry32 } from './rng.ts';
import { Barrier } from './smp/barrier.ts';
import { Cpu } from './smp/cpu.ts';
import { findCycle, waitEdges } from './smp/deadlock.ts';
import { waitResource } from './smp/co.ts';
import { StepFootprint } from './smp/footprint.ts';
import { Spinlock } from './smp/spinlock.ts';
import type { StopMachine } from './smp/stop-machine.ts';
import { vcpuMachine } from './vcpu.machine.ts';
import { VcpuRuntime } from './vcpu-runtime.ts';
import { VmapState } from './vmalloc/vmap-state.ts';
import { VmapBlockQueue } from './vmalloc/vmap-block.ts';
import { McBuffer } from './xen-mmu/multicall.ts';
import type { PerCpu } from './xen-mmu/pin.ts';

export interface GuestConfig {
  vcpus: number;
  /** The domain's memory in pages. */
  memoryPages: number;
  /** Size of the simulated vmalloc area in pages. */
  vmallocPages: number;
  policy: Policy;
  domid?: number;
  /** MFN of guest pfn 0. */
  base?: number;
  /** Whether vmalloc_init() has run (false for the early-boot scenario). */
  vmallocInitialized?: boolean;
}

/**
 * Picks the next vCPU among the runnable ones (an index into `runnable`), or null to abandon the
 * run (explore abandons a branch its sleep sets have covered).
 */
export type Chooser = (runnable: number[], step: number) => number | null;

/** What explore records of a run: each step's footprint, and at the end each unfinished vCPU's next one. */
export interface StepTrace {
  steps: StepFootprint[];
  /** vCPUs that had not finished when the run ended, with what their next step would read. */
  pending: { vcpu: number; fp: StepFootprint }[];
}

export interface RunOptions {
  seed: number;
  /** Replaces the seeded choice (used by explore). */
  chooser?: Chooser;
  /** vCPU ids, one per step; the seeded choice takes over when it runs out. */
  schedule?: readonly number[];
  maxSteps?: number;
  /** Filled with the programs' step footprints (explore's partial-order reduction). */
  trace?: StepTrace;
}

export interface RunResult {
  /** 'pruned': the chooser abandoned the run. */
  outcome: 'completed' | 'deadlock' | 'bug' | 'pruned';
  steps: number;
  /** The vCPU that took each step: `schedule` reproduces the run exactly. */
  schedule: number[];
  deadlock: { cycle: WaitEdge[]; waits: WaitEdge[] } | null;
  bug: { vcpu: number; where: string; message: string } | null;
}

/** The scheduler's one event (one object for every step: xstate only reads it). */
const STEP = { type: 'STEP' } as const;

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

/**
 * The kernel-wide state. Modules never take it whole: each defines the context it uses (OpsCtx
 * gathers those of the operations' paths), and the Kernel is what satisfies them all.
 */
export class Kernel implements OpsCtx, BootCtx, BlameCtx {
  readonly cpus: Cpu[];
  readonly policy: Policy;
  readonly port: HypercallPort;
  readonly dom: number;
  readonly mem: Mem;
  readonly vmap: VmapState;
  readonly tables: KernelTables;
  /** pgd_list, guarded by pgd_lock. */
  readonly pgdList: Mm[] = [];
  readonly pgdLock = new Spinlock('pgd_lock');
  private readonly barriers = new Map<string, Barrier>();
  /** xen_reservation_lock: guards memory exchanges with Xen. */
  readonly reservationLock = new Spinlock('xen_reservation_lock');
  readonly objects = new Objects();
  stop: StopMachine | null = null;
  private readonly perCpu: PerCpu[];
  private readonly sink: GuestEventSink;
  private readonly warnedOnce = new Set<string>();

  constructor(cfg: GuestConfig, port: HypercallPort, sink: GuestEventSink) {
    this.policy = cfg.policy;
    this.port = port;
    this.sink = sink;
    this.dom = cfg.domid ?? 1;
    this.cpus = Array.from({ length: cfg.vcpus }, (_, i) => new Cpu(i));
    this.mem = new Mem(cfg.base ?? 0x1000, cfg.memoryPages);
    this.vmap = new VmapState(cfg.vmallocPages, cfg.vcpus, cfg.policy.purgeLock === 'mutex', (i) => new VmapBlockQueue(i));
    this.tables = bootKernel(this, cfg.memoryPages, cfg.vmallocPages, this.mem.base);
    this.perCpu = this.cpus.map(() => ({ mc: new McBuffer(), activeMm: null, cr3: this.tables.initL4 }));
    this.vmap.initialized = cfg.vmallocInitialized ?? true;
  }

  emit(e: GuestEvent): void {
    this.sink(e);
  }

  /** WARN_ON: every time, except smp_call_function's under warn_on_once (2.6.32+). */
  warnOn(c: Cpu, where: string, msg: string): void {
    if (where === 'smp_call_function_mask' && this.policy.smpCallWarn === 'warn_on_once') {
      if (this.warnedOnce.has(where)) return;
      this.warnedOnce.add(where);
    }
    this.emit({ event: 'warn', vcpu: c.id, where, message: msg });
  }

  /** The scenario rendezvous of that name (made on first use). */
  barrier(name: string, count: number): Barrier {
    let b = this.barriers.get(name);
    if (!b) this.barriers.set(name, (b = new Barrier(name, count)));
    return b;
  }

  caller(c: Cpu): Caller {
    return { dom: this.dom, vcpu: c.id };
  }

  hypercall(c: Cpu, call: Hypercall): CallResult {
    return this.port.hypercall(this.caller(c), call);
  }

  mc(c: Cpu): McBuffer {
    return this.perCpu[c.id]!.mc;
  }

  percpu(c: Cpu): PerCpu {
    return this.perCpu[c.id]!;
  }

  /**
   * Runs `setup` on vCPU 0 (the others idle, taking interrupts; the lowest runnable vCPU goes
   * first, and these steps are not part of the schedule), then the programs interleaved: each
   * step the scheduler picks one vCPU that can move.
   */
  run(programs: readonly (readonly Op[])[], opts: RunOptions, setup: readonly Op[] = []): RunResult {
    const steps = this.runSteps(programs, opts, setup);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /**
   * run(), one scheduler step at a time: yields after each step (the setup's too) and returns the
   * result, so that a caller can let the event loop in (a signal) between steps. A caller that
   * stops early calls return() on it: the actors are stopped.
   */
  *runSteps(programs: readonly (readonly Op[])[], opts: RunOptions, setup: readonly Op[] = []): Generator<void, RunResult, void> {
    if (setup.length > 0) {
      this.emit({ event: 'phase', phase: 'setup' });
      let boot: RunResult;
      try {
        boot = yield* this.loop([setup], () => 0, opts.maxSteps);
      } catch (e) {
        if (e instanceof ScenarioError && e.op !== undefined) e.op.program = 'setup';
        throw e;
      }
      if (boot.outcome !== 'completed') return boot;
    }
    this.emit({ event: 'phase', phase: 'programs' });
    const rng = mulberry32(opts.seed);
    const forced = opts.schedule;
    if (opts.chooser) return yield* this.loop(programs, opts.chooser, opts.maxSteps, opts.trace);
    return yield* this.loop(programs, (runnable, step) => {
      if (forced && step < forced.length) {
        const want = forced[step]!;
        const i = runnable.indexOf(want);
        if (i < 0) throw new ScheduleError(`schedule step ${step}: vCPU ${want} cannot run now (runnable: ${runnable.join(', ')})`);
        return i;
      }
      return Math.floor(rng() * runnable.length);
    }, opts.maxSteps);
  }

  /** Steps the vCPU actors until done, BUG or deadlock; `choose` picks an index into the runnable ids. */
  private *loop(
    programs: readonly (readonly Op[])[],
    choose: Chooser,
    maxSteps = 1_000_000,
    trace?: StepTrace,
  ): Generator<void, RunResult, void> {
    const runtimes = this.cpus.map((c, i) => new VcpuRuntime(this, c, programs[i] ?? []));
    const actors = runtimes.map((rt) => createActor(vcpuMachine, { input: { rt } }));
    // An exception inside the model (not a BUG) stops the actor; surface it here, synchronously.
    let fatal: unknown = null;
    for (const a of actors) {
      a.subscribe({ error: (err) => (fatal ??= err) });
      a.start();
    }
    const schedule: number[] = [];
    try {
      for (;;) {
        const crashed = runtimes.find((rt) => rt.crashed);
        const runnable: number[] = [];
        for (let i = 0; i < actors.length; i++) if (actors[i]!.getSnapshot().can(STEP)) runnable.push(i);
        if (trace && (crashed || runnable.length === 0)) notePending(trace, runtimes, runnable);
        if (crashed) return this.result('bug', schedule, null, crashed.cpu.id, crashed.crashed!);
        if (runnable.length === 0) {
          if (runtimes.every((rt) => rt.finished()) && this.stop === null) return this.result('completed', schedule, null);
          const waits = waitEdges(this.cpus, runtimes.map((rt) => rt.wait));
          return this.result('deadlock', schedule, { cycle: findCycle(waits) ?? waits, waits });
        }
        if (schedule.length >= maxSteps) throw new ScheduleError(`no end after ${maxSteps} steps`);
        const choice = choose(runnable, schedule.length);
        if (choice === null) return this.result('pruned', schedule, null);
        const pick = runnable[choice]!;
        schedule.push(pick);
        const fp = trace ? stepFootprint(runtimes[pick]!) : null;
        this.cpus[pick]!.fp = fp;
        actors[pick]!.send(STEP);
        this.cpus[pick]!.fp = null;
        if (fatal) throw fatal;
        if (fp) {
          if (runtimes[pick]!.crashed) fp.write('H');
          trace!.steps.push(fp);
        }
        yield;
      }
    } finally {
      for (const a of actors) a.stop();
    }
  }

  private result(
    outcome: RunResult['outcome'],
    schedule: number[],
    deadlock: RunResult['deadlock'],
    vcpu?: number,
    bug?: KernelBug,
  ): RunResult {
    if (deadlock) this.emit({ event: 'deadlock', cycle: deadlock.cycle, waits: deadlock.waits });
    return {
      outcome,
      steps: schedule.length,
      schedule,
      deadlock,
      bug: bug ? { vcpu: vcpu!, where: bug.where, message: bug.message } : null,
    };
  }
}

/**
 * What every step of this vCPU reads before its code runs: the scheduler's choice of action looks
 * at its pending IPIs and stop_machine, any step may find the machine halted, and a resumed wait
 * looks at what it waited for.
 */
function stepFootprint(rt: VcpuRuntime): StepFootprint {
  const fp = new StepFootprint();
  fp.read(`I:${rt.cpu.id}`);
  fp.read('S');
  fp.read('H');
  const r = rt.wait ? waitResource(rt.wait) : null;
  if (r) fp.read(r);
  return fp;
}

/** At the end of a run, the next step of each unfinished vCPU (unknown, so global, if it could still run). */
function notePending(trace: StepTrace, runtimes: readonly VcpuRuntime[], runnable: readonly number[]): void {
  trace.pending = [];
  for (const rt of runtimes) {
    if (rt.crashed || rt.finished()) continue;
    const fp = stepFootprint(rt);
    fp.global = runnable.includes(rt.cpu.id);
    trace.pending.push({ vcpu: rt.cpu.id, fp });
  }
}
