"""Builds the recorded voices of the simulated network from Asterisk's core sounds.

    python boards/sim/voices/build_voices.py SOUNDS_DIR

SOUNDS_DIR is a folder holding the Debian packages' voice folders side by side
(``en_US_f_Allison``, ``fr_CA_f_June``, ``it_IT_m_Carlo``, ``ru_RU_f_IvrvoiceRU``),
e.g. ``usr/share/asterisk/sounds`` of ``asterisk-core-sounds-en-wav`` and of the
fr/it/ru packages unpacked with ``dpkg -x`` into one place (README.md here).

Each voice is one or more prompts: trimmed to their speech (plus 40 ms either
side), brought to the same active speech level, joined with the pauses
listed, and written as 8 kHz G.711 mu-law WAV. Not part of the package: it
is how the files here were made, so that they can be made again.
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

import numpy as np

from gateway.dsp import g711
from gateway.dsp.wav import FORMAT_MULAW, open_wav

HERE = Path(__file__).resolve().parent
RATE = 8000
FRAME = 80                      # 10 ms
ACTIVE_DBM0 = -45.0             # frames above this are speech when trimming and levelling
SPEECH_DBM0 = -18.0             # the active speech level every voice is brought to
MARGIN = 320                    # 40 ms kept before and after the speech
ZERO_DBM0_RMS = 32768 * 10 ** (-3.14 / 20) / np.sqrt(2)   # a 0 dBm0 sine's RMS in 16-bit samples

EN, FR, IT, RU = "en_US_f_Allison", "fr_CA_f_June", "it_IT_m_Carlo", "ru_RU_f_IvrvoiceRU"

# name: [(voice folder, prompt), pause in seconds, (voice folder, prompt), ...]
VOICES = {
    # A person answering or calling.
    "person-hello-en": [(EN, "hello")],
    "person-hello-fr": [(FR, "hello")],
    "person-hello-it": [(IT, "hello")],
    "person-hello-ru": [(RU, "hello")],
    "person-one-moment-en": [(EN, "one-moment-please")],
    "person-sorry-en": [(EN, "im-sorry")],
    # Answering-machine greetings, 2-12 s.
    "greeting-nobody-en": [(EN, "vm-nobodyavail")],
    "greeting-leave-message-en": [(EN, "vm-nobodyavail"), 0.35, (EN, "vm-intro")],
    "greeting-extension-en": [(EN, "vm-theperson"), 0.15, (EN, "digits/2"), 0.05, (EN, "digits/0"), 0.05,
                              (EN, "digits/1"), 0.15, (EN, "vm-isunavail"), 0.4, (EN, "vm-intro")],
    "greeting-fr": [(FR, "vm-nobodyavail"), 0.35, (FR, "vm-intro")],
    "greeting-it": [(IT, "vm-nobodyavail")],
    # Network announcements after a special information tone.
    "announcement-not-in-service-en": [(EN, "ss-noservice")],
    "announcement-cannot-complete-en": [(EN, "cannot-complete-as-dialed"), 0.3, (EN, "check-number-dial-again")],
    "announcement-all-circuits-busy-en": [(EN, "all-circuits-busy-now"), 0.3, (EN, "please-try-call-later")],
}


def frame_levels(x: np.ndarray) -> np.ndarray:
    frames = x[: len(x) // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME)
    return 10 * np.log10((frames ** 2).mean(axis=1) / ZERO_DBM0_RMS ** 2 + 1e-12)


def prompt(root: Path, folder: str, name: str) -> np.ndarray:
    x = open_wav(root / folder / f"{name}.wav").read_all().astype(np.float64)
    levels = frame_levels(x)
    active = np.flatnonzero(levels > ACTIVE_DBM0)
    if not len(active):
        raise SystemExit(f"{folder}/{name}.wav: no speech above {ACTIVE_DBM0} dBm0")
    start = max(0, active[0] * FRAME - MARGIN)
    end = min(len(x), (active[-1] + 1) * FRAME + MARGIN)
    x = x[start:end]
    speech = levels[active]
    level = 10 * np.log10(np.mean(10 ** (speech / 10)))
    x *= 10 ** ((SPEECH_DBM0 - level) / 20)
    ramp = np.linspace(0.0, 1.0, 40)   # 5 ms fades: the trim must not click
    x[:40] *= ramp
    x[-40:] *= ramp[::-1]
    return x


def write_mulaw(path: Path, samples: np.ndarray) -> None:
    codes = g711.encode(np.clip(np.rint(samples), -32768, 32767).astype(np.int16), "ulaw").tobytes()
    fmt = struct.pack("<HHIIHHH", FORMAT_MULAW, 1, RATE, RATE, 1, 8, 0)
    fact = struct.pack("<I", len(codes))
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<I", 4) + fact
            + b"data" + struct.pack("<I", len(codes)) + codes + (b"\0" if len(codes) % 2 else b""))
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sounds", type=Path, help="folder with en_US_f_Allison, fr_CA_f_June, ... side by side")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    total = 0
    for name, parts in VOICES.items():
        pieces = []
        for part in parts:
            if isinstance(part, float):
                pieces.append(np.zeros(int(part * RATE)))
            else:
                pieces.append(prompt(args.sounds, *part))
        samples = np.concatenate(pieces)
        write_mulaw(args.out / f"{name}.wav", samples)
        total += len(samples)
        print(f"{name}.wav  {len(samples) / RATE:5.2f} s", file=sys.stderr)
    print(f"{len(VOICES)} files, {total / RATE:.1f} s, {total / 1024:.0f} kB of audio", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
