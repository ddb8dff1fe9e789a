"""spandsp's receivers as a yardstick for Linegate's (test and benchmark only).

spandsp (Steve Underwood's telephony DSP library, LGPL-2.1; Debian
``libspandsp-dev``) is what most open-source PBXs use to hear DTMF, so it is the
receiver Linegate has to beat. This module binds its ``dtmf_rx`` through cffi in
API mode, and for the combined benchmark also ``super_tone_rx`` (call-progress
tones) and ``modem_connect_tones_rx`` (fax CNG, ANSam/PR): ``SpandspToneBank``
runs all four on every channel (see its docstring and ``CPT_TONES_DE``);
for caller ID, ``adsi_rx`` (``SpandspCallerIdBank``) and ``adsi_tx``
(``adsi_tx()``).
The small C module is compiled on first use into a cache folder
(``$LINEGATE_SPANDSP_CACHE``, by default ``<tempdir>/linegate-spandsp-<hash>``,
the hash covering the C text, cffi, Python and the platform) and linked with
``-lspandsp``; nothing is built at install time, and Linegate itself never
links spandsp.

    if available():
        bank = SpandspDtmfBank(channels=256)
        for channel, digit, pos in bank.feed(block):   # block: int16 (256, n)
            ...
        detect_digits(signal)                           # [(digit, pos), ...]
        tones = SpandspToneBank(channels=256)           # dtmf_rx + super_tone_rx + 2 x modem_connect_tones_rx
        for channel, kind, value, pos in tones.feed(block):
            ...

Like Linegate's ``DetectorBank``, a feed runs every channel in ONE call into C
(a loop over channels in the wrapper's own C code), so Python overhead does not
weigh on the comparison. spandsp is configured as its defaults
(``dtmf_rx_init``: no dial-tone filter, 8 dB normal twist, 4 dB reverse twist,
-42 dBm0 threshold) unless parameters are given; they go through
``dtmf_rx_parms``.

When spandsp reports a digit: once per key press, with no end. ``dtmf_rx``
works on blocks of 102 samples (12.75 ms) and calls its digits callback at the
end of the second consecutive block that agrees on a key, so a report comes
23-36 ms (median 30 ms) after the tone began, depending on how the onset falls
against the block grid (measured on 400 clean 50 ms tones at -10 dBm0): near
the start, not at the tone's end, and the end itself is never reported. The
position recorded for a digit is the number of the channel's samples consumed
when spandsp reported it:

- ``exact=True`` (the default): each channel's input is cut at spandsp's
  102-sample block edges, so the position is the sample just after the block
  that confirmed the digit (a multiple of 102 since the bank was made);
- ``exact=False``: one ``dtmf_rx`` call per channel per feed, as an application
  would call it; the position is the end of the fed block (up to one block
  late). The benchmark uses this mode.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
import sys
import sysconfig
import tempfile
from typing import NamedTuple

import numpy as np

# spandsp's DTMF_SAMPLES_PER_BLOCK (private to its dtmf.c, so not in any
# header). The build checks it against the library at load time.
SPANDSP_BLOCK = 102

_CDEF = """
typedef struct {
    int32_t channel;
    int32_t kind;     /* LGSD_KIND_*: which receiver reported */
    int32_t code;     /* a digit's character; a tone id or code (see Python) */
    int64_t pos;
} lgsd_event;

typedef struct lgsd_bank lgsd_bank;
typedef struct super_tone_rx_descriptor_s super_tone_rx_descriptor_t;

#define LGSD_RX_DTMF 1
#define LGSD_RX_SUPER_TONE 2
#define LGSD_RX_CNG 4
#define LGSD_RX_ANS 8
#define LGSD_KIND_DTMF 0
#define LGSD_KIND_SUPER_TONE 1
#define LGSD_KIND_CNG 2
#define LGSD_KIND_ANS 3

/* spandsp's own descriptor builders (the bank takes ownership of the descriptor). */
super_tone_rx_descriptor_t *super_tone_rx_make_descriptor(super_tone_rx_descriptor_t *desc);
int super_tone_rx_add_tone(super_tone_rx_descriptor_t *desc);
int super_tone_rx_add_element(super_tone_rx_descriptor_t *desc, int tone, int f1, int f2, int min, int max);
int super_tone_rx_free_descriptor(super_tone_rx_descriptor_t *desc);

lgsd_bank *lgsd_bank_new(int channels, int receivers, super_tone_rx_descriptor_t *desc);
void lgsd_bank_free(lgsd_bank *b);
void lgsd_bank_parms(lgsd_bank *b, int filter_dialtone, int twist, int reverse_twist, int threshold);
int lgsd_bank_reserve(lgsd_bank *b, int capacity);
int lgsd_feed_s16(lgsd_bank *b, const int16_t *samples, int stride, int nsamples, int exact);
int lgsd_feed_ulaw(lgsd_bank *b, const uint8_t *codes, int stride, int nsamples, int exact);
int lgsd_take(lgsd_bank *b, lgsd_event *out, int max);
int64_t lgsd_lost(lgsd_bank *b);
int lgsd_block_check(void);
int lgsd_ans_check(void);
int lgsd_monitored_frequencies(lgsd_bank *b);
const char *lgsd_release(void);

/* ADSI: caller ID FSK (adsi_tx / adsi_rx). */
#define LGSD_ADSI_CLASS 1
#define LGSD_ADSI_CLIP 2
typedef struct {
    int32_t channel;
    int32_t length;      /* type, length and payload: spandsp keeps the checksum to itself */
    int64_t pos;
    uint8_t bytes[256];
} lgsd_adsi_message;
typedef struct lgsd_adsi_bank lgsd_adsi_bank;
lgsd_adsi_bank *lgsd_adsi_bank_new(int channels, const int *standards);
void lgsd_adsi_bank_free(lgsd_adsi_bank *b);
int lgsd_adsi_feed_s16(lgsd_adsi_bank *b, const int16_t *samples, int stride, int nsamples);
int lgsd_adsi_feed_ulaw(lgsd_adsi_bank *b, const uint8_t *codes, int stride, int nsamples);
int lgsd_adsi_take(lgsd_adsi_bank *b, lgsd_adsi_message *out, int max);
int lgsd_adsi_tx(int standard, const uint8_t *msg, int len, int seizure_bits, int mark_bits, float level_dbm0,
                 int16_t *out, int max);

/* MF: r2_mf_rx / bell_mf_rx, r2_mf_tx / bell_mf_tx. */
#define LGSD_MF_R2_FWD 0
#define LGSD_MF_R2_BWD 1
#define LGSD_MF_BELL 2
typedef struct {
    int32_t channel;
    int32_t code;        /* the signal's character; 0: an R2 signal ended */
    int64_t pos;
} lgsd_mf_event;
typedef struct lgsd_mf_bank lgsd_mf_bank;
lgsd_mf_bank *lgsd_mf_bank_new(int channels, int kind);
void lgsd_mf_bank_free(lgsd_mf_bank *b);
int lgsd_mf_feed_s16(lgsd_mf_bank *b, const int16_t *samples, int stride, int nsamples);
int lgsd_mf_feed_ulaw(lgsd_mf_bank *b, const uint8_t *codes, int stride, int nsamples);
int lgsd_mf_take(lgsd_mf_bank *b, lgsd_mf_event *out, int max);
int lgsd_r2_mf_tx(int fwd, char digit, int16_t *out, int n);
int lgsd_bell_mf_tx(const char *digits, int16_t *out, int max);
"""

_SOURCE = r"""
#define SPANDSP_EXPOSE_INTERNAL_STRUCTURES
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>
#include <spandsp/version.h>

#define LGSD_BLOCK %(block)d
#define LGSD_ULAW_CHUNK 512

#define LGSD_RX_DTMF 1
#define LGSD_RX_SUPER_TONE 2
#define LGSD_RX_CNG 4
#define LGSD_RX_ANS 8
#define LGSD_KIND_DTMF 0
#define LGSD_KIND_SUPER_TONE 1
#define LGSD_KIND_CNG 2
#define LGSD_KIND_ANS 3

typedef struct {
    int32_t channel;
    int32_t kind;
    int32_t code;
    int64_t pos;
} lgsd_event;

typedef struct lgsd_bank lgsd_bank;

/* What a tone receiver's callback gets: where to put the report. */
typedef struct {
    lgsd_bank *bank;
    int32_t channel;
    int32_t kind;
} lgsd_tag;

typedef struct {
    dtmf_rx_state_t rx;
    lgsd_bank *bank;
    int32_t channel;
    super_tone_rx_state_t *st;          /* allocated by spandsp (its size depends on the descriptor) */
    modem_connect_tones_rx_state_t *cng; /* into the bank's arrays; NULL when not run */
    modem_connect_tones_rx_state_t *ans;
    lgsd_tag *tags;                     /* [3]: super tone, CNG, ANS */
} lgsd_chan;

struct lgsd_bank {
    int32_t channels;
    int32_t receivers;    /* LGSD_RX_* bits */
    int64_t samples;      /* samples fed to every channel so far */
    int64_t now;          /* position credited to a report made now */
    lgsd_event *events;
    int32_t nevents;
    int32_t capacity;
    int64_t lost;
    lgsd_chan *chans;
    modem_connect_tones_rx_state_t *cng;
    modem_connect_tones_rx_state_t *ans;
    lgsd_tag *tags;
    super_tone_rx_descriptor_t *desc;
    int16_t ulaw[256];    /* spandsp's ulaw_to_linear() as a table */
};

static void lgsd_push(lgsd_bank *b, int32_t channel, int32_t kind, int32_t code)
{
    if (b->nevents == b->capacity) {
        int capacity = b->capacity ? 2 * b->capacity : 256;
        lgsd_event *ev = realloc(b->events, (size_t) capacity * sizeof(lgsd_event));
        if (ev == NULL) {
            b->lost++;
            return;
        }
        b->events = ev;
        b->capacity = capacity;
    }
    lgsd_event *e = &b->events[b->nevents++];
    e->channel = channel;
    e->kind = kind;
    e->code = code;
    e->pos = b->now;
}

/* spandsp's digits callback: it runs inside dtmf_rx() as soon as a digit is
   confirmed, with (normally) one digit. */
static void lgsd_on_digits(void *user_data, const char *digits, int len)
{
    lgsd_chan *c = (lgsd_chan *) user_data;
    for (int i = 0; i < len; i++)
        lgsd_push(c->bank, c->channel, LGSD_KIND_DTMF, (unsigned char) digits[i]);
}

/* super_tone_rx's and modem_connect_tones_rx's callback: a tone id / tone
   type when one is recognised, -1 / MODEM_CONNECT_TONES_NONE when it ends. */
static void lgsd_on_tone(void *user_data, int code, int level, int delay)
{
    lgsd_tag *t = (lgsd_tag *) user_data;
    (void) level;
    (void) delay;
    lgsd_push(t->bank, t->channel, t->kind, code);
}

void lgsd_bank_free(lgsd_bank *b)
{
    if (b == NULL)
        return;
    if (b->chans != NULL) {
        for (int ch = 0; ch < b->channels; ch++)
            if (b->chans[ch].st != NULL)
                super_tone_rx_free(b->chans[ch].st);
    }
    if (b->desc != NULL)
        super_tone_rx_free_descriptor(b->desc);
    free(b->events);
    free(b->chans);
    free(b->cng);
    free(b->ans);
    free(b->tags);
    free(b);
}

/* `receivers`: LGSD_RX_* bits. `desc` (needed for, and only with,
   LGSD_RX_SUPER_TONE) belongs to the bank from now on, even on failure. */
lgsd_bank *lgsd_bank_new(int channels, int receivers, super_tone_rx_descriptor_t *desc)
{
    int bad = channels < 1 || receivers <= 0 || (receivers & ~15)
              || ((receivers & LGSD_RX_SUPER_TONE) != 0) != (desc != NULL);
    lgsd_bank *b = bad ? NULL : calloc(1, sizeof(*b));
    if (b == NULL) {
        if (desc != NULL)
            super_tone_rx_free_descriptor(desc);
        return NULL;
    }
    b->channels = channels;
    b->receivers = receivers;
    b->desc = desc;
    for (int i = 0; i < 256; i++)
        b->ulaw[i] = ulaw_to_linear((uint8_t) i);
    b->chans = calloc((size_t) channels, sizeof(lgsd_chan));
    if (b->chans == NULL)
        goto fail;
    if (receivers & (LGSD_RX_SUPER_TONE | LGSD_RX_CNG | LGSD_RX_ANS)) {
        b->tags = calloc((size_t) channels * 3, sizeof(lgsd_tag));
        if (b->tags == NULL)
            goto fail;
    }
    if (receivers & LGSD_RX_CNG) {
        b->cng = calloc((size_t) channels, sizeof(modem_connect_tones_rx_state_t));
        if (b->cng == NULL)
            goto fail;
    }
    if (receivers & LGSD_RX_ANS) {
        b->ans = calloc((size_t) channels, sizeof(modem_connect_tones_rx_state_t));
        if (b->ans == NULL)
            goto fail;
    }
    for (int ch = 0; ch < channels; ch++) {
        lgsd_chan *c = &b->chans[ch];
        c->bank = b;
        c->channel = ch;
        if (receivers & LGSD_RX_DTMF)
            dtmf_rx_init(&c->rx, lgsd_on_digits, c);
        if (b->tags != NULL) {
            c->tags = &b->tags[3 * ch];
            for (int k = 0; k < 3; k++) {
                c->tags[k].bank = b;
                c->tags[k].channel = ch;
                c->tags[k].kind = LGSD_KIND_SUPER_TONE + k;
            }
        }
        if (receivers & LGSD_RX_SUPER_TONE) {
            c->st = super_tone_rx_init(NULL, desc, lgsd_on_tone, &c->tags[0]);
            if (c->st == NULL)
                goto fail;
        }
        if (receivers & LGSD_RX_CNG) {
            c->cng = &b->cng[ch];
            modem_connect_tones_rx_init(c->cng, MODEM_CONNECT_TONES_FAX_CNG, lgsd_on_tone, &c->tags[1]);
        }
        if (receivers & LGSD_RX_ANS) {
            c->ans = &b->ans[ch];
            modem_connect_tones_rx_init(c->ans, MODEM_CONNECT_TONES_ANSAM_PR, lgsd_on_tone, &c->tags[2]);
        }
    }
    return b;
fail:
    lgsd_bank_free(b);
    return NULL;
}

int lgsd_monitored_frequencies(lgsd_bank *b)
{
    return b->desc ? b->desc->monitored_frequencies : 0;
}

void lgsd_bank_parms(lgsd_bank *b, int filter_dialtone, int twist, int reverse_twist, int threshold)
{
    if (!(b->receivers & LGSD_RX_DTMF))
        return;
    for (int ch = 0; ch < b->channels; ch++)
        dtmf_rx_parms(&b->chans[ch].rx, filter_dialtone, twist, reverse_twist, threshold);
}

/* Room for `capacity` events before the next feed (the buffer also grows
   while feeding; this only saves the reallocations). */
int lgsd_bank_reserve(lgsd_bank *b, int capacity)
{
    if (capacity <= b->capacity)
        return 0;
    lgsd_event *ev = realloc(b->events, (size_t) capacity * sizeof(lgsd_event));
    if (ev == NULL)
        return -1;
    b->events = ev;
    b->capacity = capacity;
    return 0;
}

/* Every receiver of the channel on the same `n` samples, as an application
   runs them on a frame. */
static inline void lgsd_run(lgsd_bank *b, lgsd_chan *c, const int16_t *x, int n)
{
    int rx = b->receivers;
    if (rx & LGSD_RX_DTMF)
        dtmf_rx(&c->rx, x, n);
    if (rx & LGSD_RX_SUPER_TONE)
        super_tone_rx(c->st, x, n);
    if (rx & LGSD_RX_CNG)
        modem_connect_tones_rx(c->cng, x, n);
    if (rx & LGSD_RX_ANS)
        modem_connect_tones_rx(c->ans, x, n);
}

/* One channel, `n` samples that start `offset` samples into this feed. */
static void lgsd_feed_channel(lgsd_bank *b, lgsd_chan *c, const int16_t *x, int n, int offset, int exact)
{
    if (!exact || !(b->receivers & LGSD_RX_DTMF)) {
        b->now = b->samples + offset + n;
        lgsd_run(b, c, x, n);
        return;
    }
    /* Cut at spandsp's DTMF block edges: a digit reported during a call was
       confirmed by the block that ends where the call ends. */
    int done = 0;
    while (done < n) {
        int room = LGSD_BLOCK - c->rx.current_sample;
        int len = (n - done < room) ? n - done : room;
        b->now = b->samples + offset + done + len;
        lgsd_run(b, c, x + done, len);
        done += len;
    }
}

int lgsd_feed_s16(lgsd_bank *b, const int16_t *samples, int stride, int nsamples, int exact)
{
    for (int ch = 0; ch < b->channels; ch++)
        lgsd_feed_channel(b, &b->chans[ch], samples + (size_t) ch * stride, nsamples, 0, exact);
    b->samples += nsamples;
    return b->nevents;
}

/* spandsp takes 16-bit linear only: decode with its own G.711 (through a
   table, as a careful application on spandsp would), a chunk at a time,
   once per channel for all its receivers. */
int lgsd_feed_ulaw(lgsd_bank *b, const uint8_t *codes, int stride, int nsamples, int exact)
{
    int16_t buf[LGSD_ULAW_CHUNK];
    for (int ch = 0; ch < b->channels; ch++) {
        const uint8_t *x = codes + (size_t) ch * stride;
        for (int done = 0; done < nsamples; done += LGSD_ULAW_CHUNK) {
            int len = (nsamples - done < LGSD_ULAW_CHUNK) ? nsamples - done : LGSD_ULAW_CHUNK;
            for (int i = 0; i < len; i++)
                buf[i] = b->ulaw[x[done + i]];
            lgsd_feed_channel(b, &b->chans[ch], buf, len, done, exact);
        }
    }
    b->samples += nsamples;
    return b->nevents;
}

int lgsd_take(lgsd_bank *b, lgsd_event *out, int max)
{
    int n = (b->nevents < max) ? b->nevents : max;
    memcpy(out, b->events, (size_t) n * sizeof(lgsd_event));
    memmove(b->events, b->events + n, (size_t) (b->nevents - n) * sizeof(lgsd_event));
    b->nevents -= n;
    return n;
}

int64_t lgsd_lost(lgsd_bank *b)
{
    return b->lost;
}

/* Returns 1 when spandsp's block length is LGSD_BLOCK: after 250 samples
   from init, its position inside the current block is 250 mod LGSD_BLOCK. */
int lgsd_block_check(void)
{
    dtmf_rx_state_t s;
    int16_t zeros[250];
    memset(&s, 0, sizeof(s));
    memset(zeros, 0, sizeof(zeros));
    dtmf_rx_init(&s, NULL, NULL);
    dtmf_rx(&s, zeros, 250);
    return s.current_sample == 250 %% LGSD_BLOCK;
}

/* The tone type an ANSam/PR receiver runs as: spandsp treats ANS_PR, ANSAM
   and ANSAM_PR alike on receive (as MODEM_CONNECT_TONES_ANS), reporting
   which of them it heard. */
int lgsd_ans_check(void)
{
    modem_connect_tones_rx_state_t s;
    memset(&s, 0, sizeof(s));
    modem_connect_tones_rx_init(&s, MODEM_CONNECT_TONES_ANSAM_PR, NULL, NULL);
    return s.tone_type;
}

const char *lgsd_release(void)
{
    return SPANDSP_RELEASE_DATETIME_STRING;
}

/* --- ADSI: caller ID FSK ---------------------------------------------------- */

#define LGSD_ADSI_CLASS ADSI_STANDARD_CLASS
#define LGSD_ADSI_CLIP ADSI_STANDARD_CLIP

typedef struct {
    int32_t channel;
    int32_t length;
    int64_t pos;
    uint8_t bytes[256];
} lgsd_adsi_message;

typedef struct lgsd_adsi_bank lgsd_adsi_bank;

typedef struct {
    adsi_rx_state_t rx;
    lgsd_adsi_bank *bank;
    int32_t channel;
} lgsd_adsi_chan;

struct lgsd_adsi_bank {
    int32_t channels;
    int64_t samples;
    int64_t now;
    lgsd_adsi_message *messages;
    int32_t count;
    int32_t capacity;
    lgsd_adsi_chan *chans;
    int16_t ulaw[256];
};

/* adsi_rx's callback: a message whose checksum held, without the checksum. */
static void lgsd_on_adsi(void *user_data, const uint8_t *msg, int len)
{
    lgsd_adsi_chan *c = (lgsd_adsi_chan *) user_data;
    lgsd_adsi_bank *b = c->bank;
    if (len < 0 || len > 256)
        return;
    if (b->count == b->capacity) {
        int capacity = b->capacity ? 2 * b->capacity : 64;
        lgsd_adsi_message *m = realloc(b->messages, (size_t) capacity * sizeof(*m));
        if (m == NULL)
            return;
        b->messages = m;
        b->capacity = capacity;
    }
    lgsd_adsi_message *m = &b->messages[b->count++];
    m->channel = c->channel;
    m->length = len;
    m->pos = b->now;
    memcpy(m->bytes, msg, (size_t) len);
}

void lgsd_adsi_bank_free(lgsd_adsi_bank *b)
{
    if (b == NULL)
        return;
    free(b->chans);
    free(b->messages);
    free(b);
}

/* `standards`: per channel, ADSI_STANDARD_CLASS or ADSI_STANDARD_CLIP. */
lgsd_adsi_bank *lgsd_adsi_bank_new(int channels, const int *standards)
{
    if (channels < 1)
        return NULL;
    for (int ch = 0; ch < channels; ch++)
        if (standards[ch] != ADSI_STANDARD_CLASS && standards[ch] != ADSI_STANDARD_CLIP)
            return NULL;
    lgsd_adsi_bank *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->channels = channels;
    b->chans = calloc((size_t) channels, sizeof(lgsd_adsi_chan));
    if (b->chans == NULL) {
        lgsd_adsi_bank_free(b);
        return NULL;
    }
    for (int i = 0; i < 256; i++)
        b->ulaw[i] = ulaw_to_linear((uint8_t) i);
    for (int ch = 0; ch < channels; ch++) {
        b->chans[ch].bank = b;
        b->chans[ch].channel = ch;
        adsi_rx_init(&b->chans[ch].rx, standards[ch], lgsd_on_adsi, &b->chans[ch]);
    }
    return b;
}

/* One adsi_rx call per channel per feed, as an application calls it; a
   message's position is the end of the block it completed in. */
int lgsd_adsi_feed_s16(lgsd_adsi_bank *b, const int16_t *samples, int stride, int nsamples)
{
    b->now = b->samples + nsamples;
    for (int ch = 0; ch < b->channels; ch++)
        adsi_rx(&b->chans[ch].rx, samples + (size_t) ch * stride, nsamples);
    b->samples += nsamples;
    return b->count;
}

int lgsd_adsi_feed_ulaw(lgsd_adsi_bank *b, const uint8_t *codes, int stride, int nsamples)
{
    int16_t buf[LGSD_ULAW_CHUNK];
    for (int ch = 0; ch < b->channels; ch++) {
        const uint8_t *x = codes + (size_t) ch * stride;
        for (int done = 0; done < nsamples; done += LGSD_ULAW_CHUNK) {
            int len = (nsamples - done < LGSD_ULAW_CHUNK) ? nsamples - done : LGSD_ULAW_CHUNK;
            for (int i = 0; i < len; i++)
                buf[i] = b->ulaw[x[done + i]];
            b->now = b->samples + done + len;
            adsi_rx(&b->chans[ch].rx, buf, len);
        }
    }
    b->samples += nsamples;
    return b->count;
}

int lgsd_adsi_take(lgsd_adsi_bank *b, lgsd_adsi_message *out, int max)
{
    int n = (b->count < max) ? b->count : max;
    memcpy(out, b->messages, (size_t) n * sizeof(*out));
    memmove(b->messages, b->messages + n, (size_t) (b->count - n) * sizeof(*out));
    b->count -= n;
    return n;
}

/* spandsp's transmitter: `msg` is type, length and payload (adsi_tx_put_message
   rewrites the length and appends the checksum), at `level_dbm0`, with the
   preamble given. Returns the samples written (the whole signal, or -1 when
   it does not fit in `max` or spandsp refuses the message). */
int lgsd_adsi_tx(int standard, const uint8_t *msg, int len, int seizure_bits, int mark_bits, float level_dbm0,
                 int16_t *out, int max)
{
    adsi_tx_state_t tx;
    if (adsi_tx_init(&tx, standard) == NULL)
        return -1;
    adsi_tx_set_preamble(&tx, seizure_bits, mark_bits, -1, -1);
    fsk_tx_power(&tx.fsktx, level_dbm0);
    if (adsi_tx_put_message(&tx, msg, len) != len)
        return -1;
    int total = 0;
    for (;;) {
        if (total == max)
            return -1;
        int n = adsi_tx(&tx, out + total, max - total);
        if (n <= 0)
            break;
        total += n;
    }
    return total;
}

/* --- MF: r2_mf_rx / bell_mf_rx, r2_mf_tx / bell_mf_tx --------------------- */

#define LGSD_MF_R2_FWD 0
#define LGSD_MF_R2_BWD 1
#define LGSD_MF_BELL 2

typedef struct {
    int32_t channel;
    int32_t code;
    int64_t pos;
} lgsd_mf_event;

typedef struct lgsd_mf_bank lgsd_mf_bank;

typedef struct {
    lgsd_mf_bank *bank;
    int32_t channel;
} lgsd_mf_tag;

struct lgsd_mf_bank {
    int32_t channels;
    int32_t kind;
    int64_t samples;
    int64_t now;
    lgsd_mf_event *events;
    int32_t count;
    int32_t capacity;
    r2_mf_rx_state_t *r2;
    bell_mf_rx_state_t *bell;
    lgsd_mf_tag *tags;
    int16_t ulaw[256];
};

static void lgsd_mf_push(lgsd_mf_bank *b, int32_t channel, int32_t code)
{
    if (b->count == b->capacity) {
        int capacity = b->capacity ? 2 * b->capacity : 256;
        lgsd_mf_event *e = realloc(b->events, (size_t) capacity * sizeof(*e));
        if (e == NULL)
            return;
        b->events = e;
        b->capacity = capacity;
    }
    lgsd_mf_event *e = &b->events[b->count++];
    e->channel = channel;
    e->code = code;
    e->pos = b->now;
}

/* r2_mf_rx's callback: the signal's character when one begins, 0 when it ends. */
static void lgsd_on_r2(void *user_data, int code, int level, int delay)
{
    lgsd_mf_tag *t = (lgsd_mf_tag *) user_data;
    (void) level;
    (void) delay;
    lgsd_mf_push(t->bank, t->channel, code);
}

/* bell_mf_rx's digits callback: one report per signal, when recognised. */
static void lgsd_on_bell(void *user_data, const char *digits, int len)
{
    lgsd_mf_tag *t = (lgsd_mf_tag *) user_data;
    for (int i = 0; i < len; i++)
        lgsd_mf_push(t->bank, t->channel, (unsigned char) digits[i]);
}

void lgsd_mf_bank_free(lgsd_mf_bank *b)
{
    if (b == NULL)
        return;
    free(b->events);
    free(b->r2);
    free(b->bell);
    free(b->tags);
    free(b);
}

lgsd_mf_bank *lgsd_mf_bank_new(int channels, int kind)
{
    if (channels < 1 || kind < LGSD_MF_R2_FWD || kind > LGSD_MF_BELL)
        return NULL;
    lgsd_mf_bank *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->channels = channels;
    b->kind = kind;
    for (int i = 0; i < 256; i++)
        b->ulaw[i] = ulaw_to_linear((uint8_t) i);
    b->tags = calloc((size_t) channels, sizeof(lgsd_mf_tag));
    if (kind == LGSD_MF_BELL)
        b->bell = calloc((size_t) channels, sizeof(bell_mf_rx_state_t));
    else
        b->r2 = calloc((size_t) channels, sizeof(r2_mf_rx_state_t));
    if (b->tags == NULL || (b->bell == NULL && b->r2 == NULL)) {
        lgsd_mf_bank_free(b);
        return NULL;
    }
    for (int ch = 0; ch < channels; ch++) {
        b->tags[ch].bank = b;
        b->tags[ch].channel = ch;
        if (kind == LGSD_MF_BELL)
            bell_mf_rx_init(&b->bell[ch], lgsd_on_bell, &b->tags[ch]);
        else
            r2_mf_rx_init(&b->r2[ch], kind == LGSD_MF_R2_FWD, lgsd_on_r2, &b->tags[ch]);
    }
    return b;
}

static void lgsd_mf_run(lgsd_mf_bank *b, int ch, const int16_t *x, int n)
{
    if (b->kind == LGSD_MF_BELL)
        bell_mf_rx(&b->bell[ch], x, n);
    else
        r2_mf_rx(&b->r2[ch], x, n);
}

/* One call per channel per feed, as an application calls them; a report's
   position is the end of the fed block. */
int lgsd_mf_feed_s16(lgsd_mf_bank *b, const int16_t *samples, int stride, int nsamples)
{
    b->now = b->samples + nsamples;
    for (int ch = 0; ch < b->channels; ch++)
        lgsd_mf_run(b, ch, samples + (size_t) ch * stride, nsamples);
    b->samples += nsamples;
    return b->count;
}

int lgsd_mf_feed_ulaw(lgsd_mf_bank *b, const uint8_t *codes, int stride, int nsamples)
{
    int16_t buf[LGSD_ULAW_CHUNK];
    for (int ch = 0; ch < b->channels; ch++) {
        const uint8_t *x = codes + (size_t) ch * stride;
        for (int done = 0; done < nsamples; done += LGSD_ULAW_CHUNK) {
            int len = (nsamples - done < LGSD_ULAW_CHUNK) ? nsamples - done : LGSD_ULAW_CHUNK;
            for (int i = 0; i < len; i++)
                buf[i] = b->ulaw[x[done + i]];
            b->now = b->samples + done + len;
            lgsd_mf_run(b, ch, buf, len);
        }
    }
    b->samples += nsamples;
    return b->count;
}

int lgsd_mf_take(lgsd_mf_bank *b, lgsd_mf_event *out, int max)
{
    int n = (b->count < max) ? b->count : max;
    memcpy(out, b->events, (size_t) n * sizeof(*out));
    memmove(b->events, b->events + n, (size_t) (b->count - n) * sizeof(*out));
    b->count -= n;
    return n;
}

/* `n` samples of R2 signal `digit` (spandsp's code) held, from its start. */
int lgsd_r2_mf_tx(int fwd, char digit, int16_t *out, int n)
{
    r2_mf_tx_state_t tx;
    if (r2_mf_tx_init(&tx, fwd) == NULL)
        return -1;
    r2_mf_tx_put(&tx, digit);
    int total = 0;
    while (total < n) {
        int got = r2_mf_tx(&tx, out + total, n - total);
        if (got <= 0)
            return -1;
        total += got;
    }
    return total;
}

/* The whole Bell MF signal of `digits` (spandsp's codes), or -1 when it
   does not fit in `max`. */
int lgsd_bell_mf_tx(const char *digits, int16_t *out, int max)
{
    bell_mf_tx_state_t tx;
    if (bell_mf_tx_init(&tx) == NULL)
        return -1;
    if (bell_mf_tx_put(&tx, digits, -1) != 0)
        return -1;
    int total = 0;
    for (;;) {
        if (total == max)
            return -1;
        int got = bell_mf_tx(&tx, out + total, max - total);
        if (got <= 0)
            break;
        total += got;
    }
    return total;
}
""" % {"block": SPANDSP_BLOCK}


class SpandspDigit(NamedTuple):
    """A digit spandsp reported: its channel, key and sample position."""

    channel: int
    digit: str
    pos: int


_state = {"lib": None, "ffi": None, "reason": None, "tried": False}


def _cache_dir() -> tuple[str, str]:
    """(cache folder, module name); both change with the source and the toolchain."""
    import cffi

    key = hashlib.sha256(
        "\0".join([_CDEF, _SOURCE, cffi.__version__, sys.version, sysconfig.get_platform()]).encode()
    ).hexdigest()[:16]
    base = os.environ.get("LINEGATE_SPANDSP_CACHE") or os.path.join(tempfile.gettempdir(), f"linegate-spandsp-{key}")
    return base, f"_lg_spandsp_{key}"


def _load():
    if _state["tried"]:
        return _state["lib"]
    _state["tried"] = True
    try:
        import cffi
    except ImportError as exc:
        _state["reason"] = f"cffi is not installed ({exc})"
        return None
    folder, modname = _cache_dir()
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = os.path.join(folder, modname + suffix)
    try:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # several test processes may build at once
            if not os.path.exists(target):
                work = tempfile.mkdtemp(dir=folder)
                try:
                    ffi = cffi.FFI()
                    ffi.cdef(_CDEF)
                    ffi.set_source(modname, _SOURCE, libraries=["spandsp", "m"],
                                   extra_compile_args=["-O2", "-std=gnu99"])
                    built = ffi.compile(tmpdir=work, verbose=False)
                    os.replace(built, target)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
    except Exception as exc:  # headers or library missing, no compiler, read-only tmp
        header = "/usr/include/spandsp/dtmf.h"
        hint = "" if os.path.exists(header) else f" ({header} is absent: install libspandsp-dev)"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _state["reason"] = f"cannot build the spandsp binding{hint}: {first}"
        return None
    try:
        spec = importlib.util.spec_from_file_location(modname, target)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as exc:  # e.g. libspandsp.so removed after the build
        _state["reason"] = f"cannot load the spandsp binding {target}: {exc}"
        return None
    if not module.lib.lgsd_block_check():
        _state["reason"] = f"this spandsp's dtmf_rx does not work on {SPANDSP_BLOCK}-sample blocks; update SPANDSP_BLOCK"
        return None
    _state["ffi"], _state["lib"] = module.ffi, module.lib
    return module.lib


def available() -> bool:
    """True when spandsp's headers and library are there and the binding builds."""
    return _load() is not None


def unavailable_reason() -> str | None:
    """Why ``available()`` is False (None when it is True)."""
    _load()
    return _state["reason"]


def version() -> str:
    """spandsp's release stamp from its headers, e.g. "20110122 075024" (0.0.6)."""
    _ffi, lib = _require()
    return _ffi.string(lib.lgsd_release()).decode()


def _require():
    lib = _load()
    if lib is None:
        raise RuntimeError(f"spandsp is not available: {_state['reason']}")
    return _state["ffi"], lib


class _Bank:
    """A bank of spandsp receivers (``receivers``: LGSD_RX_* bits) fed in lock
    step, one C call per feed; subclasses turn the raw events into reports."""

    def __init__(self, channels, encoding, exact, receivers, desc=None):
        ffi, lib = _require()
        if not isinstance(channels, (int, np.integer)) or channels < 1:
            if desc is not None:
                lib.super_tone_rx_free_descriptor(desc)
            raise ValueError(f"channels must be a positive integer, not {channels!r}")
        if encoding not in ("linear", "ulaw"):
            if desc is not None:
                lib.super_tone_rx_free_descriptor(desc)
            raise ValueError(f"encoding={encoding!r}: one of linear, ulaw")
        self.channels = int(channels)
        self.encoding = encoding
        self.exact = bool(exact)
        self._dtype = np.int16 if encoding == "linear" else np.uint8
        self._feed = lib.lgsd_feed_s16 if encoding == "linear" else lib.lgsd_feed_ulaw
        self._ctype = "int16_t *" if encoding == "linear" else "uint8_t *"
        self._lib, self._ffi = lib, ffi
        bank = lib.lgsd_bank_new(self.channels, receivers, ffi.NULL if desc is None else desc)  # owns desc
        if bank == ffi.NULL:
            raise MemoryError(f"cannot allocate {self.channels} spandsp receivers")
        self._bank = ffi.gc(bank, lib.lgsd_bank_free)
        self._out = ffi.new("lgsd_event[]", 64)
        self.samples = 0

    def _feed_raw(self, block):
        """Feed the next samples of every channel; the raw events (a cdata slice)."""
        if type(block) is not np.ndarray:
            block = np.asarray(block)
        if block.ndim == 1 and self.channels == 1:
            block = block[np.newaxis, :]
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"block must have shape ({self.channels}, samples), not {block.shape}")
        if block.dtype != self._dtype:
            raise ValueError(f"block dtype must be {np.dtype(self._dtype).name} for "
                             f"encoding={self.encoding!r}, not {block.dtype}")
        if not block.flags.c_contiguous:
            block = np.ascontiguousarray(block)
        nsamples = block.shape[1]
        if nsamples == 0:
            return ()
        count = self._feed(self._bank, self._ffi.cast(self._ctype, self._ffi.from_buffer(block)),
                           nsamples, nsamples, int(self.exact))
        self.samples += nsamples
        if self._lib.lgsd_lost(self._bank):
            raise MemoryError("spandsp events were lost: cannot grow the event buffer")
        if count == 0:
            return ()
        if count > len(self._out):
            self._out = self._ffi.new("lgsd_event[]", count)
        n = self._lib.lgsd_take(self._bank, self._out, count)
        return self._out[0:n]


class SpandspDtmfBank(_Bank):
    """``channels`` spandsp DTMF receivers fed in lock step, one C call per feed.

    ``encoding`` is ``"linear"`` (int16 blocks) or ``"ulaw"`` (uint8 G.711
    codes, decoded in C by a table of spandsp's ``ulaw_to_linear``). Parameters left at
    None keep spandsp's defaults; ``threshold`` is in dBm0, twists in dB (integers:
    that is the type of ``dtmf_rx_parms`` in spandsp 0.0.6's header).
    """

    def __init__(self, channels: int, *, encoding: str = "linear", exact: bool = True,
                 filter_dialtone: bool | None = None, twist: int | None = None,
                 reverse_twist: int | None = None, threshold: int | None = None):
        super().__init__(channels, encoding, exact, _require()[1].LGSD_RX_DTMF)
        if any(v is not None for v in (filter_dialtone, twist, reverse_twist, threshold)):
            self._lib.lgsd_bank_parms(
                self._bank,
                -1 if filter_dialtone is None else int(bool(filter_dialtone)),
                -1 if twist is None else int(twist),
                -1 if reverse_twist is None else int(reverse_twist),
                -99 if threshold is None else int(threshold))

    def feed(self, block) -> list[SpandspDigit]:
        """Feed the next samples of every channel; returns the digits reported."""
        return [SpandspDigit(int(e.channel), chr(e.code), int(e.pos)) for e in self._feed_raw(block)]


# --- call progress and fax/modem tones ---------------------------------------

class SuperTone(NamedTuple):
    """A tone pattern for spandsp's ``super_tone_rx``: ``elements`` are
    ``(f1, f2, min_ms, max_ms)`` as ``super_tone_rx_add_element`` takes them
    (f = 0: none, so (0, 0, ...) is a silence; max_ms = 0: no upper limit)."""

    name: str
    elements: tuple[tuple[int, int, int, int], ...]


# The German set, as a FreeSWITCH user would configure mod_spandsp: the tones
# of FreeSWITCH's vanilla spandsp.conf.xml, descriptor "49" (Germany: CED,
# SIT, reorder, busy; it writes the SIT's first tone as 900 Hz, E.180 and
# Asterisk's [de] "info" say 950 Hz, used here), plus the dial tone and
# ringback that descriptor lacks, from Asterisk's [de] indications (425 Hz
# continuous; 425 Hz 1 s on / 4 s off) converted with the rule of spandsp's
# own tests/super_tone_rx_tests.c for its XML tone sets: a timed element of
# L ms gets min L*0.9-30, max L*1.1+30; a continuous one min 700, max 0.
# Five Goertzel filters in all: 425, 950, 1400, 1800 and 2100 Hz.
CPT_TONES_DE = (
    SuperTone("ced", ((2100, 0, 500, 0),)),
    SuperTone("sit", ((950, 0, 256, 400), (1400, 0, 256, 400), (1800, 0, 256, 400))),
    SuperTone("congestion", ((425, 0, 224, 272), (0, 0, 224, 272))),
    SuperTone("busy", ((425, 0, 464, 516), (0, 0, 464, 516))),
    SuperTone("dial", ((425, 0, 700, 0),)),
    SuperTone("ringback", ((425, 0, 870, 1130), (0, 0, 3570, 4430))),
)

# modem_connect_tones_rx's tone types (spandsp/modem_connect_tones.h).
MODEM_CONNECT_TONES = {0: None, 1: "CNG", 2: "ANS", 3: "ANS_PR", 4: "ANSAM", 5: "ANSAM_PR",
                       6: "FAX_PREAMBLE", 8: "BELL_ANS", 9: "CALLING_TONE"}
RECEIVERS = ("dtmf", "super_tone", "cng", "ansam_pr")


class SpandspEvent(NamedTuple):
    """A report of one of spandsp's receivers on a channel.

    ``kind`` is the receiver: "dtmf" (``value`` the digit), "super_tone"
    (``value`` the tone's name, None when the tone it reported has stopped),
    "cng" and "ansam_pr" (``value`` the tone type spandsp reports, e.g. "CNG",
    "ANSAM_PR", "ANS"; None when it stopped). ``pos``: samples of the channel
    consumed when it was reported."""

    channel: int
    kind: str
    value: str | None
    pos: int


class SpandspToneBank(_Bank):
    """Every channel runs spandsp's ``dtmf_rx``, ``super_tone_rx`` (with
    ``tones``, CPT_TONES_DE by default) and two ``modem_connect_tones_rx``
    (MODEM_CONNECT_TONES_FAX_CNG and MODEM_CONNECT_TONES_ANSAM_PR) on the same
    samples, one C call per feed for all channels; ``receivers`` picks a
    subset (names of RECEIVERS). All receivers are at spandsp's defaults.

    Mu-law is decoded once per channel and block (a table of spandsp's
    ``ulaw_to_linear``) and the linear samples go to every receiver. With
    ``exact=False`` (the default here, as an application calls them) each
    receiver gets one call per channel per feed and a report's position is
    the end of the fed block.
    """

    def __init__(self, channels: int, *, encoding: str = "linear", exact: bool = False,
                 receivers=RECEIVERS, tones=CPT_TONES_DE):
        ffi, lib = _require()
        receivers = tuple(dict.fromkeys((receivers,) if isinstance(receivers, str) else receivers))
        unknown = [r for r in receivers if r not in RECEIVERS]
        if unknown or not receivers:
            raise ValueError(f"receivers={receivers!r}: a non-empty subset of {', '.join(RECEIVERS)}")
        bits = {"dtmf": lib.LGSD_RX_DTMF, "super_tone": lib.LGSD_RX_SUPER_TONE,
                "cng": lib.LGSD_RX_CNG, "ansam_pr": lib.LGSD_RX_ANS}
        self.receivers = receivers
        self.tones = tuple(tones) if "super_tone" in receivers else ()
        desc = ffi.NULL
        if self.tones:
            desc = lib.super_tone_rx_make_descriptor(ffi.NULL)
            if desc == ffi.NULL:
                raise MemoryError("cannot allocate a super_tone_rx descriptor")
            for tone in self.tones:
                tone_id = lib.super_tone_rx_add_tone(desc)
                for f1, f2, lo, hi in tone.elements:
                    lib.super_tone_rx_add_element(desc, tone_id, int(f1), int(f2), int(lo), int(hi))
        elif "super_tone" in receivers:
            raise ValueError("super_tone needs at least one tone")
        super().__init__(channels, encoding, exact, sum(bits[r] for r in receivers),
                         None if desc == ffi.NULL else desc)
        self.monitored_frequencies = lib.lgsd_monitored_frequencies(self._bank)
        names = [t.name for t in self.tones]
        kinds = ["dtmf", "super_tone", "cng", "ansam_pr"]
        self._namers = (
            lambda code: chr(code),
            lambda code: names[code] if 0 <= code < len(names) else None,
            MODEM_CONNECT_TONES.get,
            MODEM_CONNECT_TONES.get,
        )
        self._kinds = kinds

    def feed(self, block) -> list[SpandspEvent]:
        """Feed the next samples of every channel; returns the reports."""
        kinds, namers = self._kinds, self._namers
        return [SpandspEvent(int(e.channel), kinds[e.kind], namers[e.kind](e.code), int(e.pos))
                for e in self._feed_raw(block)]


def detect_digits(signal, *, encoding: str = "linear", **parms) -> list[tuple[str, int]]:
    """Digits spandsp hears in one signal: ``[(digit, sample_pos), ...]``.

    ``sample_pos`` is where spandsp confirmed the digit (see the module
    docstring); ``parms`` are those of ``SpandspDtmfBank``.
    """
    signal = np.asarray(signal)
    if signal.ndim != 1:
        raise ValueError(f"signal must be one-dimensional, not {signal.shape}")
    bank = SpandspDtmfBank(1, encoding=encoding, exact=True, **parms)
    return [(d.digit, d.pos) for d in bank.feed(signal[np.newaxis, :])]


# --- caller ID: adsi_rx / adsi_tx ---------------------------------------------

ADSI_STANDARDS = ("bell202", "v23")  # spandsp's ADSI_STANDARD_CLASS and ADSI_STANDARD_CLIP


class SpandspCallerId(NamedTuple):
    """A message spandsp's ``adsi_rx`` delivered: type, length and payload
    (spandsp checks the checksum and leaves it out); ``pos``: the channel's
    samples consumed when it came (the end of the fed block)."""

    channel: int
    message: bytes
    pos: int


def _adsi_standard(lib, standard: str) -> int:
    if standard not in ADSI_STANDARDS:
        raise ValueError(f"standard={standard!r}: one of {', '.join(ADSI_STANDARDS)}")
    return lib.LGSD_ADSI_CLASS if standard == "bell202" else lib.LGSD_ADSI_CLIP


class SpandspCallerIdBank:
    """``channels`` spandsp ``adsi_rx`` receivers (``ADSI_STANDARD_CLASS``
    for Bell 202, ``ADSI_STANDARD_CLIP`` for V.23: spandsp runs one standard
    per receiver; ``standard`` is one name for all channels or a name per
    channel) fed in lock step, one C call per feed, one ``adsi_rx`` call per
    channel per feed; mu-law decoded in that call with a table of spandsp's
    ``ulaw_to_linear``."""

    def __init__(self, channels: int, *, standard="bell202", encoding: str = "linear"):
        ffi, lib = _require()
        if not isinstance(channels, (int, np.integer)) or channels < 1:
            raise ValueError(f"channels must be a positive integer, not {channels!r}")
        names = [standard] * int(channels) if isinstance(standard, str) else list(standard)
        if len(names) != channels:
            raise ValueError(f"{len(names)} standards for {channels} channels")
        codes = [_adsi_standard(lib, name) for name in names]
        if encoding not in ("linear", "ulaw"):
            raise ValueError(f"encoding={encoding!r}: one of linear, ulaw")
        bank = lib.lgsd_adsi_bank_new(int(channels), ffi.new("int[]", codes))
        if bank == ffi.NULL:
            raise MemoryError(f"cannot allocate {channels} spandsp ADSI receivers")
        self.channels = int(channels)
        self.standard = standard
        self.encoding = encoding
        self._ffi, self._lib = ffi, lib
        self._bank = ffi.gc(bank, lib.lgsd_adsi_bank_free)
        self._dtype = np.int16 if encoding == "linear" else np.uint8
        self._feed = lib.lgsd_adsi_feed_s16 if encoding == "linear" else lib.lgsd_adsi_feed_ulaw
        self._ctype = "int16_t *" if encoding == "linear" else "uint8_t *"
        self._out = ffi.new("lgsd_adsi_message[]", 16)

    def feed(self, block) -> list[SpandspCallerId]:
        """Feed the next samples of every channel; returns the messages delivered."""
        block = np.asarray(block)
        if block.ndim == 1 and self.channels == 1:
            block = block[np.newaxis, :]
        if block.ndim != 2 or block.shape[0] != self.channels or block.dtype != self._dtype:
            raise ValueError(f"block must be {np.dtype(self._dtype).name} of shape ({self.channels}, samples)")
        block = np.ascontiguousarray(block)
        nsamples = block.shape[1]
        if nsamples == 0:
            return []
        count = self._feed(self._bank, self._ffi.cast(self._ctype, self._ffi.from_buffer(block)), nsamples, nsamples)
        if count == 0:
            return []
        if count > len(self._out):
            self._out = self._ffi.new("lgsd_adsi_message[]", count)
        n = self._lib.lgsd_adsi_take(self._bank, self._out, count)
        return [SpandspCallerId(int(m.channel), bytes(self._ffi.buffer(m.bytes, m.length)), int(m.pos))
                for m in self._out[0:n]]


def adsi_tx(message: bytes, *, standard: str = "bell202", seizure_bits: int = 300, mark_bits: int = 180,
            level_dbm0: float = -13.5) -> np.ndarray:
    """spandsp's ``adsi_tx`` signal (int16) for ``message``: type, length and
    payload, without the checksum (``adsi_tx_put_message`` appends it), after
    ``seizure_bits`` of alternating bits and ``mark_bits`` of mark, then
    spandsp's postamble of 5 mark bits; the FSK at ``level_dbm0``."""
    ffi, lib = _require()
    code = _adsi_standard(lib, standard)
    message = bytes(message)
    if not 2 <= len(message) <= 255:
        raise ValueError(f"message of {len(message)} bytes: spandsp sends 2..255 (the checksum comes on top)")
    room = (seizure_bits + mark_bits + 10 * (len(message) + 1) + 64) * 7
    out = np.zeros(room, np.int16)
    n = lib.lgsd_adsi_tx(code, message, len(message), int(seizure_bits), int(mark_bits), float(level_dbm0),
                         ffi.cast("int16_t *", ffi.from_buffer(out)), room)
    if n < 0:
        raise RuntimeError("spandsp's adsi_tx refused the message")
    return out[:n]


# --- MF: r2_mf_rx / bell_mf_rx, r2_mf_tx / bell_mf_tx --------------------------

# spandsp's one-character codes of signals 1..15 (bell_r2_mf.c's
# r2_mf_tone_codes and bell_mf_tone_codes), and the kinds under Linegate's
# detector names.
MF_CODES = {"mfr2_fwd": "1234567890BCDEF", "mfr2_bwd": "1234567890BCDEF", "mfr1": "1234567890CA*B#"}
_MF_KINDS = {"mfr2_fwd": 0, "mfr2_bwd": 1, "mfr1": 2}


class SpandspMfEvent(NamedTuple):
    """A report of spandsp's MF receiver: ``signal`` 1..15 (Linegate's
    numbering, gateway.dsp.mf), or None when an R2 signal ended (``r2_mf_rx``
    reports both edges; ``bell_mf_rx`` one report per signal); ``pos`` the
    channel's samples consumed when it came (the end of the fed block)."""

    channel: int
    signal: int | None
    pos: int


class SpandspMfBank:
    """``channels`` spandsp MF receivers of one ``kind`` ("mfr2_fwd",
    "mfr2_bwd": ``r2_mf_rx``; "mfr1": ``bell_mf_rx``) fed in lock step, one C
    call per feed and one receiver call per channel per feed, at spandsp's
    defaults; mu-law decoded with a table of spandsp's ``ulaw_to_linear``."""

    def __init__(self, channels: int, kind: str, *, encoding: str = "linear"):
        ffi, lib = _require()
        if not isinstance(channels, (int, np.integer)) or channels < 1:
            raise ValueError(f"channels must be a positive integer, not {channels!r}")
        if kind not in _MF_KINDS:
            raise ValueError(f"kind={kind!r}: one of {', '.join(_MF_KINDS)}")
        if encoding not in ("linear", "ulaw"):
            raise ValueError(f"encoding={encoding!r}: one of linear, ulaw")
        bank = lib.lgsd_mf_bank_new(int(channels), _MF_KINDS[kind])
        if bank == ffi.NULL:
            raise MemoryError(f"cannot allocate {channels} spandsp MF receivers")
        self.channels = int(channels)
        self.kind = kind
        self.encoding = encoding
        self._ffi, self._lib = ffi, lib
        self._bank = ffi.gc(bank, lib.lgsd_mf_bank_free)
        self._dtype = np.int16 if encoding == "linear" else np.uint8
        self._feed = lib.lgsd_mf_feed_s16 if encoding == "linear" else lib.lgsd_mf_feed_ulaw
        self._ctype = "int16_t *" if encoding == "linear" else "uint8_t *"
        self._out = ffi.new("lgsd_mf_event[]", 64)
        self._codes = {ord(c): k + 1 for k, c in enumerate(MF_CODES[kind])}

    def feed(self, block) -> list[SpandspMfEvent]:
        """Feed the next samples of every channel; returns the reports."""
        block = np.asarray(block)
        if block.ndim == 1 and self.channels == 1:
            block = block[np.newaxis, :]
        if block.ndim != 2 or block.shape[0] != self.channels or block.dtype != self._dtype:
            raise ValueError(f"block must be {np.dtype(self._dtype).name} of shape ({self.channels}, samples)")
        block = np.ascontiguousarray(block)
        nsamples = block.shape[1]
        if nsamples == 0:
            return []
        count = self._feed(self._bank, self._ffi.cast(self._ctype, self._ffi.from_buffer(block)), nsamples,
                           nsamples)
        if count == 0:
            return []
        if count > len(self._out):
            self._out = self._ffi.new("lgsd_mf_event[]", count)
        n = self._lib.lgsd_mf_take(self._bank, self._out, count)
        return [SpandspMfEvent(int(e.channel), self._codes.get(e.code) if e.code else None, int(e.pos))
                for e in self._out[0:n]]


def detect_mf(signal, kind: str, *, block: int = 160, encoding: str = "linear") -> list[int]:
    """The signals (1..15) spandsp's receiver reports in one signal, in
    order (R2: each signal as it begins)."""
    signal = np.asarray(signal)
    bank = SpandspMfBank(1, kind, encoding=encoding)
    found = []
    for at in range(0, len(signal), block):
        found += [e.signal for e in bank.feed(signal[np.newaxis, at:at + block]) if e.signal is not None]
    return found


def r2_mf_tx(kind: str, signal: int, nsamples: int) -> np.ndarray:
    """``nsamples`` of spandsp's ``r2_mf_tx`` holding R2 ``signal`` (1..15),
    forward for "mfr2_fwd", backward for "mfr2_bwd"."""
    ffi, lib = _require()
    if kind not in ("mfr2_fwd", "mfr2_bwd") or not 1 <= signal <= 15:
        raise ValueError(f"{kind} signal {signal!r}: an R2 kind and a signal 1..15")
    out = np.zeros(nsamples, np.int16)
    n = lib.lgsd_r2_mf_tx(int(kind == "mfr2_fwd"), MF_CODES[kind][signal - 1].encode(),
                          ffi.cast("int16_t *", ffi.from_buffer(out)), nsamples)
    if n != nsamples:
        raise RuntimeError("spandsp's r2_mf_tx refused the signal")
    return out


def bell_mf_tx(signals) -> np.ndarray:
    """spandsp's ``bell_mf_tx`` signal (int16) for R1 ``signals`` (numbers
    1..15): 68 ms tones (KP 100 ms), each followed by 68 ms of silence."""
    ffi, lib = _require()
    codes = "".join(MF_CODES["mfr1"][s - 1] for s in signals)
    room = 8000 * (len(codes) + 1) // 5
    out = np.zeros(room, np.int16)
    n = lib.lgsd_bell_mf_tx(codes.encode(), ffi.cast("int16_t *", ffi.from_buffer(out)), room)
    if n < 0:
        raise RuntimeError("spandsp's bell_mf_tx refused the signals")
    return out[:n]
