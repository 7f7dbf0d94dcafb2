// One trace record against the simulated Xen: who makes it (the caller), and what Xen answers.
import { Hypervisor } from '../../hypervisor/index.ts';
import type { Caller } from '../../hypervisor/types.ts';
import { TraceError } from '../trace/fields.ts';
import type { RecordResult } from '../trace/result.ts';
import { hasCaller, type TraceRecord } from '../trace/types.ts';

/**
 * Callers, made once each and frozen (nothing changes a caller): by dom, then vcpu. A record's
 * caller was an object per record.
 */
const callers = new Map<number, Caller[]>();
const NO_CALLER: Caller = Object.freeze({ dom: 0, vcpu: 0 });

/** The caller of a record: dom defaults to the first domain created, vcpu to 0. */
export function callerOf(hv: Hypervisor, rec: TraceRecord, path: string, line: number): Caller {
  if (!hasCaller(rec)) return NO_CALLER;
  const dom = rec.dom ?? hv.firstDomain();
  if (dom === undefined) {
    throw new TraceError(path, line, 'field "dom": no domain to act as: no create_domain before this record', 'dom');
  }
  const vcpu = rec.vcpu ?? 0;
  let byVcpu = callers.get(dom);
  if (byVcpu === undefined) callers.set(dom, (byVcpu = []));
  return (byVcpu[vcpu] ??= Object.freeze({ dom, vcpu }));
}

/** Runs one record against Xen and returns its result. Throws SetupError (and model bugs). */
export function execute(hv: Hypervisor, rec: TraceRecord, caller: Caller): RecordResult {
  switch (rec.op) {
    case 'create_domain': {
      hv.createDomain({
        domid: rec.domid,
        vcpus: rec.vcpus,
        base: rec.frames.base,
        count: rec.frames.count,
        privileged: rec.privileged,
        hardware: rec.hardware,
        writablePagetables: rec.writable_pagetables,
      });
      return { rc: 0 };
    }
    case 'destroy_domain':
      hv.destroyDomain(rec.domid);
      return { rc: 0 };
    case 'store':
      return { rc: hv.store(caller, rec.mfn, rec.slot, rec.val, rec.count, rec.stride) };
    case 'decrease_reservation':
      return { rc: hv.decreaseReservation(caller, rec.mfns) };
    case 'memory_exchange': {
      const r = hv.memoryExchange(caller, rec.mfns);
      return { rc: r.rc, refusals: r.refusals };
    }
    case 'set_gdt': {
      const r = hv.setGdt(caller, rec.frames, rec.entries);
      return { rc: r.rc, refusals: r.refusals };
    }
    case 'frame':
      return { rc: 0, frame: hv.frame(rec.mfn) };
    case 'read': {
      const val = hv.read(rec.mfn, rec.slot);
      // The entry's frame number (bits 12–51) and present bit.
      return { rc: 0, val, mfn: Number((val >> 12n) & 0xff_ffff_ffffn), present: (val & 1n) === 1n };
    }
    case 'access':
      // Its keys in the result's order: rc, mfn and writable (when mapped), tlb_hit, stale.
      return hv.access(caller, rec.va, rec.write);
    case 'audit':
      return { rc: 0, mismatches: hv.audit() };
    default:
      // Xen's answer is the result as it is: rc, done, results, refusals, in that order.
      return hv.hypercall(caller, rec);
  }
}
