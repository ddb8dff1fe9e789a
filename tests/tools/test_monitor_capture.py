"""`linegate monitor` and `linegate capture` against simulated boards."""

import asyncio
import struct

import numpy as np
import pytest

from gateway.boards import protocol as p
from gateway.boards.board import Board
from gateway.dsp.wav import open_wav
from gateway.tools import capture as cap
from gateway.tools.cli import EXIT_BAD_INPUT, EXIT_OK, main
from tests.tools.conftest import SimBoard


def _ask(url, *messages):
    async def go():
        async with await Board.open(url) as board:
            for m in messages:
                await board.command(m)
    asyncio.run(go())


@pytest.fixture
def e1_board(tmp_path, keys):
    board = SimBoard(tmp_path / "e1", [keys / "release.key.pub"], kind="e1x2")
    yield board
    board.close()


def test_monitor_records_a_tone_with_its_frequency_and_level(sim_board, tmp_path, capsys):
    # The board plays 1004 Hz at -13 dBm0 on port 2 (the channel opens for it; the line loops it back);
    # the monitor then finds audio flowing and sends nothing.
    _ask(sim_board.url, p.Tone(2, 0, 1004, 0, -130))
    wav = tmp_path / "port2.wav"
    assert main(["monitor", sim_board.url, "2", "--record", str(wav), "--for", "1.3"]) == EXIT_OK
    captured = capsys.readouterr()
    assert "monitoring port 2 for 1.3 s" in captured.out
    assert "sending silence" not in captured.err
    levels = [line for line in captured.out.splitlines() if " rx " in line]
    assert levels and all("tx      -" in line for line in levels)
    first = float(levels[0].split(" rx ")[1].split("dBm0")[0])
    assert abs(first + 13) < 0.5, levels[0]
    reader = open_wav(wav)
    assert (reader.rate, reader.channels) == (8000, 1)
    samples = reader.read_all().astype(np.float64)
    assert samples.size >= 8000
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    assert abs(np.fft.rfftfreq(samples.size, 1 / 8000)[spectrum.argmax()] - 1004) <= 3
    level = 20 * np.log10(np.sqrt(np.mean(samples ** 2)) / (32768 * 10 ** (-3.14 / 20) / np.sqrt(2)))
    assert abs(level + 13) < 0.5, level
    assert f"to {wav} (8 kHz, 16-bit mono)" in captured.out
    _ask(sim_board.url, p.Tone(2, 0, 0))


def test_monitor_opens_an_idle_port_with_silence_and_says_so(sim_board, tmp_path, capsys):
    wav = tmp_path / "idle.wav"
    assert main(["monitor", sim_board.url, "1", "--record", str(wav), "--for", "1.6"]) == EXIT_OK
    captured = capsys.readouterr()
    assert "no audio from port 1 (on-hook, nothing playing): sending silence" in captured.err
    assert "hook state is left as it is" in captured.err
    levels = [line for line in captured.out.splitlines() if " rx " in line]
    assert levels and all(float(line.split(" rx ")[1].split("dBm0")[0]) < -60 for line in levels)
    assert any("tx " in line and "tx      -" not in line for line in levels)
    assert open_wav(wav).frames > 0
    async def hook():
        async with await Board.open(sim_board.url) as board:
            return (await board.status()).ports[1].state
    assert not asyncio.run(hook()) & p.PortState.OFF_HOOK  # the monitor left the hook alone


@pytest.mark.parametrize("port, words", [
    ("x", "PORT 'x': give a port number"),
    ("0:16", "timeslot 16 is not a B-channel"),
    ("7", "PORT 7: this board (fxo4) has ports 0..3"),
    ("0:1", "PORT 0:1: this board (fxo4) has no E1 spans"),
])
def test_monitor_refuses_bad_ports(sim_board, port, words, capsys):
    assert main(["monitor", sim_board.url, port, "--for", "1"]) == EXIT_BAD_INPUT
    assert words in capsys.readouterr().err


def test_monitor_listen_without_pyaudio_names_the_extra(sim_board, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_pyaudio(name, *args, **kwargs):
        if name == "pyaudio":
            raise ImportError("No module named 'pyaudio'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_pyaudio)
    assert main(["monitor", sim_board.url, "0", "--listen", "--for", "1"]) == EXIT_BAD_INPUT
    assert 'pip install ".[audio]"' in capsys.readouterr().err


def _read_pcap(path):
    data = path.read_bytes()
    magic, major, minor, zone, sigfigs, snaplen, linktype = cap.pcap_header_format.unpack_from(data)
    records, at = [], cap.pcap_header_format.size
    while at < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, at)
        assert incl == orig and usec < 1_000_000
        body = data[at + 16:at + 16 + incl]
        assert len(body) == incl
        records.append((sec + usec / 1e6, body))
        at += 16 + incl
    return (magic, major, minor, zone, sigfigs, snaplen, linktype), records


def test_capture_writes_both_directions_of_a_looped_span(e1_board, tmp_path, capsys):
    import time

    _ask(e1_board.url, p.ConfigureSpan(1, p.Framing.CCS, True, p.LineCoding.HDB3, 1, p.Law.ALAW))
    out = tmp_path / "d.pcap"
    frames = [b"\x00\x01\x7f", b"\x02\x01\x00\x00" + b"Q.931" * 20]
    before = time.time()
    assert main(["capture", e1_board.url, "--hdlc", str(out), "--span", "1", "--for", "0.8",
                 "--send", frames[0].hex(), "--send", frames[1].hex()]) == EXIT_OK
    assert "4 frame(s) written" in capsys.readouterr().out
    header, records = _read_pcap(out)
    assert header == (0xA1B2C3D4, 2, 4, 0, 0, 65535, 177)
    assert len(records) == 4
    directions = []
    for when, body in records:
        assert before - 1 <= when <= time.time() + 1
        pkttype, hatype, halen, addr, proto = cap.lapd_header_format.unpack_from(body)
        assert (hatype, halen, addr, proto) == (0x0300, 1, bytes(8), 0x0030)
        directions.append((pkttype, body[16:]))
    # Sent first (stamped as they went), then the loop plug gives them back, in order.
    assert directions == [(4, frames[0]), (4, frames[1]), (0, frames[0]), (0, frames[1])]
    assert [w for w, _ in records] == sorted(w for w, _ in records)


def test_capture_refusals(sim_board, e1_board, tmp_path, capsys):
    out = tmp_path / "x.pcap"
    assert main(["capture", sim_board.url, "--hdlc", str(out), "--for", "0.2"]) == EXIT_BAD_INPUT
    assert "(fxo4) has no E1 spans" in capsys.readouterr().err
    assert main(["capture", e1_board.url, "--hdlc", str(out), "--span", "2", "--for", "0.2"]) == EXIT_BAD_INPUT
    assert "--span 2: this board (e1x2) has spans 0..1" in capsys.readouterr().err
    assert main(["capture", e1_board.url, "--hdlc", str(out), "--span", "0", "--send", "zz"]) == EXIT_BAD_INPUT
    assert "--send 'zz': not hex bytes" in capsys.readouterr().err
    assert main(["capture", e1_board.url, "--hdlc", str(tmp_path / "no" / "x.pcap")]) == EXIT_BAD_INPUT
    assert "its folder does not exist" in capsys.readouterr().err
    assert main(["capture", e1_board.url]) == EXIT_BAD_INPUT
    assert "--hdlc" in capsys.readouterr().err
    # A CAS span drops HDLC; the board's LOG says so and the capture passes it on.
    assert main(["capture", e1_board.url, "--hdlc", str(out), "--span", "0", "--for", "0.5",
                 "--send", "00017f"]) == EXIT_OK
    captured = capsys.readouterr()
    assert "HDLC for span 0" in captured.err and "1 frame(s) written" in captured.out
