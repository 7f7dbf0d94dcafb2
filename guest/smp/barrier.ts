// A rendezvous for scenarios: the vCPUs that reach it spin (with the interrupt state they have)
// until `count` of them are there. It stands for "these sections overlap in time", which is what
// the irqs-off races of linux-guest.md §3.2 need, without relying on a lucky schedule.

import type { Cpu } from './cpu.ts';
import type { Co } from './co.ts';
import type { Barrier } from './types.ts';

export { Barrier } from './types.ts';

/**
 * Arrive, then spin until the rendezvous is full. The caller (runOp) runs nothing between the
 * start of its step and this call, nor after it: each step here touches the barrier only.
 */
export function* barrierWait(c: Cpu, b: Barrier): Co {
  b.arrived.add(c.id);
  c.fp?.write(`B:${b.name}`);
  c.chain.push('barrier');
  while (!b.open) {
    c.fp?.pure();
    yield { kind: 'barrier', barrier: b };
    c.fp?.read(`B:${b.name}`);
  }
  c.chain.pop();
  c.fp?.pure();
}
