// The SMP structures, as the headers declare them apart from the code that works on them: a
// vCPU's state (struct cpu's part here), spinlock_t (linux/spinlock_types.h), struct
// call_single_data (linux/smp.h), stop_machine's shared state (kernel/stop_machine.c's), and a
// scenario's rendezvous. Data only: the code is in cpu.ts, spinlock.ts, ipi.ts, stop-machine.ts
// and barrier.ts, and the coroutine's waits (co.ts) name these without importing the code.

import type { StepFootprint } from './footprint.ts';

/** A vCPU's kernel state: its interrupt flag, the IPIs delivered and not yet taken, its locks. */
export class Cpu {
  readonly id: number;
  /** Event-channel upcalls unmasked: the vCPU takes interrupts (IPIs) at its next step. */
  irqsEnabled = true;
  /** IPIs sent to this vCPU and not yet handled. */
  readonly pendingIpis: CallData[] = [];
  readonly locksHeld: Spinlock[] = [];
  /**
   * The kernel functions this vCPU is in, outermost first (kernelFn pushes and pops them): where
   * a deadlock finds it stuck. Names only, one push per call: no per-PTE work.
   */
  readonly chain: string[] = [];
  /** What the step this vCPU is taking touches (set by the kernel only while explore records). */
  fp: StepFootprint | null = null;

  constructor(id: number) {
    this.id = id;
  }
}

/** spinlock_t: its owner; a `sleeping` one is a mutex (its waiter's vCPU can take interrupts). */
export class Spinlock {
  readonly name: string;
  readonly sleeping: boolean;
  owner: number | null = null;

  constructor(name: string, sleeping = false) {
    this.name = name;
    this.sleeping = sleeping;
  }
}

/** struct call_single_data: the function an IPI runs, who sent it, which targets have not run it. */
export class CallData {
  readonly func: string;
  readonly run: (t: Cpu) => void;
  readonly from: number;
  /** Targets that have not run the function yet. */
  readonly pending: Set<number>;

  constructor(func: string, run: (t: Cpu) => void, from: number, targets: readonly number[]) {
    this.func = func;
    this.run = run;
    this.from = from;
    this.pending = new Set(targets);
  }
}

/** stop_machine's state: the master, the vCPUs parked in stop_cpu, whether fn is done. */
export class StopMachine {
  readonly master: number;
  readonly parked = new Set<number>();
  released = false;

  constructor(master: number) {
    this.master = master;
  }
}

/** A scenario's rendezvous of `count` vCPUs. */
export class Barrier {
  readonly name: string;
  readonly count: number;
  readonly arrived = new Set<number>();

  constructor(name: string, count: number) {
    this.name = name;
    this.count = count;
  }

  get open(): boolean {
    return this.arrived.size >= this.count;
  }
}
