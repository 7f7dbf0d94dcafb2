// What one scheduling step touched, for explore's partial-order reduction (docs/explore.md). Two
// steps of different vCPUs commute when neither writes what the other reads or writes.
//
// Named resources, recorded wherever they are touched (the hooks live in the few files that own
// them: spinlock.ts, ipi.ts, stop-machine.ts, barrier.ts, the runtime's waits): `L:<lock>` (its
// owner), `I:<cpu>` (its pending IPIs), `A:<cpu>` (the acks of the IPIs it sent), `S`
// (stop_machine), `B:<barrier>`, `H` (the machine halted by a BUG). Everything else — every guest
// structure, the page allocator, the names a scenario makes, and all of Xen (frames, PTEs, page
// types, TLBs) — is one resource, GLOBAL, and a step counts as writing it unless the code it ran
// declares the step `pure`. So a forgotten hook can only make the search do more work, except in
// the few pure steps and for the named resources, which docs/explore.md lists.

export const GLOBAL = 'G';

export class StepFootprint {
  readonly reads = new Set<string>();
  readonly writes = new Set<string>();
  /** False once the code declared the step pure (and touched nothing global after). */
  global = true;

  read(r: string): void {
    this.reads.add(r);
  }

  write(r: string): void {
    this.writes.add(r);
  }

  /**
   * The code since the step began touched only the resources recorded, and so will the code up
   * to its next yield (or the end of the operation). Call it only where both are known locally.
   */
  pure(): void {
    this.global = false;
  }

  /** Anything touched after `pure` that is not named: back to global. */
  touchGlobal(): void {
    this.global = true;
  }
}

/** Whether two steps (of different vCPUs) do not commute. */
export function dependent(a: StepFootprint, b: StepFootprint): boolean {
  if (a.global && b.global) return true;
  for (const w of a.writes) if (b.writes.has(w) || b.reads.has(w)) return true;
  for (const w of b.writes) if (a.reads.has(w)) return true;
  return false;
}

export function lockResource(name: string): string {
  return `L:${name}`;
}
