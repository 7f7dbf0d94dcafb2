/* The test kernel's entry, Xen ELF notes, hypercall page and page-fault recovery.
   The PV boot protocol (xen/include/public/xen.h, "start of day" comment, and elfnote.h): Xen
   enters at XEN_ELFNOTE_ENTRY in 64-bit mode with %rsi = the virtual address of start_info, events
   masked, the image and its bootstrap tables mapped from XEN_ELFNOTE_VIRT_BASE. */
#define VIRT_BASE 0xffffffff80000000

/* One Xen note: name "Xen", type, then the descriptor. */
#define NOTE(type, desc_directive, value) \
	.balign 4; .long 4; .long 2f - 1f; .long type; .asciz "Xen"; 1: desc_directive value; 2: .balign 4

	.section .note.Xen, "a"
	NOTE(6,  .asciz, "xensim-oracle")        /* XEN_ELFNOTE_GUEST_OS */
	NOTE(7,  .asciz, "1")                    /* XEN_ELFNOTE_GUEST_VERSION */
	NOTE(8,  .asciz, "generic")              /* XEN_ELFNOTE_LOADER */
	NOTE(5,  .asciz, "xen-3.0")              /* XEN_ELFNOTE_XEN_VERSION */
	NOTE(3,  .quad, VIRT_BASE)               /* XEN_ELFNOTE_VIRT_BASE */
	NOTE(4,  .quad, 0)                       /* XEN_ELFNOTE_PADDR_OFFSET: virt = paddr + VIRT_BASE - this */
	NOTE(1,  .quad, _start)                  /* XEN_ELFNOTE_ENTRY */
	NOTE(2,  .quad, hypercall_page)          /* XEN_ELFNOTE_HYPERCALL_PAGE */

	.section .text.head, "ax"
	.globl _start
_start:
	leaq stack_top(%rip), %rsp
	movq %rsi, %rdi
	call kmain
1:	hlt
	jmp 1b

/* Xen writes one 32-byte stub per hypercall into this page. */
	.balign 4096
	.globl hypercall_page
hypercall_page:
	.fill 4096, 1, 0xcc

/* long probe_access(volatile unsigned long *va, int write): 0, or -14 (EFAULT) when the access
   page-faults: the #PF handler abandons the exception frame and resumes at probe_fault with the
   stack pointer probe saved (a 64-bit PV kernel needs no iret for this: nothing is nested). */
	.text
	.globl probe_access
probe_access:
	movq %rsp, probe_rsp(%rip)
	testl %esi, %esi
	jz 1f
	movq (%rdi), %rax
	movq %rax, (%rdi)
	jmp 2f
1:	movq (%rdi), %rax
2:	xorl %eax, %eax
	movq $0, probe_rsp(%rip)
	ret
probe_fault:
	movq probe_rsp(%rip), %rsp
	movq $0, probe_rsp(%rip)
	movq $-14, %rax
	ret

/* The #PF entry (vector 14, through HYPERVISOR_set_trap_table): Xen has pushed rcx, r11, the error
   code and the iret frame. A fault outside probe_access is fatal: report it and stop. */
	.globl page_fault_entry
page_fault_entry:
	cmpq $0, probe_rsp(%rip)
	jne probe_fault
	movq 24(%rsp), %rdi
	call unexpected_fault
3:	hlt
	jmp 3b

	.bss
	.balign 16
probe_rsp:
	.quad 0
	.balign 4096
	.globl scratch_page
scratch_page:
	.fill 4096, 1, 0
stack:
	.fill 65536, 1, 0
stack_top:
	.section .note.GNU-stack, "", @progbits
