// Xen's public ABI as the simulator exposes it: hypercall numbers, MMUEXT_* commands, UVMF_* flags,
// DOMID_* values and errno. Models xen/include/public/xen.h and xen/include/public/errno.h (Xen
// 4.17.0), and which hypercall numbers a 64-bit PV guest may call (xen/include/hypercall-defs.c).

import type { Ulong } from './types.ts';

/**
 * The Xen release the model follows: 4.17 (the default), or master where it differs
 * (docs/xen-versions.md lists every difference and which are modelled).
 */
export type XenVersion = '4.17' | 'master';
export const XEN_VERSIONS: readonly XenVersion[] = ['4.17', 'master'];

/** Hypercall numbers (public/xen.h __HYPERVISOR_*). */
export const HYPERCALL = {
  mmu_update: 1,
  set_gdt: 2,
  update_descriptor: 10,
  memory_op: 12,
  multicall: 13,
  update_va_mapping: 14,
  vm_assist: 21,
  update_va_mapping_otherdomain: 22,
  iret: 23,
  vcpu_op: 24,
  mmuext_op: 26,
  sched_op: 29,
} as const;

/**
 * The numbers Xen 4.17's pv64 column of hypercall-defs.c has a handler for, with the default x86
 * Kconfig (ARGO off, so 39 has none; tmem_op 38 has none in any column). Every other number is
 * -ENOSYS: call_handlers_pv64's default, in a multicall entry as in a direct call
 * (pv_do_multicall_call, xen/arch/x86/pv/hypercall.c:101). Master also drops xenoprof_op (31).
 */
const PV64_HANDLED = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
  27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 40, 41, 42, 48, 49];
export function hypercallHandled(nr: Ulong, version: XenVersion = '4.17'): boolean {
  if (typeof nr !== 'number') return false;
  if (version === 'master' && nr === 31) return false;
  return PV64_HANDLED.includes(nr);
}

/** The names of public/xen.h's __HYPERVISOR_* numbers, for messages. */
export const HYPERCALL_NAMES: readonly string[] = [
  'set_trap_table', 'mmu_update', 'set_gdt', 'stack_switch', 'set_callbacks', 'fpu_taskswitch',
  'sched_op_compat', 'platform_op', 'set_debugreg', 'get_debugreg', 'update_descriptor', '',
  'memory_op', 'multicall', 'update_va_mapping', 'set_timer_op', 'event_channel_op_compat',
  'xen_version', 'console_io', 'physdev_op_compat', 'grant_table_op', 'vm_assist',
  'update_va_mapping_otherdomain', 'iret', 'vcpu_op', 'set_segment_base', 'mmuext_op', 'xsm_op',
  'nmi_op', 'sched_op', 'callback_op', 'xenoprof_op', 'event_channel_op', 'physdev_op', 'hvm_op',
  'sysctl', 'domctl', 'kexec_op', 'tmem_op', 'argo_op', 'xenpmu_op', 'dm_op', 'hypfs_op',
  '', '', '', '', '', 'mca', 'paging_domctl_cont',
];

/** MMUEXT_* command numbers, by the lower-case name used in traces. */
export const MMUEXT = {
  pin_l1_table: 0,
  pin_l2_table: 1,
  pin_l3_table: 2,
  pin_l4_table: 3,
  unpin_table: 4,
  new_baseptr: 5,
  tlb_flush_local: 6,
  invlpg_local: 7,
  tlb_flush_multi: 8,
  invlpg_multi: 9,
  tlb_flush_all: 10,
  invlpg_all: 11,
  flush_cache: 12,
  set_ldt: 13,
  new_user_baseptr: 15,
  clear_page: 16,
  copy_page: 17,
  flush_cache_global: 18,
  mark_super: 19,
  unmark_super: 20,
} as const;
export type MmuextName = keyof typeof MMUEXT;

const mmuextNames: string[] = [];
for (const [name, n] of Object.entries(MMUEXT)) mmuextNames[n] = name;
/** The trace name of an MMUEXT number, or undefined for a number Xen does not know (→ -ENOSYS). */
export function mmuextName(cmd: number): string | undefined {
  return mmuextNames[cmd];
}

/** mmu_update commands: ptr & 7. */
export const MMU = {
  NORMAL_PT_UPDATE: 0,
  MACHPHYS_UPDATE: 1,
  PT_UPDATE_PRESERVE_AD: 2,
  PT_UPDATE_NO_TRANSLATE: 3,
} as const;

/** update_va_mapping flags: the low two bits pick the flush, the rest the vCPU set. */
export const UVMF = {
  NONE: 0,
  TLB_FLUSH: 1,
  INVLPG: 2,
  FLUSHTYPE_MASK: 3,
  LOCAL: 0,
  ALL: 4,
  /** Any other value of flags & ~3 is a pointer to a vCPU bitmap (UVMF_MULTI). */
  MULTI: 8,
} as const;

/** flags & UVMF_FLUSHTYPE_MASK, for a 64-bit flags argument. */
export function uvmfType(flags: Ulong): number {
  return typeof flags === 'number' ? flags % 4 : Number(flags & 3n);
}

/** flags & ~UVMF_FLUSHTYPE_MASK as __do_update_va_mapping reads it: LOCAL (0), ALL (4) or MULTI. */
export function uvmfScope(flags: Ulong): number {
  const rest = typeof flags === 'number' ? flags - (flags % 4) : 8;
  return rest === UVMF.LOCAL || rest === UVMF.ALL ? rest : UVMF.MULTI;
}

export const DOMID_SELF = 0x7ff0;
export const DOMID_IO = 0x7ff1;
export const DOMID_XEN = 0x7ff2;

/** Xen's errno values (public/errno.h). Hypercalls return them negated. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  ENXIO: 6,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EINVAL: 22,
  ERANGE: 34,
  ENOSYS: 38,
  ERESTART: 85,
  EOPNOTSUPP: 95,
} as const;
export type ErrnoName = keyof typeof ERRNO;

export const EPERM = -ERRNO.EPERM;
export const ESRCH = -ERRNO.ESRCH;
export const EACCES = -ERRNO.EACCES;
export const EFAULT = -ERRNO.EFAULT;
export const EBUSY = -ERRNO.EBUSY;
export const EINVAL = -ERRNO.EINVAL;
export const ENOSYS = -ERRNO.ENOSYS;
export const EOPNOTSUPP = -ERRNO.EOPNOTSUPP;

const errnoNames = new Map<number, ErrnoName>();
for (const [name, n] of Object.entries(ERRNO)) errnoNames.set(n, name as ErrnoName);
/** "EINVAL" for -22 (or 22); "OK" for 0; "E?<n>" for a value Xen does not define. */
export function errnoName(rc: number): string {
  if (rc === 0) return 'OK';
  return errnoNames.get(Math.abs(rc)) ?? `E?${Math.abs(rc)}`;
}

/** Page-table levels as Xen's PGT_* types use them; 0 = none. */
export type Level = 1 | 2 | 3 | 4;
