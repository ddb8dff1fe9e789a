"""The native firmware as a board: IDENTIFY over loopback TCP, flashing by
BL_* messages, trial boot, confirm and revert, refusals, and the power-cut
sweep. The host here is tests/boards/fwclient.py (struct + zlib)."""

import hashlib
import json
import shutil
import struct
import subprocess
import time
import sys

import pytest

from tests.boards import fwclient as fc
from tests.boards.fwclient import Board

PAYLOAD = bytes(range(256)) * 10          # 2560 bytes: an image of 3 pages


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    factory, factory_pub = fc.keypair()
    release, release_pub = fc.keypair()
    (d / "factory.pub").write_text(factory_pub.hex() + "\n")
    (d / "release.pub").write_text(release_pub.hex() + "\n")
    (d / "factory.img").write_bytes(fc.image(factory, b"factory payload", version=(1, 0, 0)))
    return dict(dir=d, factory=factory, release=release, trust=[d / "factory.pub", d / "release.pub"],
                factory_image=d / "factory.img")


@pytest.fixture(scope="module")
def fresh_template(fw_bin, keys, tmp_path_factory):
    """A state directory as the factory leaves it; tests copy it."""
    state = tmp_path_factory.mktemp("template")
    b = Board(fw_bin, state, keys["trust"], factory=keys["factory_image"], extra=["--seed", "7"])
    b.close()
    return state


@pytest.fixture
def state(fresh_template, tmp_path):
    d = tmp_path / "state"
    shutil.copytree(fresh_template, d)
    return d


@pytest.fixture
def board(fw_bin, state, keys):
    b = Board(fw_bin, state, keys["trust"])
    yield b
    b.close()


def test_fresh_board_identifies(board):
    ident = board.identify()
    assert ident["kind"] == 2 and ident["serial"].startswith("FXO4-") and ident["hw"] == 1
    assert ident["fw"] == (1, 0, 0) and ident["bl"] == (1, 0, 0)
    assert ident["active"] == 0 and ident["pending"] == 255 and ident["running"] == 0
    assert ident["ports"] == 4 and ident["spans"] == 0 and ident["caps"] & 512
    a, b = board.slot_info(0), board.slot_info(1)
    assert a["state"] == 4 and a["version"] == (1, 0, 0) and a["sha256"] == hashlib.sha256(b"factory payload").digest()
    assert b["state"] == 0 and b["length"] == 0


def test_the_board_tells_the_keys_it_trusts(board, keys):
    t, payload = board.request(0x26)  # BL_KEYS
    assert t == 0xA6 and payload[0] == 2 and len(payload) == 1 + 64
    told = {payload[1 + 32 * i:33 + 32 * i] for i in range(2)}
    assert told == {bytes.fromhex(f.read_text()) for f in keys["trust"]}
    t, payload = board.request(0x26, b"\x00")  # BL_KEYS takes no payload
    assert t == fc.RESULT and payload[0] == fc.BAD_REQUEST and b"BL_KEYS" in payload


def test_flash_trial_confirm(board, keys):
    img = fc.image(keys["release"], PAYLOAD, version=(1, 1, 0))
    board.write_image(1, img)
    t, p = board.request(fc.BL_READ, struct.pack("<BIH", 1, 1024, 1024))
    assert t == fc.BL_DATA and p[5:] == img[1024:2048]
    assert board.slot_info(1)["state"] == 2
    assert board.result(fc.BL_SET_PENDING, b"\x01") == (fc.OK, "")
    assert board.slot_info(1)["state"] == 3 and board.identify()["pending"] == 1
    board.reset()
    ident = board.identify()
    assert (ident["active"], ident["fw"], ident["pending"]) == (1, (1, 1, 0), 1)
    assert any("trial" in line for line in board.logs)
    assert board.result(fc.BL_CONFIRM) == (fc.OK, "")
    assert board.result(fc.BL_CONFIRM)[0] == fc.WRONG_STATE
    board.reset()
    ident = board.identify()
    assert (ident["active"], ident["fw"], ident["pending"]) == (1, (1, 1, 0), 255)


def test_unconfirmed_trial_reverts(board, keys):
    board.write_image(1, fc.image(keys["release"], PAYLOAD, version=(1, 1, 0)))
    assert board.result(fc.BL_SET_PENDING, b"\x01")[0] == fc.OK
    board.reset()
    assert board.identify()["fw"] == (1, 1, 0)
    board.reset()                             # restarted without BL_CONFIRM: the trial failed
    ident = board.identify()
    assert (ident["active"], ident["fw"], ident["pending"]) == (0, (1, 0, 0), 255)
    assert any("not confirmed" in line for line in board.logs)


def test_an_image_written_but_not_set_pending_never_boots(board, keys):
    # A newer, valid image in the other slot is not a reason to run it: only a pending mark
    # and a confirm make it active (a power cut between the last page and BL_SET_PENDING).
    board.write_image(1, fc.image(keys["release"], PAYLOAD, version=(1, 1, 0)))
    board.reset()
    ident = board.identify()
    assert (ident["active"], ident["fw"], ident["pending"]) == (0, (1, 0, 0), 255)
    assert board.slot_info(1)["state"] == 2  # VALID, not ACTIVE


def test_running_slot_is_protected(board, keys):
    assert board.result(fc.BL_ERASE, b"\x00")[0] == fc.WRONG_STATE
    assert board.result(fc.BL_WRITE, b"\x00" + bytes(4) + b"x")[0] == fc.WRONG_STATE
    assert board.result(fc.BL_SET_PENDING, b"\x00")[0] == fc.WRONG_STATE
    assert board.identify()["fw"] == (1, 0, 0)


def _refused(board, img, words):
    board.write_image(1, img)
    status, detail = board.result(fc.BL_SET_PENDING, b"\x01")
    assert status == fc.BAD_IMAGE, detail
    assert words in detail
    assert board.slot_info(1)["state"] == 1 and board.identify()["pending"] == 255


def test_refuses_bad_signature(board, keys):
    img = bytearray(fc.image(keys["release"], PAYLOAD))
    img[-1] ^= 1
    _refused(board, bytes(img), "signature does not verify")


def test_refuses_unknown_key(board):
    stranger, _ = fc.keypair()
    _refused(board, fc.image(stranger, PAYLOAD), "not a trusted key")


def test_refuses_wrong_kind_and_revision(board, keys):
    _refused(board, fc.image(keys["release"], PAYLOAD, kind=1), "board kind 1")
    _refused(board, fc.image(keys["release"], PAYLOAD, revs=(2, 3)), "hardware revisions 2..3")


def test_refuses_truncated_and_corrupted(board, keys):
    img = fc.image(keys["release"], PAYLOAD)
    _refused(board, img[:-100], "SHA-256 does not match")
    bad = bytearray(img)
    bad[200] ^= 0xFF
    _refused(board, bytes(bad), "SHA-256 does not match")
    bad = bytearray(img)
    bad[0] = ord("X")
    _refused(board, bytes(bad), "magic")


def test_bad_requests_are_answered(board):
    board.send_raw(fc.frame(0x7E, 99, b"x"))
    t, p = board.reply(99)
    assert t == fc.RESULT and p[0] == fc.BAD_REQUEST and b"unknown type" in p
    status, detail = board.result(fc.BL_READ, struct.pack("<BIH", 0, 0, 2000))
    assert status == fc.BAD_REQUEST and "BL_READ.length" in detail
    board.send_raw(b"noise" + fc.frame(fc.IDENTIFY, 5)[:-1] + b"\x00")   # CRC broken: no answer
    assert board.identify()["kind"] == 2                                    # and the link resynchronises


def test_a_false_sync_is_given_up_when_the_link_falls_idle(board):
    # "LG", version 1 and a long length: without the idle rule the board
    # would take the next 1000 bytes, our request among them, as its payload.
    board.send_raw(b"LG\x01\x01\x00\x00\xe8\x03")
    time.sleep(0.3)
    assert board.identify()["fw"] == (1, 0, 0)


def test_state_remembers_trust_and_kind(fw_bin, state, keys, tmp_path):
    _, other = fc.keypair()
    (tmp_path / "other.pub").write_text(other.hex() + "\n")
    for extra, words in [(["--trust", str(tmp_path / "other.pub")], "not among them"), ([], "holds a fxo4 board")]:
        kind = "fxo4" if extra else "fxs4"
        proc = subprocess.run([str(fw_bin), "--kind", kind, "--state", str(state), "--listen", "tcp://127.0.0.1:0", *extra],
                              capture_output=True, text=True, timeout=5)
        assert proc.returncode == 2 and words in proc.stderr


def _try_flash(fw_bin, state, keys, cut, img):
    """The host's side of a flash (write, set pending, restart, confirm) until the power goes."""
    b = Board(fw_bin, state, keys["trust"], cut=cut)
    try:
        b.write_image(1, img)
        assert b.result(fc.BL_SET_PENDING, b"\x01")[0] == fc.OK
        b.reset()
        assert b.result(fc.BL_CONFIRM)[0] == fc.OK
        return True
    except (ConnectionError, OSError):
        return False
    finally:
        b.close()
        assert b.proc.returncode in (0, 6, -15), b.proc.returncode  # 6: the power was cut


def test_power_cut_sweep(fw_bin, fresh_template, keys, tmp_path, monkeypatch, capsys):
    """For every N up to the page writes of one flash, the next start boots a valid, checked
    image, and `linegate probe` says which."""
    from gateway.boards import simulator
    from gateway.tools.cli import main

    monkeypatch.setenv("LINEGATE_FW_NATIVE", str(fw_bin))
    img = fc.image(keys["release"], PAYLOAD, version=(1, 1, 0))
    n = 0
    seen = set()
    while True:
        state = tmp_path / f"cut{n}"
        shutil.copytree(fresh_template, state)
        completed = _try_flash(fw_bin, state, keys, n, img)
        proc, url = simulator.start("fxo4", state, keys["trust"])
        try:
            assert main(["probe", url, "--json"]) == 0, capsys.readouterr().err
            [found] = json.loads(capsys.readouterr().out)
        finally:
            simulator.stop(proc)
        assert found["running"] == "firmware", (n, found)
        assert found["firmware_version"] in {"1.0.0", "1.1.0"}
        active = [slot for slot in found["slots"] if slot["slot"] == found["active_slot"]]
        assert active and active[0]["state"] == "ACTIVE" and active[0]["version"] == found["firmware_version"]
        ident = {"fw": tuple(map(int, found["firmware_version"].split("."))),
                 "pending": 255 if found["pending_slot"] is None else found["pending_slot"]}
        seen.add(ident["fw"])
        if completed:
            assert ident["fw"] == (1, 1, 0) and ident["pending"] == 255
            break
        n += 1
        assert n < 100, "the flash never completed"
    # 3 image pages, then three records (set pending, trial begin, confirm), each over the older of
    # the two copies: the copy the first boot left blank takes a write, a used one an erase and a write.
    assert n == 8 and seen == {(1, 0, 0), (1, 1, 0)}


def test_linegate_sim_command(tmp_path):
    _, pub = fc.keypair()
    (tmp_path / "k.pub").write_text(pub.hex() + "\n")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.tools.cli", "sim", "fxs4", "--listen", "tcp://127.0.0.1:0",
                             "--state", str(tmp_path / "b"), "--trust", str(tmp_path / "k.pub"), "--seed", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on tcp://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else line
        import socket
        sock = socket.create_connection(("127.0.0.1", int(line.rsplit(":", 1)[1])), timeout=5)
        sock.sendall(fc.frame(fc.IDENTIFY, 1))
        data = b""
        while len(data) < 45:
            data += sock.recv(100)
        (t, s, p), = fc.parse(data)[0]
        assert t == fc.IDENTITY and p[0] == 3 and tuple(p[18:21]) == (1, 0, 0) and p[1:6] == b"FXS4-"
        sock.close()
    finally:
        proc.terminate()
        proc.wait(5)
    assert (tmp_path / "b" / "factory.key").exists()
