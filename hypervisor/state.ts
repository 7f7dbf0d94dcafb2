// The hypervisor's state as one object the rule files share, and the per-operation diagnostics
// (Xen's debug messages, the validation chain, the innermost type conflict) that turn a refusal
// into an explanation. Diagnostics are only written on failure paths, so success stays cheap, and
// only when the refusal will be explained (XenState.explain), so an unread refusal stays cheap too.

import type { XenVersion } from './abi.ts';
import type { Domain } from './domain.ts';
import type { FrameTable } from './frames.ts';
import type { TlbClock } from './tlb.ts';
import type { ChainLink, XenObserver } from './types.ts';

export interface XenState {
  readonly frames: FrameTable;
  readonly domains: Map<number, Domain>;
  readonly clock: TlbClock;
  readonly obs: XenObserver;
  /** opt_pv_linear_pt. */
  readonly linearPt: boolean;
  /** A debug build prints gdprintk messages (refusals carry them); a release build prints none. */
  readonly debugBuild: boolean;
  /** The release whose answers the model gives where 4.17 and master differ. */
  readonly xenVersion: XenVersion;
  /**
   * Refusals name the references that stand in the way (blockers). Finding them searches every
   * live table; a caller that reads no refusal (replay --quiet without a log) turns it off.
   */
  blockers: boolean;
  /**
   * Refusals are explained: what, reason, Xen's messages, the chain (and blockers). Off, a refusal
   * is only counted: its texts are empty, and none is made — every write to `diag` asks this
   * first (building the messages was a good part of a refused call's cost). A caller that reads
   * no refusal's words (replay --quiet without a log or a check) turns it off.
   */
  explain: boolean;
  readonly diag: Diag;
  /** M2P entries the guest set with MMU_MACHPHYS_UPDATE (the rest read as the builder's layout). */
  readonly m2p: Map<number, bigint>;
  /** Some domain was created privileged: foreign and I/O mappings in any L1 may be legal. */
  everPrivileged: boolean;
  /**
   * current->arch.old_guest_table: the partially validated table whose clean-up Xen leaves to the
   * call's continuation (put_old_guest_table), which runs before the guest sees the result. 0 = none.
   */
  oldGuestTable: number;
  /**
   * General references a release build leaks, by frame: a nested validation failure overwrote
   * old_guest_table (ASSERT_UNREACHABLE() in promote_l4_table). The audit accepts exactly these.
   */
  readonly leaked: Map<number, number>;
  /**
   * Frames that destruction and the audit looked at one by one (the used ones): the rest of a
   * domain costs them a few typed-array reads a frame. A cost counter for the tests of
   * docs/limits.md, never read by the model.
   */
  framesExamined: number;
}

export class Diag {
  /** gdprintk texts, in the order Xen would print them. */
  xen: string[] = [];
  /** Filled while unwinding: innermost table first. */
  chain: ChainLink[] = [];
  /** One line for people: the first (innermost) failure. */
  reason: string | undefined;
  /** The frame whose type or reference could not be had. */
  mfn: number | undefined;
  /** Where a debug build of Xen would have stopped (a failed ASSERT), if it would. */
  stop: string | undefined;

  reset(): void {
    // Fresh arrays only when non-empty (this runs per entry): a refusal may have taken the old
    // ones (take*), and a new empty array costs less than truncating one (a runtime call).
    if (this.xen.length > 0) this.xen = [];
    if (this.chain.length > 0) this.chain = [];
    this.reason = undefined;
    this.mfn = undefined;
    this.stop = undefined;
  }

  /** The messages so far, handed over: later ones go to a new array (a refusal keeps these, uncopied). */
  takeXen(): string[] {
    const xen = this.xen;
    if (xen.length === 0) return [];
    this.xen = [];
    return xen;
  }

  /** The chain so far, handed over like takeXen. */
  takeChain(): ChainLink[] {
    const chain = this.chain;
    if (chain.length === 0) return [];
    this.chain = [];
    return chain;
  }

  /** A reason where Xen prints nothing (an XSM denial): kept only if nothing came first. */
  note(reason: string, mfn?: number): void {
    if (this.reason === undefined) {
      this.reason = reason;
      this.mfn = mfn;
    }
  }

  /** Records a Xen message; the first one (or its plainer twin) becomes the reason. */
  fail(msg: string, reason?: string, mfn?: number): void {
    this.xen.push(msg);
    if (this.reason === undefined) {
      this.reason = reason ?? msg;
      this.mfn = mfn;
    }
  }
}
