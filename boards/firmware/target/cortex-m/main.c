/* The Cortex-M target: the HAL of hal.h on ARM's MPS2 board with the AN385
 * image (Cortex-M3, 25 MHz), as QEMU's `-M mps2-an385` emulates it, and the
 * main loop around the firmware core. No libc I/O and no heap: the core's
 * only libc calls are memcpy/memset/memcmp/strlen and snprintf into buffers.
 *
 *   host link   CMSDK APB UART0 (0x40004000): receive by interrupt into a
 *               ring, transmit polled. QEMU connects it to a TCP socket.
 *   ticks       SysTick on the 25 MHz core clock, one interrupt per ms.
 *   flash       LG_FLASH_SIZE bytes of PSRAM at FLASH_BASE, kept across RESET
 *               (a warm boot) but not across QEMU runs: QEMU's RAM is the
 *               only store, and the board simulator's persistence is the
 *               native target's job.
 *   identity    from the provisioning block (below), as a factory's
 *               programmer would leave it in a one-time-programmable area.
 *   reset       SYSRESETREQ through the SCB's AIRCR: QEMU resets the whole
 *               machine and the bootloader runs from scratch.
 *
 * The provisioning block is what `linegate sim --target cortex-m` makes from
 * its state directory and QEMU loads at LG_PROVISION_ADDR (`-device loader`)
 * on every reset; all little-endian:
 *
 *     0  "LGPV"        4  u16 format (1)   6  u8 kind   7  u8 hw_revision
 *     8  serial[16]   24  u8 key count    25  u8 contents (1: a factory image
 *    follows, to provision a blank flash with; 2: a whole flash of LG_FLASH_SIZE
 *    bytes follows)   26  u16 zero        28  u32 length of what follows
 *    32  keys[4][32]  160..255 zero       256 what follows
 *
 * A cold boot (QEMU just started) makes the flash from the block the way the
 * native target's provisioning does: erased, the key block, the factory image
 * in slot A. A warm boot (RESET) keeps the flash as the firmware left it. */
#include <stddef.h>
#include <string.h>

#include "../../firmware.h"
#include "../../image.h"
#include "../../../sim/line_model.h"

#ifndef LG_PROVISION_ADDR
#error "LG_PROVISION_ADDR comes from build_firmware.py (one place for QEMU's loader and the firmware)"
#endif

#define FLASH_BASE 0x21000000u           /* PSRAM: 16 MiB on the MPS2 */
#define WARM_ADDR (FLASH_BASE + 0x3FF000u) /* past the flash, before the block */

_Static_assert(LG_FLASH_SIZE <= 0x3FF000u, "the emulated flash overlaps the warm-boot word");

/* CMSDK APB UART (ARM DDI 0479, "UART"). */
#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08))
#define UART_INTSTATUS (*(volatile uint32_t *)(UART0_BASE + 0x0C))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10))
#define UART_STATE_TXFULL 1u
#define UART_STATE_RXFULL 2u
#define UART_CTRL_TXEN 1u
#define UART_CTRL_RXEN 2u
#define UART_CTRL_RXINT 8u
#define UART_INT_RX 2u

/* Cortex-M3 system control space (ARMv7-M ARM, B3). */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)
#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)
#define AIRCR_SYSRESETREQ 0x05FA0004u    /* VECTKEY + SYSRESETREQ */

#define CORE_HZ 25000000u                /* the AN385's SYSCLK */
#define BAUD 115200u                     /* QEMU ignores it on a socket; a real board would not */

#define PROV_MAGIC 0x5650474Cu           /* "LGPV" */
#define PROV_FACTORY_IMAGE 1u
#define PROV_WHOLE_FLASH 2u
#define PROV_DATA 256u
#define WARM_MAGIC 0x4D524157u           /* "WARM" */

struct warm {
    uint32_t magic;  /* WARM_MAGIC once the flash is made; zero when QEMU starts */
    uint32_t stay;   /* RESET's mode for the next boot */
};

static uint8_t *const flash = (uint8_t *)FLASH_BASE;
static volatile struct warm *const warm = (volatile struct warm *)WARM_ADDR;
static const uint8_t *const prov = (const uint8_t *)LG_PROVISION_ADDR;
static struct lg_board_id board;

/* ---- ticks ---- */
static volatile uint32_t ms;

void lg_systick_handler(void);
void lg_systick_handler(void) { ms++; }

uint32_t lg_hal_ticks_ms(void) { return ms; }

/* A board's clock is real time: no host grants it (SIM_ADVANCE is the simulator's). */
int lg_hal_clock_grant(uint32_t until_ms) { (void)until_ms; return LG_E_STATE; }
void lg_hal_clock_step(uint32_t step_ms) { (void)step_ms; }

/* ---- host link ---- */
/* A ring between the receive interrupt and the main loop; one writer each
 * side. When it is full the interrupt turns itself off and the byte waits in
 * the UART (which holds the sender back), so nothing is dropped. */
#define RING 2048u
static uint8_t ring[RING];
static volatile uint32_t ring_in, ring_out;

void lg_uart0_rx_handler(void);
void lg_uart0_rx_handler(void)
{
    /* Cleared before the drain: a byte that lands after the last read raises
     * it again; cleared after, that byte's interrupt would be lost and the
     * UART, full, would take nothing more. */
    UART_INTSTATUS = UART_INT_RX;
    while (UART_STATE & UART_STATE_RXFULL) {
        if (ring_in - ring_out == RING) {
            UART_CTRL &= ~UART_CTRL_RXINT;
            break;
        }
        ring[ring_in % RING] = (uint8_t)UART_DATA;
        ring_in++;
    }
}

size_t lg_hal_link_recv(uint8_t *buf, size_t max, uint32_t wait_ms)
{
    uint32_t start = ms;
    for (;;) {
        size_t n = 0;
        while (n < max && ring_out != ring_in) {
            buf[n++] = ring[ring_out % RING];
            ring_out++;
        }
        if (n) {
            UART_CTRL |= UART_CTRL_RXINT;     /* room again */
            return n;
        }
        if (ms - start >= wait_ms)
            return 0;
        /* Sleep until the next interrupt (a byte or the next tick). Masked so
         * that an interrupt between the check and the WFI still wakes it. */
        __asm__ volatile("cpsid i" ::: "memory");
        if (ring_out == ring_in)
            __asm__ volatile("wfi");
        __asm__ volatile("cpsie i" ::: "memory");
    }
}

void lg_hal_link_send(const uint8_t *buf, size_t len)
{
    /* QEMU's socket drops what it is given while no host is connected, like the native target. */
    while (len--) {
        while (UART_STATE & UART_STATE_TXFULL)
            ;
        UART_DATA = *buf++;
    }
}

static void say(const char *text)
{
    lg_hal_link_send((const uint8_t *)text, strlen(text));
}

/* ---- flash ---- */
int lg_hal_flash_read(uint32_t addr, uint8_t *buf, size_t len)
{
    if (addr > LG_FLASH_SIZE || len > LG_FLASH_SIZE - addr)
        return LG_E_FLASH;
    memcpy(buf, flash + addr, len);
    return LG_OK;
}

int lg_hal_flash_erase_page(uint32_t addr)
{
    if (addr % LG_PAGE_SIZE || addr >= LG_FLASH_SIZE)
        return LG_E_FLASH;
    memset(flash + addr, 0xFF, LG_PAGE_SIZE);
    return LG_OK;
}

int lg_hal_flash_write_page(uint32_t addr, const uint8_t data[LG_PAGE_SIZE])
{
    if (addr % LG_PAGE_SIZE || addr >= LG_FLASH_SIZE)
        return LG_E_FLASH;
    /* NOR flash programs erased pages only, as the native target insists too. */
    for (uint32_t i = 0; i < LG_PAGE_SIZE; i++)
        if (flash[addr + i] != 0xFF)
            return LG_E_FLASH;
    memcpy(flash + addr, data, LG_PAGE_SIZE);
    return LG_OK;
}

/* ---- identity and reset ---- */
void lg_hal_board_id(struct lg_board_id *id) { *id = board; }

void lg_hal_reset(unsigned mode)
{
    warm->stay = mode;
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = AIRCR_SYSRESETREQ;
    __asm__ volatile("dsb" ::: "memory");
    for (;;)
        ;
}

/* ---- start-up ---- */
static void halt(const char *why) __attribute__((noreturn));
static void halt(const char *why)
{
    /* Plain text on the link: the only place anyone will see it. */
    say("linegate cortex-m: ");
    say(why);
    say("\r\n");
    for (;;)
        __asm__ volatile("wfi");
}

/* There is no heap. newlib-nano's snprintf and the vendored SHA code's
 * (unused) allocating entry points still name malloc, which names _sbrk; a
 * call would be a bug in the core, so it stops the board loudly instead of
 * handing out memory. The link has no other syscall: nothing does I/O. */
void *_sbrk(ptrdiff_t increment);
void *_sbrk(ptrdiff_t increment)
{
    (void)increment;
    halt("the firmware asked for heap memory (malloc); it must not");
}

/* The flash of a new board from the provisioning block (see the top). */
static void provision(void)
{
    uint32_t what = prov[25], length = lg_get32(prov + 28);
    const uint8_t *data = prov + PROV_DATA;
    uint8_t page[LG_PAGE_SIZE];

    if (what == PROV_WHOLE_FLASH) {
        if (length != LG_FLASH_SIZE)
            halt("provisioning block: a whole flash of the wrong size");
        memcpy(flash, data, LG_FLASH_SIZE);
        return;
    }
    if (what != PROV_FACTORY_IMAGE || length < LG_IMAGE_MIN || length > LG_SLOT_SIZE)
        halt("provisioning block: no factory image of a plausible size");
    memset(flash, 0xFF, LG_FLASH_SIZE);
    if (lg_trust_page(page, (const uint8_t(*)[32])(prov + 32), prov[24]) != LG_OK ||
        lg_hal_flash_write_page(LG_FLASH_BOOT, page) != LG_OK)
        halt("provisioning block: the key count is not 1..4");
    for (uint32_t at = 0; at < length; at += LG_PAGE_SIZE) {
        uint32_t n = length - at < LG_PAGE_SIZE ? length - at : LG_PAGE_SIZE;
        memset(page, 0xFF, sizeof page);
        memcpy(page, data + at, n);
        lg_hal_flash_write_page(LG_FLASH_SLOT_A + at, page);
    }
}

int main(void)
{
    static struct lg_fw fw;
    int stay = 0;

    SYST_RVR = CORE_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u;                        /* core clock, interrupt, enable */
    UART_BAUDDIV = CORE_HZ / BAUD;
    UART_CTRL = UART_CTRL_TXEN | UART_CTRL_RXEN | UART_CTRL_RXINT;
    /* A read of DATA, empty or not, is what tells QEMU's UART model to take
     * bytes again; enabling the receiver alone does not, so bytes the host
     * sent while the board was (re)starting would wait forever. A byte
     * already there is kept: it may begin the host's first request. */
    if (UART_STATE & UART_STATE_RXFULL) {
        ring[ring_in % RING] = (uint8_t)UART_DATA;
        ring_in++;
    } else {
        (void)UART_DATA;
    }
    NVIC_ISER0 = 1u << 0;                 /* UART0 RX */

    if (lg_get32(prov) != PROV_MAGIC || lg_get16(prov + 4) != 1)
        halt("no provisioning block in memory: start this firmware with linegate sim KIND --target cortex-m");
    board.kind = prov[6];
    board.hw_revision = prov[7];
    memcpy(board.serial, prov + 8, sizeof board.serial);

    if (warm->magic != WARM_MAGIC) {
        provision();
        warm->magic = WARM_MAGIC;
    } else {
        stay = warm->stay == 1;
    }
    warm->stay = 0;

    lg_model_init(board.kind);  /* the line behind the emulated board (boards/sim) */
    lg_fw_start(&fw, stay);
    for (;;)
        lg_fw_poll(&fw, 200);
}
