// The verdict of one guest run, counted from what crossed the port (hypercalls and their results),
// what Xen reported (its own flushes) and the guest's events. Stable field names: `run --json`,
// `compare --json` and the tests read them.

import type { GuestEvent, WaitEdge } from '../../guest/events.ts';
import type { RunResult } from '../../guest/kernel.ts';
import { MMUEXT, uvmfType, type CallResult, type FlushEvent, type Hypercall, type Refusal } from '../../hypervisor/index.ts';
import type { PortRecord } from './guest-port.ts';
import { blockerText as lineBlockerText } from '../log/line.ts';
import { holderJson, type BlameHolder } from '../log/write.ts';

/**
 * A deadlock's waits for people: each edge, and under the last edge of each vCPU its kernel call
 * chain, innermost last ("    in xen_pgd_pin → … → csd_flag_wait").
 */
export function deadlockLines(edges: readonly WaitEdge[], indent = '  '): string[] {
  const lines: string[] = [];
  edges.forEach((e, i) => {
    lines.push(`${indent}vCPU${e.vcpu} ${e.why}`);
    const chain = e.chain ?? [];
    if (chain.length > 0 && edges[i + 1]?.vcpu !== e.vcpu) lines.push(`${indent}  in ${chain.join(' → ')}`);
  });
  return lines;
}

export interface RefusalBrief {
  what: string;
  reason: string;
  /** "L1 0x1009 slot 59 (rw)", "pin", "cr3 d1v1", … */
  blockers: string[];
}

export interface Verdict {
  scenario: string;
  policy: string;
  seed: number;
  vcpus: number;
  outcome: RunResult['outcome'];
  steps: number;
  pins: { ok: number; refused: number };
  refusals: RefusalBrief[];
  ipis: number;
  flush_hypercalls: number;
  xen_flushes: number;
  warnings: number;
  warning_sites: string[];
  va_hazards: number;
  /** The first hazards (at most HAZARDS_KEPT): what kind, the range, the vCPUs whose TLBs are stale. */
  hazards: HazardBrief[];
  exchanges: { ok: number; refused: number };
  bug: { vcpu: number; where: string; message: string; detail: string[] } | null;
  deadlock: WaitEdge[] | null;
  schedule: number[];
}

const PIN_CMDS = new Set<number>([MMUEXT.pin_l1_table, MMUEXT.pin_l2_table, MMUEXT.pin_l3_table, MMUEXT.pin_l4_table]);
const FLUSH_CMDS = new Set<number>([
  MMUEXT.tlb_flush_local,
  MMUEXT.invlpg_local,
  MMUEXT.tlb_flush_multi,
  MMUEXT.invlpg_multi,
  MMUEXT.tlb_flush_all,
  MMUEXT.invlpg_all,
]);

/**
 * A blocker in words, the same words as the log readers use (src/log/line.ts), with the guest's
 * name for the mapping where the run added one: "L1 0x1009 slot 3 (va 0xffffc20000003000: vm_map_ram
 * … ) maps it writable".
 */
/** A VA hazard as the verdict shows it. */
export interface HazardBrief {
  vcpu: number;
  kind: 'freed_unflushed' | 'reused_stale';
  start: string;
  end: string;
  stale_vcpus: number[];
}
/** Hazards listed in a verdict; the count goes on past it. */
const HAZARDS_KEPT = 8;

export function blockerText(b: BlameHolder): string {
  return lineBlockerText(holderJson(b), b.dom);
}

export class VerdictCounter {
  pinsOk = 0;
  pinsRefused = 0;
  flushHypercalls = 0;
  xenFlushes = 0;
  ipis = 0;
  warnings = 0;
  readonly warningSites = new Set<string>();
  vaHazards = 0;
  readonly hazards: HazardBrief[] = [];
  exchangesOk = 0;
  exchangesRefused = 0;
  readonly refusals: RefusalBrief[] = [];
  private bugDetail: string[] = [];

  private reset(): void {
    this.pinsOk = this.pinsRefused = this.flushHypercalls = this.xenFlushes = this.ipis = 0;
    this.warnings = this.vaHazards = this.exchangesOk = this.exchangesRefused = 0;
    this.hazards.length = 0;
    this.warningSites.clear();
    this.refusals.length = 0;
  }

  port(r: PortRecord): void {
    if (r.op === 'hypercall') {
      this.call(r.call, r.result.rc, r.result);
      for (const f of r.result.refusals) {
        this.refusals.push({ what: f.what, reason: f.reason, blockers: f.blockers.map(blockerText) });
      }
    }
  }

  /** Counts pins and guest flush requests inside one call, by which of its entries succeeded. */
  private call(call: Hypercall, rc: number, result?: CallResult): void {
    switch (call.op) {
      case 'mmuext_op': {
        const done = result?.done ?? (rc === 0 ? call.ops.length : 0);
        call.ops.forEach((op, i) => {
          const ok = i < done;
          const failed = i === done && rc < 0;
          if (PIN_CMDS.has(op.cmd)) {
            if (ok) this.pinsOk++;
            else if (failed) this.pinsRefused++;
          }
          if (FLUSH_CMDS.has(op.cmd) && ok) this.flushHypercalls++;
        });
        return;
      }
      case 'update_va_mapping':
        if (rc === 0 && uvmfType(call.flags) !== 0) this.flushHypercalls++;
        return;
      case 'multicall':
        call.calls.forEach((c, i) => this.call(c, result?.results?.[i] ?? 0));
        return;
      case 'mmu_update':
        return;
    }
  }

  xenFlush(e: FlushEvent): void {
    if (e.cause === 'type_change' || e.cause === 'l2plus_update' || e.cause === 'realloc') this.xenFlushes++;
  }

  event(e: GuestEvent): void {
    switch (e.event) {
      case 'phase':
        // The verdict is about the programs; the setup only builds the starting state.
        if (e.phase === 'programs') this.reset();
        return;
      case 'ipi_send':
        this.ipis += e.targets.length;
        return;
      case 'warn':
        this.warnings++;
        this.warningSites.add(e.where);
        return;
      case 'va_hazard':
        this.vaHazards++;
        if (this.hazards.length < HAZARDS_KEPT) this.hazards.push({ vcpu: e.vcpu, kind: e.kind, start: e.start, end: e.end, stale_vcpus: [...e.stale_vcpus] });
        return;
      case 'exchange':
        if (e.ok) this.exchangesOk++;
        else this.exchangesRefused++;
        return;
      case 'bug':
        this.bugDetail = e.detail ?? [];
        return;
      default:
        return;
    }
  }

  verdict(scenario: string, policy: string, seed: number, vcpus: number, r: RunResult): Verdict {
    return {
      scenario,
      policy,
      seed,
      vcpus,
      outcome: r.outcome,
      steps: r.steps,
      pins: { ok: this.pinsOk, refused: this.pinsRefused },
      refusals: this.refusals,
      ipis: this.ipis,
      flush_hypercalls: this.flushHypercalls,
      xen_flushes: this.xenFlushes,
      warnings: this.warnings,
      warning_sites: [...this.warningSites].sort(),
      va_hazards: this.vaHazards,
      hazards: [...this.hazards],
      exchanges: { ok: this.exchangesOk, refused: this.exchangesRefused },
      bug: r.bug ? { ...r.bug, detail: this.bugDetail } : null,
      deadlock: r.deadlock?.cycle ?? null,
      schedule: r.schedule,
    };
  }
}
