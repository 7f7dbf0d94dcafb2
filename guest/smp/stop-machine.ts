// stop_machine (kernel/stop_machine.c, 2.6.28): the other vCPUs park in stop_cpu with interrupts
// disabled while the master runs fn, also with interrupts off. A parked vCPU takes no IPI.

import { localIrqRestore, localIrqSave, type Cpu } from './cpu.ts';
import { kernelFn, type Co } from './co.ts';
import type { Smp } from './smp.ts';
import { StopMachine } from './types.ts';

export { StopMachine } from './types.ts';

export const stopMachine = kernelFn('stop_machine', function* (k: Smp, c: Cpu, fn: () => Co): Co {
  const stop = new StopMachine(c.id);
  k.stop = stop;
  c.fp?.write('S');
  k.emit({ event: 'stop_machine', vcpu: c.id, phase: 'start' });
  while (stop.parked.size < k.cpus.length - 1) {
    yield { kind: 'stop_wait', stop };
    c.fp?.read('S');
  }
  const flags = localIrqSave(c);
  k.emit({ event: 'stop_machine', vcpu: c.id, phase: 'run' });
  try {
    yield* fn();
  } finally {
    localIrqRestore(c, flags);
    stop.released = true;
    k.stop = null;
    c.fp?.write('S');
  }
  k.emit({ event: 'stop_machine', vcpu: c.id, phase: 'end' });
});

/** Whether this vCPU owes stop_machine a park (checked between operations and when idle). */
export function mustPark(k: Smp, c: Cpu): boolean {
  return k.stop !== null && k.stop.master !== c.id && !k.stop.released && !k.stop.parked.has(c.id);
}

/** stop_cpu: interrupts off, spin until released. Each of its steps touches stop_machine only. */
export const park = kernelFn('stop_cpu', function* (k: Smp, c: Cpu): Co {
  const stop = k.stop!;
  const flags = localIrqSave(c);
  stop.parked.add(c.id);
  c.fp?.write('S');
  while (!stop.released) {
    c.fp?.pure();
    yield { kind: 'parked', stop };
    c.fp?.read('S');
  }
  stop.parked.delete(c.id);
  c.fp?.write('S');
  localIrqRestore(c, flags);
  c.fp?.pure();
});
