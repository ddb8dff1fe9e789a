"""The two implementations of the board protocol and the image format against
each other: the host's codec, link and image builder (Python) talking to the
board's firmware and bootloader (C, the native simulator)."""

import asyncio
import subprocess

from gateway.boards import image as images
from gateway.boards import protocol as p
from gateway.boards.kinds import kind_by_name
from gateway.boards.link import Link
from gateway.tools.sim import _make_factory


def start_board(fw_bin, state, trust):
    proc = subprocess.Popen([str(fw_bin), "--kind", "fxo4", "--state", str(state), "--listen", "tcp://127.0.0.1:0",
                             "--seed", "3", *[arg for key in trust for arg in ("--trust", str(key))],
                             *(["--factory-image", str(state / "factory-1.0.0.img")]
                               if not (state / "flash.bin").exists() else [])],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("listening on tcp://"), (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, line.split()[-1]


def test_the_host_flashes_the_firmware_and_both_agree_on_every_field(fw_bin, tmp_path):
    release_key = tmp_path / "release.key"
    images.write_keypair(release_key)
    state = tmp_path / "board"
    state.mkdir()
    factory_pub, _ = _make_factory(state, "fxo4")
    trust = [factory_pub, tmp_path / "release.key.pub"]
    payload = bytes(range(256)) * 9  # three BL_WRITEs of up to 1024 bytes
    image = images.build_image(payload, kind_by_name("fxo4"), p.Version(1, 2, 3),
                               images.load_private_key(release_key))

    async def flash(url):
        link = await Link.open(url)
        try:
            identity = await link.request(p.Identify())
            assert isinstance(identity, p.Identity)
            assert identity.kind == p.BoardCode.FXO4 and identity.firmware_version == p.Version(1, 0, 0)
            assert identity.active_slot == p.Slot.A and identity.pending_slot is None and identity.ports == 4
            assert (await link.request(p.BlErase(p.Slot.B))).status == p.ResultCode.OK
            for at in range(0, len(image), 1024):
                reply = await link.request(p.BlWrite(p.Slot.B, at, image[at:at + 1024]))
                assert reply.status == p.ResultCode.OK, reply
            readback = await link.request(p.BlRead(p.Slot.B, 0, 1024))
            assert readback.data == image[:1024]
            info = await link.request(p.BlSlotInfo(p.Slot.B))
            assert info.version == p.Version(1, 2, 3) and info.length == len(payload)
            assert (await link.request(p.BlSetPending(p.Slot.B))).status == p.ResultCode.OK
            refused = await link.request(p.BlWrite(p.Slot.A, 0, b"\x00"))  # the running slot
            assert refused.status == p.ResultCode.WRONG_STATE
        finally:
            await link.close()

    async def after_restart(url):
        link = await Link.open(url)
        try:
            identity = await link.request(p.Identify())
            assert identity.firmware_version == p.Version(1, 2, 3) and identity.active_slot == p.Slot.B
            assert identity.pending_slot == p.Slot.B  # on trial until confirmed
            assert (await link.request(p.BlConfirm())).status == p.ResultCode.OK
            identity = await link.request(p.Identify())
            assert identity.pending_slot is None and identity.active_slot == p.Slot.B
        finally:
            await link.close()

    proc, url = start_board(fw_bin, state, trust)
    try:
        asyncio.run(flash(url))
    finally:
        proc.terminate()
        proc.wait(5)
    proc, url = start_board(fw_bin, state, trust)
    try:
        asyncio.run(after_restart(url))
    finally:
        proc.terminate()
        proc.wait(5)
