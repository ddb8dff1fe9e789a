"""A simulated V.253 voice modem, in the manner of a Conexant CX93001-class USB modem.

    linegate sim modem --listen pty [--number 201=busy] [--call "at=2s from=5551234"] [--script FILE]

prints ``listening on pty:/dev/pts/N`` and serves the modem on that
pseudo-terminal until interrupted; a host opens it as a serial port
(``pty:/dev/pts/N`` or ``serial:///dev/pts/N``), exactly as it would a USB
modem's ``/dev/ttyACM0``.

``SimulatedModem`` is the modem without I/O: ``receive(bytes)`` takes what
the host sends, ``tick()`` runs 20 ms of the modem (its line, its DSP, its
voice streams), ``output`` holds what it sends back. It answers the commands
a real modem of the kind answers, with the same replies (ATI, ATI3, +FCLASS,
+VSM, +VLS, +VSD, +VIT, +VCID, #CID, +VRA, +VRN, +VTD, +VTS, +VRX, +VTX,
+VTR, D, A, H, Z, &F, E, V, Q, S-registers; README.md lists them), and its
line is a ``ModemLine`` (gateway.modem.sim_line). What it reports of the line
comes from its own DSP listening to the line's audio, as a real modem's does:
a ``DetectorBank`` with the DTMF receiver and the call-progress classifier
(the line's country first) gives the <DLE> events (busy, dial tone, ringback,
DTMF, fax and answer tones), and the level of the received audio gives the
silence (``s``) and quiet (``q``) events of +VSD; on hook, the caller-ID
receiver (the native FSK receiver and DTMF CLIP) decodes what the line sends
between the rings into the +VCID report. Dialling waits for dial
tone the DSP recognises (NO DIALTONE after 5 s), plays the digits as DTMF
onto the line, then answers VCON at once (+VRN=0) or after ringback went
away (+VRA) or never came (+VRN); BUSY when the DSP hears busy first. ``!``
in a dial string is a hook flash of S29 x 10 ms (V.250's dial modifier; S29
as on Hayes-style modems), and a dial string ending in ``;`` answers OK and
stays in command state with the call up (``ATD!;`` flashes during a call).
A loop current break (``l``) and a polarity reversal (``L``) of the line are
reported while off hook.

Voice compressions (+VSM=?) are numbered as Conexant's host-processed modems
number them (reference 100498E): 1 and 130 unsigned PCM, 128 8-bit linear
(signed), 131 mu-law, 132 A-law, 133 16-bit linear, all at 8000 Hz.

Like a real modem it keeps tone monitoring off while it carries out a
command (a Hayes voice reference: events are not reported while a command is
being processed), reports busy every 4 s and dial tone every 3 s while they
last (Rockwell), drops samples and reports ``o`` when the host does not read,
reports ``u`` when the host's samples run dry before <DLE><ETX>, and hangs up
when the host is silent longer than +VIT seconds in a voice state.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tty
from dataclasses import dataclass

import numpy as np

from gateway.dsp import callerid as dsp_callerid, g711
from gateway.dsp.detector_bank import DetectorBank
from gateway.dsp.dtmf import DtmfGenerator
from gateway.dsp.tone import ToneGenerator, ToneSegment
from gateway.errors import InputError, LinegateError, UsageError
from gateway.modem import at_command, caller_id as cid, compression
from gateway.modem.sim_line import BLOCK, TICK_MS, LineDrive, ModemLine
from gateway.modem.v253 import (DLE, ETX, NEED_DATA, CommandLineReceived, DceConnection, DleActionReceived,
                                HostInputRejected, Mode, VoiceDataReceived, shield)

IDENTITY = {
    0: ["56000"],
    1: ["255"],
    2: ["OK"],
    3: ["LINEGATE SIMULATED V.253 VOICE MODEM (CX93001-STYLE) 1.0"],
}
MANUFACTURER, MODEL, REVISION = "LINEGATE", "SIMULATED V.253 VOICE MODEM", "1.0"
CLASSES = ("0", "1", "1.0", "8")
METHODS = (
    (1, "UNSIGNED PCM", 8, "u8"),
    (128, "8-BIT LINEAR", 8, "s8"),
    (130, "UNSIGNED PCM", 8, "u8"),
    (131, "ULAW", 8, "ulaw"),
    (132, "ALAW", 8, "alaw"),
    (133, "LINEAR", 16, "s16le"),
)
NUMERIC = {"OK": "0", "CONNECT": "1", "RING": "2", "NO CARRIER": "3", "ERROR": "4", "NO DIALTONE": "6",
           "BUSY": "7", "NO ANSWER": "8"}
CPT_EVENTS = {"dial": "d", "busy": "b", "congestion": "b", "ringback": "r", "fax_cng": "c", "fax_ced": "a",
              "modem": "a"}
REPEAT_MS = {"b": 4000, "d": 3000}
DIAL_TONE_WAIT_MS = 5000
TX_BUFFER = 4096          # bytes of host samples the modem holds (flow control beyond)
OUT_LIMIT = 16384         # bytes waiting for the host; samples beyond are dropped (<DLE>o)
RING_GONE_MS = 8000       # no ring this long: the next ring is a new call
MAX_DIAL_KEYS = 64
RELEASE_MS = 500          # on hook at least this long before dialling again (a release, not a flash)
DTMF_LEVEL_DBM0 = -10.0
TONE_LEVEL_DBM0 = -10.0
SILENCE_DBM0_AT_128 = -43.0   # +VSD sensitivity 128 (the manufacturer's default) as a level
_DIAL_IGNORED = set(" -()TtPp")
LATER = "the result comes when the action ends"    # what _command returns for ATD and +VTS


def _dbm0(samples: np.ndarray) -> float:
    power = float(np.mean(samples.astype(np.float64) ** 2))
    return 10 * np.log10(power / 32768.0 ** 2 + 1e-12) + 3.14


@dataclass
class _Settings:
    """What ATZ and AT&F restore."""
    echo: bool = True
    verbose: bool = True
    quiet: bool = False
    fclass: str = "0"
    method: int = 1
    vcid: int = 0
    vra: int = 50
    vrn: int = 10
    sds: int = 128
    sdi: int = 50
    vit: int = 0
    vtd: int = 100
    gains: tuple = (128, 128)


class SimulatedModem:
    """A V.253 voice modem without I/O (see the module's doc)."""

    def __init__(self, line: ModemLine):
        self.line = line
        self.host = DceConnection()
        self.output = bytearray()
        self.time_ms = 0
        self.offhook = False
        self.settings = _Settings()
        self.registers = {0: 0, 7: 50, 8: 2, 11: 95, 29: 50}   # S29: hook flash, 10 ms units
        self.dropped = 0                    # samples dropped because the host did not read
        self._dsp = DetectorBank(1, detect=("dtmf", "cpt"), encoding=line.law, country=line.country)
        self._cid_rx: DetectorBank | None = None     # on hook: the caller-ID receiver, made when needed
        self._clip = dsp_callerid.DtmfClipAssembler()
        self._under_way = None              # the command under way: "dial" or "tones" (+VTS)
        self._dial = None                   # the dial plan: steps left, phase, since when
        self._dial_tone_heard = False
        self._busy_heard = False
        self._tones: list = []              # generators of the tones to play (DTMF, +VTS), in order
        self._tx = bytearray()
        self._tx_ending = False
        self._tx_flowing = False
        self._overrun_told = False
        self._tones_on: dict = {}           # <DLE> code -> when to report it again
        self._ringback_seen = None
        self._ringback_gone = None
        self._rings = 0
        self._last_ring_ms = -RING_GONE_MS
        self._ringing = False
        self._loop = True
        self._reversed = False
        self._voice_seen = False
        self._silent_ms = 0
        self._silence_told = False
        self._last_host_ms = 0
        self._onhook_since = -RELEASE_MS

    # ---- what the host sends ----

    def room(self) -> int:
        """How many bytes the modem takes from the host now (its flow control)."""
        if self.host.mode in (Mode.VOICE_TX, Mode.VOICE_DUPLEX):
            return max(0, TX_BUFFER - len(self._tx) - self.host.buffered)
        return max(0, 4096 - self.host.buffered)

    def receive(self, data: bytes) -> None:
        if data:
            self._last_host_ms = self.time_ms
        if data and self._under_way is not None and self.host.mode is Mode.COMMAND:
            # Any character from the host aborts a command under way, and is dropped (V.250, 6.3.1).
            if self._under_way == "dial":
                self._hang_up()
                self._result("NO CARRIER")
            else:
                self._tones.clear()
                self._under_way = None
                self._result("OK")
            return
        self.host.receive_data(data)
        while True:
            event = self.host.next_event()
            if event is NEED_DATA:
                return
            if isinstance(event, CommandLineReceived):
                self._command_line(event.line)
            elif isinstance(event, VoiceDataReceived):
                self._tx += event.data
            elif isinstance(event, DleActionReceived):
                self._action(event.name)
            elif isinstance(event, HostInputRejected):
                if self.host.mode is Mode.COMMAND:
                    self._result("ERROR")

    def _action(self, name: str) -> None:
        mode = self.host.mode
        if name == "clear":
            self._tx.clear()
        elif name == "clear-and-end" and mode in (Mode.VOICE_TX, Mode.VOICE_DUPLEX):
            self._tx.clear()
            self._end_stream()
        elif name == "end" and mode is Mode.VOICE_TX:
            self._tx_ending = True          # played out first, then OK
        elif (name == "abort" and mode is Mode.VOICE_RX) or (name == "end-duplex" and mode is Mode.VOICE_DUPLEX):
            self._end_stream()
        # volume, pause, resume, concatenate, nothing: accepted, no effect on a simulated line

    def _end_stream(self) -> None:
        if self.host.mode in (Mode.VOICE_RX, Mode.VOICE_DUPLEX):
            self.output += bytes([DLE, ETX])
        self.host.mode = Mode.COMMAND
        self._tx.clear()
        self._tx_ending = self._tx_flowing = False
        self._result("OK")

    # ---- replies ----

    def _text(self, line: str) -> None:
        self.output += f"\r\n{line}\r\n".encode("latin-1") if self.settings.verbose else f"{line}\r\n".encode("latin-1")

    def _result(self, code: str) -> None:
        if self.settings.quiet:
            return
        if self.settings.verbose:
            self.output += f"\r\n{code}\r\n".encode()
        else:
            self.output += f"{NUMERIC.get(code, code)}\r".encode()

    def _event(self, code: str) -> None:
        """A <DLE> event to the host: only in voice mode, off hook, with no command under way."""
        if self.settings.fclass == "8" and self.offhook and self._under_way is None:
            self.output += bytes([DLE]) + code.encode()

    # ---- commands ----

    def _command_line(self, line: str) -> None:
        if self.settings.echo:
            self.output += line.encode("latin-1") + b"\r"
        try:
            commands = at_command.split(line)
        except InputError:
            self._result("ERROR")
            return
        for command in commands:
            try:
                outcome = self._command(command)
            except (LinegateError, ValueError):     # a value out of range, a tone the generator refuses
                outcome = "ERROR"
            if outcome == "ERROR":
                self._result("ERROR")
                return
            if outcome is not None:     # a result of its own, now or when its action ends
                if outcome is not LATER:
                    self._result(outcome)
                return
        self._result("OK")

    def _command(self, command: at_command.AtCommand):
        name, form, value = command.name, command.form, command.value
        s = self.settings
        flags = {"E": "echo", "V": "verbose", "Q": "quiet"}
        if name in flags:
            setattr(s, flags[name], value not in (None, "0") if name != "Q" else value == "1")
        elif name in ("X", "M", "L", "&C", "&D", "&K", "&S", "&W", "&V", "B", "N", "W", "Y"):
            pass                            # data-mode and speaker settings: nothing to simulate
        elif name in ("Z", "&F"):
            self.settings = _Settings()
            if name == "Z":
                self._hang_up()
        elif name == "I":
            index = int(value or 0)
            if index not in IDENTITY:
                return "ERROR"
            for line in IDENTITY[index]:
                self._text(line)
        elif name == "H":
            if value in (None, "0"):
                self._hang_up()
            else:
                self._off_hook()
        elif name == "A":
            return self._answer()
        elif name == "D":
            return self._start_dial(value or "")
        elif name.startswith("S") and name[1:].isdigit():
            return self._register(int(name[1:]), form, value)
        elif name in ("+GMI", "+FMI"):
            return self._query(form, MANUFACTURER)
        elif name in ("+GMM", "+FMM"):
            return self._query(form, MODEL)
        elif name in ("+GMR", "+FMR"):
            return self._query(form, REVISION)
        elif name == "+GCAP" and form == "action":
            self._text("+GCAP: +FCLASS,+V")
        elif name == "+FCLASS":
            return self._parameter(form, value, lambda: s.fclass, ",".join(CLASSES),
                                   lambda v: setattr(s, "fclass", v) if v in CLASSES else "ERROR")
        elif name in ("+VCID", "#CID"):
            return self._parameter(form, value, lambda: str(s.vcid), "(0-2)",
                                   lambda v: setattr(s, "vcid", int(v)) if v in ("0", "1", "2") else "ERROR")
        elif name == "+IFC":
            return None if form in ("set", "read", "test") else "ERROR"
        elif not name.startswith("+V"):
            return "ERROR"
        elif s.fclass != "8":
            return "ERROR"                  # voice commands answer ERROR outside voice mode (Conexant)
        else:
            return self._voice_command(name, form, value)
        return None

    def _query(self, form: str, text: str):
        if form not in ("action", "read"):
            return "ERROR"
        self._text(text)
        return None

    def _register(self, number: int, form: str, value):
        if form == "read":
            self._text(f"{self.registers.get(number, 0):03d}")
        elif not 0 <= int(value) <= 255 or number > 99:
            return "ERROR"
        else:
            self.registers[number] = int(value)
        return None

    def _parameter(self, form, value, read, test_text, write):
        if form == "read":
            self._text(read())
        elif form == "test":
            self._text(test_text)
        elif form == "set":
            return write(value.strip())
        else:
            return "ERROR"
        return None

    def _numbers(self, value: str, limits) -> list[int]:
        parts = [part.strip() for part in value.split(",")]
        if len(parts) > len(limits) or not all(p.isdigit() for p in parts if p):
            raise ValueError(value)
        numbers = [int(p) if p else None for p in parts]
        for number, (low, high) in zip(numbers, limits):
            if number is not None and not low <= number <= high:
                raise ValueError(value)
        return numbers

    def _voice_command(self, name: str, form: str, value):
        s = self.settings
        simple = {"+VRA": ("vra", 255), "+VRN": ("vrn", 255), "+VIT": ("vit", 255), "+VTD": ("vtd", 500)}
        if name in simple:
            attribute, high = simple[name]

            def write(v):
                (number,) = self._numbers(v, [(0, high)])
                setattr(s, attribute, number)
            return self._parameter(form, value, lambda: str(getattr(s, attribute)), f"(0-{high})", write)
        if name == "+VSD":
            def write_vsd(v):
                sds, sdi = (self._numbers(v, [(0, 255), (0, 255)]) + [None])[:2]
                s.sds, s.sdi = sds if sds is not None else s.sds, sdi if sdi is not None else s.sdi
            return self._parameter(form, value, lambda: f"{s.sds},{s.sdi}", "(0-255),(0-255)", write_vsd)
        if name in ("+VGT", "+VGR"):
            def write_gain(v):
                (gain,) = self._numbers(v, [(0, 255)])
                s.gains = (gain, s.gains[1]) if name == "+VGT" else (s.gains[0], gain)
            return self._parameter(form, value, lambda: str(s.gains[name == "+VGR"]), "(0-255)", write_gain)
        if name == "+VSM":
            return self._parameter(form, value, lambda: f"{s.method},8000,0,0", None, self._set_method) \
                if form != "test" else self._list_methods()
        if name == "+VLS":
            def write_vls(v):
                (line,) = self._numbers(v, [(0, 1)])
                self._off_hook() if line == 1 else self._hang_up()
            return self._parameter(form, value, lambda: "1" if self.offhook else "0", "0,1", write_vls)
        if name in ("+VNH", "+VDR", "+VIP", "+VEN", "+VBT"):
            return None
        if name == "+VTS" and form == "set":
            return self._start_tones(value)
        if name in ("+VRX", "+VTX", "+VTR") and form == "action":
            if not self.offhook:
                return "ERROR"
            self.host.mode = {"+VRX": Mode.VOICE_RX, "+VTX": Mode.VOICE_TX, "+VTR": Mode.VOICE_DUPLEX}[name]
            self._tx.clear()
            self._tx_ending = self._tx_flowing = False
            self._voice_seen, self._silent_ms, self._silence_told = False, 0, False
            return "CONNECT"
        return "ERROR"

    def _list_methods(self):
        for number, label, bits, _ in METHODS:
            self._text(f'{number},"{label}",{bits},0,(8000),(0),(0)')
        return None

    def _set_method(self, value: str):
        method, rate = (self._numbers(value, [(0, 255), (8000, 8000), (0, 255), (0, 255)]) + [None])[:2]
        if method not in {m[0] for m in METHODS}:
            return "ERROR"
        self.settings.method = method
        return None

    @property
    def encoding(self) -> str:
        return next(m[3] for m in METHODS if m[0] == self.settings.method)

    # ---- hook, answer, dial, tones ----

    def _off_hook(self) -> None:
        if not self.offhook:
            self.offhook = True
            self._loop = True
            self._dsp.reset(0)
            self._tones_on.clear()

    def _hang_up(self) -> None:
        if self.offhook:
            self._onhook_since = self.time_ms
        self.offhook = False
        self._dial = None
        self._under_way = None
        self._tones.clear()
        self.host.mode = Mode.COMMAND
        self._tx.clear()

    def _answer(self):
        if self.settings.fclass != "8":
            return "NO CARRIER"             # no data or fax modem behind this one
        self._off_hook()
        self._rings = 0
        return "VCON"

    def _start_dial(self, dial: str):
        if self.settings.fclass != "8":
            return "NO CARRIER"
        steps = []
        stay = dial.rstrip().endswith(";")     # V.250: back to command state after dialling, call kept
        for char in dial.rstrip().removesuffix(";"):
            if char in "0123456789*#ABCDabcd":
                steps.append(("key", char.upper()))
            elif char == ",":
                steps.append(("pause", self.registers.get(8, 2) * 1000))
            elif char in "Ww":
                steps.append(("wait", None))
            elif char == "!":
                steps.append(("flash", max(1, self.registers.get(29, 50)) * 10))
            elif char not in _DIAL_IGNORED:
                return "ERROR"
        if sum(kind == "key" for kind, _ in steps) > MAX_DIAL_KEYS:
            return "ERROR"
        # Off hook already (dialling more digits in a call): no seizure, no dial tone to wait for.
        first = [] if self.offhook else [("seize", None), ("wait", None)]
        self._dial = {"steps": first + steps, "since": self.time_ms, "phase": None, "stay": stay}
        self._under_way = "dial"
        self._dial_tone_heard = False
        self._ringback_seen = self._ringback_gone = None
        self._busy_heard = False
        return LATER

    def _start_tones(self, value: str):
        if not self.offhook:
            return "ERROR"
        generators = []
        for element in _vts_elements(value):
            if element.startswith("[") or element.startswith("{"):
                body = [part.strip() for part in element[1:-1].split(",")]
                if element[0] == "[":
                    freqs = [float(f) for f in body[:2] if f and float(f) > 0]
                    duration = _duration(body[2] if len(body) > 2 else "", self.settings.vtd)
                    segment = ToneSegment(tuple(freqs), TONE_LEVEL_DBM0, duration * 10) if freqs \
                        else ToneSegment.silence(duration * 10)
                    generators.append(ToneGenerator([segment]))
                else:
                    duration = _duration(body[1] if len(body) > 1 else "", self.settings.vtd)
                    generators.append(DtmfGenerator(_key(body[0]), duration * 10, 0, DTMF_LEVEL_DBM0))
            else:
                generators.append(DtmfGenerator(_key(element), self.settings.vtd * 10, 0, DTMF_LEVEL_DBM0))
            generators.append(ToneGenerator([ToneSegment.silence(max(40, self.settings.vtd * 5))]))
        self._tones = generators
        self._under_way = "tones"
        return LATER

    # ---- 20 ms ----

    def tick(self) -> None:
        now = self.time_ms
        self.time_ms += TICK_MS
        sense = self.line.tick(LineDrive(now, self.offhook, self._audio_out()))
        self._ring(sense, now)
        if self.offhook:
            if self._loop and not sense.loop_current:
                self._event("l")
            self._loop = sense.loop_current
            if sense.reversed != self._reversed:
                self._event("L")
            if sense.audio is not None and len(sense.audio) == BLOCK:
                self._listen(sense.audio, now)
        elif sense.audio is not None and len(sense.audio) == BLOCK:
            self._listen_on_hook(sense.audio)
        self._reversed = sense.reversed
        self._progress(now)

    def _audio_out(self) -> bytes:
        samples = np.zeros(BLOCK, np.int16)
        if not self.offhook:
            return g711.encode(samples, self.line.law).tobytes()
        filled = 0
        while self._tones and filled < BLOCK:
            part = self._tones[0].generate(BLOCK - filled)
            samples[filled:filled + len(part)] = part
            filled += len(part)
            if self._tones[0].finished:
                self._tones.pop(0)
        if filled == 0 and self.host.mode in (Mode.VOICE_TX, Mode.VOICE_DUPLEX):
            width = compression.BYTES_PER_SAMPLE[self.encoding]
            take = min(len(self._tx) // width, BLOCK) * width
            if take:
                samples[:take // width] = compression.decode(bytes(self._tx[:take]), self.encoding)
                del self._tx[:take]
                self._tx_flowing = True
            elif self._tx_flowing and not self._tx_ending:
                self._tx_flowing = False
                self._event("u")
        return g711.encode(samples, self.line.law).tobytes()

    def _ring(self, sense, now: int) -> None:
        if sense.ring and not self._ringing and not self.offhook:
            if now - self._last_ring_ms > RING_GONE_MS:
                self._rings = 0
            self._rings += 1
            self._last_ring_ms = now
            self._result("RING")
            auto = self.registers.get(0, 0)
            if auto and self._rings >= auto and self._under_way is None:
                self._result(self._answer())
        self._ringing = sense.ring
        if sense.caller_id is not None:
            self._present_caller_id(sense.caller_id)

    def _present_caller_id(self, caller_id: cid.CallerId) -> None:
        if self.settings.vcid and not self.offhook:
            if self.settings.vcid == 1:
                for line in cid.formatted_lines(caller_id):
                    self._text(line)
            else:
                self._text(cid.encode_packet(caller_id))

    def _listen_on_hook(self, audio: bytes) -> None:
        """The line's on-hook signal (caller ID between the rings): FSK (Bell 202 or V.23) through
        the native receiver, or DTMF CLIP; a message that fails its checksum is not reported."""
        if self._cid_rx is None:
            self._cid_rx = DetectorBank(1, detect=("callerid", "dtmf"), encoding=self.line.law)
        for event in self._cid_rx.feed(np.frombuffer(audio, np.uint8)[np.newaxis, :]):
            try:
                if event.kind == "callerid":
                    heard = dsp_callerid.from_event(event)
                elif event.kind == "dtmf":
                    heard = self._clip.feed(event)
                else:
                    continue
            except LinegateError:
                continue                    # garbled or incomplete: a real modem reports nothing either
            if heard is not None:
                self._present_caller_id(_modem_caller_id(heard))

    def _listen(self, audio: bytes, now: int) -> None:
        for event in self._dsp.feed(np.frombuffer(audio, np.uint8)[np.newaxis, :]):
            code = None
            if event.kind == "dtmf":
                code = event.value if event.end is None else None
            elif event.kind == "cpt":
                code = "J" if event.value.startswith("sit") else CPT_EVENTS.get(event.value)
                if event.value == "modem" and event.reason == "BELL_2225":
                    code = "f"
                if code is None:
                    continue
                if event.end is not None:
                    self._tones_on.pop(code, None)
                    if code == "r":
                        self._ringback_gone = now
                    continue
                if code in REPEAT_MS:
                    self._tones_on[code] = now + REPEAT_MS[code]
                if code == "d":
                    self._dial_tone_heard = True
                elif code == "r":
                    self._ringback_seen, self._ringback_gone = now, None
                elif code == "b":
                    self._busy_heard = True
            if code:
                self._event(code)
        for code, due in list(self._tones_on.items()):
            if now >= due:
                self._event(code)
                self._tones_on[code] = now + REPEAT_MS[code]
        samples = g711.decode(audio, self.line.law)
        if self.host.mode in (Mode.VOICE_RX, Mode.VOICE_DUPLEX):
            self._send_samples(compression.encode(samples, self.encoding))
            self._silence_detection(samples)

    def _send_samples(self, payload: bytes) -> None:
        if len(self.output) + 2 * len(payload) > OUT_LIMIT:
            self.dropped += len(payload)
            if not self._overrun_told:
                self._overrun_told = True
                self.output += b"\x10o"
            return
        self._overrun_told = False
        self.output += shield(payload)

    def _silence_detection(self, samples: np.ndarray) -> None:
        s = self.settings
        if not s.sds or not s.sdi:
            return
        if _dbm0(samples) < SILENCE_DBM0_AT_128 + (s.sds - 128) * 0.15:
            self._silent_ms += TICK_MS
            if self._silent_ms >= s.sdi * 100 and not self._silence_told:
                self._silence_told = True
                self._event("q" if self._voice_seen else "s")
        else:
            self._voice_seen, self._silent_ms, self._silence_told = True, 0, False

    def _progress(self, now: int) -> None:
        if self._under_way == "tones" and not self._tones:
            self._under_way = None
            self._result("OK")
        elif self._under_way == "dial":
            self._dial_progress(now)
        if self.host.mode is Mode.VOICE_TX and self._tx_ending and not self._tx and not self._tones:
            self._end_stream()
        s = self.settings
        if s.vit and self.offhook and self.host.mode is not Mode.COMMAND and \
                now - self._last_host_ms >= s.vit * 1000:
            # The host said nothing for +VIT seconds: the modem gives up the call (V.253 inactivity timer).
            if self.host.mode in (Mode.VOICE_RX, Mode.VOICE_DUPLEX):
                self.output += bytes([DLE, ETX])
            self._hang_up()
            self.settings.fclass = "0"

    def _dial_progress(self, now: int) -> None:
        dial = self._dial
        if dial["phase"] is None:
            if not dial["steps"]:
                dial["phase"], dial["since"] = "progress", now
                if dial["stay"]:
                    self._dialled("OK")
                elif self.settings.vrn == 0:
                    self._dialled("VCON")
                return
            kind, value = dial["steps"][0]
            if kind == "seize":
                # The exchange takes an on-hook shorter than this for a hook flash, not a release.
                if now - self._onhook_since >= RELEASE_MS:
                    dial["steps"].pop(0)
                    self._off_hook()
                    dial["since"] = now
                return
            if kind == "wait":
                if self._dial_tone_heard:
                    dial["steps"].pop(0)
                    self._dial_tone_heard = False
                elif now - dial["since"] >= DIAL_TONE_WAIT_MS:
                    self._dialled("NO DIALTONE")
                    self._hang_up()
                return
            dial["steps"].pop(0)
            dial["since"] = now
            if kind == "flash":
                # On hook for the flash, then back: the call, the voice class and the DSP carry on.
                self.offhook = False
                dial["phase"], dial["until"] = "flash", now + value
                return
            if kind == "key":
                keys = value
                while dial["steps"] and dial["steps"][0][0] == "key":
                    keys += dial["steps"].pop(0)[1]
                on = max(50, self.registers.get(11, 95))
                self._tones = [DtmfGenerator(keys, on, on, DTMF_LEVEL_DBM0)]
                dial["phase"] = "tones"
            else:
                dial["phase"], dial["until"] = "pause", now + value
            return
        if dial["phase"] == "tones":
            if not self._tones:
                dial["phase"], dial["since"] = None, now
                self._dial_tone_heard = False
            return
        if dial["phase"] == "pause":
            if now >= dial["until"]:
                dial["phase"], dial["since"] = None, now
            return
        if dial["phase"] == "flash":
            if now >= dial["until"]:
                self.offhook = True
                dial["phase"], dial["since"] = None, now
            return
        # After the digits: VRA / VRN decide when the far end is taken to have answered.
        s = self.settings
        if self._busy_heard:
            self._dialled("BUSY")
            self._hang_up()
        elif self._ringback_seen is not None:
            if self._ringback_gone is not None and now - self._ringback_gone >= s.vra * 100:
                self._dialled("VCON")
        elif now - dial["since"] >= s.vrn * 1000:
            self._dialled("VCON")
        elif now - dial["since"] >= self.registers.get(7, 50) * 1000:
            self._dialled("NO ANSWER")
            self._hang_up()

    def _dialled(self, result: str) -> None:
        self._dial = None
        self._under_way = None
        self._result(result)


def _modem_caller_id(heard: dsp_callerid.CallerId) -> cid.CallerId:
    """What the native receiver decoded, as the modem reports it (+VCID)."""
    stamp = heard.time if heard.time and len(heard.time) == 8 else None
    return cid.CallerId(number=heard.number, name=heard.name, date=stamp[:4] if stamp else None,
                        time=stamp[4:] if stamp else None,
                        number_absent=None if heard.number else (heard.number_absent_reason or "unavailable"),
                        name_absent=heard.name_absent_reason if not heard.name else None)


def _duration(text: str, default: int) -> int:
    """A +VTS duration in 10 ms units, 1..500 (0 would play for ever)."""
    value = int(text) if text.strip() else default
    if not 1 <= value <= 500:
        raise ValueError(f"tone duration {value} is not 1..500")
    return value


def _key(text: str) -> str:
    key = text.strip().upper()
    if len(key) != 1 or key not in "0123456789*#ABCD":
        raise ValueError(f"{text!r} is not a DTMF key")
    return key


def _vts_elements(value: str) -> list[str]:
    """+VTS=1,2,[f1,f2,d],{k,d}: the elements at the top level."""
    elements, depth, start = [], 0, 0
    for index, char in enumerate(value + ","):
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            element = value[start:index].strip()
            if element:
                elements.append(element)
            start = index + 1
        if depth < 0:
            raise ValueError(value)
    if depth or not elements:
        raise ValueError(value)
    return elements


# ---- on a pseudo-terminal ----

class PtyModemServer:
    """A SimulatedModem on a new pseudo-terminal, in real time: a 20 ms tick, and the host's bytes
    read as they come (as much as the modem takes). The slave side stays open here too, so a host
    closing and opening it again is no hang-up; ``path`` is what the host opens."""

    def __init__(self, modem: SimulatedModem, clock=None):
        from gateway.clock import RealClock

        self.modem = modem
        self.clock = clock or RealClock()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)             # no echo, no line editing, no CR/LF mapping
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._reading = False

    @property
    def url(self) -> str:
        return f"pty:{self.path}"

    def close(self) -> None:
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def _read(self) -> None:
        room = self.modem.room()
        if room <= 0:
            return
        try:
            data = os.read(self._master, min(room, 4096))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return                          # no host on the slave side at the moment
        if data:
            self.modem.receive(data)
            self._write()

    def _write(self) -> None:
        out = self.modem.output
        while out:
            try:
                written = os.write(self._master, out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.modem.dropped += len(out)
                out.clear()
                return
            del out[:written]

    async def run(self) -> None:
        """Serve until cancelled."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        next_tick = self.clock.now()
        try:
            while True:
                wants = self.modem.room() > 0
                if wants != self._reading:
                    (loop.add_reader(self._master, woken.set) if wants else loop.remove_reader(self._master))
                    self._reading = wants
                wait = next_tick - self.clock.now()
                if wait > 0 and not woken.is_set():
                    sleeper = asyncio.ensure_future(self.clock.sleep(wait))
                    waker = asyncio.ensure_future(woken.wait())
                    await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
                    sleeper.cancel()
                    waker.cancel()
                if woken.is_set():
                    woken.clear()
                    self._read()
                now = self.clock.now()
                if now - next_tick > 0.2:
                    next_tick = now         # far behind (a loaded machine): skip, do not burst
                while now >= next_tick:
                    self.modem.tick()
                    next_tick += TICK_MS / 1000
                self._write()
        finally:
            if self._reading:
                loop.remove_reader(self._master)
                self._reading = False


def serve(listen: str, line: ModemLine, *, announce=print, exit_with_parent: bool = False) -> int:
    """``linegate sim modem``: serve a simulated modem until interrupted (SIGTERM ends it cleanly;
    with ``exit_with_parent``, so does the end of the process that started it)."""
    if listen != "pty":
        raise UsageError(f"--listen {listen}: a simulated modem listens on pty (a pseudo-terminal)")

    async def main():
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        except (NotImplementedError, RuntimeError):
            pass                            # not the main thread: the caller owns the signals
        start, close = getattr(line, "start", None), getattr(line, "close", None)
        try:
            if start is not None:
                await start()               # a line with I/O (the simulated network's) before we listen
            server = PtyModemServer(SimulatedModem(line))
        except asyncio.CancelledError:
            return
        announce(f"listening on {server.url}", flush=True)
        watcher = None
        if exit_with_parent:
            owner = os.getppid()

            async def watch_owner():
                while os.getppid() == owner:
                    await asyncio.sleep(0.5)
                task.cancel()                   # orphaned: whoever owned us is gone
            watcher = loop.create_task(watch_owner())
        try:
            await server.run()
        except asyncio.CancelledError:
            pass
        finally:
            if watcher is not None:
                watcher.cancel()
            server.close()
            if close is not None:
                await close()

    asyncio.run(main())
    return 0


def log_to_stderr(text: str) -> None:
    print(f"line: {text}", file=sys.stderr, flush=True)
