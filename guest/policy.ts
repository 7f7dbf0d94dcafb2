// Every knob a developer may flip in the guest kernel (linux-guest.md §5), with presets named for
// the kernels they describe. A policy is plain data: scenarios and the command line set knobs one
// by one with `name=value`, and every value is checked here with a message that says what fits.

import { didYouMean } from './suggest.ts';

/** The flush the Xen pin paths ask of the alias kill (linux-guest.md §5 `pinAliasFlush`). */
export const PIN_ALIAS_FLUSH = ['default', 'force', 'if_needed', 'never', 'irq_aware'] as const;
export type PinAliasFlush = (typeof PIN_ALIAS_FLUSH)[number];
/** The call sites that kill aliases before Xen sees a new page table. */
export const PIN_SITES = ['pgd_pin', 'alloc_ptpage', 'mm_pin_all', 'create_contiguous'] as const;
export type PinSite = (typeof PIN_SITES)[number];

export interface Policy {
  /**
   * default = vm_unmap_aliases() (IF_NEEDED, or FORCE when a per-cpu block is dirty); force /
   * if_needed / never pin the purge's flush argument (never = the seed patch's
   * __vm_unmap_aliases(0)); irq_aware = never when interrupts are off, default otherwise.
   */
  pinAliasFlush: PinAliasFlush;
  /** Per-site overrides of pinAliasFlush ('inherit' = use pinAliasFlush). */
  pinAliasFlushAt: Record<PinSite, PinAliasFlush | 'inherit'>;
  /** highmem_only (2.6.28-rc), always (2.6.28–2.6.35), none (2.6.36+). */
  xenCallsVmUnmapAliases: 'highmem_only' | 'always' | 'none';
  /** lazy: vfree leaves PTEs until a purge (≤ 2.6.36); eager: PTEs cleared at once (2.6.37+). */
  ptePolicy: 'lazy' | 'eager';
  /** false = 2.6.36's Xen setting: lazy_max_pages() returns 0. */
  vmapLazyUnmap: boolean;
  /** Multiplier of lazy_max_pages()'s formula, fls(online) * 32 MiB / PAGE_SIZE. */
  lazyMaxPagesScale: number;
  /** A fixed lazy_max_pages() instead of the formula (null = use the formula). */
  lazyMaxPagesConstant: number | null;
  /** vm_unmap_aliases walks vbq->free only (2008–2023) or every block (2023 fix). */
  vbWalk: 'free_list_only' | 'all_blocks';
  /** Clear dirty_map after vm_unmap_aliases unmapped it (2023) or never (2008). */
  vbDirtyClearAfterFlush: boolean;
  /** Kernel-range flushes: on_each_cpu IPIs, or Xen's MMUEXT_TLB_FLUSH_ALL (JF's loose-end patch). */
  kernelFlushVia: 'ipi' | 'hypercall_flush_all';
  /** User-mm shootdowns: Xen's MMUEXT_TLB_FLUSH_MULTI (PV) or IPIs as on native hardware. */
  userFlushVia: 'xen_multi' | 'ipi';
  /** purge_lock: a spinlock (2008) or a mutex (modern; sleeping with interrupts off is a bug). */
  purgeLock: 'spin' | 'mutex';
  /** on_each_cpu's local part: 2.6.28 unconditionally re-enables interrupts. */
  onEachCpuIrq: 'force_enable' | 'save_restore';
  /** smp_call_function's check: WARN_ON every time (2.6.28) or WARN_ON_ONCE (2.6.32+). */
  smpCallWarn: 'warn_on' | 'warn_on_once';
  /** pgd_lock taken with spin_lock_irqsave (≤ 2.6.36) or plain spin_lock. */
  pgdLockIrqSafe: boolean;
  /** NR_CPUS ≥ 4: per-PTE-page locks, so the pin walk also issues PIN_L1 per PTE page. */
  splitPtlocks: boolean;
  /** vm_unmap_aliases returns early before vmalloc_init (9b46333, Nov 2008). */
  vmapInitGuard: boolean;
  /** Multicall buffer: entries per batch. */
  mcBatch: number;
  /** xen_exit_mmap also IPIs vCPUs whose xen_current_cr3 is the dying pgd (false = trust cpu_vm_mask). */
  exitMmapCheckCr3: boolean;
  /**
   * A scheduling point in free_unmap_vmap_area_noflush between setting VM_LAZY_FREE and adding to
   * vmap_lazy_nr, as 2.6.28 really has it (no lock across the two; a concurrent purge can then hit
   * its BUG_ON). On by default, as the kernel has it, so that explore's exhaustive search covers
   * it; a scenario that studies something else may close it (auto-purge-trylock-race does).
   */
  lazyFreeGap: boolean;
}

const BASE: Policy = {
  pinAliasFlush: 'default',
  pinAliasFlushAt: { pgd_pin: 'inherit', alloc_ptpage: 'inherit', mm_pin_all: 'inherit', create_contiguous: 'inherit' },
  xenCallsVmUnmapAliases: 'always',
  ptePolicy: 'lazy',
  vmapLazyUnmap: true,
  lazyMaxPagesScale: 1,
  lazyMaxPagesConstant: null,
  vbWalk: 'free_list_only',
  vbDirtyClearAfterFlush: false,
  kernelFlushVia: 'ipi',
  userFlushVia: 'xen_multi',
  purgeLock: 'spin',
  onEachCpuIrq: 'force_enable',
  smpCallWarn: 'warn_on',
  pgdLockIrqSafe: true,
  splitPtlocks: true,
  vmapInitGuard: true,
  mcBatch: 32,
  exitMmapCheckCr3: true,
  lazyFreeGap: true,
};

export const PRESETS = {
  /** 2.6.28 final: unconditional vm_unmap_aliases() before every pin, lazy PTEs. */
  'linux-2.6.28': BASE,
  /** The Dec 2008 RFC: callers in interrupt-disabled sections pass allow_flush = 0. */
  'rfc-2008-12': { ...BASE, pinAliasFlush: 'irq_aware' },
  /** 2.6.36: Xen clears vmap_lazy_unmap (lazy_max_pages 0) and stops calling vm_unmap_aliases. */
  'linux-2.6.36': { ...BASE, xenCallsVmUnmapAliases: 'none', vmapLazyUnmap: false },
  /** 2.6.37: vunmap clears PTEs eagerly; the flag is gone; Xen never kills aliases. */
  'linux-2.6.37': { ...BASE, xenCallsVmUnmapAliases: 'none', ptePolicy: 'eager' },
} satisfies Record<string, Policy>;
export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

type KnobSpec = readonly string[] | 'boolean' | 'number' | 'number|null';
const KNOBS: Record<string, KnobSpec> = {
  pinAliasFlush: PIN_ALIAS_FLUSH,
  xenCallsVmUnmapAliases: ['highmem_only', 'always', 'none'],
  ptePolicy: ['lazy', 'eager'],
  vmapLazyUnmap: 'boolean',
  lazyMaxPagesScale: 'number',
  lazyMaxPagesConstant: 'number|null',
  vbWalk: ['free_list_only', 'all_blocks'],
  vbDirtyClearAfterFlush: 'boolean',
  kernelFlushVia: ['ipi', 'hypercall_flush_all'],
  userFlushVia: ['xen_multi', 'ipi'],
  purgeLock: ['spin', 'mutex'],
  onEachCpuIrq: ['force_enable', 'save_restore'],
  smpCallWarn: ['warn_on', 'warn_on_once'],
  pgdLockIrqSafe: 'boolean',
  splitPtlocks: 'boolean',
  vmapInitGuard: 'boolean',
  mcBatch: 'number',
  exitMmapCheckCr3: 'boolean',
  lazyFreeGap: 'boolean',
};
for (const s of PIN_SITES) KNOBS[`pinAliasFlushAt.${s}`] = [...PIN_ALIAS_FLUSH, 'inherit'];

/** Every settable knob with the values it takes, for help texts and error messages. */
export function knobList(): { name: string; values: string }[] {
  return Object.entries(KNOBS).map(([name, spec]) => ({
    name,
    values: typeof spec === 'string' ? spec : spec.join(' | '),
  }));
}

export class PolicyError extends Error {
  override name = 'PolicyError';
}

export function presetPolicy(name: string): Policy {
  // Own keys only: a user's "__proto__" or "toString" names nothing here.
  const p = Object.hasOwn(PRESETS, name) ? (PRESETS as Record<string, Policy>)[name] : undefined;
  if (!p) throw new PolicyError(`unknown policy preset "${name}"${didYouMean(name, PRESET_NAMES)}; presets: ${PRESET_NAMES.join(', ')}`);
  return structuredClone(p);
}

/** Sets one knob from its text form ("kernelFlushVia=hypercall_flush_all"), checking the value. */
export function setKnob(policy: Policy, name: string, text: string): Policy {
  const spec = Object.hasOwn(KNOBS, name) ? KNOBS[name] : undefined;
  if (!spec) {
    throw new PolicyError(`unknown knob "${name}"${didYouMean(name, Object.keys(KNOBS))}; knobs: ${Object.keys(KNOBS).join(', ')}`);
  }
  let value: unknown;
  if (spec === 'boolean') {
    if (text !== 'true' && text !== 'false') throw new PolicyError(`knob ${name} takes true or false, got "${text}"`);
    value = text === 'true';
  } else if (spec === 'number' || spec === 'number|null') {
    if (spec === 'number|null' && text === 'null') value = null;
    else {
      value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value) || (value as number) < 0) {
        throw new PolicyError(`knob ${name} takes a non-negative number${spec === 'number|null' ? ' or null' : ''}, got "${text}"`);
      }
    }
  } else {
    if (!spec.includes(text)) throw new PolicyError(`knob ${name} takes ${spec.join(' | ')}, got "${text}"${didYouMean(text, spec)}`);
    value = text;
  }
  const next = structuredClone(policy);
  if (name.startsWith('pinAliasFlushAt.')) {
    next.pinAliasFlushAt[name.slice('pinAliasFlushAt.'.length) as PinSite] = value as PinAliasFlush | 'inherit';
  } else {
    (next as unknown as Record<string, unknown>)[name] = value;
  }
  return next;
}

/** A preset with `name=value` settings applied in order. */
export function makePolicy(preset: string, settings: readonly string[] = []): Policy {
  let p = presetPolicy(preset);
  for (const s of settings) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new PolicyError(`expected knob=value, got "${s}"`);
    p = setKnob(p, s.slice(0, eq).trim(), s.slice(eq + 1).trim());
  }
  return p;
}

/** The flush policy that applies at a site. */
export function aliasFlushAt(policy: Policy, site: PinSite): PinAliasFlush {
  const v = policy.pinAliasFlushAt[site];
  return v === 'inherit' ? policy.pinAliasFlush : v;
}
