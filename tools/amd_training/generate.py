"""Training calls for the answering-machine detector's phrase model.

Builds answered calls in the scenarios of the evaluation corpus (see
tools/amd_training/README.md) from material that is not in the corpus's dev
split: Asterisk's core sounds in Spanish, Canadian French, Italian and
Russian (four IVR voices), espeak-ng in eleven languages and many voice
variants, music synthesised here, beeps and the telephone line modelled
here. Everything is drawn from one seeded generator, so a seed gives the
same calls on every run (given the same packages).

    python tools/amd_training/generate.py --calls 20 --seed 7 --out /tmp/calls   # WAVs + labels.jsonl, to listen to

train.py imports `make_calls` directly; nothing is written to disk there.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.signal import butter, lfilter, resample_poly

FS = 8000
PEAK_0DBM0 = 22826.0  # 0 dBm0 sine peak (native/lg_common.h)
SOUNDS = Path(os.environ.get("AMD_SOUNDS", "/usr/share/asterisk/sounds"))
# Asterisk core sounds packages used (Debian asterisk-core-sounds-*-wav);
# English ones are left out on purpose: the corpus's dev split is built from them.
ASTERISK_VOICES = ["es_MX_f_Allison", "fr_CA_f_June", "it_IT_m_Carlo", "ru_RU_f_IvrvoiceRU"]
ESPEAK_VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt3",
                   "Andy", "Annie", "david", "linda", "max", "paul", "robert", "steph", "zac", "belinda"]

# What a person says when answering, and what an answering machine says,
# per espeak-ng language. Written for this generator.
HUMAN_TEXT = {
    "en-us": ["Hello?", "Yes?", "Hi.", "Hello, who's calling?", "Yeah, hello?", "This is Anna.", "Speaking.",
              "Hello, Peter speaking.", "Hi, it's Joe.", "Who is it?", "Mm, yes?", "Good morning.", "Hey.",
              "Hello, Smith residence.", "Yes, hello?", "Who's this?", "Hello hello?", "Can I help you?"],
    "en-gb-x-rp": ["Hello?", "Yes?", "Hello, Margaret speaking.", "Who is this, please?", "Hiya.", "Hello, yes?",
                   "Speaking.", "Good afternoon.", "Sorry, who's calling?", "Hello there."],
    "de": ["Hallo?", "Ja?", "Ja, bitte?", "Müller.", "Hallo, wer ist da?", "Guten Tag.", "Ja, hallo?",
           "Hier ist Schmidt.", "Wer spricht?", "Moment, bitte."],
    "fr": ["Allô?", "Oui?", "Allô, oui?", "Bonjour.", "Oui, allô?", "C'est qui?", "Allô, j'écoute.",
           "Oui, c'est Marie.", "Qui est à l'appareil?", "Un instant."],
    "es": ["¿Diga?", "¿Sí?", "¿Bueno?", "Hola.", "¿Quién habla?", "Sí, dígame.", "Hola, soy Carmen.",
           "¿Aló?", "Buenas tardes.", "Un momento."],
    "it": ["Pronto?", "Sì?", "Pronto, chi parla?", "Buongiorno.", "Sì, pronto?", "Sono Marco.", "Chi è?",
           "Un attimo."],
    "pt": ["Alô?", "Sim?", "Quem fala?", "Bom dia.", "Pois não?", "Sim, alô?", "É a Ana."],
    "nl": ["Hallo?", "Ja?", "Met Jan.", "Goedemiddag.", "Hallo, met wie?", "Ja, hallo?"],
    "sv": ["Hallå?", "Ja?", "Det är Erik.", "Hej.", "Vem är det?"],
    "pl": ["Halo?", "Tak?", "Słucham.", "Dzień dobry.", "Kto mówi?"],
    "cs": ["Haló?", "Ano?", "Prosím.", "Dobrý den.", "Kdo volá?"],
}
GREETING_TEXT = {
    "en-us": ["Hi, this is Anna. I can't take your call right now, please leave a message after the tone.",
              "You have reached the voice mailbox of Peter Brown. Please leave your name and number and I will "
              "return your call as soon as possible.",
              "Hello, you've reached the Garcia family. We're not home at the moment. Leave us a message.",
              "The number you have dialled is not available. Please record your message after the tone. When you "
              "have finished, hang up or press pound for more options.",
              "Thanks for calling Lakeside Plumbing. Our office is closed. Leave a message with your address "
              "and we will call you back tomorrow morning.",
              "Hey, it's Joe, leave a message.", "Sorry we missed you. Please leave a message.",
              "Hello. You have reached five five five, one two three four. Please leave a message."],
    "en-gb-x-rp": ["Hello, you're through to Margaret and David. We can't come to the phone just now, so please "
                   "leave a message after the tone.",
                   "Thank you for calling the surgery. The surgery is now closed. If your call is urgent please "
                   "ring one one one.", "Please leave your message after the tone."],
    "de": ["Hallo, hier ist der Anschluss von Familie Müller. Wir sind im Moment nicht erreichbar. Bitte "
           "hinterlassen Sie eine Nachricht nach dem Signalton.",
           "Guten Tag, Sie sind verbunden mit der Mailbox von Thomas Schmidt. Sprechen Sie nach dem Ton.",
           "Leider ist niemand zu Hause. Bitte sprechen Sie auf Band."],
    "fr": ["Bonjour, vous êtes bien chez Marie et Paul. Nous ne sommes pas disponibles pour le moment. Laissez-"
           "nous un message après le bip sonore.",
           "Vous êtes sur la messagerie de Jean Dupont. Merci de laisser votre nom et votre numéro.",
           "Le correspondant que vous cherchez à joindre n'est pas disponible. Veuillez laisser un message."],
    "es": ["Hola, has llamado a Carmen. Ahora no puedo atenderte, deja tu mensaje después de la señal.",
           "Gracias por llamar a la clínica dental. Nuestro horario es de lunes a viernes de nueve a seis. "
           "Deje su mensaje y le devolveremos la llamada.",
           "El número que usted marcó no está disponible. Por favor deje su mensaje después del tono."],
    "it": ["Ciao, sono Marco. Al momento non posso rispondere, lasciami un messaggio dopo il segnale acustico.",
           "Risponde la segreteria telefonica dello studio Rossi. Lasciate un messaggio, grazie.",
           "Il cliente da lei chiamato non è al momento raggiungibile. Lasci un messaggio dopo il segnale."],
    "pt": ["Olá, você ligou para a Ana. No momento não posso atender. Deixe sua mensagem após o sinal.",
           "Obrigado por ligar. Deixe o seu nome e número e retornaremos a sua chamada."],
    "nl": ["Hallo, u spreekt met het antwoordapparaat van Jan de Vries. Spreek na de piep een bericht in.",
           "Wij zijn op dit moment niet bereikbaar. Laat een bericht achter."],
    "sv": ["Hej, du har kommit till Erik. Jag kan inte svara just nu, lämna ett meddelande efter tonen."],
    "pl": ["Dzień dobry, dodzwoniłeś się do Anny. Nie mogę teraz odebrać, zostaw wiadomość po sygnale."],
    "cs": ["Dobrý den, dovolali jste se k Petrovi. Nemohu hovor přijmout, zanechte prosím vzkaz po zaznění tónu."],
}

# Scenario mix per class, as in the corpus's dev split (corpus README).
HUMAN_SCENARIOS = {"short": 0.52, "chatty": 0.16, "long-intro": 0.12, "late": 0.04, "noisy": 0.16}
MACHINE_SCENARIOS = {"greeting": 0.42, "short-greeting": 0.14, "pausing": 0.12, "music-intro": 0.30,
                     "no-greeting": 0.02}


@dataclass
class Call:
    audio: np.ndarray               # int16, 8 kHz, after the line model
    cls: str                        # human / machine
    scenario: str
    voice: str
    utterances: list = field(default_factory=list)  # [(start_s, end_s)] of the far end's speech
    beep_start: float | None = None
    beep_end: float | None = None

    def label(self, ident: str) -> dict:
        return {"id": ident, "class": self.cls, "scenario": self.scenario, "voice": self.voice,
                "utterances": [[round(a, 3), round(b, 3)] for a, b in self.utterances],
                "speech_start": round(self.utterances[0][0], 3) if self.utterances else None,
                "speech_end": round(self.utterances[-1][1], 3) if self.utterances else None,
                "beep": self.beep_start is not None,
                "beep_start": None if self.beep_start is None else round(self.beep_start, 3),
                "beep_end": None if self.beep_end is None else round(self.beep_end, 3),
                "duration_s": round(len(self.audio) / FS, 3)}


# ---------------------------------------------------------------- material

def trim(x: np.ndarray, rel_db: float = 40.0) -> np.ndarray:
    """Cut leading and trailing silence (frames 40 dB under the loudest)."""
    n = len(x) // 80 * 80
    if n == 0:
        return x
    e = 10 * np.log10(np.mean(x[:n].reshape(-1, 80) ** 2, axis=1) + 1e-9)
    on = np.nonzero(e > e.max() - rel_db)[0]
    return x[on[0] * 80:(on[-1] + 1) * 80]


def active_rms(x: np.ndarray) -> float:
    """RMS over the 10 ms frames within 30 dB of the loudest (an active speech level)."""
    n = len(x) // 80 * 80
    p = np.mean(x[:n].reshape(-1, 80) ** 2, axis=1)
    return float(np.sqrt(np.mean(p[p > p.max() * 1e-3])))


@functools.lru_cache(maxsize=None)
def asterisk_prompts(voice: str) -> tuple[list, list]:
    """(short, long) prompts of one Asterisk voice, trimmed, as float arrays."""
    short, long = [], []
    root = SOUNDS / voice
    for path in sorted(root.rglob("*.wav")):
        if "beep" in path.name:
            continue  # Asterisk's own beeps are not speech
        with wave.open(str(path)) as w:
            if w.getframerate() != FS or w.getsampwidth() != 2 or w.getnchannels() != 1:
                continue
            x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64)
        x = trim(x)
        d = len(x) / FS
        if 0.25 <= d <= 1.3:
            short.append(x)
        elif 1.6 <= d <= 8.0:
            long.append(x)
    if not short or not long:
        raise SystemExit(f"{root}: no usable prompts (install asterisk-core-sounds-*-wav, see README.md)")
    return short, long


@functools.lru_cache(maxsize=4096)
def espeak(lang: str, variant: str, speed: int, pitch: int, text: str) -> np.ndarray:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SystemExit("espeak-ng is not installed (apt-get install espeak-ng)")
    wav = subprocess.run([exe, "-v", f"{lang}+{variant}", "-s", str(speed), "-p", str(pitch), "--stdout", text],
                         check=True, capture_output=True).stdout
    rate = int.from_bytes(wav[24:28], "little")
    x = np.frombuffer(wav[44:], "<i2").astype(np.float64)
    g = np.gcd(FS, rate)
    return trim(resample_poly(x, FS // g, rate // g))


class Voice:
    """One speaker: short things and greeting sentences as arrays."""

    def __init__(self, rng: np.random.Generator):
        if rng.random() < 0.35:
            self.kind = "asterisk"
            self.name = str(rng.choice(ASTERISK_VOICES))
            self.short, self.long = asterisk_prompts(self.name)
        else:
            self.kind = "espeak"
            self.lang = str(rng.choice(list(HUMAN_TEXT)))
            self.variant = str(rng.choice(ESPEAK_VARIANTS))
            self.speed = int(rng.integers(135, 200))
            self.pitch = int(rng.integers(25, 75))
            self.name = f"espeak:{self.lang}+{self.variant} s{self.speed} p{self.pitch}"

    def _say(self, text: str, rng) -> np.ndarray:
        # A little more variety than one speed per voice.
        speed = int(self.speed * rng.uniform(0.92, 1.08))
        return espeak(self.lang, self.variant, speed, self.pitch, text)

    def short_thing(self, rng) -> np.ndarray:
        if self.kind == "asterisk":
            parts = [self.short[rng.integers(len(self.short))] for _ in range(rng.choice([1, 1, 2]))]
            return join(parts, rng, 0.0, 0.12)
        return self._say(str(rng.choice(HUMAN_TEXT[self.lang])), rng)

    def greeting(self, rng, seconds: float) -> np.ndarray:
        """Continuous speech of about `seconds`: prompts or sentences with short pauses."""
        # A greeting pieced together (a voicemail system's "The person at
        # extension ... is unavailable", a message read phrase by phrase):
        # short pieces with pauses between them, each pause like a person's.
        pieced = rng.random() < PIECED_SHARE
        parts, total = [], 0.0
        while total < seconds:
            if self.kind == "asterisk":
                if pieced and rng.random() < 0.6:
                    pieces = [self.short[rng.integers(len(self.short))]]
                else:
                    pieces = [self.long[rng.integers(len(self.long))]]
            else:
                text = str(rng.choice(GREETING_TEXT[self.lang]))
                if pieced:
                    words, pieces = text.split(), []
                    while words:
                        k = int(rng.integers(1, 4))
                        pieces.append(self._say(" ".join(words[:k]), rng))
                        words = words[k:]
                else:
                    pieces = [self._say(text, rng)]
            parts += pieces
            total += sum(len(x) / FS + 0.2 for x in pieces)
        # Pauses between sentences: a message read or pieced together from
        # prompts breathes between its sentences, up to ~0.7 s (shorter
        # pauses only made the model take any pause of 0.4 s after long
        # speech for a person's).
        y = join(parts, rng, 0.05, 0.7)
        # Cut at a quiet frame near the wanted length (a message ends with a word).
        n = int(seconds * FS)
        if len(y) > n:
            e = np.convolve(np.abs(y), np.ones(160) / 160, "same")
            lo, hi = n, min(len(y), n + 2 * FS)
            y = y[:lo + int(np.argmin(e[lo:hi]))] if hi > lo else y[:n]
        return trim(y)


# Share of greetings pieced together from short pieces (Voice.greeting).
PIECED_SHARE = 0.4


def join(parts, rng, gap_lo: float, gap_hi: float) -> np.ndarray:
    out = []
    for i, p in enumerate(parts):
        if i:
            out.append(np.zeros(int(rng.uniform(gap_lo, gap_hi) * FS)))
        out.append(p)
    return np.concatenate(out)


def music(rng, seconds: float, n: int | None = None) -> np.ndarray:
    """Synthesised music: a chord progression of harmonic notes, a bass line
    and noise percussion at a random tempo (1 unit RMS); n samples if given."""
    n = int(seconds * FS) if n is None else n
    seconds = n / FS
    t = np.arange(n) / FS
    beat = 60.0 / rng.uniform(70, 150)
    root = rng.uniform(110, 220)
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    y = np.zeros(n)
    start = 0.0
    while start < seconds:
        dur = beat * rng.choice([1, 2, 2, 4])
        a, b = int(start * FS), min(n, int((start + dur) * FS))
        if b <= a:
            break
        tt = t[a:b] - start
        env = np.minimum(1, tt / 0.02) * np.exp(-tt * rng.uniform(0.5, 4))
        deg = int(rng.integers(0, 5))
        for step in (0, 2, 4):
            f = root * 2 ** (scale[(deg + step) % 8] / 12) * rng.choice([1, 2])
            for h in range(1, 5):
                if f * h < 3500:
                    y[a:b] += env * np.sin(2 * np.pi * f * h * tt + rng.uniform(0, 6.3)) / h ** rng.uniform(1, 2)
        y[a:b] += 1.5 * env * np.sin(2 * np.pi * root / 2 * 2 ** (scale[deg] / 12) * tt)
        start += dur
    hits = np.arange(0, seconds, beat / 2)
    for h in hits:
        a = int(h * FS)
        m = min(n - a, 800)
        if m > 0 and rng.random() < 0.7:
            y[a:a + m] += rng.normal(0, 0.5, m) * np.exp(-np.arange(m) / 150)
    return y / (np.sqrt(np.mean(y ** 2)) + 1e-9)


def beep(rng) -> tuple[np.ndarray, str]:
    kind = str(rng.choice(["sine", "sine", "multi", "harmonic", "drift"]))
    def tone(f, d):
        tt = np.arange(int(d * FS)) / FS
        return np.sin(2 * np.pi * f * tt + rng.uniform(0, 6.3))
    if kind == "sine":
        x = tone(rng.uniform(400, 2000), rng.uniform(0.2, 0.8))
    elif kind == "multi":
        x = np.concatenate([tone(rng.uniform(400, 2000), rng.uniform(0.1, 0.2)) for _ in range(rng.integers(2, 4))])
    elif kind == "harmonic":
        f = rng.uniform(400, 1000)
        tt = np.arange(int(rng.uniform(0.2, 0.6) * FS)) / FS
        x = sum(np.sin(2 * np.pi * k * f * tt) / k for k in range(1, 30, 2) if k * f < 3400)
    else:
        d = rng.uniform(0.3, 0.8)
        tt = np.arange(int(d * FS)) / FS
        f = rng.uniform(500, 1500) * (1 + rng.uniform(-0.04, 0.04) * tt / d)
        x = np.sin(2 * np.pi * np.cumsum(f) / FS) * 10 ** (-rng.uniform(0, 10) * tt / 20)
    x = x / np.sqrt(np.mean(x ** 2)) * PEAK_0DBM0 / np.sqrt(2) * 10 ** (rng.uniform(-25, -8) / 20)
    return x, kind


# ---------------------------------------------------------------- scenarios

class Timeline:
    """The far end's sound: pieces placed at times, utterances recorded."""

    def __init__(self):
        self.pieces = []        # (start sample, array)
        self.utterances = []
        self.t = 0.0

    def wait(self, seconds):
        self.t += seconds

    def say(self, x: np.ndarray, gain: float, speech: bool = True):
        self.pieces.append((int(self.t * FS), x * gain))
        if speech:
            self.utterances.append((self.t, self.t + len(x) / FS))
        self.t += len(x) / FS

    def render(self, n: int) -> np.ndarray:
        y = np.zeros(n)
        for a, x in self.pieces:
            m = min(len(x), n - a)
            if m > 0:
                y[a:a + m] += x[:m]
        return y


def dbm0_gain(x: np.ndarray, dbm0: float) -> float:
    return PEAK_0DBM0 / np.sqrt(2) * 10 ** (dbm0 / 20) / (active_rms(x) + 1e-9)


def make_call(rng: np.random.Generator, cls: str | None = None, scenario: str | None = None) -> Call:
    cls = cls or str(rng.choice(["human", "machine"]))
    mix = HUMAN_SCENARIOS if cls == "human" else MACHINE_SCENARIOS
    scenario = scenario or str(rng.choice(list(mix), p=np.array(list(mix.values())) / sum(mix.values())))
    voice = Voice(rng)
    level = rng.uniform(-30, -12)
    tl = Timeline()
    beep_at = None
    background = None

    def speak(x):
        tl.say(x, dbm0_gain(x, level + rng.uniform(-2, 2)))

    if cls == "human":
        tl.wait(rng.uniform(2.6, 4.0) if scenario == "late" else rng.uniform(0.1, 1.5))
        if scenario in ("short", "late", "noisy"):
            speak(voice.short_thing(rng))
            if rng.random() < 0.4:
                tl.wait(rng.uniform(0.9, 2.5))
                speak(voice.short_thing(rng))
        elif scenario == "chatty":
            for i in range(int(rng.integers(3, 5))):
                if i:
                    tl.wait(rng.uniform(0.25, 0.7))
                speak(voice.short_thing(rng))
        elif scenario == "long-intro":
            want = rng.uniform(1.6, 3.0)
            parts = [voice.short_thing(rng)]
            while sum(len(p) for p in parts) / FS < want:
                parts.append(voice.short_thing(rng))
            x = join(parts, rng, 0.0, 0.15)[:int(want * FS)]
            speak(x)
        tl.wait(rng.uniform(1.5, 2.5))
        if scenario == "noisy":
            background = float(rng.uniform(0, 28))
    else:
        if scenario == "no-greeting":
            tl.wait(rng.uniform(0.7, 3.5))
        else:
            tl.wait(rng.uniform(0.2, 1.4))
            if scenario == "music-intro":
                m = music(rng, rng.uniform(1.0, 3.0))
                tl.say(m, dbm0_gain(m, level + rng.uniform(-6, 3)), speech=False)
                tl.wait(rng.uniform(0.0, 0.5))
            if scenario == "pausing":
                speak(voice.short_thing(rng))
                tl.wait(rng.uniform(0.8, 1.6))
                speak(voice.greeting(rng, rng.uniform(1.5, 8.0)))
            elif scenario == "short-greeting":
                speak(voice.greeting(rng, rng.uniform(1.0, 3.0)))
            else:
                speak(voice.greeting(rng, rng.uniform(2.0, 15.0)))
        p_beep = 0.9 if scenario in ("short-greeting", "no-greeting") else 0.7
        if scenario == "no-greeting" or rng.random() < p_beep:
            tl.wait(rng.uniform(0.1, 0.8))
            b, _ = beep(rng)
            beep_at = (tl.t, tl.t + len(b) / FS)
            tl.say(b, 1.0, speech=False)
        tl.wait(rng.uniform(0.3, 1.5))
    n = int(tl.t * FS)
    y = tl.render(n)
    # The room: near-end noise, and for `noisy` a television, other voices or music.
    y += rng.normal(0, 1, n) * PEAK_0DBM0 / np.sqrt(2) * 10 ** (rng.uniform(-68, -48) / 20)
    if background is not None:
        kind = rng.choice(["voices", "music", "tv"])
        other = Voice(rng)
        if kind in ("voices", "tv"):
            b = other.greeting(rng, n / FS + 2)
            if len(b) < n:
                b = np.tile(b, n // len(b) + 1)
            b = b[:n] / (active_rms(b) + 1e-9)
            if kind == "tv":
                b = b + 0.5 * music(rng, 0, n)
        else:
            b = music(rng, 0, n)
        y += b * PEAK_0DBM0 / np.sqrt(2) * 10 ** ((level - background) / 20)
    return Call(line(y, rng), cls, scenario, voice.name, tl.utterances,
                beep_at[0] if beep_at else None, beep_at[1] if beep_at else None)


def line(y: np.ndarray, rng) -> np.ndarray:
    """Band-pass, line noise, hum, G.711 round trip (the corpus's line model)."""
    n = len(y)
    if rng.random() < 0.8:
        b, a = butter(2, [rng.uniform(200, 320), rng.uniform(3250, 3550)], btype="band", fs=FS)
        y = lfilter(b, a, y)
    noise = rng.normal(0, 1, n)
    if rng.random() < 0.5:  # pink: white through a one-pole low-pass, roughly 1/f over the band
        noise = lfilter([1.0], [1.0, -0.95], noise)
        noise /= np.std(noise)
    y = y + noise * PEAK_0DBM0 / np.sqrt(2) * 10 ** (rng.uniform(-72, -50) / 20)
    if rng.random() < 0.15:
        f = rng.choice([50.0, 60.0])
        t = np.arange(n) / FS
        hum = sum(np.sin(2 * np.pi * f * k * t) / k for k in (1, 2, 3))
        y = y + hum * PEAK_0DBM0 * 10 ** (rng.uniform(-60, -40) / 20)
    x = np.clip(np.round(y), -32768, 32767).astype(np.int16)
    law = rng.choice(["ulaw", "alaw", "none"], p=[0.4, 0.4, 0.2])
    if law != "none":
        from gateway.dsp import g711
        x = g711.decode(g711.encode(x, law), law)
    return x


# Share of calls heard from the far end's first sound on, with no quiet
# before it: an analog line answered without a polarity reversal is only
# known to be answered from the voice itself (gateway/media.py, AMD_DELAY).
ON_VOICE_SHARE = 0.0


def first_sound(call: Call) -> float | None:
    """When the far end is first heard (s): a person's first word; for a
    machine the first 10 ms frame 15 dB over the quiet that opens the call
    (music or speech). None for a call with nothing before its beep."""
    if call.cls == "human":
        return call.utterances[0][0] if call.utterances else None
    x = call.audio.astype(np.float64)
    n = len(x) // 80
    level = 10 * np.log10(np.mean(x[:n * 80].reshape(n, 80) ** 2, axis=1) + 1e-3)
    loud = np.nonzero(level > np.median(level[:10]) + 15)[0]
    onset = loud[0] * 80 / FS if len(loud) else None
    if onset is None or (call.beep_start is not None and onset >= call.beep_start - 0.05):
        return None
    return float(onset)


def on_voice(call: Call, rng: np.random.Generator) -> Call:
    """The call cut to start 0-30 ms before its first sound (times shifted)."""
    onset = first_sound(call)
    if onset is None:
        return call
    cut = max(0.0, onset - rng.uniform(0.0, 0.03))
    a = int(cut * FS)
    return Call(call.audio[a:], call.cls, call.scenario, call.voice,
                [(s - a / FS, e - a / FS) for s, e in call.utterances],
                None if call.beep_start is None else call.beep_start - a / FS,
                None if call.beep_end is None else call.beep_end - a / FS)


def with_on_voice(calls: list[Call], seed: int, share: float = ON_VOICE_SHARE) -> list[Call]:
    """`share` of the calls (chosen by their own random stream, so that the
    calls themselves stay those of the seed) heard from their first sound on."""
    rng = np.random.default_rng([seed, 1])
    return [on_voice(c, rng) if rng.random() < share else c for c in calls]


def make_calls(count: int, seed: int, on_voice_share: float = ON_VOICE_SHARE) -> list[Call]:
    rng = np.random.default_rng(seed)
    return with_on_voice([make_call(rng) for _ in range(count)], seed, on_voice_share)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="folder for the WAV files and labels.jsonl")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "labels.jsonl", "w", encoding="utf-8") as f:
        for i, call in enumerate(make_calls(a.calls, a.seed)):
            ident = f"gen-{a.seed}-{i:05d}"
            with wave.open(str(out / f"{ident}.wav"), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(FS)
                w.writeframes(call.audio.tobytes())
            lab = call.label(ident)
            lab["file"] = f"{ident}.wav"
            f.write(json.dumps(lab) + "\n")


if __name__ == "__main__":
    main()
