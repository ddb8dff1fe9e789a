"""spandsp's DTMF receiver as a yardstick for Linegate's (test and benchmark only).

spandsp (Steve Underwood's telephony DSP library, LGPL-2.1; Debian
``libspandsp-dev``) is what most open-source PBXs use to hear DTMF, so it is the
receiver Linegate has to beat. This module binds its ``dtmf_rx`` through cffi in
API mode. The small C module is compiled on first use into a cache folder
(``$LINEGATE_SPANDSP_CACHE``, by default ``<tempdir>/linegate-spandsp-<hash>``)
and linked with ``-lspandsp``; nothing is built at install time, and Linegate
itself never links spandsp.

    if available():
        bank = SpandspDtmfBank(channels=256)
        for channel, digit, pos in bank.feed(block):   # block: int16 (256, n)
            ...
        detect_digits(signal)                           # [(digit, pos), ...]

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
    int32_t digit;
    int64_t pos;
} lgsd_event;

typedef struct lgsd_bank lgsd_bank;

lgsd_bank *lgsd_bank_new(int channels);
void lgsd_bank_free(lgsd_bank *b);
void lgsd_bank_parms(lgsd_bank *b, int filter_dialtone, int twist, int reverse_twist, int threshold);
int lgsd_bank_reserve(lgsd_bank *b, int capacity);
int lgsd_feed_s16(lgsd_bank *b, const int16_t *samples, int stride, int nsamples, int exact);
int lgsd_feed_ulaw(lgsd_bank *b, const uint8_t *codes, int stride, int nsamples, int exact);
int lgsd_take(lgsd_bank *b, lgsd_event *out, int max);
int64_t lgsd_lost(lgsd_bank *b);
int lgsd_block_check(void);
const char *lgsd_release(void);
"""

_SOURCE = r"""
#define SPANDSP_EXPOSE_INTERNAL_STRUCTURES
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>
#include <spandsp/version.h>

#define LGSD_BLOCK %(block)d
#define LGSD_ULAW_CHUNK 512

typedef struct {
    int32_t channel;
    int32_t digit;
    int64_t pos;
} lgsd_event;

typedef struct lgsd_bank lgsd_bank;

typedef struct {
    dtmf_rx_state_t rx;
    lgsd_bank *bank;
    int32_t channel;
} lgsd_chan;

struct lgsd_bank {
    int32_t channels;
    int64_t samples;      /* samples fed to every channel so far */
    int64_t now;          /* position credited to a digit reported now */
    lgsd_event *events;
    int32_t nevents;
    int32_t capacity;
    int64_t lost;
    lgsd_chan *chans;
    int16_t ulaw[256];    /* spandsp's ulaw_to_linear() as a table */
};

/* spandsp's digits callback: it runs inside dtmf_rx() as soon as a digit is
   confirmed, with (normally) one digit. */
static void lgsd_on_digits(void *user_data, const char *digits, int len)
{
    lgsd_chan *c = (lgsd_chan *) user_data;
    lgsd_bank *b = c->bank;
    for (int i = 0; i < len; i++) {
        if (b->nevents < b->capacity) {
            lgsd_event *e = &b->events[b->nevents++];
            e->channel = c->channel;
            e->digit = (unsigned char) digits[i];
            e->pos = b->now;
        } else {
            b->lost++;
        }
    }
}

static void lgsd_chan_init(lgsd_bank *b, int ch)
{
    lgsd_chan *c = &b->chans[ch];
    memset(&c->rx, 0, sizeof(c->rx));
    dtmf_rx_init(&c->rx, lgsd_on_digits, c);
    c->bank = b;
    c->channel = ch;
}

lgsd_bank *lgsd_bank_new(int channels)
{
    if (channels < 1)
        return NULL;
    lgsd_bank *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->channels = channels;
    for (int i = 0; i < 256; i++)
        b->ulaw[i] = ulaw_to_linear((uint8_t) i);
    b->chans = calloc((size_t) channels, sizeof(lgsd_chan));
    if (b->chans == NULL) {
        free(b);
        return NULL;
    }
    for (int ch = 0; ch < channels; ch++)
        lgsd_chan_init(b, ch);
    return b;
}

void lgsd_bank_free(lgsd_bank *b)
{
    if (b == NULL)
        return;
    free(b->events);
    free(b->chans);
    free(b);
}

void lgsd_bank_parms(lgsd_bank *b, int filter_dialtone, int twist, int reverse_twist, int threshold)
{
    for (int ch = 0; ch < b->channels; ch++)
        dtmf_rx_parms(&b->chans[ch].rx, filter_dialtone, twist, reverse_twist, threshold);
}

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

/* One channel, `n` samples that start `offset` samples into this feed. */
static void lgsd_feed_channel(lgsd_bank *b, lgsd_chan *c, const int16_t *x, int n, int offset, int exact)
{
    if (!exact) {
        b->now = b->samples + offset + n;
        dtmf_rx(&c->rx, x, n);
        return;
    }
    /* Cut at spandsp's block edges: a digit reported during a call was
       confirmed by the block that ends where the call ends. */
    int done = 0;
    while (done < n) {
        int room = LGSD_BLOCK - c->rx.current_sample;
        int len = (n - done < room) ? n - done : room;
        b->now = b->samples + offset + done + len;
        dtmf_rx(&c->rx, x + done, len);
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
   table, as a careful application on spandsp would), a chunk at a time. */
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

const char *lgsd_release(void)
{
    return SPANDSP_RELEASE_DATETIME_STRING;
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


class SpandspDtmfBank:
    """``channels`` spandsp DTMF receivers fed in lock step, one C call per feed.

    ``encoding`` is ``"linear"`` (int16 blocks) or ``"ulaw"`` (uint8 G.711
    codes, decoded in C by a table of spandsp's ``ulaw_to_linear``). Parameters left at
    None keep spandsp's defaults; ``threshold`` is in dBm0, twists in dB (integers:
    that is the type of ``dtmf_rx_parms`` in spandsp 0.0.6's header).
    """

    def __init__(self, channels: int, *, encoding: str = "linear", exact: bool = True,
                 filter_dialtone: bool | None = None, twist: int | None = None,
                 reverse_twist: int | None = None, threshold: int | None = None):
        ffi, lib = _require()
        if not isinstance(channels, (int, np.integer)) or channels < 1:
            raise ValueError(f"channels must be a positive integer, not {channels!r}")
        if encoding not in ("linear", "ulaw"):
            raise ValueError(f"encoding={encoding!r}: one of linear, ulaw")
        self.channels = int(channels)
        self.encoding = encoding
        self.exact = bool(exact)
        self._dtype = np.int16 if encoding == "linear" else np.uint8
        self._feed = lib.lgsd_feed_s16 if encoding == "linear" else lib.lgsd_feed_ulaw
        self._ctype = "int16_t *" if encoding == "linear" else "uint8_t *"
        self._lib, self._ffi = lib, ffi
        bank = lib.lgsd_bank_new(self.channels)
        if bank == ffi.NULL:
            raise MemoryError(f"cannot allocate {self.channels} spandsp receivers")
        self._bank = ffi.gc(bank, lib.lgsd_bank_free)
        if any(v is not None for v in (filter_dialtone, twist, reverse_twist, threshold)):
            lib.lgsd_bank_parms(
                self._bank,
                -1 if filter_dialtone is None else int(bool(filter_dialtone)),
                -1 if twist is None else int(twist),
                -1 if reverse_twist is None else int(reverse_twist),
                -99 if threshold is None else int(threshold))
        self._out = ffi.new("lgsd_event[]", 64)
        self.samples = 0

    def feed(self, block) -> list[SpandspDigit]:
        """Feed the next samples of every channel; returns the digits reported."""
        block = np.asarray(block)
        if block.ndim == 1 and self.channels == 1:
            block = block[np.newaxis, :]
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"block must have shape ({self.channels}, samples), not {block.shape}")
        if block.dtype != self._dtype:
            raise ValueError(f"block dtype must be {np.dtype(self._dtype).name} for "
                             f"encoding={self.encoding!r}, not {block.dtype}")
        block = np.ascontiguousarray(block)
        nsamples = block.shape[1]
        if nsamples == 0:
            return []
        # A new digit needs two fresh blocks, so at most one per 204 samples.
        bound = self.channels * (nsamples // (2 * SPANDSP_BLOCK) + 2)
        if self._lib.lgsd_bank_reserve(self._bank, bound) < 0:
            raise MemoryError("cannot grow the spandsp event buffer")
        count = self._feed(self._bank, self._ffi.cast(self._ctype, self._ffi.from_buffer(block)),
                           nsamples, nsamples, int(self.exact))
        self.samples += nsamples
        if self._lib.lgsd_lost(self._bank):
            raise RuntimeError("spandsp digit events were lost (event buffer bound is wrong)")
        if count == 0:
            return []
        if count > len(self._out):
            self._out = self._ffi.new("lgsd_event[]", count)
        n = self._lib.lgsd_take(self._bank, self._out, count)
        return [SpandspDigit(int(e.channel), chr(e.digit), int(e.pos)) for e in self._out[0:n]]


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
