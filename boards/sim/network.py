"""The simulated telephone network: the far side of every simulated board's lines.

    network = TelephoneNetwork(load_directory(), seed=7)
    network.attach(BoardAttached("fxo4", "FXO4-1A2B3C4D", ports=4, spans=0))
    tock = network.tick(Tick("FXO4-1A2B3C4D", time_ms=20, ports=[PortDrive(0, "ulaw", offhook=True)]))

It implements ``lineside.Network``: I/O-free, called once per 20 ms tick per
board with what the board did, it answers with what the lines do. Each
board's time is its own (the tick's ``time_ms``); the network keeps no clock.
The same directory, seed and ticks give the same bytes: every call draws
from its own generator, seeded by the seed, the board, the port and the
call's number on the line.

- FXO ports are subscriber lines of an exchange (exchange_line): dial tone,
  DTMF and pulse digits, the directory's behaviours with the country's
  tones and recorded voices, disconnect supervision, inbound calls ringing
  with the country's cadence (a caller-ID hook between the first and second
  ring: ``callerid_audio``).
- FXS ports have a phone and its user (phone).
- E1 spans are not simulated yet: each timeslot the board sends audio on is
  answered with idle code (silence) and no CAS or HDLC change; the span's
  signal is present.

DTMF at the exchange and dial tone at the phones are heard by the native
detectors (``gateway.dsp.DetectorBank``: one bank per board and law, fed
once per tick for all of its lines that listen).
"""

from __future__ import annotations

import dataclasses
import random
from collections import deque
from pathlib import Path

import numpy as np

from gateway.boards.kinds import Capability, kind_by_name
from gateway.boards.sim.call import Call
from gateway.boards.sim.directory import DEFAULT_ANNOUNCEMENT, Directory, Entry, Inbound, load_directory
from gateway.boards.sim.exchange_line import ExchangeLine
from gateway.boards.sim.far_end import Programs
from gateway.boards.sim.inbound import InboundTraffic
from gateway.boards.sim.lineside import BLOCK_BYTES, BoardAttached, SpanDrive, SpanSense, Tick, Tock
from gateway.boards.sim.number_pattern import parse_pattern
from gateway.boards.sim.phone import PhoneLine
from gateway.boards.sim.tone_library import ToneLibrary
from gateway.dsp import DetectorBank
from gateway.errors import UsageError

DEFAULT_FIRST_LINE = "2015550100"
HISTORY = 4096                           # calls kept for ``history``
IDLE_CODE = {"ulaw": 0xFF, "alaw": 0xD5}  # G.711 silence


class _Board:
    """One attached board: its lines, spans and detector banks."""

    def __init__(self, attached: BoardAttached, lines: list, detect: str | None):
        self.attached = attached
        self.serial = attached.serial
        self.lines = lines
        self.detect = detect               # "dtmf" (FXO: the exchange), "cpt" (FXS: the phones) or None
        self.banks: dict[str, DetectorBank] = {}
        self.listening: dict[int, object] = {}   # port -> the line whose audio the detectors hear
        self.pending: list = []            # (line, call) to start at the next tick
        self.started = False
        self.last_ms = None
        self.idle_rows = {law: bytes([code]) * BLOCK_BYTES for law, code in IDLE_CODE.items()}


class TelephoneNetwork:
    """The far side of every simulated line (see the module docstring)."""

    def __init__(self, directory: Directory | str | Path | None = None, country: str | None = None,
                 seed: int = 0, inbound: Inbound | bool | None = None, lines=None):
        if directory is None or isinstance(directory, (str, Path)):
            directory = load_directory(directory)
        if not isinstance(directory, Directory):
            raise UsageError(f"directory must be a Directory or a path, not {directory!r}")
        if country is not None and country != directory.country:
            directory = dataclasses.replace(directory, country=country)
        self.directory = directory
        self.seed = seed
        self.library = ToneLibrary(directory.country, directory.exchange.noise_dbm0)
        self.country = self.library.country
        self.programs = Programs(self.library, directory.exchange)
        self.ring_cadence = self.library.plan.ring_cadence_ms
        self.ring_period_ms = sum(self.ring_cadence)
        subtype = "ic" if self.library.has("sit-ic") else "itu"
        # What a number no entry matches gets.
        self.intercept = Entry("", parse_pattern("_!"), "sit", sit=subtype, announcement=DEFAULT_ANNOUNCEMENT[subtype])
        if inbound is None or inbound is True:
            inbound = directory.inbound
        elif inbound is False:
            inbound = dataclasses.replace(directory.inbound, calls_per_hour=0.0)
        if not isinstance(inbound, Inbound):
            raise UsageError(f"inbound must be an Inbound plan, True, False or None, not {inbound!r}")
        self.inbound = inbound
        self.traffic = InboundTraffic(inbound, seed)
        self._fixed_numbers = {(serial, port): number for serial, port, number in directory.line_numbers}
        for key, number in (lines or {}).items():
            if isinstance(key, str):
                serial, _, port = key.rpartition(".")
                if not serial or not port.isdigit():
                    raise UsageError(f"lines: {key!r} is not \"SERIAL.PORT\" or (serial, port)")
                key = (serial, int(port))
            if parse_pattern(number).is_pattern:
                raise UsageError(f"lines: {key!r} = {number!r} is a pattern, not a number")
            self._fixed_numbers[tuple(key)] = number
        self._next_number = int(directory.first_line or DEFAULT_FIRST_LINE)
        self._number_width = len(directory.first_line or DEFAULT_FIRST_LINE)
        self._boards: dict[str, _Board] = {}
        self._history: deque = deque(maxlen=HISTORY)

    # -- the Network protocol

    def attach(self, board: BoardAttached) -> None:
        """A board connected: its ports get lines (a board that attaches again starts afresh)."""
        if board.serial in self._boards:
            self.detach(board.serial)
        kind = kind_by_name(board.kind)
        lines, detect = [], None
        if kind.capabilities & Capability.FXO:
            lines = [ExchangeLine(self, board.serial, port, self._our_number(board.serial, port))
                     for port in range(board.ports)]
            detect = "dtmf"
        elif kind.capabilities & Capability.FXS:
            lines = [PhoneLine(self, board.serial, port, self.directory.phone(board.serial, port))
                     for port in range(board.ports)]
            detect = "cpt"
        self._boards[board.serial] = _Board(board, lines, detect)

    def detach(self, serial: str) -> None:
        board = self._boards.pop(serial, None)
        if board is None:
            return
        for line in board.lines:
            line.detach(board.last_ms)

    def tick(self, tick: Tick) -> Tock:
        board = self._boards.get(tick.board)
        if board is None:
            raise UsageError(f"tick for board {tick.board!r}, which is not attached")
        now = tick.time_ms
        lines = board.lines
        if not board.started:
            board.started = True
            for line in lines:
                if isinstance(line, PhoneLine):
                    line.start(now)
        board.last_ms = now
        if board.pending:
            self._start_pending(board, now)
        if board.detect == "dtmf" and self.inbound.calls_per_hour > 0:
            for line in lines:
                call = self.traffic.due(board.serial, line.port, line.number, now)
                if call is not None:
                    self._offer(line, call, now)
        count = len(lines)
        for drive in tick.ports:
            port = drive.port
            if not 0 <= port < count:
                raise UsageError(f"tick for board {tick.board}: port {port} outside 0..{count - 1}")
            audio = drive.audio
            if audio is not None and len(audio) != BLOCK_BYTES:
                raise UsageError(f"tick for board {tick.board} port {port}: {len(audio)} bytes of audio, "
                                 f"not {BLOCK_BYTES}")
            lines[port].drive(drive, now)
        if board.listening:
            self._listen(board, tick, now)
        senses = [lines[drive.port].sense(now) for drive in tick.ports]
        spans = [self._span(span) for span in tick.spans] if tick.spans else ()
        return Tock(senses, spans)

    # -- E1: not yet simulated

    @staticmethod
    def _span(drive: SpanDrive) -> SpanSense:
        idle = bytes([IDLE_CODE.get(drive.law, 0xFF)]) * BLOCK_BYTES
        return SpanSense(drive.span, True, {timeslot: idle for timeslot in drive.audio})

    # -- the detectors

    def listen_for_digits(self, line: ExchangeLine, on: bool) -> None:
        self._listen_to(line, on)

    def listen_for_tones(self, line: PhoneLine, on: bool) -> None:
        self._listen_to(line, on)

    def _listen_to(self, line, on: bool) -> None:
        board = self._boards.get(line.serial)
        if board is None:
            return
        if on:
            bank = self._bank(board, line.law)
            bank.set_active(line.port, (board.detect,))
            bank.reset(line.port)
            board.listening[line.port] = line
        elif board.listening.pop(line.port, None) is not None:
            for bank in board.banks.values():
                bank.set_active(line.port, ())

    def _bank(self, board: _Board, law: str) -> DetectorBank:
        bank = board.banks.get(law)
        if bank is None:
            ports = len(board.lines)
            country = self.country if board.detect == "cpt" else None
            bank = DetectorBank(channels=ports, detect=(board.detect,), encoding=law, country=country)
            for port in range(ports):
                bank.set_active(port, ())
            board.banks[law] = bank
        return bank

    def _listen(self, board: _Board, tick: Tick, now: int) -> None:
        """One feed per law for the lines that listen; their digits and tones to the lines."""
        audio = {drive.port: drive.audio for drive in tick.ports if drive.port in board.listening}
        for law, bank in board.banks.items():
            rows = [board.idle_rows[law]] * len(board.lines)
            used = False
            for port, line in board.listening.items():
                if line.law == law:
                    used = True
                    rows[port] = audio.get(port) or board.idle_rows[law]
            if not used:
                continue
            block = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), BLOCK_BYTES)
            for event in bank.feed(block):
                if event.end is not None:
                    continue
                line = board.listening.get(event.channel)
                if line is None:
                    continue
                if board.detect == "dtmf":
                    line.digit(event.value, now)
                else:
                    line.tone_heard(event.value, now)

    # -- calls

    def rng(self, line, call: Call | None) -> random.Random:
        """The call's own random generator (a line's without a call: its next call's)."""
        if call is not None and call.rng is not None:
            return call.rng
        return random.Random(f"{self.seed}/{line.serial}/{line.port}/{line.calls_made}")

    def new_call(self, line, call: Call) -> Call:
        """Registers a call starting on ``line`` and gives it its generator."""
        call.rng = random.Random(f"{self.seed}/{line.serial}/{line.port}/{line.calls_made}")
        line.calls_made += 1
        self._history.append(call)
        return call

    def callerid_audio(self, call: Call, law: str) -> bytes | None:
        """The caller-ID signal for an inbound call, as G.711 bytes in ``law``, played on the idle line
        500 ms after the first ring ends: the country's (gateway.dsp.callerid: Bell 202 or V.23 FSK
        MDMF, or DTMF CLIP), with the number and name, or why they are absent. The date is the
        board's time since 1 January 00:00 (the simulation has no calendar)."""
        from gateway.dsp import callerid

        private = call.presentation == "restricted"
        absent = None if call.presentation == "allowed" and call.ani else ("private" if private else "unavailable")
        minutes = (call.started_ms or 0) // 60000
        when = f"01{1 + minutes // 1440 % 28:02d}{minutes // 60 % 24:02d}{minutes % 60:02d}"
        cid = callerid.CallerId(number=None if absent else call.ani, number_absent_reason=absent,
                                name=call.name if not absent and call.name else None,
                                name_absent_reason=absent if absent or not call.name else None,
                                time=when)
        return callerid.callerid_audio(cid, self.country, law).tobytes()

    def _offer(self, line: ExchangeLine, call: Call, now: int) -> None:
        self.new_call(line, call)
        if not line.ring_in(call, now):
            call.started_ms = call.ended_ms = now
            call.outcome = "line-busy"

    def _start_pending(self, board: _Board, now: int) -> None:
        pending, board.pending = board.pending, []
        for line, call in pending:
            if isinstance(line, ExchangeLine):
                self._offer(line, call, now)
            elif line.state == "idle" and line.pending_number is None:
                line.dial(call.number, call)
            else:
                self.new_call(line, call)
                call.started_ms = call.ended_ms = now
                call.outcome = "line-busy"

    def place_call(self, line=None, ani: str | None = None, dnis: str | None = None, *, name: str | None = None,
                   presentation: str = "allowed", digits: str = "", talk_s: float | None = None,
                   give_up_after_rings: int | None = None) -> Call:
        """An inbound call to one of our FXO lines, now (at its board's next tick): ``line`` as
        (serial, port), or ``dnis``, the line's number. Returns the call's record, which fills in as
        the call goes (``outcome`` once it ended)."""
        target = self._line(line, dnis)
        if not isinstance(target, ExchangeLine):
            raise UsageError(f"place_call: {target.serial} port {target.port} is not an FXO line "
                             "(a phone calls out with dial_from_phone)")
        if presentation not in ("allowed", "restricted", "unavailable"):
            raise UsageError(f"presentation must be allowed, restricted or unavailable, not {presentation!r}")
        plan = self.inbound
        rng = random.Random(f"{self.seed}/{target.serial}/{target.port}/placed/{target.calls_made}")
        call = self.traffic.new_call(target.serial, target.port, target.number, rng, plan.callers[0])
        call.ani, call.name, call.presentation, call.digits = ani, name, presentation, digits.upper()
        if talk_s is not None:
            call.talk_s = float(talk_s)
        if give_up_after_rings is not None:
            call.give_up_after_rings = int(give_up_after_rings)
        self._boards[target.serial].pending.append((target, call))
        return call

    def dial_from_phone(self, serial: str, port: int, number: str) -> Call:
        """The user of the phone on an FXS port lifts the handset and dials ``number`` (at the board's
        next tick, if the phone is idle then)."""
        target = self._line((serial, port), None)
        if not isinstance(target, PhoneLine):
            raise UsageError(f"dial_from_phone: {serial} port {port} is not an FXS port")
        if parse_pattern(number).is_pattern:
            raise UsageError(f"dial_from_phone: {number!r} is a pattern, not a number")
        call = Call("phone-out", serial, port, number)
        self._boards[serial].pending.append((target, call))
        return call

    def _line(self, line, dnis):
        if line is not None:
            serial, port = line
            board = self._boards.get(serial)
            if board is None or not 0 <= port < len(board.lines):
                raise UsageError(f"no attached board {serial!r} with a port {port!r}")
            return board.lines[port]
        for board in self._boards.values():
            for candidate in board.lines:
                if isinstance(candidate, ExchangeLine) and candidate.number == dnis:
                    return candidate
        raise UsageError(f"no line of ours has the number {dnis!r}")

    # -- looking in

    def line(self, serial: str, port: int):
        """The line model of a port (an ExchangeLine or a PhoneLine)."""
        return self._line((serial, port), None)

    def line_number(self, serial: str, port: int) -> str | None:
        """Our subscriber number of an FXO port."""
        line = self._line((serial, port), None)
        return line.number if isinstance(line, ExchangeLine) else None

    def history(self, serial: str | None = None, port: int | None = None) -> list[Call]:
        """The calls so far (the last ``HISTORY``), oldest first, of one board or port if given."""
        return [c for c in self._history if (serial is None or c.serial == serial) and (port is None or c.port == port)]

    def _our_number(self, serial: str, port: int) -> str:
        """The port's number: fixed by the directory or ``lines``, else the next free one (kept for
        the port, so a board that attaches again has its numbers back)."""
        fixed = self._fixed_numbers.get((serial, port))
        if fixed is not None:
            return fixed
        taken = set(self._fixed_numbers.values())
        while True:
            number = str(self._next_number).zfill(self._number_width)
            self._next_number += 1
            if number not in taken:
                self._fixed_numbers[serial, port] = number
                return number
