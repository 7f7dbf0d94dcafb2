// Cross-vCPU function calls as 2.6.28 has them (kernel/smp.c smp_call_function_mask,
// include/linux/smp.h on_each_cpu) over Xen event channels (arch/x86/xen/smp.c
// xen_smp_send_call_function_ipi): the target runs the function only when its interrupts are
// enabled; a sender with wait=1 spins until every target has run it.

import { localIrqDisable, localIrqEnable, localIrqRestore, type Cpu } from './cpu.ts';
import { frame, kernelFn, type Co } from './co.ts';
import type { Smp } from './smp.ts';
import { CallData } from './types.ts';

export { CallData } from './types.ts';

/**
 * smp_call_function_mask: WARN_ON(irqs_disabled()) first (even with no other vCPU), then the IPI
 * to every target, then with wait the csd_flag_wait spin.
 */
export const smpCallFunctionMask = kernelFn('smp_call_function_mask', function* (
  k: Smp,
  c: Cpu,
  targets: readonly number[],
  func: string,
  run: (t: Cpu) => void,
  wait: boolean,
): Co {
  if (!c.irqsEnabled) k.warnOn(c, 'smp_call_function_mask', 'WARN_ON(irqs_disabled()): IPI sent with interrupts off');
  const others = targets.filter((t) => t !== c.id);
  if (others.length === 0) return;
  const csd = new CallData(func, run, c.id, others);
  for (const t of others) {
    k.cpus[t]!.pendingIpis.push(csd);
    c.fp?.write(`I:${t}`);
  }
  c.fp?.write(`A:${c.id}`);
  k.emit({ event: 'ipi_send', vcpu: c.id, targets: others, func, wait });
  if (wait) {
    // 2.6.28's csd_flag_wait: the frame a stuck sender's call chain ends in.
    c.chain.push('csd_flag_wait');
    while (csd.pending.size > 0) {
      yield { kind: 'ack', csd };
      c.fp?.read(`A:${c.id}`);
    }
    c.chain.pop();
  }
});

/** smp_call_function: every other online vCPU. */
export function smpCallFunction(k: Smp, c: Cpu, func: string, run: (t: Cpu) => void, wait: boolean): Co {
  return frame(c, 'smp_call_function', smpCallFunctionMask(k, c, k.cpus.map((t) => t.id), func, run, wait));
}

/**
 * on_each_cpu: the others by IPI, then locally with interrupts off — and 2.6.28 then enables
 * interrupts unconditionally, even for a caller that had them off (the onEachCpuIrq knob).
 */
export const onEachCpu = kernelFn('on_each_cpu', function* (k: Smp, c: Cpu, func: string, run: (t: Cpu) => void, wait: boolean): Co {
  yield* smpCallFunction(k, c, func, run, wait);
  const was = c.irqsEnabled;
  localIrqDisable(c);
  run(c);
  if (k.policy.onEachCpuIrq === 'force_enable') {
    localIrqEnable(c);
    if (!was) k.emit({ event: 'irq', vcpu: c.id, enabled: true, why: 'on_each_cpu re-enabled interrupts the caller had disabled' });
  } else {
    localIrqRestore(c, was);
  }
});

/** The target side: take one pending IPI (interrupts are on), run it, acknowledge. */
export function handleIpi(k: Smp, t: Cpu): void {
  t.fp?.write(`I:${t.id}`);
  const csd = t.pendingIpis.shift();
  if (!csd) return;
  t.fp?.write(`A:${csd.from}`);
  const was = t.irqsEnabled;
  t.irqsEnabled = false;
  csd.run(t);
  t.irqsEnabled = was;
  csd.pending.delete(t.id);
  k.emit({ event: 'ipi_ack', vcpu: t.id, from: csd.from, func: csd.func });
}
