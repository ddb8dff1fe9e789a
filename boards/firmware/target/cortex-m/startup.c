/* Start-up of the Cortex-M target: the vector table and the reset handler,
 * which copies .data from its load address, clears .bss and calls main.
 * A fault parks the core in a loop where a debugger (qemu -s -S, gdb) finds it. */
#include <stdint.h>

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, __stack_top;
int main(void);
void lg_systick_handler(void);
void lg_uart0_rx_handler(void);
void lg_reset_handler(void);

static void fault(void)
{
    for (;;)
        ;
}

/* 16 system exceptions, then the one peripheral interrupt in use: IRQ 0 is
 * UART0's receive interrupt on the AN385 (QEMU hw/arm/mps2.c, uartirq[]). */
__attribute__((section(".vectors"), used)) static void (*const vectors[17])(void) = {
    (void (*)(void))(uintptr_t)&__stack_top,
    lg_reset_handler,
    fault, /* NMI */
    fault, /* HardFault */
    fault, /* MemManage */
    fault, /* BusFault */
    fault, /* UsageFault */
    0, 0, 0, 0,
    fault, /* SVCall */
    fault, /* DebugMonitor */
    0,
    fault, /* PendSV */
    lg_systick_handler,
    lg_uart0_rx_handler,
};

void lg_reset_handler(void)
{
    uint32_t *src = &__data_load, *dst = &__data_start;
    while (dst < &__data_end)
        *dst++ = *src++;
    for (dst = &__bss_start; dst < &__bss_end;)
        *dst++ = 0;
    main();
    fault();
}
