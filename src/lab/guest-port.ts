// The guest's HypercallPort over the simulated Xen. Every call is handed on unchanged; `onRecord`
// sees each one as the trace record it is (so a guest run's log replays with `xensim replay`).

import type { HypercallPort } from '../../guest/port.ts';
import type { AccessResult, Caller, CallResult, DomainSpec, Hypercall, Hypervisor } from '../../hypervisor/index.ts';

export type PortRecord =
  | { op: 'create_domain'; spec: DomainSpec }
  | { op: 'store'; caller: Caller; mfn: number; slot: number; val: bigint; count: number; stride: bigint; rc: number }
  | { op: 'hypercall'; caller: Caller; call: Hypercall; result: CallResult }
  | { op: 'memory_exchange'; caller: Caller; mfns: number[]; result: CallResult }
  | { op: 'access'; caller: Caller; va: bigint; write: boolean; result: AccessResult };

export function hypervisorPort(hv: Hypervisor, onRecord?: (r: PortRecord) => void): HypercallPort {
  return {
    createDomain(spec) {
      hv.createDomain(spec);
      onRecord?.({ op: 'create_domain', spec });
    },
    store(caller, mfn, slot, val, count = 1, stride = 0n) {
      const rc = hv.store(caller, mfn, slot, val, count, stride);
      onRecord?.({ op: 'store', caller, mfn, slot, val, count, stride, rc });
      return rc;
    },
    hypercall(caller, call) {
      const result = hv.hypercall(caller, call);
      onRecord?.({ op: 'hypercall', caller, call, result });
      return result;
    },
    memoryExchange(caller, mfns) {
      const result = hv.memoryExchange(caller, mfns);
      onRecord?.({ op: 'memory_exchange', caller, mfns, result });
      return result;
    },
    access(caller, va, write) {
      const result = hv.access(caller, va, write);
      onRecord?.({ op: 'access', caller, va, write, result });
      return result;
    },
    tlbProbe(caller, va) {
      return hv.tlbProbe(caller, va);
    },
  };
}
