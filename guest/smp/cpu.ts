// Per-vCPU kernel state: the interrupt flag (local_irq_save / restore, as in
// arch/x86/include/asm/irqflags.h, which for a PV guest masks event-channel upcalls), the IPIs
// delivered but not yet taken, and the locks held.

import type { Cpu } from './types.ts';

export { Cpu } from './types.ts';

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
