"""The firmware's line side against the native line models (boards/sim/):
FXS and FXO port state machines, E1 alarms from --fault, CAS and HDLC on a
looped span, audio loopback and the firmware's tone generator, the line
configuration in flash (restart, power cut), the virtual clock. The host here
is tests/boards/fwclient.py (struct + zlib), not gateway.boards.

Times in events are the board's uptime; conditions are set at 300 ms or later
so that the test is connected before they happen."""

import os
import select
import shutil
import struct
import subprocess
import sys
import socket
import time

import numpy as np
import pytest

from tests.boards import fwclient as fc
from tests.boards.fwclient import Board

KIND_CODES = {"e1x2": 1, "fxo4": 2, "fxs4": 3}
TICK = 5            # the firmware's line tick (line.h): event times are late by up to one tick
LATE = 40           # and by a scheduling delay on a loaded machine: the bound on lateness we accept


@pytest.fixture(scope="module")
def templates(fw_bin, tmp_path_factory):
    """A fresh board of each kind, as the factory leaves it; tests copy them."""
    d = tmp_path_factory.mktemp("line-templates")
    key, pub = fc.keypair()
    (d / "factory.pub").write_text(pub.hex() + "\n")
    out = {}
    for kind, code in KIND_CODES.items():
        (d / f"{kind}.img").write_bytes(fc.image(key, b"factory " + kind.encode(), kind=code, version=(1, 0, 0)))
        state = d / kind
        state.mkdir()
        Board(fw_bin, state, [d / "factory.pub"], factory=d / f"{kind}.img", kind=kind).close()
        out[kind] = state
    return out


@pytest.fixture
def board_of(fw_bin, templates, tmp_path):
    boards = []

    def start(kind, *extra, state=None, cut=None):
        if state is None:
            state = tmp_path / f"{kind}{len(boards)}"
            shutil.copytree(templates[kind], state)
        b = Board(fw_bin, state, kind=kind, extra=list(extra), cut=cut)
        b.state = state
        boards.append(b)
        return b

    yield start
    for b in boards:
        b.close()


def port_events(b, port, n, timeout=3.0):
    return [b.next_event(fc.PORT_EVENT, lambda e: e["port"] == port, timeout) for _ in range(n)]


def test_fxs_hook_ring_cadence_and_ring_trip(board_of):
    b = board_of("fxs4", "--fault", "offhook@port1:300ms-500ms", "--fault", "offhook@port2:600ms-3s")
    assert b.configure_port(0, zone=b"gb") == (fc.OK, "")        # UK cadence: 0.4 on, 0.2 off, 0.4 on, 2 off
    assert b.port_command(0, fc.RING_START) == (fc.OK, "")
    assert b.port_command(2, fc.RING_START) == (fc.OK, "")
    off, on = port_events(b, 1, 2)
    assert (off["event"], on["event"]) == (fc.EV_OFF_HOOK, fc.EV_ON_HOOK)
    assert 330 <= off["time_ms"] <= 330 + LATE and 530 <= on["time_ms"] <= 530 + LATE   # 30 ms debounce
    ring = port_events(b, 0, 3)
    assert [e["event"] for e in ring] == [fc.EV_RING_ON, fc.EV_RING_OFF, fc.EV_RING_ON]
    gaps = [b2["time_ms"] - a["time_ms"] for a, b2 in zip(ring, ring[1:])]
    assert all(abs(g - w) <= LATE for g, w in zip(gaps, [400, 200])), gaps
    st = b.status()
    assert st["ports"][0][0] & fc.ST_RINGING and st["ports"][0][0] & fc.ST_BATTERY
    assert b.port_command(0, fc.RING_STOP) == (fc.OK, "")
    assert b.status()["ports"][0][0] & fc.ST_RINGING == 0
    # Port 2 rang until its phone answered at 600 ms: ring trip.
    trip = port_events(b, 2, 3)
    assert [e["event"] for e in trip] == [fc.EV_RING_ON, fc.EV_OFF_HOOK, fc.EV_RING_OFF]
    assert 630 <= trip[1]["time_ms"] <= 630 + LATE and trip[2]["time_ms"] == trip[1]["time_ms"]
    assert b.status()["ports"][2] == (fc.ST_OFFHOOK | fc.ST_BATTERY, 21)
    assert b.port_command(2, fc.RING_START)[0] == fc.WRONG_STATE              # the phone is off-hook
    assert b.port_command(0, fc.REVERSE_POLARITY) == (fc.OK, "")
    assert b.status()["ports"][0][0] & fc.ST_REVERSED
    assert b.port_command(3, fc.BATTERY_OFF) == (fc.OK, "")
    assert b.status()["ports"][3] == (0, 0)
    assert b.port_command(3, fc.RING_START)[0] == fc.WRONG_STATE             # no battery, no ringing
    status, detail = b.port_command(0, fc.OFF_HOOK)
    assert status == fc.UNSUPPORTED and "phone owns the hook" in detail
    status, detail = b.port_command(4, fc.RING_START)
    assert status == fc.BAD_REQUEST and "port 4" in detail
    status, detail = b.result(fc.PORT_COMMAND, struct.pack("<BBH", 0, fc.RING_START, 10))
    assert status == fc.BAD_REQUEST and "PORT_COMMAND.ms" in detail


def test_fxo_loop_current_ring_battery_and_polarity(board_of):
    b = board_of("fxo4", "--fault", "ring@port2:300ms-600ms", "--fault", "reverse@port0:500ms",
                 "--fault", "nobattery@port3:300ms-500ms")
    assert b.status()["ports"][0] == (fc.ST_BATTERY, 0)
    assert b.port_command(0, fc.OFF_HOOK) == (fc.OK, "")
    lc = b.next_event(fc.PORT_EVENT, lambda e: e["port"] == 0)
    assert (lc["event"], lc["value"]) == (fc.EV_LOOP_CURRENT, 32)
    assert b.status()["ports"][0] == (fc.ST_OFFHOOK | fc.ST_BATTERY, 32)
    ring_on, ring_off = port_events(b, 2, 2)
    assert (ring_on["event"], ring_off["event"]) == (fc.EV_RING_ON, fc.EV_RING_OFF)
    assert 380 <= ring_on["time_ms"] <= 420 + LATE            # pulses for 80 ms (the first at 320)
    assert 600 <= ring_off["time_ms"] <= 660 + LATE           # 60 ms without a pulse
    lost, back = port_events(b, 3, 2)
    assert (lost["event"], back["event"]) == (fc.EV_BATTERY_LOST, fc.EV_BATTERY_RESTORED)
    assert 400 <= lost["time_ms"] <= 400 + LATE and 600 <= back["time_ms"] <= 600 + LATE
    rev = b.next_event(fc.PORT_EVENT, lambda e: e["port"] == 0)
    assert rev["event"] == fc.EV_POLARITY_REVERSAL and 530 <= rev["time_ms"] <= 530 + LATE
    assert b.status()["ports"][0] == (fc.ST_OFFHOOK | fc.ST_BATTERY | fc.ST_REVERSED, 32)
    # A flash: on-hook for its length, then off-hook again (the loop current is reported again).
    assert b.port_command(0, fc.FLASH, 100) == (fc.OK, "")
    lc = b.next_event(fc.PORT_EVENT, lambda e: e["port"] == 0)
    assert (lc["event"], lc["value"]) == (fc.EV_LOOP_CURRENT, 32)
    assert b.port_command(1, fc.FLASH, 100)[0] == fc.WRONG_STATE              # on-hook
    status, detail = b.port_command(0, fc.FLASH, 5)
    assert status == fc.BAD_REQUEST and "20..2000" in detail
    status, detail = b.port_command(0, fc.RING_START)
    assert status == fc.UNSUPPORTED and "FXO" in detail
    status, detail = b.configure_port(0, rx_gain=200)
    assert status == fc.BAD_REQUEST and "CONFIGURE_PORT.rx_gain = 200" in detail
    assert b.port_command(0, fc.ON_HOOK) == (fc.OK, "")
    assert b.status()["ports"][0] == (fc.ST_BATTERY | fc.ST_REVERSED, 0)


def test_e1_alarms_from_faults(board_of):
    b = board_of("e1x2", "--fault", "los@span1:0-1200ms", "--fault", "ais@span0:300ms-500ms",
                 "--fault", "rai@span0:800ms-1000ms", "--fault", "lof@span0:1100ms-1300ms",
                 "--fault", "errors@span0:300ms-800ms")
    time.sleep(0.15)
    st = b.status()
    assert st["uptime_ms"] >= 100
    assert st["spans"][1]["alarms"] == fc.LOS and st["spans"][0]["alarms"] == 0   # unplugged from the start

    def span0(alarms):
        return b.next_event(fc.ALARMS, lambda e: e["span"] == 0 and e["alarms"] == alarms)

    ais = span0(fc.AIS)
    assert 400 <= ais["time_ms"] <= 400 + LATE                       # 100 ms integration
    clear = span0(0)
    assert 700 <= clear["time_ms"] <= 700 + LATE                     # 200 ms to clear
    rai = span0(fc.RAI)
    assert 850 <= rai["time_ms"] <= 850 + LATE
    assert span0(0)["time_ms"] <= 1050 + LATE
    assert span0(fc.LOF)["time_ms"] <= 1200 + LATE
    cleared = span0(0)
    assert cleared["crc4_errors"] == 50 and cleared["bpv"] == 50          # 500 ms of errors at 100/s
    # Span 1: LOS repeated once a second while raised, then cleared 200 ms after the signal came back.
    clear1 = b.next_event(fc.ALARMS, lambda e: e["span"] == 1 and e["alarms"] == 0)
    assert 1400 <= clear1["time_ms"] <= 1400 + LATE
    los = [e for e in b.events if e["type"] == fc.ALARMS and e["span"] == 1]
    assert los and all(e["alarms"] == fc.LOS for e in los)
    assert any(1100 <= e["time_ms"] <= 1100 + LATE for e in los), los    # raised at 100 ms, again at 1100
    st = b.status()
    assert [s["alarms"] for s in st["spans"]] == [0, 0]
    assert st["spans"][0]["crc4_errors"] == 50 and st["spans"][0]["slips"] == 0


def test_cas_and_hdlc_round_trip_on_a_looped_span(board_of):
    b = board_of("e1x2")
    b.send_stream(fc.CAS, bytes([0, 5, 0b0001]))
    b.send_stream(fc.CAS, bytes([1, 31, 0b1101]))
    got = {(e["span"], e["timeslot"], e["abcd"]) for e in
           (b.next_event(fc.CAS), b.next_event(fc.CAS))}
    assert got == {(0, 5, 0b0001), (1, 31, 0b1101)}
    b.send_stream(fc.HDLC, b"\x00\x02\x01\x7f")                      # span 0 is CAS: no D-channel
    assert b.status()["uptime_ms"] > 0
    assert any("HDLC for span 0" in line and "dropped" in line for line in b.logs), b.logs
    assert b.configure_span(0, framing=1) == (fc.OK, "")
    frames = [b"\x00\x01\x7f", bytes(range(200)), b"\x02\x01\x00\x00" + b"Q.931" * 51]
    for f in frames:
        b.send_stream(fc.HDLC, b"\x00" + f)
    assert [b.next_event(fc.HDLC)["frame"] for _ in frames] == frames
    b.send_stream(fc.CAS, bytes([0, 6, 0b0101]))                      # CCS now: CAS is dropped
    b.send_stream(fc.CAS, bytes([1, 6, 0b0101]))
    assert b.next_event(fc.CAS) == dict(type=fc.CAS, span=1, timeslot=6, abcd=0b0101)
    assert not [e for e in b.events if e["type"] == fc.CAS]


def _alaw_to_linear(data):
    """G.711 A-law decoding written from the standard's table, independent of the firmware."""
    out = []
    for c in data:
        c ^= 0x55
        t, seg = (c & 0x0F) << 4, (c & 0x70) >> 4
        t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
        out.append(t if c & 0x80 else -t)
    return np.array(out, dtype=float)


def _blocks(b, unit, n):
    return [b.next_event(fc.AUDIO, lambda e: e["unit"] == unit) for _ in range(n)]


def test_audio_loopback_and_tones(board_of):
    b = board_of("fxo4")
    assert b.port_command(0, fc.OFF_HOOK) == (fc.OK, "")
    first = b.next_event(fc.AUDIO, lambda e: e["unit"] == 0)
    assert first["law"] == 0 and first["data"] == b"\xd5" * 160               # silence from the line
    rng = np.random.default_rng(5)
    sent = [bytes(rng.integers(0, 256, 160, dtype=np.uint8)) for _ in range(5)]
    for block in sent:
        b.send_stream(fc.AUDIO, struct.pack("<BBBI", 0, 0, 0, 0) + block)
    got = [e["data"] for e in _blocks(b, 0, 12)]
    at = got.index(sent[0])
    assert got[at:at + 5] == sent                                              # back, identical, in order
    times = [e["time"] for e in _blocks(b, 0, 3)]
    assert times[1] - times[0] == 160 and times[2] - times[1] == 160

    # Tones on on-hook ports: a tone opens the channel; the line loops it back. Port 1 has 3 dB
    # less gain each way, so its -10 dBm0 tone comes back at -16.
    assert b.configure_port(1, tx_gain=-30, rx_gain=-30) == (fc.OK, "")
    assert b.tone(1, 0, 1000, level=-100) == (fc.OK, "")
    assert b.tone(2, 0, 350, 440, level=-130) == (fc.OK, "")
    assert b.tone(3, 0, 425, level=-100, on_ms=100, off_ms=100) == (fc.OK, "")
    one = _alaw_to_linear(b"".join(e["data"] for e in _blocks(b, 1, 10)))
    spectrum = np.abs(np.fft.rfft(one * np.hanning(len(one))))
    freqs = np.fft.rfftfreq(len(one), 1 / 8000)
    assert abs(freqs[spectrum.argmax()] - 1000) <= 5
    # 0 dBm0 is a sine of RMS 22936/sqrt(2) in 16-bit terms (G.711 full scale at +3.14 dBm0).
    level = 20 * np.log10(np.sqrt(np.mean(one ** 2)) / (22936 / np.sqrt(2)))
    assert abs(level + 16) < 0.3, level
    two = _alaw_to_linear(b"".join(e["data"] for e in _blocks(b, 2, 10)))
    spectrum = np.abs(np.fft.rfft(two * np.hanning(len(two))))
    peaks = sorted(freqs[np.argsort(spectrum)[-2:]])
    assert abs(peaks[0] - 350) <= 5 and abs(peaks[1] - 440) <= 5
    cadence = [np.sqrt(np.mean(_alaw_to_linear(e["data"]) ** 2)) for e in _blocks(b, 3, 10)]
    assert all(x > 1000 for x in cadence[:5]) and all(x < 20 for x in cadence[5:]), cadence   # 100 ms on, 100 off

    status, detail = b.tone(1, 0, 5000)
    assert status == fc.BAD_REQUEST and "TONE.freq1" in detail
    status, detail = b.tone(1, 3, 400)
    assert status == fc.BAD_REQUEST and "channel 0 only" in detail
    status, detail = b.tone(1, 0, 400, level=100)
    assert status == fc.BAD_REQUEST and "TONE.level" in detail
    b.send_stream(fc.AUDIO, struct.pack("<BBBI", 7, 0, 0, 0) + bytes(160))    # no port 7: dropped, said so
    assert b.status()["ports"][0][0] & fc.ST_OFFHOOK
    assert any("AUDIO for unit 7" in line for line in b.logs), b.logs


def _dump(fw_bin, kind, state):
    proc = subprocess.run([str(fw_bin), "--kind", kind, "--state", str(state), "--dump-config"],
                          capture_output=True, text=True, timeout=5)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_configuration_survives_a_restart(board_of, fw_bin):
    b = board_of("e1x2")
    assert b.configure_span(0, framing=1, crc4=0, coding=1, clock_priority=3, law=1) == (fc.OK, "")
    state = b.state
    b.close()
    lines = _dump(fw_bin, "e1x2", state)
    assert lines[0] == "config seq 1"
    assert "span 0 framing 1 crc4 0 coding 1 clock_priority 3 law 1" in lines
    assert "span 1 framing 0 crc4 1 coding 0 clock_priority 2 law 0" in lines
    b = board_of("e1x2", state=state)
    b.send_stream(fc.HDLC, b"\x00\x02\x01\x7f")                      # CCS without configuring again
    assert b.next_event(fc.HDLC)["frame"] == b"\x02\x01\x7f"
    b.send_stream(fc.AUDIO, struct.pack("<BBBI", 0, 1, 1, 0) + bytes(range(160)))
    back = b.next_event(fc.AUDIO, lambda e: e["data"] == bytes(range(160)))
    assert (back["unit"], back["channel"], back["law"]) == (0, 1, 1)  # mu-law as stored
    b.reset()
    b.status()
    assert any("configuration record 1 restored" in line for line in b.logs), b.logs


def test_config_get_reads_back_what_is_stored(board_of):
    b = board_of("e1x2")
    assert b.config_get(0, 1) == dict(span=1, framing=0, crc4=1, coding=0, clock_priority=2, law=0)  # defaults
    assert b.configure_span(1, framing=1, crc4=0, coding=1, clock_priority=0, law=1) == (fc.OK, "")
    assert b.config_get(0, 1) == dict(span=1, framing=1, crc4=0, coding=1, clock_priority=0, law=1)
    b.reset()
    assert b.config_get(0, 1)["framing"] == 1                      # from flash after the restart
    status, detail = b.config_get(0, 2)
    assert status == fc.BAD_REQUEST and "span 2: this board has 2" in detail
    status, detail = b.config_get(1, 0)
    assert status == fc.UNSUPPORTED and "no ports" in detail
    status, detail = b.result(fc.CONFIG_GET, bytes([2, 0]))
    assert status == fc.BAD_REQUEST and "CONFIG_GET.what = 2" in detail
    status, detail = b.result(fc.CONFIG_GET, bytes([0]))
    assert status == fc.BAD_REQUEST and "CONFIG_GET.length = 1" in detail
    p = board_of("fxs4")
    assert p.configure_port(3, law=1, zone=b"gb", rx_gain=-35, tx_gain=120) == (fc.OK, "")
    assert p.config_get(1, 3) == dict(port=3, law=1, zone=b"gb", rx_gain=-35, tx_gain=120)
    assert p.config_get(1, 0) == dict(port=0, law=0, zone=b"de", rx_gain=0, tx_gain=0)
    assert p.config_get(0, 0)[0] == fc.UNSUPPORTED


def test_configuration_power_cut_sweep(board_of, fw_bin):
    """A cut at every page operation of three CONFIGURE_PORTs leaves the old or the new configuration."""
    zones = [b"gb", b"fr", b"us"]
    # Page operations: 1st write (copy 0 blank), 2nd write (copy 1 blank), 3rd: erase copy 0, write it.
    expected = {0: None, 1: 1, 2: 2, 3: 2, 4: 3}
    for cut, want in expected.items():
        b = board_of("fxs4", cut=cut)
        try:
            for port, zone in enumerate(zones):
                assert b.configure_port(port, zone=zone) == (fc.OK, "")
        except (ConnectionError, OSError):
            pass
        b.close()
        assert b.proc.returncode in (0, 6, -15), b.proc.returncode   # 6: the power was cut
        lines = _dump(fw_bin, "fxs4", b.state)
        if want is None:
            assert lines == ["config none"], (cut, lines)
        else:
            assert lines[0] == f"config seq {want}", (cut, lines)
            for port in range(4):
                zone = zones[port].decode() if port < want else "de"
                assert f"port {port} law 0 zone {zone} rx_gain 0 tx_gain 0" in lines, (cut, lines)


def test_virtual_clock_runs_a_ring_cadence_without_waiting(board_of):
    b = board_of("fxs4", "--virtual-clock")
    assert b.port_command(0, fc.RING_START) == (fc.OK, "")           # zone "de": 1 s on, 4 s off
    ring = port_events(b, 0, 6, timeout=5)
    assert [e["event"] for e in ring] == [fc.EV_RING_ON, fc.EV_RING_OFF] * 3
    t0 = ring[0]["time_ms"]
    assert [e["time_ms"] - t0 for e in ring] == [0, 1000, 5000, 6000, 10000, 11000]


@pytest.mark.parametrize("kind, spec, words", [
    ("e1x2", "los@port0", "a span condition needs spanN"),
    ("e1x2", "los@span2", "spans are span0, span1"),
    ("fxo4", "los@span0", "this board kind has no spans"),
    ("fxo4", "offhook@port0", "offhook is an FXS"),
    ("fxs4", "ring@port0", "FXO (exchange) conditions"),
    ("e1x2", "los@span1:2x", "times are N ms or N s"),
    ("e1x2", "los@span1:2s-1s", "UNTIL must come after FROM"),
    ("e1x2", "smoke@span1", "WHAT is one of"),
])
def test_bad_conditions_are_refused(fw_bin, tmp_path, kind, spec, words):
    proc = subprocess.run([str(fw_bin), "--kind", kind, "--state", str(tmp_path), "--listen", "tcp://127.0.0.1:0",
                           "--fault", spec], capture_output=True, text=True, timeout=5)
    assert proc.returncode == 2 and words in proc.stderr and spec in proc.stderr, proc.stderr


def test_bad_script_line_is_named(fw_bin, tmp_path):
    script = tmp_path / "line.txt"
    script.write_text("# the phone\nofhook@port1:1s\n")
    proc = subprocess.run([str(fw_bin), "--kind", "fxs4", "--state", str(tmp_path), "--listen", "tcp://127.0.0.1:0",
                           "--script", str(script)], capture_output=True, text=True, timeout=5)
    assert proc.returncode == 2 and "line.txt:2:" in proc.stderr, proc.stderr


def test_linegate_sim_passes_faults_through(fw_bin, tmp_path):
    _, pub = fc.keypair()
    (tmp_path / "k.pub").write_text(pub.hex() + "\n")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.tools.cli", "sim", "e1x2", "--listen", "tcp://127.0.0.1:0",
                             "--state", str(tmp_path / "b"), "--trust", str(tmp_path / "k.pub"),
                             "--fault", "los@span1", "--fault", "rai@span0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "LINEGATE_FW_NATIVE": str(fw_bin)})   # this checkout's firmware
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on tcp://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else line
        sock = socket.create_connection(("127.0.0.1", int(line.rsplit(":", 1)[1])), timeout=5)
        data = b""
        alarms = {}
        while len(alarms) < 2:
            data += sock.recv(4096)
            frames, data = fc.parse(data)
            for t, _, p in frames:
                if t == fc.ALARMS:
                    alarms[p[0]] = p[1]
        assert alarms == {0: fc.RAI, 1: fc.LOS}
        sock.close()
    finally:
        proc.terminate()
        proc.wait(5)


def test_pty_link(fw_bin, templates, tmp_path):
    """--listen pty: the host opens the printed path as a serial port; the link survives a RESET."""
    import tty

    state = tmp_path / "pty"
    shutil.copytree(templates["fxs4"], state)
    proc = subprocess.Popen([str(fw_bin), "--kind", "fxs4", "--state", str(state), "--listen", "pty"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on pty:/dev/"), line
        fd = os.open(line.strip().split(":", 1)[1], os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)

        def ask(ftype, seq, payload=b""):
            os.write(fd, fc.frame(ftype, seq, payload))
            data = b""
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if select.select([fd], [], [], 0.2)[0]:      # never block past the deadline
                    data += os.read(fd, 4096)
                frames, data = fc.parse(data)
                for t, s, p in frames:
                    if s == seq and t not in fc.STREAMS and t != fc.LOG:
                        return t, p
            raise AssertionError("no reply over the pty")

        t, p = ask(fc.IDENTIFY, 1)
        assert t == fc.IDENTITY and p[0] == 3
        assert ask(fc.RESET, 2, b"\x00")[0] == fc.RESULT
        time.sleep(0.05)
        t, p = ask(fc.IDENTIFY, 3)
        assert t == fc.IDENTITY and p[0] == 3
        os.close(fd)
    finally:
        proc.terminate()
        proc.wait(5)


def test_the_caller_id_window_opens_on_hook_at_a_polarity_reversal(board_of):
    """PROTOCOL.md, "The line side": an on-hook FXO port's channel is open from a POLARITY_REVERSAL
    (or RING_ON) until 6 s after it; the built-in line loops silence back then. On granted time
    (SIM_ADVANCE) so that 6 s take no time."""
    b = board_of("fxo4", "--virtual-clock", "--hold-clock", "--fault", "reverse@port3:300ms")
    t, p = b.request(0x40, struct.pack("<I", 8000))                  # SIM_ADVANCE to 8 s
    assert t == 0xC0 and struct.unpack("<I", p) == (8000,)              # SIM_CLOCK
    rev = b.next_event(fc.PORT_EVENT, lambda e: e["port"] == 3, timeout=0)
    assert rev["event"] == fc.EV_POLARITY_REVERSAL and rev["time_ms"] == 330
    blocks = [e for e in b.events if e["type"] == fc.AUDIO]
    assert {e["unit"] for e in blocks} == {3}                            # the other ports stay closed
    assert len(blocks) == (6330 - 340) // 20 + 1                         # every tick from 340 ms to 6.33 s
    assert [e["time"] for e in blocks[:2]] == [0, 160] and all(e["data"] == b"\xd5" * 160 for e in blocks)


def test_sim_advance_needs_a_virtual_clock(board_of):
    b = board_of("fxo4")
    status, detail = b.result(0x40, struct.pack("<I", 1000))
    assert status == fc.UNSUPPORTED and "real time" in detail


@pytest.mark.parametrize("args, code, words", [
    (["--hold-clock"], 2, "give --virtual-clock too"),
    (["--network", "http://x"], 2, "want unix:PATH or tcp://HOST:PORT"),
    (["--network", "unix:"], 2, "a unix: URL names a socket path"),
    (["--network", "tcp://127.0.0.1:1"], 1, "cannot connect"),
])
def test_bad_network_and_clock_options_are_refused(fw_bin, templates, tmp_path, args, code, words):
    state = tmp_path / "b"
    shutil.copytree(templates["fxo4"], state)
    proc = subprocess.run([str(fw_bin), "--kind", "fxo4", "--state", str(state), "--listen", "tcp://127.0.0.1:0",
                           *args], capture_output=True, text=True, timeout=15)
    assert proc.returncode == code and words in proc.stderr and "listening" not in proc.stdout, proc.stderr
