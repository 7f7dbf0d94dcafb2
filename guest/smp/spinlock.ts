// Spinlocks that really spin: a vCPU that finds the lock taken stays in its loop (with whatever
// interrupt state it had) until the holder lets go. Models include/linux/spinlock.h semantics:
// spin_lock, spin_trylock, spin_unlock, spin_lock_irqsave / irqrestore. A `mutex` (modern
// vmap_purge_lock) sleeps instead, so its waiter's vCPU can still take interrupts.

import { localIrqRestore, localIrqSave, type Cpu } from './cpu.ts';
import { PREEMPT, type Co } from './co.ts';
import { lockResource } from './footprint.ts';
import type { Spinlock } from './types.ts';

export { Spinlock } from './types.ts';

export class LockError extends Error {
  override name = 'LockError';
}

/** spin_lock: a scheduling point, then spin until the lock is free. */
export function* spinLock(c: Cpu, lock: Spinlock): Co {
  yield PREEMPT;
  const r = lockResource(lock.name);
  c.fp?.read(r);
  if (lock.owner === c.id) throw new LockError(`BUG: spinlock recursion on ${lock.name}, cpu ${c.id}`);
  if (lock.owner !== null) {
    // Only while it spins: the frame a deadlock finds it in.
    c.chain.push(lock.sleeping ? 'mutex_lock' : 'spin_lock');
    while (lock.owner !== null) {
      // This step began at one of this function's two yields and only looked at the owner.
      c.fp?.pure();
      yield { kind: 'spin', lock };
      c.fp?.read(r);
    }
    c.chain.pop();
  }
  lock.owner = c.id;
  c.fp?.write(r);
  c.locksHeld.push(lock);
}

/** spin_trylock: takes the lock only if it is free right now. */
export function spinTrylock(c: Cpu, lock: Spinlock): boolean {
  c.fp?.read(lockResource(lock.name));
  if (lock.owner !== null) return false;
  lock.owner = c.id;
  c.fp?.write(lockResource(lock.name));
  c.locksHeld.push(lock);
  return true;
}

export function spinUnlock(c: Cpu, lock: Spinlock): void {
  if (lock.owner !== c.id) throw new LockError(`BUG: ${lock.name} unlocked by cpu ${c.id}, held by ${lock.owner}`);
  lock.owner = null;
  c.fp?.write(lockResource(lock.name));
  c.locksHeld.splice(c.locksHeld.lastIndexOf(lock), 1);
}

/** spin_lock_irqsave: interrupts off first, then the lock; returns the saved flags. */
export function* spinLockIrqsave(c: Cpu, lock: Spinlock): Co<boolean> {
  const flags = localIrqSave(c);
  yield* spinLock(c, lock);
  return flags;
}

export function spinUnlockIrqrestore(c: Cpu, lock: Spinlock, flags: boolean): void {
  spinUnlock(c, lock);
  localIrqRestore(c, flags);
}
