"""`linegate config`, `linegate status` and `linegate test` against simulated boards."""

import asyncio
import threading
import time

import numpy as np

from gateway.boards import protocol as p
from gateway.boards.protocol import FrameReader, decode_frame, encode_frame
from gateway.dsp.g711 import encode
from gateway.dsp.tone import tone
from gateway.tools import linetest
from gateway.tools.cli import EXIT_BAD_INPUT, EXIT_INCOMPATIBLE, EXIT_OK, EXIT_PARTIAL_FAILURE, main
from gateway.tools.status import render_event
from tests.tools.conftest import SimBoard

E1 = """\
kind = "e1x2"

[span.0]
framing = "ccs"
clock_priority = 1

[span.1]
framing = "cas"
crc4 = false
signalling = "r2"
"""


def test_config_apply_show_diff_on_an_e1_board(tmp_path, keys, host_state, capsys):
    # A persistent e1x2: what it stores is read back (CONFIG_GET) by the commands after apply.
    board = SimBoard(tmp_path / "e1", [keys / "release.key.pub"], kind="e1x2")
    try:
        cfg = tmp_path / "e1.toml"
        cfg.write_text(E1)
        url = board.url
        assert main(["config", "apply", url, str(cfg), "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert "would send 2 request(s)" in out and "CONFIGURE_SPAN span 1: framing CAS, CRC-4 off" in out
        assert not host_state.exists()  # a dry run keeps nothing
        assert main(["config", "show", url]) == 0
        out = capsys.readouterr().out
        assert "Config the board holds (read back with CONFIG_GET)" in out and "none recorded" in out
        assert '[span.0]\n  framing = "cas"' in out and "clock_priority = 2\n  law" in out  # the defaults
        assert main(["config", "diff", url, str(cfg)]) == 0
        out = capsys.readouterr().out
        assert "against the board's config (CONFIG_GET)" in out
        assert '~ span.0.framing: "cas" -> "ccs"' in out and "~ span.1.crc4: true -> false" in out
        assert '+ span.1.signalling = "r2"' in out
        assert main(["config", "apply", url, str(cfg)]) == 0
        assert "applied 2 setting(s)" in capsys.readouterr().out
        assert main(["config", "show", url]) == 0
        out = capsys.readouterr().out
        assert "The board reports (STATUS):" in out and "span 1: no alarms; CRC-4 errors 0" in out
        assert '[span.0]\n  framing = "ccs"' in out and '[span.1]\n  framing = "cas"\n  crc4 = false' in out
        assert 'signalling = "r2"  # kept on this host' in out and '"1-15" = "r2"' in out
        assert "no longer holds" not in out
        assert main(["config", "diff", url, str(cfg)]) == 0
        assert "no differences" in capsys.readouterr().out
        # Another host changes the board: show tells the record from the board, diff goes by the board.
        asyncio.run(_command(url, p.ConfigureSpan(1, p.Framing.CAS, True, p.LineCoding.HDB3, 2, p.Law.ALAW)))
        assert main(["config", "show", url]) == 0
        out = capsys.readouterr().out
        assert "no longer holds what was last applied" in out and "~ span.1.crc4: false -> true" in out
        assert main(["config", "diff", url, str(cfg)]) == 0
        out = capsys.readouterr().out
        assert "~ span.1.crc4: true -> false" in out and "~ span.1.clock_priority: 2 -> 0" in out
        assert "signalling =" not in out  # the record's signalling matches the file
    finally:
        board.close()


async def _command(url, message):
    from gateway.boards.board import Board

    async with await Board.open(url) as board:
        await board.command(message)


def _old_firmware_board():
    """A board whose firmware predates CONFIG_GET, over loopback TCP: it answers IDENTIFY and STATUS,
    takes CONFIGURE_*, and answers CONFIG_GET (type 0x08) as such firmware does: BAD_REQUEST for its type."""
    import socket
    import zlib

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    ident = p.Identity(p.BoardCode.E1X2, "OLD-1", 1, p.Version(1, 0, 0), p.Version(1, 0, 0), p.Slot.A, None,
                       p.Running.FIRMWARE, p.Capability.E1 | p.Capability.CCS, 0, 2)
    span = p.SpanStatus(p.Alarm(0), 0, 0, 0)
    stop = threading.Event()

    def serve():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn = server.accept()[0]
            except OSError:
                continue
            conn.settimeout(0.1)
            buf = b""
            while not stop.is_set():
                try:
                    data = conn.recv(4096)
                except socket.timeout:
                    continue
                if not data:
                    break
                buf += data
                while len(buf) >= 12 and len(buf) >= 12 + int.from_bytes(buf[6:8], "little"):
                    n = 12 + int.from_bytes(buf[6:8], "little")
                    raw, buf = buf[:n], buf[n:]
                    kind, seq = raw[3], int.from_bytes(raw[4:6], "little")
                    if kind == 0x08:  # built by hand: this host's codec would not let an unknown type through
                        body = b"\x01type = 0x08 at stream byte 0: unknown type"
                        head = b"\x01\x80" + seq.to_bytes(2, "little") + len(body).to_bytes(2, "little")
                        conn.sendall(b"LG" + head + body + zlib.crc32(head + body).to_bytes(4, "little"))
                        continue
                    message = decode_frame(raw).message
                    reply = ident if isinstance(message, p.Identify) else \
                        p.StatusReport((), (span, span), 1000) if isinstance(message, p.Status) else p.Result(p.ResultCode.OK)
                    conn.sendall(encode_frame(reply, seq))
            conn.close()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"tcp://127.0.0.1:{server.getsockname()[1]}", stop, thread, server


def test_config_show_and_diff_fall_back_to_the_record_for_old_firmware(tmp_path, host_state, capsys):
    url, stop, thread, server = _old_firmware_board()
    try:
        cfg = tmp_path / "e1.toml"
        cfg.write_text(E1)
        assert main(["config", "show", url]) == 0
        out = capsys.readouterr().out
        assert "cannot report its config (its firmware predates CONFIG_GET)" in out
        assert "No config was applied to e1x2 OLD-1 from this host" in out
        assert main(["config", "apply", url, str(cfg)]) == 0
        capsys.readouterr()
        assert main(["config", "show", url]) == 0
        out = capsys.readouterr().out
        assert "Config last applied from this host" in out and "not read back" in out and 'signalling = "r2"' in out
        cfg.write_text(E1.replace("crc4 = false", "crc4 = true"))
        assert main(["config", "diff", url, str(cfg)]) == 0
        out = capsys.readouterr().out
        assert "the board cannot report its config: its firmware predates CONFIG_GET" in out
        assert "~ span.1.crc4: false -> true" in out
    finally:
        stop.set()
        thread.join()
        server.close()


def test_config_refusals(sim_board, tmp_path, host_state, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(E1.replace('framing = "cas"', 'framing = "cass"'))
    assert main(["config", "apply", sim_board.url, str(bad)]) == EXIT_BAD_INPUT
    assert f"{bad}:8: span.1.framing = 'cass': not one of cas, ccs" in capsys.readouterr().err
    good = tmp_path / "e1.toml"
    good.write_text(E1)
    assert main(["config", "apply", sim_board.url, str(good)]) == EXIT_INCOMPATIBLE  # the board is an fxo4
    assert f"{good}:1: kind = 'e1x2': the file is for kind e1x2; the board is fxo4" in capsys.readouterr().err
    assert main(["config", "apply", sim_board.url, str(tmp_path / "none.toml")]) == EXIT_BAD_INPUT
    assert "no such config file" in capsys.readouterr().err
    assert not host_state.exists()


def test_config_on_fxo_ports_reaches_the_board(sim_board, tmp_path, host_state, capsys):
    cfg = tmp_path / "fxo.toml"
    cfg.write_text('kind = "fxo4"\ntone_zone = "de"\n[port.0]\n[port.3]\ntx_gain = -2.5\n')
    assert main(["config", "apply", sim_board.url, str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "CONFIGURE_PORT port 3: ALAW, tone zone de, rx gain +0.0 dB, tx gain -2.5 dB: OK" in out
    assert len(list((host_state / "applied").glob("fxo4-FXO4-*.toml"))) == 1


def test_status_once_and_watching(capsys):
    assert main(["status", "sim://fxs4?seed=1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fxs4 FXS4-") and "port 3: on-hook, battery, loop 0 mA" in out
    assert main(["status", "sim://e1x2?seed=1", "--watch", "--for", "0.2"]) == 0
    assert "span 1: no alarms" in capsys.readouterr().out
    assert main(["status", "sim://e1x2?seed=1", "--for", "1"]) == EXIT_BAD_INPUT


def test_status_of_a_span_in_alarm_is_a_line_failure(tmp_path, capsys):
    from gateway.boards import image as images
    from gateway.boards import simulator

    images.write_keypair(tmp_path / "k")
    proc, url = simulator.start("e1x2", tmp_path, [tmp_path / "k.pub"], seed=2, line=["--fault", "los@span1"])
    try:
        time.sleep(0.3)  # LOS is raised after 100 ms without a signal
        assert main(["status", url]) == EXIT_PARTIAL_FAILURE
        out = capsys.readouterr().out
        assert "span 0: no alarms" in out and "span 1: LOS" in out
    finally:
        simulator.stop(proc)


def test_status_of_a_silent_board(silent_board, capsys):
    assert main(["status", silent_board, "--timeout", "0.3"]) == EXIT_PARTIAL_FAILURE
    assert "no reply to IDENTIFY" in capsys.readouterr().err


def test_watched_events_read_as_a_technician_expects():
    assert render_event(p.PortEvent(2, p.PortEventCode.LOOP_CURRENT, 28, 61500)) == \
        "[    61.500] port 2: LOOP_CURRENT 28 mA"
    assert render_event(p.Alarms(1, p.Alarm.LOS | p.Alarm.AIS, 3, 1, 0, 2000)) == \
        "[     2.000] span 1: LOS+AIS; CRC-4 errors 3, slips 1, BPV 0"
    assert render_event(p.Log(p.LogLevel.WARNING, "slot B on trial")) == "[log warning] slot B on trial"


def test_line_test_on_the_simulator_measures_every_port(capsys):
    # The firmware's tone generator and its line model's loopback, measured by the host.
    assert main(["test", "sim://fxo4?seed=1"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.count("tone pass (1004 Hz") == 4 and out.count("loopback pass (2000 Hz") == 4
    assert "4 passed, 0 failed, 0 not testable" in out
    assert main(["test", "sim://e1x2?seed=1"]) == EXIT_OK
    assert "2 passed, 0 failed, 0 not testable" in capsys.readouterr().out


class LineSideBoard:
    """A board with a line side made of the host's codec and the DSP's tone generator, whose
    port 1 is dead (silence): what `linegate test` says of a failing port."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(5)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        self.ready.set()
        self.loop.run_forever()

    async def _serve(self, reader, writer):
        frames, seq, playing = FrameReader(), 0, {}

        def send(message, s=None):
            nonlocal seq
            writer.write(encode_frame(message, seq if s is None else s))
            seq = (seq + 1) & 0xFFFF

        async def play():
            t = 0
            while True:
                for port, codes in list(playing.items()):
                    send(p.Audio(port, 0, p.Law.ALAW, t, codes[t % 8000:t % 8000 + 160]))
                t += 160
                await asyncio.sleep(0.02)

        player = asyncio.create_task(play())
        try:
            while data := await reader.read(4096):
                for frame in frames.feed(data):
                    m = frame.message
                    if isinstance(m, p.Identify):
                        send(p.Identity(p.BoardCode.FXO4, "LINE-1", 1, p.Version(1, 0, 0), p.Version(1, 0, 0),
                                        p.Slot.A, None, p.Running.FIRMWARE, p.Capability.FXO | p.Capability.TONE,
                                        2, 0), frame.seq)
                    elif isinstance(m, p.Tone):
                        if m.freq1 and m.unit == 0:
                            level = m.level / 10
                            playing[0] = encode(tone(m.freq1, level, 1100), "alaw").tobytes()
                        else:
                            playing.pop(m.unit, None)
                        send(p.Result(p.ResultCode.OK), frame.seq)
                    elif isinstance(m, p.Audio) and m.unit == 0:
                        send(m)  # the loop
                await writer.drain()
        finally:
            player.cancel()
            writer.close()

    def close(self):
        async def shutdown():
            self.server.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def test_line_test_measures_what_it_passes(capsys):
    board = LineSideBoard()
    try:
        assert main(["test", board.url]) == EXIT_PARTIAL_FAILURE
    finally:
        board.close()
    out = capsys.readouterr().out
    assert "port 0: tone pass (1004 Hz at -10." in out and "loopback pass (2000 Hz at -" in out
    assert "port 1: tone fail: no audio came from the port; loopback fail: no audio came from the port" in out
    assert "1 passed, 1 failed, 0 not testable" in out


def test_level_measurement_against_the_dsp_tone_generator():
    samples = tone(1004, -13.0, 200)
    assert abs(linetest.level_dbm0(samples, 1004) - -13.0) < 0.1
    assert linetest.level_dbm0(samples, 2000) < -40
    assert linetest.level_dbm0(np.zeros(0, np.int16), 1004) == float("-inf")
