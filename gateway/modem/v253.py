"""ITU-T V.253 (and its predecessor IS-101) on the wire, without I/O.

A voice modem talks to its host (the DTE) in two ways that share one serial
line: AT command lines and their text replies in command state, and raw voice
samples in the voice data states (receive +VRX, transmit +VTX, duplex +VTR),
where the byte 0x10 (<DLE>) shields what is not a sample:

- DCE to DTE, in every state: ``<DLE>x`` reports an event (``EVENTS``:
  DTMF keys, busy, dial tone, silence ...); in voice data ``<DLE><DLE>`` is
  one 0x10 sample, ``<DLE><SUB>`` two, ``<DLE><ETX>`` ends the stream.
  ``<DLE>X`` ... ``<DLE>.`` frames a complex event report.
- DTE to DCE, in voice data: ``<DLE><DLE>`` one 0x10 sample, ``<DLE><ETX>``
  ends the transmit stream, ``<DLE>!`` aborts receive, ``<DLE>^`` ends
  duplex, ``<DLE><CAN>`` clears the transmit buffer (``ACTIONS``).

``DteConnection`` is the host's side (what a driver holds): ``send_*``
methods give the bytes to write, ``receive_data`` takes what the modem sent
and ``next_event`` hands out what it meant, in order: final result codes,
information text, RING and caller-ID lines, <DLE> events, voice data. Bytes
are read according to the state: after ``CONNECT`` to ``AT+VRX`` they are
samples until ``<DLE><ETX>``, and the same bytes in command state are text.
A line that is garbled, too long, or not a thing a modem says unasked is a
``ReplyRejected`` event that quotes it (``.error()`` gives the ModemError);
the connection carries on with the next line, so nothing is lost.

``DceConnection`` is the modem's side (what the simulated modem holds): it
splits what a host sends into command lines, voice data and <DLE> actions.

Codes are from V.253 and the modem references that follow it: Rockwell
RC-series and Conexant AT command references (tables "<DLE> shielded codes
sent to the DTE / to the modem"), the USRobotics 56K command reference,
ZyXEL's voice manual, and mgetty's voice/libvoice/IS_101.c, which collects
the codes vendors use beyond the standard.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

from gateway.errors import ModemError, UsageError
from gateway.modem import caller_id as cid

DLE, ETX, SUB, CAN, NUL, DC2, DC4, FS = 0x10, 0x03, 0x1A, 0x18, 0x00, 0x12, 0x14, 0x1C
CR, LF = 0x0D, 0x0A

MAX_LINE = 256        # V.250 modems keep command lines and replies far shorter
MAX_VOICE_EVENT = 4096  # samples are handed out in pieces of at most this many bytes
MAX_PACKET = 256      # a complex event report between <DLE>X and <DLE>.

DTMF_KEYS = "0123456789*#ABCD"

# <DLE> codes a modem sends (DCE to DTE) and what they mean.
EVENTS = {
    **{key: "dtmf" for key in DTMF_KEYS},
    "a": "answer-tone",        # V.25 / T.30 2100 Hz answer tone (data or fax)
    "b": "busy",               # busy cadence; repeated every ~4 s while it lasts (Rockwell)
    "c": "fax-calling",        # T.30 CNG, 1100 Hz
    "d": "dial-tone",          # repeated every ~3 s while it lasts (Rockwell)
    "e": "data-calling",       # V.25 calling tone, 1300 Hz
    "f": "data-answer",        # Bell 2225 Hz answer tone (USRobotics: "data answer")
    "h": "handset-on-hook",    # line current break: the local phone went on hook
    "H": "handset-off-hook",   # line current detected: the local phone went off hook
    "l": "loop-break",         # loop current interruption: maybe the far end hung up
    "L": "polarity-reversal",  # loop current polarity reversal (mgetty)
    "o": "overrun",            # the modem's receive buffer overflowed: samples were lost
    "p": "handset-on-hook",    # (mgetty: extension phone on hook)
    "P": "handset-off-hook",   # (mgetty: extension phone off hook)
    "q": "quiet",              # voice, then silence longer than +VSD: presumed end of message
    "r": "ringback",
    "R": "ring",
    "s": "silence",            # no voice from the start for longer than +VSD: presumed hang-up
    "t": "tdd",                # text telephone tones (mgetty)
    "u": "underrun",           # the transmit buffer ran dry before <DLE><ETX>
    "v": "voice",              # voice energy detected (mgetty)
    "V": "voice",
    "w": "call-waiting",       # call waiting beep (mgetty)
    "$": "bong",               # bong tone, 300 Hz for 1 s (ZyXEL)
    "J": "sit",                # special information tone (mgetty)
    "K": "busy",               # (mgetty: busy on some modems)
    "i": "dial-tone",          # (mgetty)
    "m": "fax-calling",        # (mgetty)
    "E": "bad-format",         # the modem cannot play the voice format (mgetty)
    "T": "timing-mark",        # +VSM <tm> timing mark
    "Y": "data-lost",          # (mgetty)
    "Q": "xon",                # (mgetty: XON seen)
    "S": "xoff",               # (mgetty: XOFF seen)
    "/": "dtmf-start",         # V.253 DTMF shielding: <DLE>/ <DLE>key ... <DLE>~
    "~": "dtmf-end",
}

# <DLE> codes a host sends (DTE to DCE) in the voice data states.
ACTIONS = {
    chr(ETX): "end",           # end of the transmit stream (transmit state)
    chr(CAN): "clear",         # drop the transmit buffer
    "!": "abort",              # end the receive state
    "^": "end-duplex",         # end the duplex state
    "u": "volume-up",
    "d": "volume-down",
    "p": "pause",
    "r": "resume",
    chr(NUL): "nothing",       # keeps the inactivity timer from running out
    chr(FS): "concatenate",
    chr(DC2): "concatenate",
    chr(DC4): "clear-and-end",  # not in IS-101; Rockwell
}

# Final result codes (V.250 verbose forms; V.253 adds VCON).
RESULT_CODES = ("OK", "ERROR", "CONNECT", "VCON", "NO CARRIER", "BUSY", "NO DIALTONE", "NO ANSWER")
_RESULT_ALIASES = {"NO DIAL TONE": "NO DIALTONE"}


class Mode(enum.Enum):
    COMMAND = "command"
    VOICE_RX = "voice receive"
    VOICE_TX = "voice transmit"
    VOICE_DUPLEX = "voice duplex"


# Commands whose CONNECT starts a voice data state.
_STREAM_COMMANDS = {"AT+VRX": Mode.VOICE_RX, "AT+VTX": Mode.VOICE_TX, "AT+VTR": Mode.VOICE_DUPLEX}


# ---- events (DCE to DTE) ----

@dataclass(frozen=True)
class ResultReceived:
    """A final result code; ``text`` is the whole line ("CONNECT 33600")."""
    code: str
    text: str


@dataclass(frozen=True)
class TextReceived:
    """An information text line answering the command under way."""
    line: str


@dataclass(frozen=True)
class CommandEchoed:
    """The modem echoing the command line (E1)."""
    line: str


@dataclass(frozen=True)
class RingReceived:
    line: str = "RING"


@dataclass(frozen=True)
class CallerIdReceived:
    """One formatted caller-ID line (TAG = VALUE)."""
    tag: str
    value: str


@dataclass(frozen=True)
class CallerIdPacketReceived:
    """An unformatted caller-ID report, decoded."""
    caller_id: cid.CallerId
    line: str


@dataclass(frozen=True)
class RingCadenceReported:
    """Distinctive ring reporting (+VDR): DRON=n (ringing) or DROF=n (pause), in tenths of a second."""
    ringing: bool
    tenths: int


@dataclass(frozen=True)
class DleEventReceived:
    """A <DLE> event; ``code`` is the character after <DLE>, ``name`` its meaning (EVENTS)."""
    code: str
    name: str

    @property
    def digit(self) -> str | None:
        return self.code if self.name == "dtmf" else None


@dataclass(frozen=True)
class ComplexEventReceived:
    """A report framed by <DLE>X ... <DLE>. (its text, as sent)."""
    text: str


@dataclass(frozen=True)
class VoiceReceived:
    """Voice samples, unshielded, in the compression the modem was set to."""
    data: bytes


@dataclass(frozen=True)
class VoiceEnded:
    """<DLE><ETX>: the modem ended its voice data; command state follows."""


@dataclass(frozen=True)
class ReplyRejected:
    """Something the modem sent that cannot be read: quoted as bytes, with the reason."""
    data: bytes
    reason: str
    command: str | None = None

    def error(self) -> ModemError:
        after = f" (answering {self.command})" if self.command else ""
        return ModemError(f"modem sent {self.data!r}{after}: {self.reason}", line=self.data, command=self.command)


@dataclass(frozen=True)
class ConnectionClosed:
    """The byte stream ended."""


class _NeedData:
    def __repr__(self):
        return "NEED_DATA"


NEED_DATA = _NeedData()


# ---- the host's side ----

def shield(samples: bytes) -> bytes:
    """Voice samples as sent in a voice data state: every 0x10 doubled."""
    return bytes(samples).replace(b"\x10", b"\x10\x10")


class DteConnection:
    """The host's side of a V.253 modem link. No I/O, no clock: bytes in, events out."""

    def __init__(self):
        self.mode = Mode.COMMAND
        self.pending: str | None = None     # the command line awaiting its final result
        self.last_line: bytes | None = None  # the last complete line the modem sent (for errors)
        self.ending = False                 # we asked the modem to end its voice data state
        self.closed = False
        self._events: deque = deque()
        self._line = bytearray()
        self._overlong = False
        self._dle = False
        self._skip_lf = False
        self._packet: bytearray | None = None
        self._voice = bytearray()

    # -- what we send --

    def send_command(self, line: str) -> bytes:
        """The bytes of an AT command line (``line`` without the CR)."""
        if self.mode is not Mode.COMMAND:
            raise UsageError(f"cannot send {line!r}: the modem is in the {self.mode.value} state")
        if not isinstance(line, str) or not line[:2].upper() == "AT":
            raise UsageError(f"a command line starts with AT, not {line!r}")
        if len(line) > MAX_LINE - 2 or any(not 0x20 <= ord(c) < 0x7F for c in line):
            raise UsageError(f"command line {line!r} must be printable ASCII, at most {MAX_LINE - 2} characters")
        self.pending = line
        return line.encode("ascii") + b"\r"

    def send_voice(self, samples: bytes) -> bytes:
        """Shielded samples for the transmit or duplex state."""
        if self.mode not in (Mode.VOICE_TX, Mode.VOICE_DUPLEX) or self.ending:
            raise UsageError(f"cannot send voice in the {self.mode.value} state")
        return shield(samples)

    def end_transmit(self) -> bytes:
        """<DLE><ETX>: end of our voice (the modem plays what it holds, then answers OK)."""
        return self._ending(Mode.VOICE_TX, bytes([DLE, ETX]))

    def clear_and_end_transmit(self) -> bytes:
        """<DLE><CAN><DLE><ETX>: drop what the modem holds and end at once (mgetty's interrupt)."""
        return self._ending(Mode.VOICE_TX, bytes([DLE, CAN, DLE, ETX]))

    def abort_receive(self) -> bytes:
        """<DLE>!: end the receive state (the modem answers <DLE><ETX>, then OK)."""
        return self._ending(Mode.VOICE_RX, b"\x10!")

    def end_duplex(self) -> bytes:
        """<DLE>^: end the duplex state (the modem answers <DLE><ETX>, then OK)."""
        return self._ending(Mode.VOICE_DUPLEX, b"\x10^")

    def _ending(self, mode: Mode, data: bytes) -> bytes:
        if self.mode is not mode:
            raise UsageError(f"not in the {mode.value} state but in the {self.mode.value} state")
        self.ending = True
        self.pending = {Mode.VOICE_TX: "<DLE><ETX>", Mode.VOICE_RX: "<DLE>!",
                        Mode.VOICE_DUPLEX: "<DLE>^"}[mode]
        return data

    def reset(self) -> None:
        """Forget all state (after the host flushed the line and starts over)."""
        self.__init__()

    # -- what we receive --

    def receive_data(self, data: bytes) -> None:
        """Bytes the modem sent, in any pieces; b"" when the stream ended."""
        if self.closed:
            raise UsageError("receive_data after the end of the stream")
        if not data:
            self._flush_voice()
            self.closed = True
            self._events.append(ConnectionClosed())
            return
        data = bytes(data)
        index, size = 0, len(data)
        while index < size:
            if self._skip_lf:
                self._skip_lf = False
                if data[index] == LF:       # the LF of "CONNECT<CR><LF>" is not a sample
                    index += 1
                    continue
            if not self._dle and self._packet is None and self.mode in (Mode.VOICE_RX, Mode.VOICE_DUPLEX):
                # Samples up to the next <DLE> in one piece: the audio path is most of the traffic.
                stop = data.find(b"\x10", index)
                end = size if stop < 0 else stop
                self._voice += data[index:end]
                index = end
                if stop >= 0:
                    self._dle = True
                    index += 1
                continue
            self._byte(data[index])
            index += 1
        self._flush_voice()

    def next_event(self):
        """The next event, or NEED_DATA."""
        return self._events.popleft() if self._events else NEED_DATA

    # -- byte by byte, by state --

    def _byte(self, byte: int) -> None:
        if self._dle:
            self._dle = False
            self._dle_code(byte)
            return
        if byte == DLE:
            self._dle = True
            return
        if self._packet is not None:
            if len(self._packet) >= MAX_PACKET:
                self._reject(bytes(self._packet[:64]) + b"...", f"a <DLE>X report longer than {MAX_PACKET} bytes")
                self._packet = None
            else:
                self._packet.append(byte)
            return
        if byte in (CR, LF):
            if self._line or self._overlong:
                self._end_line()
            return
        if len(self._line) >= MAX_LINE:
            self._overlong = True
            return
        self._line.append(byte)

    def _dle_code(self, byte: int) -> None:
        voice = self.mode in (Mode.VOICE_RX, Mode.VOICE_DUPLEX)
        if self._packet is not None:
            if byte == ord("."):
                self._events.append(ComplexEventReceived(self._packet.decode("latin-1")))
                self._packet = None
            elif byte == DLE:
                self._packet.append(DLE)
            else:
                self._reject(bytes([DLE, byte]), "a <DLE> code inside a <DLE>X report other than <DLE>. or <DLE><DLE>")
                self._packet = None
            return
        if byte == DLE and voice:
            self._voice.append(DLE)
        elif byte == SUB and voice:
            self._voice += b"\x10\x10"
        elif byte == ETX:
            self._flush_voice()
            if voice:
                self.mode = Mode.COMMAND
                self._events.append(VoiceEnded())
            else:
                # Outside receive the stream is already ended: a modem closing a stream we did not see open.
                self._events.append(DleEventReceived("<ETX>", "end-of-data"))
        elif byte == ord("X"):
            self._flush_voice()
            self._packet = bytearray()
        elif chr(byte) in EVENTS:
            self._flush_voice()
            code = chr(byte)
            self._events.append(DleEventReceived(code, EVENTS[code]))
        else:
            self._flush_voice()
            self._reject(bytes([DLE, byte]), f"<DLE> followed by 0x{byte:02X} is no event code V.253 or a "
                                             f"known modem defines")

    def _flush_voice(self) -> None:
        for start in range(0, len(self._voice), MAX_VOICE_EVENT):
            self._events.append(VoiceReceived(bytes(self._voice[start:start + MAX_VOICE_EVENT])))
        self._voice.clear()

    def _reject(self, data: bytes, reason: str) -> None:
        self._events.append(ReplyRejected(data, reason, self.pending))

    def _end_line(self) -> None:
        raw = bytes(self._line)
        self._line.clear()
        self.last_line = raw
        if self._overlong:
            self._overlong = False
            self._reject(raw[:64] + b"...", f"a line longer than {MAX_LINE} bytes")
            return
        for offset, byte in enumerate(raw):
            if not 0x20 <= byte < 0x7F and byte != 0x09:
                self._reject(raw, f"byte 0x{byte:02X} at offset {offset} is not printable text")
                return
        line = raw.decode("ascii").strip()
        if not line:
            return
        self._line_event(line, raw)

    def _line_event(self, line: str, raw: bytes) -> None:
        upper = line.upper()
        if self.pending and self.pending[:2] == "AT" and upper == self.pending.upper():
            self._events.append(CommandEchoed(line))
            return
        code = _RESULT_ALIASES.get(upper, upper)
        if code in RESULT_CODES or upper.startswith("CONNECT "):
            self._result("CONNECT" if upper.startswith("CONNECT") else code, line)
            return
        if upper == "RING":
            self._events.append(RingReceived(line))
            return
        tagged = cid.tag_line(line)
        if tagged:
            self._events.append(CallerIdReceived(*tagged))
            return
        if upper.startswith(("DRON=", "DROF=")) and line[5:].strip().isdigit():
            self._events.append(RingCadenceReported(upper.startswith("DRON"), int(line[5:].strip())))
            return
        if self.pending:
            self._events.append(TextReceived(line))
            return
        if cid.looks_like_packet(line):
            try:
                self._events.append(CallerIdPacketReceived(cid.decode_packet(line), line))
            except ModemError as error:
                self._reject(raw, str(error))
            return
        self._reject(raw, "not a reply to any command, nor a line a modem sends unasked (RING, caller ID, "
                          "DRON/DROF)")

    def _result(self, code: str, line: str) -> None:
        command, self.pending = self.pending, None
        if self.mode is Mode.VOICE_TX:
            self.mode, self.ending = Mode.COMMAND, False
        elif self.ending and self.mode is Mode.COMMAND:
            self.ending = False
        if code == "CONNECT" and command and command.upper() in _STREAM_COMMANDS:
            self.mode = _STREAM_COMMANDS[command.upper()]
            self.ending = False
            self._skip_lf = True
        self._events.append(ResultReceived(code, line))


# ---- the modem's side ----

@dataclass(frozen=True)
class CommandLineReceived:
    """A command line from the host: the text from "AT" (or "at") to the CR, without it."""
    line: str


@dataclass(frozen=True)
class VoiceDataReceived:
    data: bytes


@dataclass(frozen=True)
class DleActionReceived:
    """A <DLE> action from the host (ACTIONS)."""
    code: str
    name: str


@dataclass(frozen=True)
class HostInputRejected:
    """Something the host sent that the modem cannot take, quoted, with the reason."""
    data: bytes
    reason: str


class DceConnection:
    """The modem's side: splits what the host sends by state. The modem sets ``mode`` as it
    enters and leaves its voice data states; bytes are read lazily, so a change of mode takes
    effect from the next event on. Unread input is what the caller fed and has not drained."""

    def __init__(self):
        self.mode = Mode.COMMAND
        self._buffer = b""
        self._line = bytearray()
        self._dle = False
        self._after_a = 0       # the "A" or "a" that may start a command line

    def receive_data(self, data: bytes) -> None:
        self._buffer += bytes(data)

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def next_event(self):
        if self.mode is Mode.COMMAND:
            return self._command_event()
        return self._voice_event()

    def _command_event(self):
        buffer, index, event = self._buffer, 0, NEED_DATA
        while index < len(buffer) and event is NEED_DATA:
            byte = buffer[index]
            index += 1
            if byte == CR:
                if self._line:
                    event = CommandLineReceived(self._line.decode("latin-1"))
                    self._line.clear()
            elif byte == 0x08:        # backspace (S5) edits the line, not its "AT"
                if len(self._line) > 2:
                    self._line.pop()
            elif not self._line:
                # A modem hunts for "AT" and ignores what comes before it.
                if byte in b"Tt" and self._after_a:
                    self._line += bytes([self._after_a, byte])
                self._after_a = byte if byte in b"Aa" else 0
            elif len(self._line) >= MAX_LINE:
                self._line.clear()
                event = HostInputRejected(b"AT...", f"a command line longer than {MAX_LINE} bytes")
            else:
                self._line.append(byte)
        self._buffer = buffer[index:]
        return event

    def _voice_event(self):
        buffer, index = self._buffer, 0
        samples = bytearray()
        transmit = self.mode is not Mode.VOICE_RX
        while index < len(buffer):
            if self._dle:
                byte = buffer[index]
                if transmit and byte in (DLE, SUB):
                    samples += b"\x10" if byte == DLE else b"\x10\x10"
                    self._dle = False
                    index += 1
                    continue
                if samples:
                    break       # the samples first, the action at the next call
                self._dle = False
                self._buffer = buffer[index + 1:]
                code = chr(byte)
                if code in ACTIONS:
                    return DleActionReceived(code, ACTIONS[code])
                return HostInputRejected(bytes([DLE, byte]), f"<DLE> followed by 0x{byte:02X} is no action")
            stop = buffer.find(b"\x10", index)
            end = len(buffer) if stop < 0 else stop
            if transmit:
                samples += buffer[index:end]
            # In the receive state the host sends no samples: other bytes mean nothing (V.253 ignores them).
            index = end
            if stop >= 0:
                self._dle = True
                index += 1
        self._buffer = buffer[index:]
        return VoiceDataReceived(bytes(samples)) if samples else NEED_DATA
