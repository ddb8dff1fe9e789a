"""`linegate probe` and `linegate flash` against the native board simulator over loopback TCP."""

import json
import os
import time

import pytest

from gateway.boards import protocol as p
from gateway.tools import probe as probe_tool
from gateway.tools.cli import EXIT_BAD_INPUT, EXIT_INCOMPATIBLE, EXIT_PARTIAL_FAILURE, EXIT_UNTRUSTED, main
from tests.tools.conftest import make_image


def test_probe_sim_json_has_the_exact_fields(capsys):
    assert main(["probe", "sim://fxo4?seed=1", "--json"]) == 0
    boards = json.loads(capsys.readouterr().out)
    assert len(boards) == 1
    board = boards[0]
    assert board["url"] == "sim://fxo4?seed=1" and board["kind"] == "fxo4"
    assert board["serial"].startswith("FXO4-") and board["firmware_version"] == "1.0.0"
    assert board["bootloader_version"] == "1.0.0" and board["active_slot"] == "A" and board["pending_slot"] is None
    assert board["running"] == "firmware" and "SIGNED_IMAGES" in board["capabilities"]
    assert [s["state"] for s in board["slots"]] == ["ACTIVE", "EMPTY"]
    assert board["slots"][0]["version"] == "1.0.0" and len(board["slots"][0]["sha256"]) == 64
    assert len(board["status"]["ports"]) == 4 and board["status"]["spans"] == []


def test_probe_text_names_identity_slots_and_alarms(sim_board, capsys):
    assert main(["probe", sim_board.url, "sim://e1x2?seed=2"]) == 0
    out = capsys.readouterr().out
    assert f"{sim_board.url}: fxo4 serial FXO4-" in out and "hardware revision 1, running its firmware" in out
    assert "firmware 1.0.0 from slot A; bootloader 1.0.0" in out
    assert "slot A  ACTIVE   1.0.0" in out and "slot B  EMPTY" in out and "alarms: none" in out
    assert "sim://e1x2?seed=2: e1x2 serial E1X2-" in out and "2 spans" in out


@pytest.mark.parametrize("url,complaint", [
    ("tcp://127.0.0.1", "needs a host and a port"),
    ("sim://fxo9?seed=1", "unknown board kind 'fxo9'"),
    ("sim://fxo4?seed=x", "option seed='x'"),
    ("sim://fxo4?speed=1", "unknown option 'speed'"),
    ("bogus", "not a transport URL"),
])
def test_bad_urls_are_bad_usage(url, complaint, capsys):
    for argv in (["probe", url], ["status", url], ["flash", url, "x.img"]):
        assert main(argv) == EXIT_BAD_INPUT
        assert complaint in capsys.readouterr().err


def test_a_board_that_does_not_answer_or_is_not_there(silent_board, closed_port, capsys):
    started = time.monotonic()
    assert main(["probe", silent_board, closed_port, "--timeout", "0.3"]) == EXIT_PARTIAL_FAILURE
    captured = capsys.readouterr()
    assert "no reply to IDENTIFY (seq 0) within 0.3 s" in captured.err and "cannot connect" in captured.err
    assert "no board found" in captured.out
    assert time.monotonic() - started < 5  # the 0.3 s timeout was kept, not the 2 s default per board
    assert main(["probe", "sim://fxo4", "--timeout", "0"]) == EXIT_BAD_INPUT
    assert "'0' is not a number of seconds" in capsys.readouterr().err


def test_a_serial_port_without_a_board_is_passed_over_quickly_and_quietly(monkeypatch, capsys):
    master, slave = os.openpty()  # a tty nobody answers on, like a modem that ignores our frames
    try:
        monkeypatch.setattr("gateway.boards.transport.serial_ports", lambda: [f"serial://{os.ttyname(slave)}"])
        started = time.monotonic()
        assert main(["probe"]) == EXIT_PARTIAL_FAILURE
        assert time.monotonic() - started < probe_tool.SERIAL_TIMEOUT + 5.0  # passed over, not waited on
        captured = capsys.readouterr()
        assert captured.err == "" and captured.out.startswith("no board found (serial:///dev/")
    finally:
        os.close(master)
        os.close(slave)


def test_flash_confirm_and_probe_again(sim_board, keys, tmp_path, capsys):
    image = make_image(keys, tmp_path / "fw.img", version=(1, 1, 0), payload=os.urandom(20_000))
    assert main(["flash", sim_board.url, str(image), "--trust", str(keys / "release.key.pub")]) == 0
    captured = capsys.readouterr()
    assert "writing 1.1.0" in captured.out and "confirmed: slot B (1.1.0) is the active firmware" in captured.out
    assert "write slot B: 20192/20192 bytes (100%)" in captured.err  # the plain progress (not a tty)
    ident, a, b = sim_board.slots()
    assert ident.firmware_version == p.Version(1, 1, 0) and ident.active_slot == p.Slot.B
    assert ident.pending_slot is None and b.state == p.SlotState.ACTIVE and a.state == p.SlotState.VALID
    # The next flash goes to the other slot, A.
    image = make_image(keys, tmp_path / "fw2.img", version=(1, 2, 0))
    assert main(["flash", sim_board.url, str(image), "--no-confirm"]) == 0
    assert "not confirmed (--no-confirm)" in capsys.readouterr().out
    ident, a, b = sim_board.slots()
    assert (ident.active_slot, ident.pending_slot, ident.firmware_version) == (p.Slot.A, p.Slot.A, p.Version(1, 2, 0))
    # On trial: a further flash is refused before anything is written.
    assert main(["flash", sim_board.url, str(image)]) == EXIT_PARTIAL_FAILURE
    assert "runs on trial" in capsys.readouterr().err
    assert sim_board.slots()[1:] == (a, b)


def test_flash_over_sim_url(keys, tmp_path, capsys):
    image = make_image(keys, tmp_path / "fw.img", version=(2, 0, 0))
    url = f"sim://fxo4?seed=1&trust={keys / 'release.key.pub'}"
    assert main(["flash", url, str(image)]) == 0
    assert "running 2.0.0 from slot B on trial" in capsys.readouterr().out


def refusals(keys, d):
    data = make_image(keys, d / "ok.img").read_bytes()
    (d / "trunc.img").write_bytes(data[:-10])
    (d / "corrupt.img").write_bytes(data[:500] + bytes([data[500] ^ 1]) + data[501:])
    (d / "badsig.img").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    # A payload over the slot: a header that says so, then that many bytes (IMAGE.md check 2).
    big = bytearray(data[:128])
    big[24:28] = (1536 * 1024 - 191).to_bytes(4, "little")
    (d / "big.img").write_bytes(bytes(big) + bytes(1536 * 1024 - 191) + bytes(64))
    trust = ["--trust", str(keys / "release.key.pub")]
    return [
        (["trunc.img"], EXIT_BAD_INPUT, "truncated"),
        (["corrupt.img"], EXIT_BAD_INPUT, "payload is corrupted"),
        ([str(make_image(keys, d / "fxs.img", kind="fxs4")), ], EXIT_INCOMPATIBLE, "the board is fxo4"),
        ([str(make_image(keys, d / "rev.img", hw_revision_min=2, hw_revision_max=3))], EXIT_INCOMPATIBLE,
         "the board is revision 1"),
        ([str(make_image(keys, d / "old.img", version=(0, 9, 0)))], EXIT_INCOMPATIBLE, "--allow-downgrade"),
        (["big.img"], EXIT_INCOMPATIBLE, "slot takes"),
        (["badsig.img", *trust], EXIT_UNTRUSTED, "does not verify"),
        ([str(make_image(keys, d / "other.img", key="other.key")), *trust], EXIT_UNTRUSTED, "not trusted"),
        # Without --trust, against the keys the board tells (BL_KEYS).
        (["badsig.img"], EXIT_UNTRUSTED, "does not verify"),
        ([str(make_image(keys, d / "other2.img", key="other.key"))], EXIT_UNTRUSTED, "not trusted"),
        (["missing.img"], EXIT_BAD_INPUT, "no such image file"),
    ]


def test_every_refusal_has_its_exit_code_and_leaves_the_board_untouched(sim_board, keys, tmp_path, capsys,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sim_board.slots()
    for args, code, complaint in refusals(keys, tmp_path):
        assert main(["flash", sim_board.url, *args]) == code, args
        assert complaint in capsys.readouterr().err, args
    assert sim_board.slots() == before


def test_the_boards_own_bootloader_refuses_an_untrusted_image(sim_board, keys, tmp_path, capsys, monkeypatch):
    # A board that cannot tell its keys (firmware older than BL_KEYS): this host cannot tell either,
    # so the board's bootloader checks the signature before it boots anything.
    from gateway.boards.board import Board

    async def no_keys(self):
        return None

    monkeypatch.setattr(Board, "trusted_keys", no_keys)
    image = make_image(keys, tmp_path / "other.img", key="other.key")
    assert main(["flash", sim_board.url, str(image)]) == EXIT_UNTRUSTED
    assert "does not accept the image in slot B (state INVALID)" in capsys.readouterr().err
    ident, a, b = sim_board.slots()
    assert ident.firmware_version == p.Version(1, 0, 0) and ident.active_slot == p.Slot.A
    assert a.state == p.SlotState.ACTIVE and b.state == p.SlotState.INVALID


def test_downgrade_when_allowed(sim_board, keys, tmp_path, capsys):
    image = make_image(keys, tmp_path / "old.img", version=(0, 9, 0))
    assert main(["flash", sim_board.url, str(image), "--allow-downgrade"]) == 0
    assert sim_board.slots()[0].firmware_version == p.Version(0, 9, 0)


def test_a_silent_board_fails_the_flash(silent_board, keys, tmp_path, capsys):
    image = make_image(keys, tmp_path / "fw.img")
    assert main(["flash", silent_board, str(image), "--timeout", "0.3"]) == EXIT_PARTIAL_FAILURE
    assert "no reply to IDENTIFY" in capsys.readouterr().err


class DroppingProxy:
    """Loopback TCP between the CLI and a simulated board that drops the host's connection right
    after the board's reply to RESET, as a board whose USB or network link restarts with it would."""

    def __init__(self, board_url):
        import socket
        import threading

        self.host, self.port = board_url[len("tcp://"):].rsplit(":", 1)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.server.getsockname()[1]}"
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import select
        import socket

        from gateway.boards.protocol import FrameReader

        self.server.settimeout(0.1)
        while not self.stop:
            try:
                client, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            board = socket.create_connection((self.host, int(self.port)))
            up, reset_seq = FrameReader(), None
            down = FrameReader()
            done = False
            while not done and not self.stop:
                ready, _, _ = select.select([client, board], [], [], 0.1)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        done = True
                        break
                    if sock is client:
                        for frame in up.feed(data):
                            if isinstance(frame.message, p.Reset):
                                reset_seq = frame.seq
                        board.sendall(data)
                    else:
                        client.sendall(data)
                        if any(f.seq == reset_seq and f.message.is_reply for f in down.feed(data)):
                            done = True  # the restart takes the host's connection with it
            client.close()
            board.close()

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.server.close()


def test_flash_reconnects_when_the_restart_drops_the_link(sim_board, keys, tmp_path, capsys):
    proxy = DroppingProxy(sim_board.url)
    try:
        image = make_image(keys, tmp_path / "fw.img", version=(1, 3, 0))
        assert main(["flash", proxy.url, str(image)]) == 0
        assert "confirmed: slot B (1.3.0)" in capsys.readouterr().out
        assert proxy.connections == 2
    finally:
        proxy.close()
    assert sim_board.slots()[0].firmware_version == p.Version(1, 3, 0)


def test_progress_bar_on_a_terminal_shows_bytes_and_speed():
    import io

    from gateway.tools.flash import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = Progress("write slot B", 4096, stream)
    for done in (1024, 2048, 4096):
        bar.update(done)
    bar.finish()
    text = stream.getvalue()
    assert text.startswith("\rwrite slot B [") and "4096/4096 bytes" in text and "KiB/s" in text
    assert text.endswith("\n") and "(25%)" not in text
