"""The firmware's Cortex-M target: the same sources cross-built for a Cortex-M3
(gcc-arm-none-eabi) and booted under qemu-system-arm -M mps2-an385 by
`linegate sim --target cortex-m`, its UART on a loopback socket. Checked with
tests/boards/fwclient.py (independent of the host codec) and with the host's
own link, as `linegate probe` uses it.

Skipped only when the cross compiler, newlib or QEMU is not installed (CI
installs them: .ci/run)."""

import asyncio
import hashlib
import importlib.util
import json
import os
import shutil
import socket
import struct
import subprocess
import sys

import pytest

from gateway.boards import image as images
from gateway.boards import protocol as p
from gateway.boards.kinds import kind_by_name
from gateway.boards.link import Link
from gateway.tools.sim import serial_number

from . import fwclient as fc
from .conftest import ROOT

APT = "apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"


def _toolchain_missing():
    if shutil.which("arm-none-eabi-gcc") is None:
        return "arm-none-eabi-gcc"
    nano = subprocess.run(["arm-none-eabi-gcc", "-print-file-name=nano.specs"], capture_output=True, text=True).stdout
    if not os.path.isabs(nano.strip()):
        return "newlib-nano (libnewlib-arm-none-eabi)"
    if shutil.which("qemu-system-arm") is None:
        return "qemu-system-arm"
    return None


MISSING = _toolchain_missing()
needs_toolchain = pytest.mark.skipif(MISSING is not None, reason=f"{MISSING} is not installed ({APT})")


def _builder():
    spec = importlib.util.spec_from_file_location("build_firmware", ROOT / "boards" / "firmware" / "build_firmware.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# How long a reply of the emulated board may take (it boots, and QEMU shares the CPUs).
QEMU_REPLY_S = 15


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    out = tmp_path_factory.mktemp("cortex-m") / "linegate-fw-cortex-m.elf"
    report = _builder().build_cortex_m(str(out))
    return out, report


def _sim(args, env_elf, **kw):
    env = dict(os.environ, LINEGATE_FW_CORTEX_M=str(env_elf))
    return subprocess.Popen([sys.executable, "-m", "gateway.tools.cli", "sim", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


class QemuBoard(fc.Board):
    """fwclient's Board over the UART socket of a `linegate sim --target cortex-m`."""

    def __init__(self, proc):
        self.proc = proc
        line = proc.stdout.readline()
        if not line.startswith("listening on tcp://127.0.0.1:"):
            proc.kill()
            raise RuntimeError(f"linegate sim did not start: {line!r} {proc.stderr.read()}")
        self.url = line.split()[-1]
        self.sock = socket.create_connection(("127.0.0.1", int(line.rsplit(":", 1)[1])), timeout=QEMU_REPLY_S)
        self.seq, self.buf, self.logs = 0, b"", []


@pytest.fixture(scope="module")
def board(elf, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cortex-m-board")
    key, pub = fc.keypair()
    (tmp / "k.pub").write_text(pub.hex() + "\n")
    proc = _sim(["fxo4", "--listen", "tcp://127.0.0.1:0", "--state", str(tmp / "b"), "--trust", str(tmp / "k.pub"),
                 "--seed", "3", "--target", "cortex-m"], elf[0])
    b = QemuBoard(proc)
    b.state, b.key = tmp / "b", key
    yield b
    b.close()


@needs_toolchain
def test_the_cross_build_is_warning_free_without_syscalls(elf):
    path, report = elf
    text, data, bss = (int(v) for v in report.splitlines()[1].split()[:3])
    assert 16_000 < text < 256 * 1024 and bss < 512 * 1024
    assert open(path, "rb").read(4) == b"\x7fELF"
    mapped = open(str(path) + ".map").read()
    # No I/O and no exit reach the image: the link has no stubs for them, so these would not link.
    for syscall in ("_write_r", "_read_r", "_close_r", "_exit"):
        assert f"({syscall})" not in mapped, syscall


@needs_toolchain
def test_identify_over_the_uart(board):
    ident = board.identify()
    assert ident["kind"] == 2 and ident["serial"] == serial_number("fxo4", 3) == "FXO4-EBADD88A"
    assert ident["hw"] == 1 and ident["fw"] == (1, 0, 0) and ident["bl"] == (1, 0, 0)
    assert ident["active"] == 0 and ident["pending"] == 255 and ident["running"] == 0
    assert ident["ports"] == 4 and ident["spans"] == 0


@needs_toolchain
def test_slot_info_is_the_checked_factory_image(board):
    factory = images.read_image((board.state / "factory-1.0.0.img").read_bytes())
    a = board.slot_info(0)
    assert a["state"] == 4 and a["version"] == (1, 0, 0)  # ACTIVE
    assert a["length"] == len(factory.payload) and a["sha256"] == hashlib.sha256(factory.payload).digest()
    assert board.slot_info(1) == dict(slot=1, state=0, version=(0, 0, 0), length=0, sha256=bytes(32))  # EMPTY


@needs_toolchain
def test_bad_requests_are_refused_and_the_link_goes_on(board):
    board.send_raw(fc.frame(0x77, 900))
    t, payload = board.reply(900)
    assert t == fc.RESULT and payload[0] == fc.BAD_REQUEST and b"unknown type" in payload
    status, detail = board.result(fc.BL_SLOT_INFO, bytes([2]))
    assert status == fc.BAD_REQUEST and "slot" in detail
    status, detail = board.result(fc.BL_ERASE, bytes([0]))
    assert status == fc.WRONG_STATE and "running" in detail
    bad = bytearray(fc.frame(fc.IDENTIFY, 901))
    bad[-1] ^= 0xFF  # a CRC error has no trustworthy seq: no answer, counted
    board.send_raw(bytes(bad))
    assert board.identify()["kind"] == 2


@needs_toolchain
def test_the_host_flashes_it_and_reset_boots_the_new_image_on_trial(board):
    """The host's codec and link (what `linegate probe` and `linegate flash` use);
    RESET is a machine reset under QEMU, so this is the bootloader from scratch on
    a Cortex-M3, checking an Ed25519 signature, with the flash kept across it."""
    payload = bytes(range(256)) * 9
    image = images.build_image(payload, kind_by_name("fxo4"), p.Version(1, 2, 3), board.key)
    board.sock.close()  # one client at a time, as on the native target

    async def flash():
        link = await Link.open(board.url)
        try:
            # An emulated CPU on a busy machine: allow the first reply and the reboot time.
            identity = await link.request(p.Identify(), timeout=QEMU_REPLY_S)
            assert identity.firmware_version == p.Version(1, 0, 0) and identity.serial == "FXO4-EBADD88A"
            assert (await link.request(p.BlErase(p.Slot.B))).status == p.ResultCode.OK
            for at in range(0, len(image), 1024):
                assert (await link.request(p.BlWrite(p.Slot.B, at, image[at:at + 1024]))).status == p.ResultCode.OK
            assert (await link.request(p.BlRead(p.Slot.B, 0, 1024))).data == image[:1024]
            assert (await link.request(p.BlSetPending(p.Slot.B))).status == p.ResultCode.OK
            assert (await link.request(p.Reset(p.ResetMode.RESTART))).status == p.ResultCode.OK
            # The machine resets; the request waits in the socket until the new
            # boot enables the UART, so it is answered by the image on trial.
            identity = await link.request(p.Identify(), timeout=QEMU_REPLY_S)
            assert identity.firmware_version == p.Version(1, 2, 3) and identity.active_slot == p.Slot.B
            assert identity.pending_slot == p.Slot.B  # on trial until confirmed
            assert (await link.request(p.BlConfirm())).status == p.ResultCode.OK
        finally:
            await link.close()

    asyncio.run(flash())


def test_the_serial_is_the_native_targets_for_the_same_seed(fw_bin, tmp_path):
    # linegate sim derives the Cortex-M board's serial in Python; the native target does it in C.
    from gateway.tools.sim import _make_factory
    (tmp_path / "b").mkdir()
    factory_pub, factory = _make_factory(tmp_path / "b", "fxs4")
    native = fc.Board(fw_bin, tmp_path / "b", [factory_pub], factory, kind="fxs4", extra=["--seed", "12345"])
    try:
        assert native.identify()["serial"] == serial_number("fxs4", 12345)
    finally:
        native.close()


def test_a_missing_toolchain_is_exit_3_with_the_apt_line(tmp_path):
    (tmp_path / "k.pub").write_text("00" * 32 + "\n")
    env = dict(os.environ, PATH=str(tmp_path))  # neither the cross compiler nor QEMU on it
    env.pop("LINEGATE_FW_CORTEX_M", None)
    proc = subprocess.run([sys.executable, "-m", "gateway.tools.cli", "sim", "fxo4", "--listen", "tcp://127.0.0.1:0",
                           "--state", str(tmp_path / "b"), "--trust", str(tmp_path / "k.pub"), "--target", "cortex-m"],
                          env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 3, proc.stderr
    assert APT in proc.stderr and "qemu-system-arm, which was not found" in proc.stderr


def test_the_provisioning_block_layout():
    from gateway.tools.sim import provision_block
    block = provision_block("e1x2", 7, "E1X2-0000", [b"\x01" * 32, b"\x02" * 32], factory_image=b"IMG")
    assert block[:8] == b"LGPV\x01\x00\x01\x07" and block[8:24] == b"E1X2-0000".ljust(16, b"\0")
    assert block[24:28] == b"\x02\x01\x00\x00" and struct.unpack_from("<I", block, 28)[0] == 3
    assert block[32:96] == b"\x01" * 32 + b"\x02" * 32 and block[96:256] == bytes(160) and block[256:] == b"IMG"


@needs_toolchain
def test_linegate_probe_identifies_the_emulated_board(elf, tmp_path):
    _, pub = fc.keypair()
    (tmp_path / "k.pub").write_text(pub.hex() + "\n")
    proc = _sim(["fxo4", "--listen", "tcp://127.0.0.1:0", "--state", str(tmp_path / "b"), "--trust",
                 str(tmp_path / "k.pub"), "--seed", "5", "--target", "cortex-m"], elf[0])
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on tcp://"), (line, proc.stderr.read() if proc.poll() is not None else "")
        url = line.split()[-1]
        probe = subprocess.run([sys.executable, "-m", "gateway.tools.cli", "probe", url, "--json",
                                "--timeout", str(QEMU_REPLY_S)],
                               capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0, probe.stderr
        [found] = json.loads(probe.stdout)
        assert found["url"] == url and found["kind"] == "fxo4" and found["serial"] == serial_number("fxo4", 5)
        assert found["firmware_version"] == "1.0.0" and found["bootloader_version"] == "1.0.0"
        assert found["active_slot"] == "A"
    finally:
        proc.terminate()
        proc.wait(10)
