// The guest kernel: boots on the simulated Xen, holds the kernel-wide state (memory, vmalloc,
// pgd_list, per-cpu data), and runs the vCPUs' programs — one xstate actor per vCPU — under a
// seeded scheduler (or a forced schedule) until every program is done, a BUG stops the machine,
// or no vCPU can move, in which case the wait-for cycle is the verdict.

import { createActor } from 'xstate';
import type { Caller, CallResult, Hypercall } from '../hypervisor/index.ts';
import type { KernelBug } from './bug.ts';
import type { GuestEvent, GuestEventSink, WaitEdge } from './events.ts';
import { bootKernel, type KernelTables } from './mm/boot.ts';
import { Mem } from './mm/mem.ts';
import type { Mm } from './mm/mm-struct.ts';
import { Objects, ScenarioError, type Op } from './ops.ts';
import type { Policy } from './policy.ts';
import type { HypercallPort } from './port.ts';
import { mulberry32 } from './rng.ts';
import { Barrier } from './smp/barrier.ts';
import { Cpu } from './smp/cpu.ts';
import { findCycle, waitEdges } from './smp/deadlock.ts';
import type { Smp } from './smp/smp.ts';
import { Spinlock } from './smp/spinlock.ts';
import type { StopMachine } from './smp/stop-machine.ts';
import { vcpuMachine } from './vcpu.machine.ts';
import { VcpuRuntime } from './vcpu-runtime.ts';
import { VmapState } from './vmalloc/vmap-area.ts';
import { VmapBlockQueue } from './vmalloc/vmap-block.ts';
import { McBuffer } from './xen-mmu/multicall.ts';

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

export interface PerCpu {
  readonly mc: McBuffer;
  /** cpu_tlbstate.active_mm (null: init_mm). */
  activeMm: Mm | null;
  /** xen_current_cr3: the pgd pfn this vCPU has loaded. */
  cr3: number;
}

/**
 * Picks the next vCPU among the runnable ones (an index into `runnable`), or null to abandon the
 * run (explore prunes a state it has seen). `fingerprint` describes the state reached so far.
 */
export type Chooser = (runnable: number[], step: number, fingerprint: () => string) => number | null;

export interface RunOptions {
  seed: number;
  /** Replaces the seeded choice (used by explore). */
  chooser?: Chooser;
  /** vCPU ids, one per step; the seeded choice takes over when it runs out. */
  schedule?: readonly number[];
  maxSteps?: number;
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

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

export class Kernel implements Smp {
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
    if (setup.length > 0) {
      this.emit({ event: 'phase', phase: 'setup' });
      let boot: RunResult;
      try {
        boot = this.loop([setup], () => 0, opts.maxSteps);
      } catch (e) {
        if (e instanceof ScenarioError && e.op !== undefined) e.op.program = 'setup';
        throw e;
      }
      if (boot.outcome !== 'completed') return boot;
    }
    this.emit({ event: 'phase', phase: 'programs' });
    const rng = mulberry32(opts.seed);
    const forced = opts.schedule;
    if (opts.chooser) return this.loop(programs, opts.chooser, opts.maxSteps);
    return this.loop(programs, (runnable, step) => {
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
  private loop(
    programs: readonly (readonly Op[])[],
    choose: Chooser,
    maxSteps = 1_000_000,
  ): RunResult {
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
        if (crashed) return this.result('bug', schedule, null, crashed.cpu.id, crashed.crashed!);
        const runnable: number[] = [];
        actors.forEach((a, i) => {
          if (a.getSnapshot().can({ type: 'STEP' })) runnable.push(i);
        });
        if (runnable.length === 0) {
          if (runtimes.every((rt) => rt.finished()) && this.stop === null) return this.result('completed', schedule, null);
          const waits = waitEdges(this.cpus, runtimes.map((rt) => rt.wait));
          return this.result('deadlock', schedule, { cycle: findCycle(waits) ?? waits, waits });
        }
        if (schedule.length >= maxSteps) throw new ScheduleError(`no end after ${maxSteps} steps`);
        const choice = choose(runnable, schedule.length, () => this.fingerprint(runtimes));
        if (choice === null) return this.result('pruned', schedule, null);
        const pick = runnable[choice]!;
        schedule.push(pick);
        actors[pick]!.send({ type: 'STEP' });
        if (fatal) throw fatal;
      }
    } finally {
      for (const a of actors) a.stop();
    }
  }

  /**
   * What the future of the run depends on, as far as the model can see it: each vCPU's place in
   * its program and what it waits for, interrupt state and pending IPIs, and the kernel's shared
   * state (locks, vmalloc areas and blocks, lazy pages, stop_machine, barriers, cr3s, free pages).
   * Coroutine locals are not visible; a vCPU's progress inside its operation (yields taken) stands
   * in for them.
   */
  fingerprint(runtimes: readonly VcpuRuntime[]): string {
    const v = runtimes.map((rt) => {
      const w = rt.wait;
      const wait = !w ? '-' : w.kind === 'spin' ? `s:${w.lock.name}` : w.kind === 'ack' ? `a:${[...w.csd.pending].join('.')}` : w.kind;
      return [rt.pc, rt.opYields, wait, rt.cpu.irqsEnabled ? 1 : 0, rt.cpu.pendingIpis.length, rt.cpu.locksHeld.map((l) => l.name).join('+'), this.percpu(rt.cpu).cr3].join(',');
    });
    const vs = this.vmap;
    const areas = vs.areas.map((a) => `${a.start}:${a.pages}:${a.flags}`).join(' ');
    const blocks = [...vs.blocks.values()].map((b) => `${b.va.start}:${b.free}:${b.dirty}`).join(' ');
    const stop = this.stop ? `${this.stop.master}:${[...this.stop.parked].join('.')}` : '-';
    const barriers = [...this.barriers.values()].map((b) => `${b.name}:${[...b.arrived].sort().join('.')}`).join(' ');
    return [v.join('|'), vs.lazyNr, areas, blocks, stop, barriers, this.mem.freePages, this.pgdList.length, vs.unflushed.size].join('#');
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
