"""The media engine: every 20 ms tick, the audio of all channels goes into
the native detectors in one call per detector bank (one bank per G.711 law),
and out come the blocks to send: prompts, DTMF, tones, caller ID.

Channels are numbered 0..N-1 here; the channel driver keeps the mapping to
ports. The engine also gives, for the channels a signalling stack listens
on, a voice reading per block: sound that is neither silence nor a tone
(answer supervision without a polarity reversal).
"""

from __future__ import annotations

import abc
import wave
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gateway.dsp import g711
from gateway.dsp.detector_bank import DETECTORS, DetectorBank
from gateway.dsp.dtmf import DtmfGenerator
from gateway.dsp.resample import Resampler
from gateway.dsp.tone_plan import load_plan
from gateway.dsp.wav import open_wav
from gateway.errors import UsageError

BLOCK = 160                      # samples per 20 ms tick at 8 kHz
LAWS = ("alaw", "ulaw")
# The detectors every channel has; which run is switched per channel.
ENGINE_DETECTORS = tuple(d for d in ("dtmf", "cpt", "amd", "callerid") if d in DETECTORS)
SILENCE_CODE = {"alaw": 0xD5, "ulaw": 0xFF}
# Voice reading: louder than this and not tone-like. -45 dBm0 sits well above
# line noise (-65 dBm0 in the simulator, about -60 on real loops) and below
# quiet speech (-30 dBm0 and up).
VOICE_MIN_DBM0 = -45.0
# Share of a block's energy in its six strongest 50 Hz bins above which it is
# a tone: a single or dual tone (Hann window) puts over 95 % there, voiced
# speech (harmonics across the band) about half the loud blocks below 90 %.
# Blocks straddling a tone burst's edge can pass; the loop-start stack asks
# for 3 voice blocks of 5.
TONE_BINS, TONE_SHARE = 6, 0.9
FULL_SCALE_DBM0 = 3.14           # a full-scale G.711 sine is +3.14 dBm0 (ITU-T G.711)

DTMF_ON_MS, DTMF_OFF_MS, DTMF_LEVEL_DBM0 = 80, 80, -7.0

# The answering-machine detector hears each channel AMD_DELAY blocks late, so
# that when a call is answered it can start where the answer began: the
# native AMD (like the calls it was trained on) expects the line's quiet
# before the first word, and an answer known from the voice itself is only
# known some blocks into it. At the start, the blocks before the voice's onset
# are replaced by the quietest of them (the line's own noise), so neither a
# ringback tail nor nothing at all comes first. Decisions come AMD_DELAY
# blocks (240 ms) after the audio that made them.
AMD_DELAY = 12
QUIET_DBM0 = -45.0               # a pre-roll block quieter than this is the line's noise


class Source(abc.ABC):
    """Something to play: ``read(n)`` gives up to n int16 samples, fewer at its end."""

    @abc.abstractmethod
    def read(self, n: int) -> np.ndarray:
        """The next samples."""


class ToneSource(Source):
    def __init__(self, country: str, tone: str, level_dbm0: float = -13.0):
        self.player = load_plan(country)[tone].player(level_dbm0)

    def read(self, n):
        return self.player.generate(n)


class DigitsSource(Source):
    def __init__(self, digits: str, on_ms: int = DTMF_ON_MS, off_ms: int = DTMF_OFF_MS,
                 level_dbm0: float = DTMF_LEVEL_DBM0):
        self.gen = DtmfGenerator(digits, on_ms=on_ms, off_ms=off_ms, level_dbm0=level_dbm0)

    def read(self, n):
        return self.gen.generate(n)


class SamplesSource(Source):
    def __init__(self, samples: np.ndarray):
        self.samples = np.asarray(samples, dtype=np.int16)
        self.pos = 0

    def read(self, n):
        out = self.samples[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def load_prompt(path) -> np.ndarray:
    """A WAV file as 8 kHz int16 (any rate and format ``gateway.dsp.wav`` reads)."""
    reader = open_wav(path, channel=0)
    resampler = Resampler(reader.rate)
    parts = [resampler.feed(block) for block in reader.blocks(8000)]
    parts.append(resampler.flush())
    return np.concatenate(parts).astype(np.int16) if parts else np.zeros(0, np.int16)


class Recorder:
    """The audio a channel receives, written as 16-bit PCM WAV as it comes;
    it ends at ``max_seconds``, or after ``silence_seconds`` of quiet (below
    VOICE_MIN_DBM0) once something was heard."""

    def __init__(self, path, max_seconds: float | None, silence_seconds: float | None = None):
        self.path = Path(path)
        try:
            raw = open(self.path, "wb")
        except OSError as exc:
            raise UsageError(f"{path}: cannot record there: {exc.strerror or exc}") from None
        self._raw = raw
        self.file = wave.open(raw, "wb")
        self.file.setnchannels(1)
        self.file.setsampwidth(2)
        self.file.setframerate(8000)
        self.left = None if max_seconds is None else int(max_seconds * 8000)
        self.silence_limit = None if silence_seconds is None else int(silence_seconds * 8000)
        self.quiet = 0
        self.heard = False
        self.samples = 0

    def write(self, samples: np.ndarray) -> str | None:
        """Write a block; the reason the recording ended ("max", "silence"), else None.
        An ended recording's file is closed."""
        if self.left is not None:
            samples = samples[:self.left]
            self.left -= len(samples)
        self.file.writeframes(samples.astype("<i2").tobytes())
        self.samples += len(samples)
        if self.silence_limit is not None and len(samples):
            x = samples.astype(np.float32)
            dbm0 = 10 * np.log10(max(float(np.mean(x * x)), 1e-9) / (32768.0 ** 2 / 2)) + FULL_SCALE_DBM0
            if dbm0 > VOICE_MIN_DBM0:
                self.heard, self.quiet = True, 0
            elif self.heard:
                self.quiet += len(samples)
                if self.quiet >= self.silence_limit:
                    self.close()
                    return "silence"
        if self.left is not None and self.left <= 0:
            self.close()
            return "max"
        return None

    def close(self):
        if self.file is not None:
            self.file.close()          # patches the header's lengths
            self._raw.close()
            self.file = None


@dataclass
class _Channel:
    law: str
    bank: DetectorBank
    row: int                       # the channel's row in its bank
    country: str
    queue: deque                   # (source, tag), played in order
    listen: bool = False
    recorder: Recorder | None = None
    record_tag: object = None
    recorded: float = 0.0          # seconds of the last recording that ended
    bridged: int | None = None     # the channel whose received audio this one sends
    amd_row: int = -1              # the channel's row in its law's AMD bank (-1: no AMD)
    voiced: deque = None           # the voice readings of the last AMD_DELAY ticks (listened channels)
    preroll: bytes | None = None   # the block the AMD hears instead of what came before the onset
    preroll_left: int = 0          # delayed blocks still to replace


@dataclass
class TickResult:
    events: list                   # (channel, DetectorEvent)
    voice: dict                    # channel -> bool, for listened channels
    tx: dict                       # channel -> 160 bytes of G.711 to send
    done: list                     # (channel, tag, reason): a source finished ("done"), a recording ended ("max", "silence")


class MediaEngine:
    """``laws`` gives each channel's G.711 law; ``country`` the default tone plan."""

    def __init__(self, laws, country: str = "us", detect=ENGINE_DETECTORS):
        laws = list(laws)
        bad = [law for law in laws if law not in LAWS]
        if bad:
            raise UsageError(f"laws: {bad[0]!r} is not one of {', '.join(LAWS)}")
        self.country = country
        self.detect = tuple(detect)
        main = tuple(d for d in self.detect if d != "amd")
        self._banks = {}
        self._amd_banks = {}
        self._rows = {}                      # law -> engine channels in bank order
        for law in LAWS:
            members = [i for i, lw in enumerate(laws) if lw == law]
            if members:
                if main:
                    self._banks[law] = DetectorBank(len(members), detect=main, encoding=law, country=country)
                if "amd" in self.detect:
                    self._amd_banks[law] = DetectorBank(len(members), detect=("amd",), encoding=law)
                self._rows[law] = np.array(members)
        # The last AMD_DELAY blocks of every channel, oldest first (the AMD bank's input).
        self._history = {law: np.full((AMD_DELAY, len(rows), BLOCK), SILENCE_CODE[law], np.uint8)
                         for law, rows in self._rows.items()}
        self._history_at = 0                 # the ring's slot of the oldest block
        self._prerolling = set()             # channels whose AMD still hears a pre-roll
        self._input = {law: np.full((len(rows), BLOCK), SILENCE_CODE[law], np.uint8)
                       for law, rows in self._rows.items()}
        self._decode = {law: g711.decode(np.arange(256, dtype=np.uint8), law).astype(np.float32) for law in LAWS}
        self.channels = []
        row_of = {}
        for law, rows in self._rows.items():
            for r, ch in enumerate(rows):
                row_of[int(ch)] = r
        for i, law in enumerate(laws):
            bank = self._banks.get(law)
            if bank is not None:
                bank.set_active(row_of[i], ())
            amd = self._amd_banks.get(law)
            if amd is not None:
                amd.set_active(row_of[i], ())
            self.channels.append(_Channel(law, bank, row_of[i], country, deque(),
                                          amd_row=row_of[i] if amd is not None else -1,
                                          voiced=deque(maxlen=AMD_DELAY)))
        self._window = np.hanning(BLOCK).astype(np.float32)
        self._full_scale = (32768.0 ** 2) / 2.0

    def __len__(self):
        return len(self.channels)

    # ---- per channel ----
    def set_detectors(self, channel: int, names, reset: bool = False) -> None:
        ch = self.channels[channel]
        names = tuple(n for n in names if n in self.detect)
        if ch.bank is not None:
            if reset:
                ch.bank.reset(ch.row)
            ch.bank.set_active(ch.row, tuple(n for n in names if n != "amd"))
        if ch.amd_row >= 0:
            amd = self._amd_banks[ch.law]
            was = "amd" in amd.active(ch.amd_row)
            amd.set_active(ch.amd_row, ("amd",) if "amd" in names else ())
            if "amd" in names and not was:
                self._start_amd(ch)

    def _start_amd(self, ch) -> None:
        """The AMD starts on the delayed audio: what came before the voice's onset (the last
        run of voice readings; none: the answer is now) is replaced by the line's noise."""
        readings = list(ch.voiced)
        onset = len(readings)
        while onset > 0 and (readings[onset - 1] or (onset >= 2 and readings[onset - 2])):
            onset -= 1
        pre = AMD_DELAY - (len(readings) - onset)       # delayed blocks before the onset
        history = self._history[ch.law]
        blocks = [history[(self._history_at + k) % AMD_DELAY, ch.row] for k in range(max(pre, 0))]
        quietest = min(blocks, key=lambda b: float(np.mean(self._decode[ch.law][b] ** 2)), default=None)
        if quietest is not None and _dbm0(self._decode[ch.law][quietest]) < QUIET_DBM0:
            ch.preroll = quietest.tobytes()
        else:
            ch.preroll = bytes([SILENCE_CODE[ch.law]]) * BLOCK
        ch.preroll_left = max(pre, 0)
        if ch.preroll_left:
            self._prerolling.add(self.channels.index(ch))

    def active(self, channel: int) -> tuple:
        ch = self.channels[channel]
        names = ch.bank.active(ch.row) if ch.bank is not None else ()
        if ch.amd_row >= 0 and self._amd_banks[ch.law].active(ch.amd_row):
            names = tuple(names) + ("amd",)
        return tuple(names)

    def set_country(self, channel: int, country: str) -> None:
        ch = self.channels[channel]
        if ch.bank is not None and "cpt" in ch.bank.detect:
            ch.bank.set_country(ch.row, country)
        ch.country = country

    def set_listen(self, channel: int, on: bool) -> None:
        self.channels[channel].listen = bool(on)

    def play(self, channel: int, source: Source, tag=None) -> None:
        self.channels[channel].queue.append((source, tag))

    def play_tone(self, channel: int, tone: str | None, tag=None) -> None:
        """Replace what plays with the country's ``tone`` (None: stop)."""
        ch = self.channels[channel]
        ch.queue.clear()
        if tone is not None:
            ch.queue.append((ToneSource(ch.country, tone), tag))

    def stop(self, channel: int) -> list:
        """Stop playing and recording; the tags of what was cut short."""
        ch = self.channels[channel]
        tags = [tag for _, tag in ch.queue if tag is not None]
        ch.queue.clear()
        if ch.recorder is not None:
            ch.recorder.close()
            ch.recorded = ch.recorder.samples / 8000
            tags.append(ch.record_tag)
            ch.recorder = None
        return tags

    def bridge(self, a: int, b: int) -> None:
        """Connect two channels' audio: what each receives, the other sends (transcoded
        between laws). What a channel plays goes out instead of the bridge's audio."""
        self.channels[a].bridged, self.channels[b].bridged = b, a

    def unbridge(self, channel: int) -> int | None:
        """Undo a bridge; the other channel, if there was one."""
        other = self.channels[channel].bridged
        self.channels[channel].bridged = None
        if other is not None:
            self.channels[other].bridged = None
        return other

    def playing(self, channel: int) -> bool:
        return bool(self.channels[channel].queue)

    def record(self, channel: int, path, max_seconds: float | None = None, tag=None,
               silence_seconds: float | None = None) -> None:
        ch = self.channels[channel]
        if ch.recorder is not None:
            raise UsageError("the channel records already")
        ch.recorder = Recorder(path, max_seconds, silence_seconds)
        ch.record_tag = tag

    def recorded_seconds(self, channel: int) -> float:
        """Seconds recorded so far, or by the last recording once it ended."""
        ch = self.channels[channel]
        return ch.recorder.samples / 8000 if ch.recorder is not None else ch.recorded

    def cancel(self, channel: int, tag) -> bool:
        """Stop one thing: the source or the recording carrying ``tag``. Whether it was there."""
        ch = self.channels[channel]
        if ch.recorder is not None and ch.record_tag == tag:
            ch.recorder.close()
            ch.recorded = ch.recorder.samples / 8000
            ch.recorder = None
            return True
        kept = deque(item for item in ch.queue if item[1] != tag)
        found = len(kept) != len(ch.queue)
        ch.queue = kept
        return found

    # ---- the tick ----
    def tick(self, rx: dict) -> TickResult:
        """``rx``: channel -> 160 bytes received this tick (missing: silence)."""
        events = []
        for law, rows in self._rows.items():
            block = self._input[law]
            block[:] = SILENCE_CODE[law]
            for r, ch in enumerate(rows):
                data = rx.get(int(ch))
                if data is not None:
                    block[r] = np.frombuffer(data, np.uint8)
            bank = self._banks.get(law)
            if bank is not None:
                for ev in bank.feed(block):
                    events.append((int(rows[ev.channel]), ev))
        voice = self._voice_readings()
        for i, ch in enumerate(self.channels):
            ch.voiced.append(voice.get(i, False))
        if self._amd_banks:
            events += self._feed_amd()
        done = []
        self._record(rx, done)
        tx = {}
        for i, ch in enumerate(self.channels):
            if ch.queue:
                block = self._next_block(i, ch, done)
                if block is not None:
                    tx[i] = block
            elif ch.bridged is not None:
                data = rx.get(ch.bridged)
                if data is not None:
                    other = self.channels[ch.bridged].law
                    tx[i] = data if other == ch.law else _transcode(data, other, ch.law, self._decode)
        return TickResult(events, voice, tx, done)

    def _feed_amd(self) -> list:
        """The AMD banks hear the block of AMD_DELAY ticks ago (the pre-roll where it applies),
        and the ring keeps this tick's block."""
        events = []
        slot = self._history_at
        self._history_at = (slot + 1) % AMD_DELAY
        for law, bank in self._amd_banks.items():
            rows = self._rows[law]
            delayed = self._history[law][slot].copy()
            for i in [i for i in self._prerolling if self.channels[i].law == law]:
                ch = self.channels[i]
                delayed[ch.row] = np.frombuffer(ch.preroll, np.uint8)
                ch.preroll_left -= 1
                if not ch.preroll_left:
                    self._prerolling.discard(i)
            self._history[law][slot] = self._input[law]
            for ev in bank.feed(delayed):
                events.append((int(rows[ev.channel]), ev))
        return events

    def _next_block(self, i, ch, done) -> bytes | None:
        out = np.zeros(BLOCK, np.int16)
        filled = 0
        while filled < BLOCK and ch.queue:
            source, tag = ch.queue[0]
            part = source.read(BLOCK - filled)
            out[filled:filled + len(part)] = part
            filled += len(part)
            if filled < BLOCK:
                ch.queue.popleft()
                if tag is not None:
                    done.append((i, tag, "done"))
        if filled == 0:
            return None                  # everything ended exactly at the last block
        return g711.encode(out, ch.law).tobytes()

    def _record(self, rx, done):
        for i, ch in enumerate(self.channels):
            if ch.recorder is None:
                continue
            data = rx.get(i)
            codes = np.frombuffer(data, np.uint8) if data is not None else np.full(BLOCK, SILENCE_CODE[ch.law], np.uint8)
            ended = ch.recorder.write(self._decode[ch.law][codes].astype(np.int16))
            if ended:
                ch.recorded = ch.recorder.samples / 8000
                ch.recorder = None
                done.append((i, ch.record_tag, ended))

    def _voice_readings(self) -> dict:
        listened = [i for i, ch in enumerate(self.channels) if ch.listen]
        if not listened:
            return {}
        x = np.empty((len(listened), BLOCK), np.float32)
        for k, i in enumerate(listened):
            ch = self.channels[i]
            x[k] = self._decode[ch.law][self._input[ch.law][ch.row]]
        return dict(zip(listened, voice_like(x, self._window, self._full_scale)))


def _dbm0(x: np.ndarray) -> float:
    power = float(np.mean(x.astype(np.float32) ** 2))
    return 10 * np.log10(max(power, 1e-9) / (32768.0 ** 2 / 2)) + FULL_SCALE_DBM0


def _transcode(data: bytes, law_in: str, law_out: str, tables) -> bytes:
    return g711.encode(tables[law_in][np.frombuffer(data, np.uint8)].astype(np.int16), law_out).tobytes()


def voice_like(x: np.ndarray, window: np.ndarray, full_scale: float) -> list:
    """Per row of 20 ms blocks: loud enough and not a tone (VOICE_MIN_DBM0, TONE_SHARE)."""
    power = np.mean(x * x, axis=1)
    dbm0 = 10 * np.log10(np.maximum(power, 1e-9) / full_scale) + FULL_SCALE_DBM0
    spectrum = np.abs(np.fft.rfft(x * window, axis=1)) ** 2        # 50 Hz bins
    top = -np.partition(-spectrum, TONE_BINS, axis=1)[:, :TONE_BINS].sum(axis=1)
    share = top / (spectrum.sum(axis=1) + 1e-9)
    return list((dbm0 > VOICE_MIN_DBM0) & (share < TONE_SHARE))
