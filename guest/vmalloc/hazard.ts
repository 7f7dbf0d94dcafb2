// The VA-reuse hazard of the seed patch's PURGE_FLUSH_NEVER (Nick Piggin's objection): a lazy
// area's range goes back to the allocator while some vCPU's TLB still translates it, so a later
// vmap of the range can be reached through a stale entry. The simulator checks the vCPUs' real
// (simulated) TLBs through the port's probe: this is the tool's hindsight, not kernel code.

import type { Caller } from '../../hypervisor/index.ts';
import type { GuestEvent } from '../events.ts';
import type { HypercallPort } from '../port.ts';
import type { Cpu } from '../smp/cpu.ts';
import { vaOf } from './vmap-area.ts';
import type { VmapState } from './vmap-state.ts';

/** What the hazard check uses: the vCPUs, the port's TLB probe, the unflushed pages, the report. */
export interface HazardCtx {
  readonly cpus: readonly Cpu[];
  readonly port: HypercallPort;
  readonly vmap: VmapState;
  caller(c: Cpu): Caller;
  emit(e: GuestEvent): void;
}

/** The vCPUs whose TLB still holds a translation for some page of [start, end). */
export function staleVcpus(k: HazardCtx, start: number, end: number): number[] {
  const out: number[] = [];
  for (const t of k.cpus) {
    for (let i = start; i < end; i++) {
      if (k.port.tlbProbe(k.caller(t), vaOf(i))) {
        out.push(t.id);
        break;
      }
    }
  }
  return out;
}

function hex(idx: number): string {
  return '0x' + vaOf(idx).toString(16);
}

/** A lazy area freed without a flush: remember its pages; a hazard if a TLB still maps them. */
export function noteFreedUnflushed(k: HazardCtx, c: Cpu, start: number, end: number): void {
  for (let i = start; i < end; i++) k.vmap.unflushed.add(i);
  const stale = staleVcpus(k, start, end);
  if (stale.length > 0) {
    k.emit({ event: 'va_hazard', vcpu: c.id, kind: 'freed_unflushed', start: hex(start), end: hex(end), stale_vcpus: stale });
  }
}

/** A new mapping at [start, end): reusing an unflushed range while a TLB still maps it. */
export function checkReuse(k: HazardCtx, c: Cpu, start: number, end: number): void {
  let reused = false;
  for (let i = start; i < end; i++) if (k.vmap.unflushed.delete(i)) reused = true;
  if (!reused) return;
  const stale = staleVcpus(k, start, end);
  if (stale.length > 0) {
    k.emit({ event: 'va_hazard', vcpu: c.id, kind: 'reused_stale', start: hex(start), end: hex(end), stale_vcpus: stale });
  }
}
