/* SPDX-License-Identifier: MIT */
/*
 * The context switch for x86-64 (System V ABI): the callee-saved registers
 * and the x87/SSE control words are pushed on the stack being left, whose
 * pointer is stored; everything else is the caller's to save, as for any
 * call.  See ../ctx.h.
 */
#include "config.h"

#include <stdint.h>

#include "../ctx.h"

#if !defined(__x86_64__) || defined(__ILP32__)
#error "arch/x86_64/ctx.c is for the x86-64 LP64 ABI only"
#endif

void xos__ctx_start(void) XOS_HIDDEN;

__asm__(".text\n"
	".globl xos__ctx_swap\n"
	".hidden xos__ctx_swap\n"
	".type xos__ctx_swap,@function\n"
	"xos__ctx_swap:\n"
	"	.cfi_startproc\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $16, %rsp\n"
	"	stmxcsr 8(%rsp)\n"
	"	fnstcw (%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	fldcw (%rsp)\n"
	"	ldmxcsr 8(%rsp)\n"
	"	addq $16, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size xos__ctx_swap, .-xos__ctx_swap\n"
	/* First entry into a domain: r13 = function, r12 = its argument. */
	".globl xos__ctx_start\n"
	".hidden xos__ctx_start\n"
	".type xos__ctx_start,@function\n"
	"xos__ctx_start:\n"
	"	movq %r12, %rdi\n"
	"	andq $-16, %rsp\n"
	"	callq *%r13\n"
	"	ud2\n"
	".size xos__ctx_start, .-xos__ctx_start\n");

void *xos__ctx_init(uintptr_t stack_hi, void (*entry)(void *), void *arg)
{
	uint64_t *f = (uint64_t *)(stack_hi & ~(uintptr_t)15) - 10;

	f[0] = 0x037f;                     /* x87 control word: the ABI's default */
	f[1] = 0x1f80;                     /* mxcsr: the ABI's default */
	f[2] = f[3] = 0;                   /* r15, r14 */
	f[4] = (uint64_t)(uintptr_t)entry; /* r13 */
	f[5] = (uint64_t)(uintptr_t)arg;   /* r12 */
	f[6] = f[7] = 0;                   /* rbx, rbp */
	f[8] = (uint64_t)(uintptr_t)xos__ctx_start;
	f[9] = 0;
	return f;
}
