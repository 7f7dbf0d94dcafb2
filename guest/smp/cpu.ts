// Per-vCPU kernel state: the interrupt flag (local_irq_save / restore, as in
// arch/x86/include/asm/irqflags.h, which for a PV guest masks event-channel upcalls), the IPIs
// delivered but not yet taken, and the locks held.

import type { StepFootprint } from './footprint.ts';
import type { CallData } from './ipi.ts';
import type { Spinlock } from './spinlock.ts';

export class Cpu {
  readonly id: number;
  /** Event-channel upcalls unmasked: the vCPU takes interrupts (IPIs) at its next step. */
  irqsEnabled = true;
  /** IPIs sent to this vCPU and not yet handled. */
  readonly pendingIpis: CallData[] = [];
  readonly locksHeld: Spinlock[] = [];
  /** What the step this vCPU is taking touches (set by the kernel only while explore records). */
  fp: StepFootprint | null = null;

  constructor(id: number) {
    this.id = id;
  }
}

/** local_irq_save: returns the previous state and disables interrupts. */
export function localIrqSave(c: Cpu): boolean {
  const was = c.irqsEnabled;
  c.irqsEnabled = false;
  return was;
}

/** local_irq_restore: puts back what local_irq_save returned. */
export function localIrqRestore(c: Cpu, flags: boolean): void {
  c.irqsEnabled = flags;
}

export function localIrqDisable(c: Cpu): void {
  c.irqsEnabled = false;
}

export function localIrqEnable(c: Cpu): void {
  c.irqsEnabled = true;
}
