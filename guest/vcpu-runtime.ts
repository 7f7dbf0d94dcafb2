// What the vCPU machine acts on: the program (a list of kernel operations), the coroutine of the
// operation in progress and what it waits for, and the interrupt check. Waits are re-checked each
// time the scheduler asks (a spinning vCPU retries; an IPI sender looks at its acknowledgements).

import { KernelBug } from './bug.ts';
import type { GuestEvent } from './events.ts';
import { describeOp, runOp, ScenarioError, type Op, type OpsCtx } from './ops.ts';
import type { Co, Wait } from './smp/co.ts';
import type { Cpu } from './smp/cpu.ts';
import { handleIpi } from './smp/ipi.ts';
import { mustPark, park } from './smp/stop-machine.ts';

export class VcpuRuntime {
  readonly k: OpsCtx;
  readonly cpu: Cpu;
  readonly program: readonly Op[];
  pc = 0;
  co: Co | null = null;
  /** What the coroutine waits for (null: it can go on). */
  wait: Wait | null = null;
  current: string | null = null;
  crashed: KernelBug | null = null;

  constructor(k: OpsCtx, cpu: Cpu, program: readonly Op[]) {
    this.k = k;
    this.cpu = cpu;
    this.program = program;
  }

  /** An interrupt is pending and can be taken now (a sleeping lock waiter sleeps with them on). */
  interruptible(): boolean {
    if (this.cpu.pendingIpis.length === 0 || this.crashed) return false;
    return this.cpu.irqsEnabled || (this.wait?.kind === 'spin' && this.wait.lock.sleeping);
  }

  mustPark(): boolean {
    return this.co === null && mustPark(this.k, this.cpu);
  }

  hasNextOp(): boolean {
    return this.co === null && this.pc < this.program.length && this.k.stop === null;
  }

  busy(): boolean {
    return this.co !== null;
  }

  /** Whether the awaited thing has not happened yet. */
  blocked(): boolean {
    const w = this.wait;
    if (!w) return false;
    switch (w.kind) {
      case 'preempt':
        return false;
      case 'spin':
        return w.lock.owner !== null;
      case 'ack':
        return w.csd.pending.size > 0;
      case 'stop_wait':
        return w.stop.parked.size < this.k.cpus.length - 1;
      case 'parked':
        return !w.stop.released;
      case 'barrier':
        return !w.barrier.open;
    }
  }

  /** Done: nothing left to run and nothing pending. */
  finished(): boolean {
    return this.co === null && this.pc >= this.program.length && this.cpu.pendingIpis.length === 0;
  }

  takeInterrupt(): void {
    this.guard(() => handleIpi(this.k, this.cpu));
  }

  startPark(): void {
    this.co = park(this.k, this.cpu);
    this.current = 'stop_machine park';
  }

  startOp(): void {
    const op = this.program[this.pc++]!;
    this.current = describeOp(op);
    this.k.emit({ event: 'op_start', vcpu: this.cpu.id, operation: this.current });
    this.co = runOp(this.k, this.cpu, op);
  }

  advance(): void {
    const co = this.co;
    if (!co) return;
    this.guard(() => {
      const r = co.next();
      if (r.done) {
        if (this.current && this.current !== 'stop_machine park') {
          this.k.emit({ event: 'op_end', vcpu: this.cpu.id, operation: this.current });
        }
        this.co = null;
        this.wait = null;
        this.current = null;
      } else {
        this.wait = r.value.kind === 'preempt' ? null : r.value;
      }
    });
  }

  /** A BUG stops this vCPU (and the run); anything else is the simulator's own failure. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof ScenarioError && e.op === undefined && this.co !== null && this.current !== 'stop_machine park') {
        e.op = { program: this.cpu.id, index: this.pc - 1 };
      }
      if (!(e instanceof KernelBug)) throw e;
      this.crashed = e;
      this.co = null;
      this.wait = null;
      const ev: GuestEvent = {
        event: 'bug',
        vcpu: this.cpu.id,
        where: e.where,
        message: e.message,
        detail: e.detail,
      };
      if (e.refusal) ev.refusal = e.refusal;
      this.k.emit(ev);
    }
  }
}
