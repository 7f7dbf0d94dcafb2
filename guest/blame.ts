// Blame in the guest's terms: Xen names the mapping that stops a pin as "L1 0x1009 slot 17"; the
// kernel knows what that slot is — the virtual address it maps and what owns the address: a
// vmalloc area (live, or lazily freed and waiting for a purge: the 2.6.28 alias), a per-CPU vmap
// block of vm_map_ram, the direct map of a page, or a process's user page. Read at the moment of
// the refusal, from the kernel's own structures (the tables it built at boot and at fault time),
// as a developer would from a crash dump with the kernel's symbols.

import type { KernelTables } from './mm/boot.ts';
import { PAGE_OFFSET, PAGE_SIZE, USER_BASE, type Mem } from './mm/mem.ts';
import type { Objects } from './ops.ts';
import { VM_LAZY_FREE, VM_LAZY_FREEING, vaOf, type VmapArea } from './vmalloc/vmap-area.ts';
import type { VmapState } from './vmalloc/vmap-state.ts';

/** What blame reads: init_mm's tables, pfn → mfn, the vmap state, the scenario's named objects. */
export interface BlameCtx {
  readonly mem: Mem;
  readonly tables: KernelTables;
  readonly vmap: VmapState;
  readonly objects: Objects;
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
/** Bytes a user PTE page covers (512 pages). */
const L1_SPAN = 512n * PAGE_SIZE;

function areaText(k: BlameCtx, a: VmapArea, idx: number): string {
  let name: string | undefined;
  for (const [n, v] of k.objects.vmalloc) if (v === a) name = n;
  for (const [n, m] of k.objects.vmMapRam) if (m.start <= idx && idx < m.start + m.pfns.length) name = n;
  let state = a.flags & VM_LAZY_FREEING ? ', being purged' : a.flags & VM_LAZY_FREE ? ', lazily freed: its PTEs wait for a purge' : '';
  const block = a.use === 'vmap_block' ? [...k.vmap.blocks.values()].find((b) => b.va === a) : undefined;
  const what = block !== undefined ? `vCPU${block.cpu}'s vmap block (vm_map_ram)` : `${a.use} area`;
  // vb_free marks a freed page dirty and leaves its PTE: the 2008 alias of a vm_map_ram user.
  if (block !== undefined && block.dirtyMap[idx - a.start] === 1) state = ', a freed page: dirty, its PTE still in place';
  return `${what}${name !== undefined ? ` "${name}"` : ''} [${hex(vaOf(a.start))}, ${a.pages} pages${state}]`;
}

/** What slot `slot` of the L1 frame `l1mfn` maps, in the guest's words; undefined if not the kernel's. */
export function describeL1Slot(k: BlameCtx, l1mfn: number, slot: number): string | undefined {
  const vm = k.tables.vmL1.findIndex((pfn) => k.mem.mfn(pfn) === l1mfn);
  if (vm >= 0) {
    const idx = vm * 512 + slot;
    const a = k.vmap.areas.find((x) => x.start <= idx && idx < x.end);
    return `va ${hex(vaOf(idx))}: ${a !== undefined ? areaText(k, a, idx) : 'vmalloc space no area holds (freed: a stale PTE)'}`;
  }
  const dm = k.tables.dmL1.findIndex((pfn) => k.mem.mfn(pfn) === l1mfn);
  if (dm >= 0) {
    const pfn = dm * 512 + slot;
    return `va ${hex(PAGE_OFFSET + BigInt(pfn) * PAGE_SIZE)}: the direct map of pfn ${hex(pfn)}`;
  }
  for (const mm of k.objects.mms.values()) {
    const i = mm.l1s.findIndex((pfn) => k.mem.mfn(pfn) === l1mfn);
    if (i >= 0) return `va ${hex(USER_BASE + BigInt(i) * L1_SPAN + BigInt(slot) * PAGE_SIZE)}: a user page of process "${mm.name}"`;
  }
  return undefined;
}
