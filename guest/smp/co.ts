// Kernel code as coroutines. A kernel function is a generator that runs without interruption
// between its yields; each yield is a point where another vCPU may run, or where this one cannot
// go on (a spinning lock, an IPI it waits for, stop_machine). The scheduler resumes a coroutine
// only when what it waits for has happened.

import { lockResource } from './footprint.ts';
import type { Barrier, CallData, Cpu, Spinlock, StopMachine } from './types.ts';

export type Wait =
  /** A scheduling point: nothing is awaited, another vCPU may run first. */
  | { kind: 'preempt' }
  /** Spinning on a lock another vCPU holds (a mutex: sleeping, so interrupts can be taken). */
  | { kind: 'spin'; lock: Spinlock }
  /** csd_flag_wait: waiting until every target of an IPI has run the function. */
  | { kind: 'ack'; csd: CallData }
  /** stop_machine's master, waiting for the other vCPUs to park. */
  | { kind: 'stop_wait'; stop: StopMachine }
  /** Parked in stop_cpu with interrupts off until the master releases the machine. */
  | { kind: 'parked'; stop: StopMachine }
  /** A scenario's rendezvous: spinning until every vCPU it names has arrived. */
  | { kind: 'barrier'; barrier: Barrier };

export type Co<T = void> = Generator<Wait, T, void>;

export const PREEMPT: Wait = { kind: 'preempt' };

/**
 * `body` run as the kernel function `name` on c's call chain: pushed when it starts, popped when
 * it returns (or a BUG unwinds it). What a deadlock report prints for each vCPU.
 */
export function* frame<T>(c: Cpu, name: string, body: Co<T>): Co<T> {
  c.chain.push(name);
  try {
    return yield* body;
  } finally {
    c.chain.pop();
  }
}

/** A kernel function `(k, c, …)` whose every call is a frame on c's call chain. */
export function kernelFn<K, A extends unknown[], T>(
  name: string,
  fn: (k: K, c: Cpu, ...rest: A) => Co<T>,
): (k: K, c: Cpu, ...rest: A) => Co<T> {
  return (k, c, ...rest) => frame(c, name, fn(k, c, ...rest));
}

/** The resource a vCPU's wait is on (its resumption reads it). */
export function waitResource(w: Wait): string | null {
  switch (w.kind) {
    case 'spin':
      return lockResource(w.lock.name);
    case 'ack':
      return `A:${w.csd.from}`;
    case 'stop_wait':
    case 'parked':
      return 'S';
    case 'barrier':
      return `B:${w.barrier.name}`;
    case 'preempt':
      return null;
  }
}
