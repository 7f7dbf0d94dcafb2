// Boots the guest kernel on the real simulated Xen (no mocks) and records what happens.

import type { GuestEvent } from '../../guest/events.ts';
import { Kernel, type RunOptions, type RunResult } from '../../guest/kernel.ts';
import type { Op } from '../../guest/ops.ts';
import { makePolicy } from '../../guest/policy.ts';
import { Hypervisor } from '../../hypervisor/index.ts';
import { hypervisorPort, type PortRecord } from '../../src/lab/guest-port.ts';

export interface Booted {
  hv: Hypervisor;
  k: Kernel;
  events: GuestEvent[];
  records: PortRecord[];
  run(programs: Op[][], opts?: Partial<RunOptions>, setup?: Op[]): RunResult;
  of<T extends GuestEvent['event']>(kind: T): Extract<GuestEvent, { event: T }>[];
}

export function boot(opts: { preset?: string; set?: string[]; vcpus?: number; memoryPages?: number; vmallocPages?: number; vmallocInitialized?: boolean } = {}): Booted {
  const hv = new Hypervisor();
  const events: GuestEvent[] = [];
  const records: PortRecord[] = [];
  const k = new Kernel(
    {
      vcpus: opts.vcpus ?? 2,
      memoryPages: opts.memoryPages ?? 2048,
      vmallocPages: opts.vmallocPages ?? 4096,
      policy: makePolicy(opts.preset ?? 'linux-2.6.28', opts.set ?? []),
      vmallocInitialized: opts.vmallocInitialized ?? true,
    },
    hypervisorPort(hv, (r) => records.push(r)),
    (e) => events.push(e),
  );
  return {
    hv,
    k,
    events,
    records,
    run: (programs, o = {}, setup = []) => k.run(programs, { seed: 1, ...o }, setup),
    of: (kind) => events.filter((e) => e.event === kind) as never,
  };
}

/** Every refused hypercall entry the guest made, with its refusal. */
export function refusals(b: Booted) {
  return b.records.flatMap((r) => (r.op === 'hypercall' ? r.result.refusals : []));
}
