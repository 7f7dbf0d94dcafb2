/* xensim's oracle: a 64-bit PV dom0 kernel that runs a trace's hypercalls on real Xen.
 *
 * Xen loads it as dom0 (see head.S for the entry and notes) with a program as its initrd module:
 * the trace, encoded by src/oracle/encode.ts. kmain() runs the program and writes one "@@ ..."
 * line per record on Xen's console (HYPERVISOR_console_io), which xensim reads off the serial port.
 * The encoding and the output lines are described in docs/oracle.md; the facts about Xen's ABI it
 * relies on come from xen/include/public/{xen.h,domctl.h,memory.h} (4.17).
 *
 * Frames: the trace's frames are mapped onto "pools" of dom0's own frames, pfns above the
 * bootstrap region Xen built (pfns [0, v_end - v_start) are the image, start_info, p2m and
 * bootstrap tables: xen/arch/x86/pv/dom0_build.c:dom0_construct_pv). Those frames are untyped and
 * unmapped, as a fresh domU's are. The kernel touches one only through its scratch VA, and unmaps
 * it again at once so that it holds no reference a trace does not.
 */
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef long s64;

/* ---- Xen's ABI (public/xen.h) ------------------------------------------------------------- */
enum {
  HC_set_trap_table = 0, HC_mmu_update = 1, HC_set_gdt = 2, HC_memory_op = 12, HC_multicall = 13,
  HC_update_va_mapping = 14, HC_console_io = 18, HC_update_va_mapping_otherdomain = 22,
  HC_mmuext_op = 26, HC_sched_op = 29,
  HC_domctl = 36,
};
#define DOMID_SELF 0x7ff0u
#define UVMF_INVLPG 2ul

struct start_info {
  char magic[32];
  u64 nr_pages, shared_info;
  u32 flags;
  u64 store_mfn;
  u32 store_evtchn;
  union { struct { u64 mfn; u32 evtchn; } domU; struct { u32 info_off, info_size; } dom0; } console;
  u64 pt_base, nr_pt_frames, mfn_list, mod_start, mod_len;
  char cmd_line[1024];
  u64 first_p2m_pfn, nr_p2m_frames;
};
struct mmu_update { u64 ptr, val; };
struct mmuext_op { u32 cmd; u32 pad; u64 arg1; u64 arg2; };
struct multicall_entry { u64 op, result, args[6]; };
struct trap_info { u8 vector, flags; u16 cs; u64 address; };
struct memory_reservation { u64 extent_start, nr_extents; u32 extent_order, mem_flags; u16 domid; };

/* public/domctl.h, interface version 0x15 (Xen 4.17). */
#define DOMCTL_VERSION 0x15u
#define DOMCTL_iomem_permission 20u
#define DOMCTL_ioport_permission 21u
#define DOMCTL_getpageframeinfo3 61u
struct domctl {
  u32 cmd, interface_version;
  u16 domain, pad[3];
  union {
    struct { u64 first_mfn, nr_mfns; u8 allow; } iomem;
    struct { u32 first_port, nr_ports; u8 allow; } ioport;
    struct { u64 num; u64 array; } pfinfo;
    u8 raw[128];
  } u;
};

extern char hypercall_page[], scratch_page[];
extern long probe_access(volatile u64 *va, int write);
extern void page_fault_entry(void);

static long hcall(u64 nr, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5) {
  register u64 r10 asm("r10") = a4;
  register u64 r8 asm("r8") = a5;
  long rc;
  if (nr >= 4096 / 32) {
    /* Past the hypercall page (a number by itself, any 64 bits): the page's own stub, by hand. */
    asm volatile("syscall"
                 : "=a"(rc), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                 : "a"(nr)
                 : "rcx", "r11", "memory");
    return rc;
  }
  asm volatile("call *%[entry]"
               : "=a"(rc), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
               : [entry] "r"(hypercall_page + nr * 32)
               : "rcx", "r11", "memory");
  return rc;
}

/* ---- console ------------------------------------------------------------------------------ */
static char line[4096];
static u32 line_len;

static void put(const char *s) { while (*s && line_len < sizeof line - 2) line[line_len++] = *s++; }
static void put_hex(u64 v) {
  char b[19]; int i = 18;
  b[i] = 0;
  do { b[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
  b[--i] = 'x'; b[--i] = '0';
  put(b + i);
}
static void put_dec(s64 v) {
  char b[24]; int i = 23; u64 u = v < 0 ? (u64)-v : (u64)v;
  b[i] = 0;
  do { b[--i] = (char)('0' + u % 10); u /= 10; } while (u);
  if (v < 0) b[--i] = '-';
  put(b + i);
}
/* One console_io call per line: Xen's own messages cannot land inside it. */
static void end_line(void) {
  line[line_len++] = '\n';
  hcall(HC_console_io, 0 /* CONSOLEIO_write */, line_len, (u64)line, 0, 0);
  line_len = 0;
}
static void begin(const char *tag) { line_len = 0; put("@@ "); put(tag); }

static void power_off(void) {
  u32 reason = 0; /* SHUTDOWN_poweroff: Xen prints "Hardware Dom0 halted" */
  for (;;) hcall(HC_sched_op, 2 /* SCHEDOP_shutdown */, (u64)&reason, 0, 0, 0);
}
static void fatal(const char *why, u64 v) {
  begin("fatal "); put(why); put(" "); put_hex(v); end_line();
  power_off();
}
void unexpected_fault(u64 rip) { fatal("page fault outside a probe at rip", rip); }

/* ---- the domain's frames -------------------------------------------------------------------- */
static struct start_info *si;
static u64 *p2m;          /* pfn -> mfn (start_info.mfn_list) */
static u64 next_pfn;      /* the first pfn no pool has used */
static u64 own_l4_mfn;    /* the bootstrap L4, CR3 between sequences */
#define MAX_POOL 4096
static u64 pool[MAX_POOL];
static u64 pool_n;

static u64 virt_to_mfn(const void *va) { return p2m[((u64)va - 0xffffffff80000000ul) >> 12]; }

/* Maps mfn at the scratch VA (pte flags given), or returns Xen's rc. */
static long scratch_map(u64 mfn, u64 flags) {
  return hcall(HC_update_va_mapping, (u64)scratch_page, (mfn << 12) | flags, UVMF_INVLPG, 0, 0);
}
static void scratch_unmap(void) {
  long rc = hcall(HC_update_va_mapping, (u64)scratch_page, 0, UVMF_INVLPG, 0, 0);
  if (rc) fatal("scratch unmap failed", (u64)rc);
}

static long domctl(struct domctl *d) {
  d->interface_version = DOMCTL_VERSION;
  d->domain = 0; /* dom0 acts on itself */
  return hcall(HC_domctl, (u64)d, 0, 0, 0, 0);
}
/* XEN_DOMCTL_getpageframeinfo3 on one frame: the L1–L4 type (validated or pinned) and the pin bit. */
static u64 pfinfo(u64 mfn) {
  static u64 arr[1];
  struct domctl d = {0};
  arr[0] = mfn;
  d.cmd = DOMCTL_getpageframeinfo3;
  d.u.pfinfo.num = 1;
  d.u.pfinfo.array = (u64)arr;
  long rc = domctl(&d);
  return rc ? (u64)rc : arr[0];
}

/* Removes every I/O memory and I/O port right of dom0's, so that it is refused what a domU is
 * (cache attributes in L1 entries, I/O frames): xen/arch/x86/mm.c:get_page_from_l1e and
 * cache_flags_permitted. A range the domain holds only in part is -EPERM: split it. */
static u64 io_calls;
static u64 ht_lo = 1, ht_hi = 0; /* AMD's HyperTransport hole, never held by dom0 */
static void deny_iomem(u64 lo, u64 hi) {
  if (lo >= ht_lo && hi <= ht_hi) return;
  struct domctl d = {0};
  d.cmd = DOMCTL_iomem_permission;
  d.u.iomem.first_mfn = lo; d.u.iomem.nr_mfns = hi - lo + 1; d.u.iomem.allow = 0;
  if (++io_calls > 100000) fatal("too many iomem_permission calls at mfn", lo);
  long rc = domctl(&d);
  if (rc == -1 && hi > lo) { u64 mid = lo + (hi - lo) / 2; deny_iomem(lo, mid); deny_iomem(mid + 1, hi); }
  else if (rc != 0 && rc != -1) fatal("iomem_permission deny", (u64)rc);
}
static void deny_ioport(u32 lo, u32 hi) {
  struct domctl d = {0};
  d.cmd = DOMCTL_ioport_permission;
  d.u.ioport.first_port = lo; d.u.ioport.nr_ports = hi - lo + 1; d.u.ioport.allow = 0;
  io_calls++;
  long rc = domctl(&d);
  if (rc == -1 && hi > lo) { u32 mid = lo + (hi - lo) / 2; deny_ioport(lo, mid); deny_ioport(mid + 1, hi); }
  else if (rc != 0 && rc != -1) fatal("ioport_permission deny", (u64)rc);
}

/* ---- the program ---------------------------------------------------------------------------- */
enum {
  OP_END = 0, OP_SEQ = 1, OP_STORE = 2, OP_MMU_UPDATE = 3, OP_MMUEXT = 4, OP_UVM = 5,
  OP_MULTICALL = 6, OP_FRAME = 7, OP_READ = 8, OP_ACCESS = 9, OP_DUMP = 10, OP_DENY_IO = 11,
  OP_SET_GDT = 12, OP_DECREASE = 13, OP_UVM_OTHER = 14, OP_HC = 15,
};
/* A value is two words: its kind and the raw word. */
enum { V_RAW = 0, V_FIELD = 1, V_MFN = 2, V_MASK = 3, V_BADPTR = 4 };
#define FIELD_MASK (0xfffffffffful << 12)
#define BAD_POINTER 0xffff800000000000ul /* Xen's own range: copy_from_guest fails (-EFAULT) */

static const u64 *pc, *prog_end, *seq_end;
static u64 word(void) {
  if (pc >= prog_end) fatal("program ends inside a record at word", (u64)(pc - (prog_end - 0)));
  return *pc++;
}
static u64 pool_mfn(u64 idx) {
  if (idx >= pool_n) fatal("pool index out of range", idx);
  return pool[idx];
}
/* Arena for the arrays and bitmaps a call points to (reset per record). */
static u64 arena[65536];
static u64 arena_used;
static u64 *alloc_words(u64 n) {
  if (arena_used + n > sizeof arena / 8) fatal("record too large", n);
  u64 *p = arena + arena_used;
  arena_used += n;
  return p;
}
static u64 value(void) {
  u64 kind = word(), raw = word();
  switch (kind) {
  case V_RAW: return raw;
  case V_FIELD: return (raw & ~FIELD_MASK) | (pool_mfn((raw & FIELD_MASK) >> 12) << 12);
  case V_MFN: return pool_mfn(raw);
  case V_MASK: { u64 *m = alloc_words(1); *m = raw; return (u64)m; }
  case V_BADPTR: return BAD_POINTER;
  }
  fatal("bad value kind", kind);
  return 0;
}

/* A hypercall record, decoded into its number and arguments (pointers into the arena). */
struct call { u64 nr, args[5]; u64 *done; u64 n; };
static void decode_call(u64 op, struct call *c) {
  for (int i = 0; i < 5; i++) c->args[i] = 0;
  c->done = 0; c->n = 0;
  switch (op) {
  case OP_MMU_UPDATE: {
    u64 n = word(), fd = word();
    struct mmu_update *r = (struct mmu_update *)alloc_words(2 * n + 1);
    for (u64 i = 0; i < n; i++) { r[i].ptr = value(); r[i].val = value(); }
    c->done = alloc_words(1); *c->done = 0; c->n = n;
    c->nr = HC_mmu_update;
    c->args[0] = (u64)r; c->args[1] = n; c->args[2] = (u64)c->done; c->args[3] = fd;
    return;
  }
  case OP_MMUEXT: {
    u64 n = word(), fd = word();
    struct mmuext_op *o = (struct mmuext_op *)alloc_words(3 * n + 1);
    for (u64 i = 0; i < n; i++) { o[i].cmd = (u32)word(); o[i].pad = 0; o[i].arg1 = value(); o[i].arg2 = value(); }
    c->done = alloc_words(1); *c->done = 0; c->n = n;
    c->nr = HC_mmuext_op;
    c->args[0] = (u64)o; c->args[1] = n; c->args[2] = (u64)c->done; c->args[3] = fd;
    return;
  }
  case OP_UVM: case OP_UVM_OTHER: {
    c->nr = HC_update_va_mapping;
    c->args[0] = value(); c->args[1] = value();
    u64 flags = word();
    u64 mask = value(); /* V_RAW 0 unless UVMF_MULTI: then a bitmap pointer (or a bad one) */
    c->args[2] = mask ? (flags & 3) | mask : flags;
    if (op == OP_UVM_OTHER) { c->nr = HC_update_va_mapping_otherdomain; c->args[3] = word(); }
    return;
  }
  case OP_SET_GDT: {
    /* The kernel's selectors are Xen's reserved ones (FLAT_RING3_*): a trace's GDT leaves it be. */
    u64 n = word(), entries = word();
    u64 *f = alloc_words(n + 1);
    for (u64 i = 0; i < n; i++) f[i] = value();
    c->nr = HC_set_gdt; c->args[0] = (u64)f; c->args[1] = entries;
    return;
  }
  case OP_DECREASE: {
    /* XENMEM_decrease_reservation of single frames (a PV guest names them by MFN): rc = extents done. */
    u64 n = word();
    u64 *f = alloc_words(n + 1);
    for (u64 i = 0; i < n; i++) f[i] = value();
    struct memory_reservation *r = (struct memory_reservation *)alloc_words(4);
    r->extent_start = (u64)f; r->nr_extents = n; r->extent_order = 0; r->mem_flags = 0; r->domid = DOMID_SELF;
    c->nr = HC_memory_op; c->args[0] = 1; c->args[1] = (u64)r;
    return;
  }
  case OP_HC: /* a hypercall by its number alone (one Xen has no handler for: -ENOSYS) */
    c->nr = word();
    return;
  }
  fatal("bad hypercall op", op);
}

/* The kernel lives in L4 slot 511. A NEW_BASEPTR to a trace's L4 would leave it unmapped, so the
 * target gets the kernel's slot 511 entry just before the call, and loses it again once it is no
 * longer the base: the trace's tables carry it only while they are in CR3. A trace that uses slot
 * 511 itself cannot run on; the sequence stops there ("@@ r stop") and goes on at its DUMP. */
static u64 cur_base; /* the real MFN in CR3 (the kernel's own L4 between sequences) */
static u64 kernel_l4e(void) { return ((u64 *)si->pt_base)[511]; }
static int is_kernel_l4e(u64 e) { return (e & 1) && ((e ^ kernel_l4e()) & FIELD_MASK) == 0; }
static long read_entry(u64 mfn, u64 slot, u64 *out) {
  if (scratch_map(mfn, 0x25)) return -1;
  *out = ((volatile u64 *)scratch_page)[slot];
  scratch_unmap();
  return 0;
}
/* Writes an entry: with mmu_update while the frame is a validated L4, else as plain memory. */
static long write_entry(u64 mfn, u64 slot, u64 v) {
  if (((pfinfo(mfn) >> 28) & 7) == 4) { /* L4TAB, pinned or not */
    struct mmu_update u = { (mfn << 12) + slot * 8, v };
    u64 done = 0;
    return hcall(HC_mmu_update, (u64)&u, 1, (u64)&done, DOMID_SELF, 0);
  }
  if (scratch_map(mfn, 0x67)) return -1;
  ((volatile u64 *)scratch_page)[slot] = v;
  scratch_unmap();
  return 0;
}
/* 1: the NEW_BASEPTR to mfn may run (the kernel stays mapped, or Xen refuses it anyway). */
static int prepare_base(u64 mfn) {
  u64 e;
  if (mfn == own_l4_mfn || read_entry(mfn, 511, &e)) return 1; /* not ours: Xen refuses it */
  if (is_kernel_l4e(e)) return 1;
  u64 lvl = (pfinfo(mfn) >> 28) & 7; /* bit 31 is the pin */
  /* A validated L1-L3 has a type count (4.17 devalidates page tables at count 0): refused. */
  if (lvl >= 1 && lvl <= 3) return 1;
  if (e != 0) return 0;
  return write_entry(mfn, 511, kernel_l4e()) == 0;
}
static void release_base(u64 mfn) {
  u64 e;
  if (mfn == own_l4_mfn || mfn == cur_base || read_entry(mfn, 511, &e) || !is_kernel_l4e(e)) return;
  if (write_entry(mfn, 511, 0)) fatal("cannot take the kernel's slot out of a former base", mfn);
}
/* Before calls: every NEW_BASEPTR target prepared; no mmu_update of slot 511 of the base. */
static int prepare_calls(const struct call *c, u64 n) {
  for (u64 i = 0; i < n; i++) {
    if (c[i].nr == HC_mmu_update) {
      const struct mmu_update *u = (const struct mmu_update *)c[i].args[0];
      for (u64 j = 0; j < c[i].args[1]; j++)
        if ((u[j].ptr & 7) != 1 && ((u[j].ptr & 0xfff) >> 3) == 511 && (u[j].ptr >> 12) == cur_base) return 0;
    }
    if (c[i].nr != HC_mmuext_op) continue;
    const struct mmuext_op *o = (const struct mmuext_op *)c[i].args[0];
    for (u64 j = 0; j < c[i].args[1]; j++) if (o[j].cmd == 5 && !prepare_base(o[j].arg1)) return 0;
  }
  return 1;
}
/* After calls: the base is the last NEW_BASEPTR that was done; the others lose the kernel's slot. */
static void finish_calls(const struct call *c, u64 n) {
  u64 old = cur_base;
  for (u64 i = 0; i < n; i++) {
    if (c[i].nr != HC_mmuext_op) continue;
    const struct mmuext_op *o = (const struct mmuext_op *)c[i].args[0];
    u64 done = *c[i].done;
    for (u64 j = 0; j < done && j < c[i].args[1]; j++) if (o[j].cmd == 5) cur_base = o[j].arg1;
  }
  for (u64 i = 0; i < n; i++) {
    if (c[i].nr != HC_mmuext_op) continue;
    const struct mmuext_op *o = (const struct mmuext_op *)c[i].args[0];
    for (u64 j = 0; j < c[i].args[1]; j++) if (o[j].cmd == 5) release_base(o[j].arg1);
  }
  release_base(old);
}
static void stop_sequence(void) {
  begin("r stop"); end_line();
  pc = seq_end;
}

static void report_call(long rc, struct call *c) {
  begin("r "); put_dec(rc);
  if (c->done) { put(" d "); put_dec((s64)*c->done); }
  end_line();
}

static void run_multicall(void) {
  u64 n = word();
  if (n > 64) fatal("multicall too long", n);
  struct multicall_entry *e = (struct multicall_entry *)alloc_words(8 * n);
  static struct call cs[64];
  for (u64 i = 0; i < n; i++) {
    decode_call(word(), &cs[i]);
    e[i].op = cs[i].nr; e[i].result = 0;
    for (int j = 0; j < 5; j++) e[i].args[j] = cs[i].args[j];
    e[i].args[5] = 0;
  }
  if (!prepare_calls(cs, n)) { stop_sequence(); return; }
  long rc = hcall(HC_multicall, (u64)e, n, 0, 0, 0);
  finish_calls(cs, n);
  begin("r "); put_dec(rc); put(" m");
  for (u64 i = 0; i < n; i++) { put(" "); put_dec((s64)e[i].result); }
  end_line();
}

static void run_store(void) {
  u64 mfn = value(), slot = word(), n = word();
  long rc = scratch_map(mfn, 0x67); /* P|RW|U|A|D: a writable mapping, the guest's plain store */
  if (rc) {
    /* Xen refuses a writable mapping of a page table in use: the store cannot happen. */
    for (u64 i = 0; i < n; i++) value();
    begin("r -1 x "); put_dec(rc); end_line();
    return;
  }
  volatile u64 *p = (volatile u64 *)scratch_page;
  for (u64 i = 0; i < n; i++) { u64 v = value(); if (slot + i < 512) p[slot + i] = v; }
  scratch_unmap();
  begin("r 0"); end_line();
}

static void run_read(void) {
  u64 mfn = value(), slot = word();
  long rc = scratch_map(mfn, 0x25); /* P|U|A: read-only, no type reference */
  if (rc) { begin("r "); put_dec(rc); put(" v 0x0"); end_line(); return; }
  u64 v = ((volatile u64 *)scratch_page)[slot & 511];
  scratch_unmap();
  begin("r 0 v "); put_hex(v); end_line();
}

/* The tables at the end of a sequence: each pool frame's type, and a page table's entries. */
static void dump_pool(void) {
  for (u64 i = 0; i < pool_n; i++) {
    u64 t = pfinfo(pool[i]);
    begin("t "); put_dec((s64)i); put(" "); put_hex(t); end_line();
    u64 lvl = (t >> 28) & 7;
    if (lvl < 1 || lvl > 4) continue;
    if (scratch_map(pool[i], 0x25)) continue;
    volatile u64 *p = (volatile u64 *)scratch_page;
    for (u64 s = 0; s < 512; s++) {
      if (lvl == 4 && s >= 256 && s < 272) continue; /* Xen's own slots */
      if (lvl == 4 && s == 511) continue;            /* the test kernel's slot */
      u64 v = p[s];
      if (!v) continue;
      begin("e "); put_dec((s64)i); put(" "); put_dec((s64)s); put(" "); put_hex(v); end_line();
    }
    scratch_unmap();
  }
}

static void start_sequence(void) {
  const u64 *at = pc - 1;
  u64 id = word(), n = word(), dump_at = word();
  seq_end = at + dump_at;
  if (seq_end >= prog_end || *seq_end != OP_DUMP) fatal("sequence without its DUMP at word", dump_at);
  if (n > MAX_POOL) fatal("pool too large", n);
  /* Back on the kernel's own tables: a previous trace may have left its L4 in CR3. */
  struct mmuext_op o = { 5 /* MMUEXT_NEW_BASEPTR */, 0, own_l4_mfn, 0 };
  u64 done = 0;
  long rc = hcall(HC_mmuext_op, (u64)&o, 1, (u64)&done, DOMID_SELF, 0);
  if (rc) fatal("new_baseptr to the kernel's own L4", (u64)rc);
  cur_base = own_l4_mfn;
  if (next_pfn + n > si->nr_pages) fatal("out of frames at pfn", next_pfn);
  pool_n = n;
  for (u64 i = 0; i < n; i++) pool[i] = p2m[next_pfn + i];
  next_pfn += n;
  /* dom0's frames come unscrubbed (whatever Xen's boot left there): clear them, as a domU's are.
     MMUEXT_CLEAR_PAGE leaves them typed writable with count 0, as a plain store would. */
  static struct mmuext_op clr[64];
  for (u64 i = 0; i < n; i += 64) {
    u64 k = n - i < 64 ? n - i : 64;
    for (u64 j = 0; j < k; j++) { clr[j].cmd = 16 /* MMUEXT_CLEAR_PAGE */; clr[j].pad = 0; clr[j].arg1 = pool[i + j]; clr[j].arg2 = 0; }
    rc = hcall(HC_mmuext_op, (u64)clr, k, (u64)&done, DOMID_SELF, 0);
    if (rc) fatal("clear_page of a pool frame", (u64)rc);
  }
  begin("seq "); put_dec((s64)id); end_line();
  for (u64 i = 0; i < n; i += 16) {
    begin("pool "); put_dec((s64)i);
    for (u64 j = i; j < n && j < i + 16; j++) { put(" "); put_hex(pool[j]); }
    end_line();
  }
  /* The kernel's own L4 entry, to be stored in slot 511 of the trace's L4 tables (their VAs then
     keep the kernel mapped when the trace loads them into CR3). */
  u64 *own_l4 = (u64 *)si->pt_base;
  begin("k "); put_hex(own_l4[511]); end_line();
}

static void deny_io(void) {
  /* Once is enough (and all a boot can do: what is denied cannot be asked back). */
  static int denied;
  if (denied++) return;
  /* dom0 starts with [0, 2^(paddr_bits-12)) minus a few pages (dom0_setup_permissions);
     paddr_bits is what CPUID leaf 0x80000008 says. Nothing above is held, and a range held
     nowhere would be split down to single frames. */
  u32 a = 0x80000008, b = 0, c = 0, d = 0;
  asm volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
  u64 bits = a & 0xff;
  if (bits < 32 || bits > 52) bits = 36;
  /* dom0_setup_permissions denies [2^40 - 12 GiB, 2^40) on AMD: too large to split. */
  if (bits >= 40) { ht_hi = (1ul << 28) - 1; ht_lo = ht_hi + 1 - (3ul << 20); }
  deny_iomem(0, (1ul << (bits - 12)) - 1);
  deny_ioport(0, 65535);
  begin("io denied "); put_dec((s64)io_calls); put(" paddr_bits "); put_dec((s64)bits); end_line();
}

static void run_call(u64 op) {
  struct call c;
  decode_call(op, &c);
  if (!prepare_calls(&c, 1)) { stop_sequence(); return; }
  long r = hcall(c.nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4]);
  finish_calls(&c, 1);
  report_call(r, &c);
}

void kmain(struct start_info *start) {
  si = start;
  p2m = (u64 *)si->mfn_list;
  own_l4_mfn = virt_to_mfn((void *)si->pt_base);
  static struct trap_info traps[2] = { { 14, 0, 0xe033, 0 }, { 0, 0, 0, 0 } };
  traps[0].address = (u64)page_fault_entry;
  long rc = hcall(HC_set_trap_table, (u64)traps, 0, 0, 0, 0);
  if (rc) fatal("set_trap_table", (u64)rc);

  /* Pools start above the bootstrap region: the page tables end it, plus Xen's stack page and
     >= 512 KiB padding (dom0_construct_pv), all within 8 MiB of the tables' end for this kernel. */
  u64 pt_end = si->pt_base + si->nr_pt_frames * 4096 - 0xffffffff80000000ul;
  next_pfn = ((pt_end + (8ul << 20)) >> 12);
  begin("boot nr_pages "); put_dec((s64)si->nr_pages); put(" first_pool_pfn "); put_hex(next_pfn);
  put(" mod_len "); put_dec((s64)si->mod_len); end_line();

  if (!si->mod_start || si->mod_len < 16) fatal("no program module (give it as the second -initrd module)", 0);
  pc = (const u64 *)si->mod_start;
  prog_end = pc + si->mod_len / 8;
  if (word() != 0x314c43524f534558ul /* "XESORCL1" */) fatal("bad program magic", pc[-1]);

  for (;;) {
    arena_used = 0;
    u64 op = word();
    switch (op) {
    case OP_END: begin("done"); end_line(); power_off(); return;
    case OP_SEQ: start_sequence(); break;
    case OP_DENY_IO: deny_io(); break;
    case OP_STORE: run_store(); break;
    case OP_MMU_UPDATE: case OP_MMUEXT: case OP_UVM: case OP_UVM_OTHER: case OP_SET_GDT: case OP_DECREASE:
    case OP_HC: run_call(op); break;
    case OP_MULTICALL: run_multicall(); break;
    case OP_FRAME: { u64 t = pfinfo(value()); begin("r 0 f "); put_hex(t); end_line(); break; }
    case OP_READ: run_read(); break;
    case OP_ACCESS: {
      u64 va = value(), write = word();
      long r = probe_access((volatile u64 *)va, (int)write);
      begin("r "); put_dec(r); end_line();
      break;
    }
    case OP_DUMP: dump_pool(); begin("end"); end_line(); break;
    default: fatal("bad op", op);
    }
  }
}
