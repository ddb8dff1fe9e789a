/* Analog port state machines: FXO (our hook toward an exchange: ring
 * detection, battery, polarity, loop current) and FXS (a phone's hook, our
 * ring generator with the tone zone's cadence, battery and polarity).
 * PROTOCOL.md's PORT_COMMAND in, PORT_EVENT out; no I/O but the HAL's. */
#ifndef LG_PORT_H
#define LG_PORT_H
#include "hal.h"

/* A debounced input: the state follows the raw value once the raw value has
 * held for rise_ms (raw nonzero) or fall_ms (raw zero). */
struct lg_debounce {
    uint8_t state, raw;
    uint32_t since;
};
/* Feeds the raw value at now; returns 1 when the state changed. */
int lg_debounce(struct lg_debounce *d, uint8_t raw, uint32_t now, uint32_t rise_ms, uint32_t fall_ms);
void lg_debounce_init(struct lg_debounce *d, uint8_t state, uint32_t now);

enum lg_port_command { LG_PC_ON_HOOK, LG_PC_OFF_HOOK, LG_PC_FLASH, LG_PC_RING_START, LG_PC_RING_STOP,
                       LG_PC_REVERSE_POLARITY, LG_PC_BATTERY_ON, LG_PC_BATTERY_OFF };
enum lg_port_event { LG_PE_OFF_HOOK, LG_PE_ON_HOOK, LG_PE_RING_ON, LG_PE_RING_OFF, LG_PE_BATTERY_LOST,
                     LG_PE_BATTERY_RESTORED, LG_PE_POLARITY_REVERSAL, LG_PE_LOOP_CURRENT };
/* STATUS_REPORT port state bits */
#define LG_PS_OFFHOOK 1
#define LG_PS_RINGING 2
#define LG_PS_BATTERY 4
#define LG_PS_REVERSED 8

#define LG_PORT_MAX_EVENTS 6
#define LG_FLASH_MIN_MS 20
#define LG_FLASH_MAX_MS 2000
/* An on-hook FXO port's channel stays open this long after the last ring or a
 * polarity reversal (PROTOCOL.md, "The line side": the caller-ID window). */
#define LG_CID_WINDOW_MS 6000

struct lg_port_ev { uint8_t event; uint16_t value; };

struct lg_port {
    uint8_t fxs;
    struct lg_hal_port_drive drive;
    /* FXO: the host's hook and a flash in progress */
    uint8_t want_offhook, flashing;
    uint32_t flash_end;
    /* FXS: the ring generator; cadence[] alternates on and off times (ms) */
    uint16_t cadence[4];
    uint8_t ncadence, ring_active, ring_fresh, ring_seg, gen_on;
    uint32_t seg_start;
    /* sensed and debounced */
    struct lg_debounce hook, ring, battery, reversed;
    uint8_t ring_seen;
    uint32_t last_ring_pulse;
    uint16_t loop_ma, reported_ma, settle_ma;
    uint8_t ma_reported;
    uint32_t ma_since;
    /* FXO: the caller-ID window (on-hook, from RING_ON or POLARITY_REVERSAL) and when it closes */
    uint8_t cid_window;
    uint32_t cid_until;
};

void lg_port_init(struct lg_port *p, unsigned index, int fxs, const uint8_t zone[2], uint32_t now);
/* The ring cadence of a tone zone (ISO country code); an unknown zone rings 1 s on, 4 s off. */
void lg_port_set_zone(struct lg_port *p, const uint8_t zone[2]);
/* A PORT_COMMAND; returns a RESULT status (msg.h's LG_ST_*) and *why for its detail. */
int lg_port_command(struct lg_port *p, unsigned index, unsigned cmd, unsigned ms, uint32_t now, const char **why);
/* One line tick: drive the port, read it, debounce; returns the events (at most LG_PORT_MAX_EVENTS). */
int lg_port_step(struct lg_port *p, unsigned index, uint32_t now, struct lg_port_ev *ev);
uint8_t lg_port_state(const struct lg_port *p);
/* The channel carries audio: the loop is closed, or an FXO port's caller-ID window is open. */
static inline int lg_port_in_use(const struct lg_port *p)
{
    return p->fxs ? p->hook.state : p->drive.offhook || p->cid_window;
}

#endif
