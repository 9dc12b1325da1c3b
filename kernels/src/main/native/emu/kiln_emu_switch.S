/* Fiber context switch for x86-64 System V: saves the callee-saved registers on the current
 * stack, stores the stack pointer in *from and resumes the stack saved in to. Everything else
 * is caller-saved, so the C++ caller has already spilled it. MXCSR and the x87 control word
 * are not switched: kernels never change rounding modes, and fldcw alone cost a third of the
 * time of a switch.
 *
 *   void kiln_emu_switch(void** from, void* to);
 *
 * A new fiber's stack is prepared by kiln_emu_runtime.cpp so that the first switch "returns"
 * into kiln_emu_fiber_start with the entry function in r13 and its argument in r12. */
#if defined(__x86_64__) && !defined(KILN_EMU_UCONTEXT)

    .text
    .globl  kiln_emu_switch
    .hidden kiln_emu_switch
    .type   kiln_emu_switch, @function
kiln_emu_switch:
    .cfi_startproc
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .cfi_endproc
    .size   kiln_emu_switch, .-kiln_emu_switch

    .globl  kiln_emu_fiber_start
    .hidden kiln_emu_fiber_start
    .type   kiln_emu_fiber_start, @function
kiln_emu_fiber_start:
    .cfi_startproc
    .cfi_undefined rip
    xorl    %ebp, %ebp
    movq    %r12, %rdi
    callq   *%r13
    ud2                          /* the entry function never returns */
    .cfi_endproc
    .size   kiln_emu_fiber_start, .-kiln_emu_fiber_start

#endif

    .section .note.GNU-stack,"",@progbits
