"""Firmware images (boards/IMAGE.md): layout, keys, and every refusal, each in the document's order."""

import hashlib
import os
import stat
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.boards import image as im
from gateway.boards.kinds import E1X2, FXO4, FXS4
from gateway.boards.protocol import Version
from gateway.errors import IncompatibleError, InputError, SignatureError, UsageError

# RFC 8032, section 7.1, TEST 1: the secret key, its public key, and the signature of the empty message.
RFC_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_SIGNATURE = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
                              "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
KEY = Ed25519PrivateKey.from_private_bytes(RFC_SECRET)
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PAYLOAD = bytes(range(256)) * 20


def build(payload=PAYLOAD, kind=FXO4, version=Version(1, 2, 3), key=KEY, **kw):
    return im.build_image(payload, kind, version, key, build_time=1_700_000_000, **kw)


def test_pure_ed25519_of_rfc_8032():
    assert im.public_bytes(KEY) == RFC_PUBLIC
    assert KEY.sign(b"") == RFC_SIGNATURE


def test_layout_byte_for_byte():
    data = build(hw_revision_min=1, hw_revision_max=3)
    header = (b"LGFW" + struct.pack("<HH", 1, 128) + bytes([2, 1, 3, 0, 1, 2, 3, 0])
              + struct.pack("<QI", 1_700_000_000, len(PAYLOAD)) + hashlib.sha256(PAYLOAD).digest()
              + hashlib.sha256(RFC_PUBLIC).digest() + bytes(36))
    assert len(header) == 128
    assert data[:128] == header and data[128:-64] == PAYLOAD and len(data) == 128 + len(PAYLOAD) + 64
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    Ed25519PublicKey.from_public_bytes(RFC_PUBLIC).verify(data[-64:], data[:-64])  # over header and payload
    assert build(hw_revision_min=1, hw_revision_max=3) == data  # deterministic: same inputs, same bytes
    image = im.verify_image(data, [RFC_PUBLIC], board=FXO4, hw_revision=2, running=Version(1, 2, 3))
    assert image.header.version == (1, 2, 3) and image.header.kind is FXO4 and image.payload == PAYLOAD


def test_keys_on_disk(tmp_path):
    path = tmp_path / "signing"
    public = im.write_keypair(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert (tmp_path / "signing.pub").read_text() == public.hex() + "\n"
    assert im.load_public_key(tmp_path / "signing.pub") == public
    assert im.public_bytes(im.load_private_key(path)) == public
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    with pytest.raises(UsageError, match="exists"):
        im.write_keypair(path)
    assert im.write_keypair(path, overwrite=True) != public
    (tmp_path / "bad.pub").write_text("abcd\n")
    with pytest.raises(InputError, match="64 hex digits"):
        im.load_public_key(tmp_path / "bad.pub")
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(InputError, match="PEM"):
        im.load_private_key(tmp_path / "bad.pem")


def patched(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


GOOD = build()
P = len(PAYLOAD)


@pytest.mark.parametrize("data,error,field,offset,text", [
    (GOOD[:191], im.ImageError, "", 0, "truncated or not an image"),
    (patched(GOOD, 0, b"LGFX"), im.ImageError, "magic", 0, "not a Linegate firmware image"),
    (patched(GOOD, 4, b"\x02\x00"), im.ImageError, "format_version", 4, "knows format version 1"),
    (patched(GOOD, 6, b"\x80\x01"), im.ImageError, "header_length", 6, "128-byte header"),
    (patched(GOOD, 11, b"\x01"), im.ImageError, "reserved", 11, "reserved byte"),
    (patched(GOOD, 100, b"\x01"), im.ImageError, "reserved", 100, "reserved byte"),
    (patched(GOOD, 8, b"\x07"), im.ImageError, "board_kind", 8, "not a board kind"),
    (patched(GOOD, 9, b"\x05"), im.ImageError, "hw_revision_min", 9, "above the highest"),
    (GOOD[:-1], im.ImageError, "payload_length", 24, "truncated"),
    (GOOD[:1000], im.ImageError, "payload_length", 24, "truncated"),
    (GOOD + b"\x00", im.ImageError, "payload_length", 24, "after its signature"),
    (patched(GOOD, 24, struct.pack("<I", 0)), im.ImageError, "payload_length", 24, "1 byte of payload or more"),
    (patched(GOOD, 128 + 100, b"\x00"), im.ImageError, "payload_sha256", 28, "payload is corrupted"),
    (build(key=OTHER), im.UntrustedKeyError, "key_id", 60, "not trusted"),
    (patched(GOOD, 12, b"\x09"), im.BadSignatureError, "signature", 128 + P, "does not verify"),  # the header
    (patched(GOOD, 16, b"\x01"), im.BadSignatureError, "signature", 128 + P, "does not verify"),
    (patched(GOOD, len(GOOD) - 5, b"\x00"), im.BadSignatureError, "signature", 128 + P, "does not verify"),
])
def test_refusals_in_order(data, error, field, offset, text):
    with pytest.raises(im.ImageError) as info:
        im.verify_image(data, [RFC_PUBLIC], source="fw.img")
    assert type(info.value) is error, str(info.value)
    assert (info.value.field, info.value.offset) == (field, offset)
    assert text in str(info.value) and str(info.value).startswith(f"fw.img, byte {offset}: ")


def test_signature_and_fit_errors_are_their_own_kinds():
    assert issubclass(im.UntrustedKeyError, SignatureError) and issubclass(im.BadSignatureError, SignatureError)
    assert issubclass(im.ImageIncompatibleError, IncompatibleError)
    assert issubclass(im.ImageError, InputError) and issubclass(im.ImageError, ValueError)


def test_board_checks():
    with pytest.raises(im.ImageIncompatibleError, match="the board is e1x2"):
        im.verify_image(GOOD, [RFC_PUBLIC], board=E1X2)
    with pytest.raises(im.ImageIncompatibleError, match="revisions 1..1; the board is revision 2"):
        im.verify_image(GOOD, [RFC_PUBLIC], board=FXO4, hw_revision=2)
    with pytest.raises(im.ImageIncompatibleError, match="older than the running 1.10.0"):
        im.verify_image(GOOD, [RFC_PUBLIC], running=Version(1, 10, 0))
    assert im.verify_image(GOOD, [RFC_PUBLIC], running=Version(1, 10, 0), allow_downgrade=True)
    # The order: a bad signature is reported before the board does not fit.
    with pytest.raises(im.BadSignatureError):
        im.verify_image(patched(GOOD, 12, b"\x00"), [RFC_PUBLIC], board=E1X2)


def test_oversize_for_the_slot():
    most = FXS4.flash.max_payload
    assert build(bytes(most), kind=FXS4)
    with pytest.raises(im.ImageIncompatibleError, match="over the 1572672 bytes a fxs4 slot takes"):
        build(bytes(most + 1), kind=FXS4)
    # An image file that claims (and has) one byte more than a slot takes.
    big = im.build_image(bytes(most), FXS4, Version(1, 0, 0), KEY, build_time=0)
    big = patched(big, 24, struct.pack("<I", most + 1))[:-64] + b"\x00" + big[-64:]
    with pytest.raises(im.ImageIncompatibleError) as info:
        im.verify_image(big, [RFC_PUBLIC])
    assert (info.value.field, info.value.offset) == ("payload_length", 24)
    with pytest.raises(InputError, match="empty"):
        build(b"")


def test_sign_replaces_key_and_signature():
    resigned = im.sign_image(GOOD, OTHER)
    assert resigned[:60] == GOOD[:60] and resigned[92:-64] == GOOD[92:-64]
    assert im.verify_image(resigned, [im.public_bytes(OTHER)]).payload == PAYLOAD
    with pytest.raises(im.UntrustedKeyError):
        im.verify_image(resigned, [RFC_PUBLIC])
    with pytest.raises(im.ImageError, match="corrupted"):
        im.sign_image(patched(GOOD, 200, b"\xff"), OTHER)


def test_build_time_from_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234")
    data = im.build_image(PAYLOAD, FXO4, Version(1, 0, 0), KEY)
    assert im.read_image(data).header.build_time == 1234
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        im.build_image(PAYLOAD, FXO4, Version(1, 0, 0), KEY)
