// vm_unmap_aliases / __vm_unmap_aliases(allow_flush), the seed patch's form of 2.6.28
// mm/vmalloc.c: unmap the dirty runs of the per-cpu blocks (free lists only, in 2008), then a
// synchronous purge whose flush is FORCE if a block was dirty, IF_NEEDED otherwise — or NEVER when
// the caller passes allow_flush = 0. vm_unmap_aliases() is __vm_unmap_aliases(1).

import { KernelBug } from '../bug.ts';
import type { Cpu } from '../smp/cpu.ts';
import { frame, PREEMPT, type Co } from '../smp/co.ts';
import { PURGE_FLUSH, PURGE_FLUSH_NAMES, purgeVmapAreaLazyRange, type PurgeFlush, type VmallocCtx } from './purge.ts';
import { vunmapPageRange } from './pte-range.ts';
import { dirtyRuns, type VmapBlock } from './vmap-block.ts';

/**
 * __vm_unmap_aliases(allow_flush). `flushOverride` replaces the computed flush argument (the
 * policy knobs pinAliasFlush=force / if_needed); `site` names the caller in the event. On the
 * call chain as vm_unmap_aliases when that is what the caller called (allow_flush 1, no override).
 */
export function vmUnmapAliases(k: VmallocCtx, c: Cpu, allowFlush: boolean, site: string, flushOverride?: PurgeFlush): Co {
  const name = allowFlush && flushOverride === undefined ? 'vm_unmap_aliases' : '__vm_unmap_aliases';
  return frame(c, name, unmapAliases(k, c, allowFlush, site, flushOverride));
}

function* unmapAliases(k: VmallocCtx, c: Cpu, allowFlush: boolean, site: string, flushOverride: PurgeFlush | undefined): Co {
  const vs = k.vmap;
  if (!vs.initialized) {
    if (k.policy.vmapInitGuard) return;
    throw new KernelBug(
      'vm_unmap_aliases',
      'BUG: unable to handle kernel paging request: vmap_block_queue used before vmalloc_init()',
    );
  }
  yield PREEMPT;
  const range = { start: Infinity, end: 0 };
  let flush: PurgeFlush = PURGE_FLUSH.IF_NEEDED;
  let dirtyPages = 0;
  for (const q of vs.vbq) {
    const blocks: VmapBlock[] =
      k.policy.vbWalk === 'all_blocks' ? [...vs.blocks.values()].filter((b) => b.cpu === q.cpu) : q.free;
    for (const vb of blocks) {
      for (const [i, j] of dirtyRuns(vb.dirtyMap)) {
        const s = vb.va.start + i;
        const e = vb.va.start + j;
        if (k.policy.ptePolicy === 'lazy') vunmapPageRange(k, c, s, j - i);
        flush = PURGE_FLUSH.FORCE;
        range.start = Math.min(range.start, s);
        range.end = Math.max(range.end, e);
        dirtyPages += j - i;
        if (k.policy.vbDirtyClearAfterFlush) vb.dirtyMap.fill(0, i, j);
      }
    }
  }
  const final = flushOverride ?? (allowFlush ? flush : PURGE_FLUSH.NEVER);
  k.emit({
    event: 'vm_unmap_aliases',
    vcpu: c.id,
    allow_flush: allowFlush,
    flush: PURGE_FLUSH_NAMES[final],
    site,
    irqs_enabled: c.irqsEnabled,
    dirty_pages: dirtyPages,
  });
  yield* purgeVmapAreaLazyRange(k, c, range, true, final);
}
