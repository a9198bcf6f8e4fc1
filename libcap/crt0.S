// crt0.S - process and thread entry points of every capOS user program.
//
// _start: the kernel enters here (capos/abi/start.h):
//   rdi = StartBlock*, rsp = top of the main stack (16-byte aligned),
//   FS base = thread 0's TLS block, ring 0 mapped, other registers zero.
// cap_thread_entry: threads made by cap::Thread::spawn enter here via
//   Process.createThread: rdi = the Thread::Block at the stack top,
//   rsp = 16-byte aligned stack top, FS base = the thread's TLS block.
// Both end the frame-pointer chain (rbp = 0), re-align rsp defensively and
// call into C++ with rsp % 16 == 0 before the call, as the SysV ABI wants.
// The C++ side never returns; ud2 catches it if it ever did.

    .section .text.start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    xorl %ebp, %ebp
    andq $-16, %rsp
    call cap_runtime_start
    ud2
    .size _start, . - _start

    .globl cap_thread_entry
    .type cap_thread_entry, @function
cap_thread_entry:
    xorl %ebp, %ebp
    andq $-16, %rsp
    call cap_thread_main
    ud2
    .size cap_thread_entry, . - cap_thread_entry

    .section .note.GNU-stack, "", @progbits
