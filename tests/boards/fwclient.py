"""A minimal host for tests of the firmware: frames by struct + zlib, written
from boards/PROTOCOL.md independently of gateway.boards' codec."""

import hashlib
import socket
import struct
import subprocess
import time
import zlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

IDENTIFY, RESET, STATUS = 0x01, 0x02, 0x07
BL_ERASE, BL_WRITE, BL_READ, BL_SET_PENDING, BL_CONFIRM, BL_SLOT_INFO = 0x20, 0x21, 0x22, 0x23, 0x24, 0x25
RESULT, IDENTITY, STATUS_REPORT, BL_DATA, SLOT_INFO, LOG = 0x80, 0x81, 0x87, 0xA2, 0xA5, 0x30
OK, BAD_REQUEST, UNSUPPORTED, BUSY, FLASH_ERROR, BAD_IMAGE, WRONG_STATE = range(7)
CONFIGURE_SPAN, CONFIGURE_PORT, PORT_COMMAND, TONE, CONFIG_GET = 0x03, 0x04, 0x05, 0x06, 0x08
SPAN_CONFIG, PORT_CONFIG = 0x88, 0x89
PORT_EVENT, ALARMS, CAS, HDLC, AUDIO = 0x10, 0x11, 0x13, 0x14, 0x15
STREAMS = {PORT_EVENT, ALARMS, CAS, HDLC, AUDIO}
# PORT_COMMAND.command and PORT_EVENT.event
ON_HOOK, OFF_HOOK, FLASH, RING_START, RING_STOP, REVERSE_POLARITY, BATTERY_ON, BATTERY_OFF = range(8)
(EV_OFF_HOOK, EV_ON_HOOK, EV_RING_ON, EV_RING_OFF, EV_BATTERY_LOST, EV_BATTERY_RESTORED, EV_POLARITY_REVERSAL,
 EV_LOOP_CURRENT) = range(8)
ST_OFFHOOK, ST_RINGING, ST_BATTERY, ST_REVERSED = 1, 2, 4, 8
LOS, AIS, LOF, RAI = 1, 2, 4, 8


def decode_stream(t, p):
    """A board-to-host event or stream as a dict (PROTOCOL.md's layouts)."""
    if t == PORT_EVENT:
        port, event, value, time_ms = struct.unpack("<BBHI", p)
        return dict(type=t, port=port, event=event, value=value, time_ms=time_ms)
    if t == ALARMS:
        span, alarms, crc4, slips, bpv, time_ms = struct.unpack("<BBIIII", p)
        return dict(type=t, span=span, alarms=alarms, crc4_errors=crc4, slips=slips, bpv=bpv, time_ms=time_ms)
    if t == CAS:
        span, ts, abcd = struct.unpack("<BBB", p)
        return dict(type=t, span=span, timeslot=ts, abcd=abcd)
    if t == HDLC:
        return dict(type=t, span=p[0], frame=p[1:])
    if t == AUDIO:
        unit, channel, law, time = struct.unpack_from("<BBBI", p)
        assert len(p) == 167
        return dict(type=t, unit=unit, channel=channel, law=law, time=time, data=p[7:])
    raise AssertionError(f"not a stream type: {t:#x}")


def frame(ftype, seq, payload=b"", version=1):
    body = struct.pack("<BBHH", version, ftype, seq, len(payload)) + payload
    return b"LG" + body + struct.pack("<I", zlib.crc32(body))


def parse(data):
    """Complete frames at the start of data (no garbage expected from the firmware): (frames, rest)."""
    out = []
    while len(data) >= 12:
        assert data[:2] == b"LG", data[:16].hex()
        version, ftype, seq, length = struct.unpack_from("<BBHH", data, 2)
        if len(data) < 12 + length:
            break
        body = data[2:8 + length]
        (crc,) = struct.unpack_from("<I", data, 8 + length)
        assert version == 1 and crc == zlib.crc32(body)
        out.append((ftype, seq, data[8:8 + length]))
        data = data[12 + length:]
    return out, data


def keypair():
    key = Ed25519PrivateKey.generate()
    return key, key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def image(key, payload, kind=2, version=(1, 1, 0), revs=(0, 255), pub=None):
    if pub is None:
        pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    header = struct.pack("<4sHHBBBB3sBQI32s32s36s", b"LGFW", 1, 128, kind, revs[0], revs[1], 0, bytes(version), 0,
                         1_700_000_000, len(payload), hashlib.sha256(payload).digest(),
                         hashlib.sha256(pub).digest(), bytes(36))
    return header + payload + key.sign(header + payload)


class Board:
    """A running native firmware and one TCP connection to it."""

    def __init__(self, fw_bin, state, trust_files=(), factory=None, kind="fxo4", cut=None, extra=()):
        cmd = [str(fw_bin), "--kind", kind, "--state", str(state), "--listen", "tcp://127.0.0.1:0", *extra]
        for t in trust_files:
            cmd += ["--trust", str(t)]
        if factory:
            cmd += ["--factory-image", str(factory)]
        if cut is not None:
            cmd += ["--power-cut-after-writes", str(cut)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on tcp://"):
            self.proc.wait(5)
            raise RuntimeError(f"firmware did not start: {line!r} {self.proc.stderr.read()}")
        port = int(line.rsplit(":", 1)[1])
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.seq = 0
        self.buf = b""
        self.logs = []
        self.events = []          # board events and streams that arrived while waiting for something else

    def send_raw(self, data):
        self.sock.sendall(data)

    def receive(self):
        while True:
            frames, self.buf = parse(self.buf)
            if frames:
                f, *more = frames
                self.buf = b"".join(frame(t, s, p) for t, s, p in more) + self.buf
                return f
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("board closed the link")
            self.buf += chunk

    def request(self, ftype, payload=b""):
        self.seq = (self.seq + 1) & 0xFFFF
        self.send_raw(frame(ftype, self.seq, payload))
        return self.reply(self.seq)

    def reply(self, seq):
        while True:
            t, s, p = self.receive()
            if t == LOG:
                self.logs.append(p[1:].decode())
                continue
            if t in STREAMS:
                self.events.append(decode_stream(t, p))
                continue
            assert s == seq, (t, s, seq)
            return t, p

    def next_event(self, ftype, match=lambda e: True, timeout=3.0):
        """The first event of this type that matches (taken out of the queue); waits up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["type"] == ftype and match(e):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no event of type {ftype:#x} matching within {timeout} s; have "
                                     f"{[e for e in self.events if e['type'] != AUDIO][:20]}")
            self.sock.settimeout(left)
            try:
                t, s, p = self.receive()
            except socket.timeout:
                continue
            finally:
                self.sock.settimeout(5)
            if t == LOG:
                self.logs.append(p[1:].decode())
            elif t in STREAMS:
                self.events.append(decode_stream(t, p))

    def send_stream(self, ftype, payload):
        """A host-originated CAS, HDLC or AUDIO frame (no reply)."""
        self.seq = (self.seq + 1) & 0xFFFF
        self.send_raw(frame(ftype, self.seq, payload))

    def status(self):
        t, p = self.request(STATUS)
        assert t == STATUS_REPORT
        n = p[0]
        ports = [struct.unpack_from("<BH", p, 1 + 3 * i) for i in range(n)]
        at = 1 + 3 * n
        m = p[at]
        spans = [dict(zip(("alarms", "crc4_errors", "slips", "bpv"), struct.unpack_from("<BIII", p, at + 1 + 13 * i)))
                 for i in range(m)]
        at += 1 + 13 * m
        assert len(p) == at + 4
        return dict(ports=ports, spans=spans, uptime_ms=struct.unpack_from("<I", p, at)[0])

    def port_command(self, port, command, ms=0):
        return self.result(PORT_COMMAND, struct.pack("<BBH", port, command, ms))

    def configure_port(self, port, law=0, zone=b"de", rx_gain=0, tx_gain=0):
        return self.result(CONFIGURE_PORT, struct.pack("<BB2shh", port, law, zone, rx_gain, tx_gain))

    def configure_span(self, span, framing=0, crc4=1, coding=0, clock_priority=1, law=0):
        return self.result(CONFIGURE_SPAN, bytes([span, framing, crc4, coding, clock_priority, law]))

    def config_get(self, what, index):
        """CONFIG_GET: a dict of SPAN_CONFIG's or PORT_CONFIG's fields, or (status, detail) of a RESULT."""
        t, p = self.request(CONFIG_GET, bytes([what, index]))
        if t == RESULT:
            return p[0], p[1:].decode()
        if what == 0:
            assert t == SPAN_CONFIG and len(p) == 6, (hex(t), p)
            return dict(zip(("span", "framing", "crc4", "coding", "clock_priority", "law"), p))
        assert t == PORT_CONFIG and len(p) == 8, (hex(t), p)
        port, law, zone, rx, tx = struct.unpack("<BB2shh", p)
        return dict(port=port, law=law, zone=zone, rx_gain=rx, tx_gain=tx)

    def tone(self, unit, channel, freq1, freq2=0, level=-100, on_ms=0, off_ms=0, repeat=0):
        return self.result(TONE, struct.pack("<BBHHhHHB", unit, channel, freq1, freq2, level, on_ms, off_ms, repeat))

    def result(self, ftype, payload=b""):
        t, p = self.request(ftype, payload)
        assert t == RESULT, hex(t)
        return p[0], p[1:].decode()

    def identify(self):
        t, p = self.request(IDENTIFY)
        assert t == IDENTITY and len(p) == 33
        return dict(kind=p[0], serial=p[1:17].rstrip(b"\0").decode(), hw=p[17], fw=tuple(p[18:21]),
                    bl=tuple(p[21:24]), active=p[24], pending=p[25], running=p[26],
                    caps=struct.unpack_from("<I", p, 27)[0], ports=p[31], spans=p[32])

    def slot_info(self, slot):
        t, p = self.request(BL_SLOT_INFO, bytes([slot]))
        assert t == SLOT_INFO and len(p) == 41
        return dict(slot=p[0], state=p[1], version=tuple(p[2:5]), length=struct.unpack_from("<I", p, 5)[0], sha256=p[9:41])

    def write_image(self, slot, data):
        assert self.result(BL_ERASE, bytes([slot]))[0] == OK
        for off in range(0, len(data), 1024):
            status, detail = self.result(BL_WRITE, struct.pack("<BI", slot, off) + data[off:off + 1024])
            assert status == OK, detail

    def reset(self, mode=0):
        status, _ = self.result(RESET, bytes([mode]))
        assert status == OK
        # The board re-executes and keeps the link; wait for it to answer again.
        time.sleep(0.05)

    def close(self):
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(5)
        self.proc.stdout.close()
        self.proc.stderr.close()
