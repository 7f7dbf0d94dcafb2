// The alias kill that 2.6.28's Xen code runs before Xen sees a new page table
// (__xen_pgd_pin, xen_alloc_ptpage; and Jeremy's dom0 frame exchange): vm_unmap_aliases(),
// or — with the seed patch and the pinAliasFlush policy — __vm_unmap_aliases(0) or a fixed flush.

import { aliasFlushAt, type PinSite } from '../policy.ts';
import type { Cpu } from '../smp/cpu.ts';
import type { Co } from '../smp/co.ts';
import { PURGE_FLUSH, type VmallocCtx } from '../vmalloc/purge.ts';
import { vmUnmapAliases } from '../vmalloc/unmap-aliases.ts';

export function* xenKillAliases(k: VmallocCtx, c: Cpu, site: PinSite, highmem = false): Co {
  const when = k.policy.xenCallsVmUnmapAliases;
  if (when === 'none' || (when === 'highmem_only' && !highmem)) return;
  switch (aliasFlushAt(k.policy, site)) {
    case 'default':
      return yield* vmUnmapAliases(k, c, true, site);
    case 'never':
      return yield* vmUnmapAliases(k, c, false, site);
    case 'irq_aware':
      return yield* vmUnmapAliases(k, c, c.irqsEnabled, site);
    case 'force':
      return yield* vmUnmapAliases(k, c, true, site, PURGE_FLUSH.FORCE);
    case 'if_needed':
      return yield* vmUnmapAliases(k, c, true, site, PURGE_FLUSH.IF_NEEDED);
  }
}
