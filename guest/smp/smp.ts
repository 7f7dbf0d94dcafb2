// What SMP code needs of the kernel: its vCPUs, the policy, a running stop_machine, and where to
// report events and WARNs (WARN_ON every time, or WARN_ON_ONCE per site, by kernel version).

import type { GuestEvent } from '../events.ts';
import type { Policy } from '../policy.ts';
import type { Cpu, StopMachine } from './types.ts';

export interface Smp {
  readonly cpus: readonly Cpu[];
  readonly policy: Policy;
  stop: StopMachine | null;
  emit(e: GuestEvent): void;
  warnOn(c: Cpu, where: string, msg: string): void;
}
