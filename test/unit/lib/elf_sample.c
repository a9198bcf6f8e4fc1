/* elf_sample.c - a tiny static user program: the ELF loader test's real-toolchain image. */
#include <stdint.h>

static const char message[] = "capos elf sample"; /* .rodata */
uint64_t counter = 42;                            /* .data */
uint64_t zeroed[512];                             /* .bss, spans pages */
__thread uint64_t tls_value = 7;                  /* .tdata */
__thread uint64_t tls_zero[4];                    /* .tbss */

void _start(void) {
    volatile uint64_t sink = counter + zeroed[3] + (uint64_t)message[0];
    (void)sink;
    for (;;) {}
}
