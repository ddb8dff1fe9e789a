/* The board's line side: the ports' and spans' state machines, the audio
 * channels (jitter queue toward the line, tone generator, 20 ms AUDIO blocks
 * toward the host) and the stored line configuration, run from the main loop
 * every LG_LINE_TICK_MS. */
#ifndef LG_LINE_H
#define LG_LINE_H
#include "config.h"
#include "span.h"
#include "tone.h"

#define LG_LINE_TICK_MS 5
#define LG_AUDIO_MS 20
#define LG_AUDIO_QUEUE 6            /* host blocks held toward the line: 120 ms of jitter */
#define LG_CHANNEL_IDLE_MS 1000     /* a channel the host fed closes this long after its last block or tone */
#define LG_CHANNELS (LG_MAX_SPANS * 32)

struct lg_chan {
    uint8_t open, fed, qhead, qlen;   /* fed: the host sent AUDIO or a TONE within LG_CHANNEL_IDLE_MS */
    uint32_t time;                  /* samples since the channel opened (AUDIO.time) */
    uint32_t last_use;              /* last host AUDIO or tone, ms */
    struct lg_tone tone;
    uint8_t q[LG_AUDIO_QUEUE][LG_BLOCK];
};

struct lg_line {
    uint8_t started, kind, nports, nspans;
    struct lg_line_config cfg;
    uint32_t cfg_seq;
    uint8_t cfg_loaded;
    struct lg_port port[LG_MAX_PORTS];
    struct lg_span span[LG_MAX_SPANS];
    struct lg_chan chan[LG_CHANNELS];   /* a port's channel: [port]; a span's timeslot: [span * 32 + ts] */
    uint32_t next_tick, next_audio;
    uint32_t dropped, queue_overruns;   /* host frames the line could not take; blocks lost to a full queue */
    uint32_t last_drop_log;
};

#endif
