// What the guest kernel reports beside the hypercall stream: the alias kills, IPIs, WARNs, BUGs,
// hazards and deadlocks a developer looks for. src/ turns each into one pino line.

import type { Refusal } from '../hypervisor/index.ts';

export interface WaitEdge {
  vcpu: number;
  waitsFor: number;
  /** "spins on purge_lock held by vCPU1", "waits for vCPU1 to ack IPI do_flush_tlb_all (vCPU1 has interrupts off)". */
  why: string;
  /**
   * Where the waiting vCPU is stuck: its kernel call chain, outermost first, innermost (the wait:
   * csd_flag_wait, spin_lock, …) last — e.g. xen_pgd_pin → __xen_pgd_pin → vm_unmap_aliases → …
   */
  chain: string[];
}

export type GuestEvent =
  /** The run's phases: the scenario's setup on vCPU 0, then the interleaved programs. */
  | { event: 'phase'; phase: 'setup' | 'programs' }
  | { event: 'op_start'; vcpu: number; operation: string }
  | { event: 'op_end'; vcpu: number; operation: string }
  | {
      event: 'vm_unmap_aliases';
      vcpu: number;
      /** The caller: vm_unmap_aliases() is __vm_unmap_aliases(1). */
      allow_flush: boolean;
      flush: 'never' | 'if_needed' | 'force';
      site: string;
      irqs_enabled: boolean;
      dirty_pages: number;
    }
  | {
      event: 'purge';
      vcpu: number;
      sync: boolean;
      flush: 'never' | 'if_needed' | 'force';
      /** Lazy areas unmapped and freed, in pages. */
      purged_pages: number;
      areas: number;
      flushed: boolean;
      /** The trylock failed: another purge was running. */
      skipped?: boolean;
    }
  | { event: 'tlb_flush_kernel'; vcpu: number; via: 'ipi' | 'hypercall'; start: string; end: string }
  | { event: 'ipi_send'; vcpu: number; targets: number[]; func: string; wait: boolean }
  | { event: 'ipi_ack'; vcpu: number; from: number; func: string }
  | { event: 'irq'; vcpu: number; enabled: boolean; why: string }
  | { event: 'warn'; vcpu: number; where: string; message: string }
  | { event: 'bug'; vcpu: number; where: string; message: string; refusal?: Refusal; detail?: string[] }
  | {
      event: 'va_hazard';
      vcpu: number;
      kind: 'freed_unflushed' | 'reused_stale';
      start: string;
      end: string;
      /** vCPUs whose TLB still holds a translation in the range. */
      stale_vcpus: number[];
    }
  | { event: 'exchange'; vcpu: number; pages: number; ok: boolean; refusal?: Refusal }
  | { event: 'stop_machine'; vcpu: number; phase: 'start' | 'run' | 'end' }
  | { event: 'deadlock'; cycle: WaitEdge[]; waits: WaitEdge[] };

export type GuestEventSink = (e: GuestEvent) => void;
