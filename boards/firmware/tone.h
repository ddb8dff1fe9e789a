/* G.711 (A-law and mu-law, the algorithms of ITU-T G.711 as in Sun's public
 * g711.c) and the firmware's own tone generator: two frequencies, a level per
 * frequency in 0.1 dBm0, an on/off cadence. Small on purpose: the DSP core
 * (native/) is the host's; the board only needs dial, ring-back and test tones. */
#ifndef LG_TONE_H
#define LG_TONE_H
#include "lg_fw.h"

#define LG_BLOCK 160            /* samples in 20 ms at 8 kHz: one AUDIO block */
#define LG_LAW_ALAW 0
#define LG_LAW_ULAW 1
#define LG_TONE_MIN_LEVEL (-600) /* -60 dBm0 */
#define LG_TONE_MAX_LEVEL 30     /* +3 dBm0: G.711's full scale is +3.14 dBm0 */
#define LG_TONE_MAX_FREQ 3999    /* below the 4 kHz Nyquist limit */

uint8_t lg_g711_encode(unsigned law, int x);
int lg_g711_decode(unsigned law, uint8_t code);
static inline uint8_t lg_g711_silence(unsigned law) { return law == LG_LAW_ALAW ? 0xD5 : 0xFF; }

/* 10^(tenth_db / 200) in Q12 (a gain of 0.1 dB steps): float arithmetic only, no libm. */
int32_t lg_gain_q12(int tenth_db);

struct lg_tone {
    uint8_t active;
    uint32_t phase[2], step[2];   /* 32-bit phase accumulators; step 0: no second frequency */
    int32_t amp[2];               /* peak amplitude, 16-bit linear scale */
    uint32_t on, period;          /* samples; period 0: continuous */
    uint32_t t;                   /* sample within the current period */
    uint16_t repeat, done;        /* periods to play (0: until stopped), periods played */
};

/* Checks and starts a tone; returns LG_OK, or LG_E_ARG with *why naming the field. freq1 = 0 stops. */
int lg_tone_start(struct lg_tone *t, unsigned freq1, unsigned freq2, int level, unsigned on_ms, unsigned off_ms,
                  unsigned repeat, const char **why);
/* The next 20 ms of the tone, G.711-encoded in law; silence in its off phases and once it has ended. */
void lg_tone_block(struct lg_tone *t, unsigned law, uint8_t out[LG_BLOCK]);

#endif
