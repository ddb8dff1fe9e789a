"""The firmware's frame codec, message checks and vendored crypto, driven
through the native executable's --selftest-* modes, against PROTOCOL.md's
example, an independent encoder (struct + zlib here) and known-answer vectors."""

import random
import subprocess

import pytest

from tests.boards.fwclient import frame


def run(fw_bin, *args, data=None):
    proc = subprocess.run([str(fw_bin), *args], input=data, capture_output=True, timeout=10)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode()


def decode(fw_bin, stream):
    lines = run(fw_bin, "--selftest-decode", data=stream).splitlines()
    return lines[:-1], dict(kv.split("=") for kv in lines[-1].split()[1:])


def test_example_frame_of_protocol_md(fw_bin):
    example = bytes.fromhex("4C 47 01 01 07 00 00 00 0F 63 29 DA")
    assert run(fw_bin, "--selftest-encode", "1", "7", "").strip() == example.hex()
    events, counters = decode(fw_bin, example)
    assert events == ["frame type=1 seq=7 offset=0 payload="]
    assert counters["frames"] == "1" and counters["noise"] == "0"


def test_frames_of_an_independent_encoder_round_trip(fw_bin):
    rng = random.Random(5)
    frames = []
    for _ in range(40):
        payload = rng.randbytes(rng.choice([0, 1, 7, 160, 1024, 1280]))
        frames.append((rng.choice([0x01, 0x15, 0x21, 0x80, 0xA2]), rng.randrange(65536), payload))
    stream = b"".join(frame(*f) for f in frames)
    events, counters = decode(fw_bin, stream)
    at = 0
    for (t, s, p), line in zip(frames, events, strict=True):
        assert line == f"frame type={t} seq={s} offset={at} payload={p.hex()}"
        assert run(fw_bin, "--selftest-encode", str(t), str(s), p.hex()).strip() == frame(t, s, p).hex()
        at += 12 + len(p)
    assert counters["frames"] == "40"


def test_resync_after_garbage_and_broken_headers(fw_bin):
    good = frame(0x01, 1)
    bad_crc = bytearray(frame(0x07, 2, b"abc"))
    bad_crc[-1] ^= 1
    bad_version = frame(0x01, 3, version=2)
    bad_length = b"LG\x01\x01\x04\x00\xff\xff"          # length 65535 > 1280
    unknown = frame(0x7E, 5, b"x")
    # A frame hidden inside a corrupted one's bytes is still found.
    hidden = frame(0x07, 6)
    corrupt_outer = bytearray(frame(0x21, 7, b"\x00" * 10 + hidden + b"\x00" * 5))
    corrupt_outer[9] ^= 0xFF
    stream = b"\x00garbage L" + good + bytes(bad_crc) + bad_version + bad_length + unknown + bytes(corrupt_outer) + good
    events, counters = decode(fw_bin, stream)
    kinds = [e.split()[0] + " " + e.split()[1] for e in events]
    assert kinds == ["frame type=1", "error field=crc", "error field=version", "error field=length",
                     "error field=type", "error field=crc", "frame type=7", "frame type=1"]
    base = len(b"\x00garbage L")
    assert events[0] == f"frame type=1 seq=1 offset={base} payload="
    crc_at = base + len(good) + 8 + 3
    assert events[1] == f"error field=crc value={int.from_bytes(bad_crc[-4:], 'little')} offset={crc_at}"
    assert events[2] == f"error field=version value=2 offset={base + len(good) + len(bad_crc) + 2}"
    assert "value=65535" in events[3]
    assert "value=126" in events[4]
    assert counters["crc"] == "2" and counters["version"] == "1" and counters["length"] == "1" and counters["type"] == "1"
    assert int(counters["noise"]) >= 10


def test_random_garbage_never_yields_a_frame_or_hangs(fw_bin):
    rng = random.Random(1)
    data = bytes(rng.choice(b"LG\x01\x00\xff") for _ in range(20000))
    events, counters = decode(fw_bin, data + frame(0x01, 9))
    assert events[-1].startswith("frame type=1 seq=9")


@pytest.mark.parametrize("ftype, payload, expect", [
    (0x01, "", "ok"),
    (0x01, "00", "error field=IDENTIFY.length value=1 offset=0"),
    (0x02, "02", "error field=RESET.mode value=2 offset=0"),
    (0x21, "01" + "00000000", "error field=BL_WRITE.data value=0 offset=5"),
    (0x21, "02" + "00000000" + "aa", "error field=BL_WRITE.slot value=2 offset=0"),
    (0x22, "00" + "00000000" + "0104", "error field=BL_READ.length value=1025 offset=5"),
    (0x15, "000002" + "00000000" + "00" * 160, "error field=AUDIO.law value=2 offset=2"),
    (0x13, "001001", "error field=CAS.timeslot value=16 offset=1"),
    (0x08, "0200", "error field=CONFIG_GET.what value=2 offset=0"),
    (0x89, "", "error field=PORT_CONFIG.direction value=137 offset=0"),
    (0x81, "", "error field=IDENTITY.direction value=129 offset=0"),
    (0x40, "10270000", "ok"),
    (0x40, "1027", "error field=SIM_ADVANCE.length value=2 offset=0"),
    (0xC0, "00000000", "error field=SIM_CLOCK.direction value=192 offset=0"),
    (0x53, "", "error field=type value=83 offset=0"),
])
def test_message_checks_name_the_field(fw_bin, ftype, payload, expect):
    assert run(fw_bin, "--selftest-check", str(ftype), payload).strip() == expect


def test_sha256_and_sha512_known_answers(fw_bin):
    # FIPS 180-2 appendix B / C, "abc".
    assert run(fw_bin, "--selftest-sha256", b"abc".hex()).strip() == \
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert run(fw_bin, "--selftest-sha512", b"abc".hex()).strip() == (
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")


RFC8032_TEST1 = dict(
    pub="d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    sig="e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    msg="")
RFC8032_TEST2 = dict(
    pub="3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    sig="92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    msg="72")


@pytest.mark.parametrize("vector", [RFC8032_TEST1, RFC8032_TEST2])
def test_ed25519_rfc8032_vectors(fw_bin, vector):
    assert run(fw_bin, "--selftest-ed25519", vector["pub"], vector["sig"], vector["msg"]).strip() == "valid"
    flipped = vector["sig"][:-2] + "%02x" % (int(vector["sig"][-2:], 16) ^ 1)
    assert run(fw_bin, "--selftest-ed25519", vector["pub"], flipped, vector["msg"]).strip() == "invalid"
    assert run(fw_bin, "--selftest-ed25519", vector["pub"], vector["sig"], vector["msg"] + "00").strip() == "invalid"
