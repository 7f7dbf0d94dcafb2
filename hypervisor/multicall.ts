// HYPERVISOR_multicall (hypercall 13). Models do_multicall in xen/common/multicall.c: every entry
// runs in order and gets its own result; a failing entry does not stop the batch; a nested
// multicall is refused with -EINVAL ("Multicall reentry is disallowed."); the call itself returns 0.

import { EINVAL } from './abi.ts';
import type { XenState } from './state.ts';
import type { Hypercall } from './types.ts';

export function doMulticall(
  x: XenState,
  calls: readonly Hypercall[],
  run: (call: Hypercall, index: number) => number,
  refuseNested: (index: number) => void,
): { rc: number; results: number[] } {
  const results: number[] = [];
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i]!;
    if (call.op === 'multicall') {
      x.diag.reset();
      if (x.explain) x.diag.fail('Multicall reentry is disallowed.');
      refuseNested(i);
      results.push(EINVAL);
    } else {
      results.push(run(call, i));
    }
  }
  return { rc: 0, results };
}
