"""Firmware images per boards/IMAGE.md: keys, build, sign, read and verify.

An image is a 128-byte header, the payload and an Ed25519 signature over both.
``verify_image`` runs every check of IMAGE.md ("What a reader checks") in the
document's order and stops at the first that fails, with an error of its own
naming the field, the value and the byte offset:

- ``ImageError`` (an InputError): not an image, truncated, corrupted payload;
- ``UntrustedKeyError`` / ``BadSignatureError`` (SignatureError): signed by a
  key not given as trusted, or a signature that does not verify;
- ``ImageIncompatibleError`` (IncompatibleError): for another board kind or
  hardware revision, an unallowed downgrade, more than a slot holds.

The crypto is the ``cryptography`` package's; nothing here does arithmetic on keys.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.boards.kinds import BoardKind, kind_by_code
from gateway.boards.protocol import Version
from gateway.errors import IncompatibleError, InputError, SignatureError, UsageError

MAGIC = b"LGFW"
FORMAT_VERSION = 1
HEADER_LENGTH = 128
SIGNATURE_LENGTH = 64
MIN_IMAGE = HEADER_LENGTH + SIGNATURE_LENGTH  # IMAGE.md check 1: "at least 192 bytes"
PUBLIC_KEY_LENGTH = 32

# IMAGE.md "Layout": magic, format version, header length, kind, lowest and highest
# hardware revision, 0, version (3 bytes), 0, build time, payload length, payload
# SHA-256, key id, 36 zeros.
_HEADER = struct.Struct("<4sHHBBBB3sBQI32s32s36s")
assert _HEADER.size == HEADER_LENGTH

# Byte offsets of the header fields, for errors.
OFFSETS = {"magic": 0, "format_version": 4, "header_length": 6, "board_kind": 8, "hw_revision_min": 9,
           "hw_revision_max": 10, "version": 12, "build_time": 16, "payload_length": 24, "payload_sha256": 28,
           "key_id": 60}


class ImageError(InputError):
    """An image that is not well-formed (checks 1 to 3 of IMAGE.md)."""

    def __init__(self, field: str, value, offset: int | None, message: str, *, source=None):
        shown = value.hex() if isinstance(value, (bytes, bytearray)) else value
        super().__init__(f"{field} = {shown!r}: {message}" if field else message, source=source, field=field,
                         value=value, offset=offset)


class UntrustedKeyError(ImageError, SignatureError):
    """Check 4: the image is signed by a key that is not trusted."""


class BadSignatureError(ImageError, SignatureError):
    """Check 5: the signature does not verify with the key the image names."""


class ImageIncompatibleError(ImageError, IncompatibleError):
    """Check 6 (and a payload over the slot's size): the image does not fit this board."""


# --- keys ---------------------------------------------------------------------------------------------

def key_id(public_key: bytes) -> bytes:
    """IMAGE.md: the SHA-256 of the 32 raw bytes of the public key."""
    return hashlib.sha256(public_key).digest()


def public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def write_keypair(path, *, overwrite: bool = False) -> bytes:
    """Write a new private key to ``path`` (PEM, PKCS#8, readable by its owner only) and its
    public key to ``path.pub`` (hex of the 32 raw bytes, one line). Returns the public key."""
    path = Path(path)
    pub_path = Path(str(path) + ".pub")
    if not overwrite:
        for p in (path, pub_path):
            if p.exists():
                raise UsageError(f"{p} exists; a key is not replaced unless asked (--force)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # Created 0600 before a byte is written: the key is never readable by others, even briefly.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (0 if overwrite else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public = public_bytes(key)
    pub_path.write_text(public.hex() + "\n", encoding="ascii")
    return public


def load_private_key(path) -> Ed25519PrivateKey:
    path = Path(path)
    data = path.read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"not an unencrypted PEM (PKCS#8) private key: {exc}", source=path) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"a {type(key).__name__.removeprefix('_')} key, not an Ed25519 one", source=path)
    return key


def load_public_key(path) -> bytes:
    """The 32 raw bytes of a KEY.pub file (64 hex digits on one line)."""
    path = Path(path)
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != PUBLIC_KEY_LENGTH or "\n" in text:
        raise InputError(f"line 1: not a public key: {PUBLIC_KEY_LENGTH * 2} hex digits expected "
                         f"(the .pub file `linegate image keygen` writes)", source=path, field="key")
    return raw


# --- images -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageHeader:
    kind: BoardKind
    hw_revision_min: int
    hw_revision_max: int
    version: Version
    build_time: int
    payload_length: int
    payload_sha256: bytes
    key_id: bytes

    def pack(self) -> bytes:
        return _HEADER.pack(MAGIC, FORMAT_VERSION, HEADER_LENGTH, self.kind.code, self.hw_revision_min,
                            self.hw_revision_max, 0, bytes(self.version), 0, self.build_time, self.payload_length,
                            self.payload_sha256, self.key_id, bytes(36))


@dataclass(frozen=True)
class FirmwareImage:
    header: ImageHeader
    payload: bytes
    signature: bytes

    @property
    def signed_part(self) -> bytes:
        return self.header.pack() + self.payload

    def to_bytes(self) -> bytes:
        return self.signed_part + self.signature

    @property
    def payload_ok(self) -> bool:
        return hashlib.sha256(self.payload).digest() == self.header.payload_sha256


def _build_time() -> int:
    # SOURCE_DATE_EPOCH: the reproducible-builds convention, so that a rebuild is byte-identical.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        if not epoch.strip().isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds")
        return int(epoch)
    return int(time.time())


def build_image(payload: bytes, kind: BoardKind, version: Version, private_key: Ed25519PrivateKey, *,
                hw_revision_min: int | None = None, hw_revision_max: int | None = None,
                build_time: int | None = None, source=None) -> bytes:
    """A signed image of ``payload`` for ``kind`` (hardware revisions default to the kind's current one)."""
    lowest = kind.hw_revision if hw_revision_min is None else hw_revision_min
    highest = lowest if hw_revision_max is None else hw_revision_max
    if not 0 <= lowest <= highest <= 255:
        raise UsageError(f"hardware revisions {lowest}..{highest}: want 0 <= lowest <= highest <= 255")
    if not payload:
        raise InputError("the payload is empty; an image carries 1 byte or more", field="payload", source=source)
    if len(payload) > kind.flash.max_payload:
        raise ImageIncompatibleError("payload_length", len(payload), None,
                                     f"over the {kind.flash.max_payload} bytes a {kind.name} slot takes "
                                     f"({kind.flash.slot_size} less the header and signature)", source=source)
    when = _build_time() if build_time is None else build_time
    if not 0 <= when < 2 ** 64:
        raise UsageError(f"build time {when} is not a u64 of Unix seconds")
    header = ImageHeader(kind, lowest, highest, Version(*version), when, len(payload),
                         hashlib.sha256(payload).digest(), key_id(public_bytes(private_key)))
    signed = header.pack() + bytes(payload)
    return signed + private_key.sign(signed)


def sign_image(data: bytes, private_key: Ed25519PrivateKey, *, source=None) -> bytes:
    """The same image signed by another key (its key id replaced). The image must pass checks 1-3."""
    image = read_image(data, source=source)
    header = ImageHeader(**{**image.header.__dict__, "key_id": key_id(public_bytes(private_key))})
    signed = header.pack() + image.payload
    return signed + private_key.sign(signed)


def read_image(data: bytes, *, source=None, check_payload: bool = True) -> FirmwareImage:
    """Checks 1 to 3 of IMAGE.md for an image file: the structure and the payload's hash."""
    data = bytes(data)

    def bad(field, value, message, cls=ImageError):
        return cls(field, value, OFFSETS.get(field, 0), message, source=source)

    # 1. size, magic, format version, header length, reserved bytes, kind and revision range.
    if len(data) < MIN_IMAGE:
        raise ImageError("", len(data), 0, f"{len(data)} bytes: truncated or not an image "
                                           f"(an image has at least {MIN_IMAGE})", source=source)
    (magic, fmt, header_length, kind_code, hw_min, hw_max, zero11, version, zero15, build_time, length, digest,
     kid, zeros) = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise bad("magic", magic, "not a Linegate firmware image (the magic is 'LGFW')")
    if fmt != FORMAT_VERSION:
        raise bad("format_version", fmt, f"this reader knows format version {FORMAT_VERSION}")
    if header_length != HEADER_LENGTH:
        raise bad("header_length", header_length, f"format 1 has a {HEADER_LENGTH}-byte header")
    for offset, value in ((11, zero11), (15, zero15)):
        if value:
            raise ImageError("reserved", value, offset, "reserved byte is not 0", source=source)
    if any(zeros):
        first = next(i for i, b in enumerate(zeros) if b)
        raise ImageError("reserved", zeros[first], 92 + first, "reserved byte is not 0", source=source)
    kind = kind_by_code(kind_code)
    if kind is None:
        raise bad("board_kind", kind_code, "not a board kind (1 e1x2, 2 fxo4, 3 fxs4)")
    if hw_min > hw_max:
        raise bad("hw_revision_min", hw_min, f"above the highest hardware revision, {hw_max}")
    # 2. payload length: the file holds exactly header, payload and signature; the slot holds it.
    if length < 1:
        raise bad("payload_length", length, "an image carries 1 byte of payload or more")
    if HEADER_LENGTH + length + SIGNATURE_LENGTH != len(data):
        expected = HEADER_LENGTH + length + SIGNATURE_LENGTH
        what = "truncated" if len(data) < expected else "has bytes after its signature"
        raise bad("payload_length", length, f"makes an image of {expected} bytes; this one has {len(data)}: {what}")
    if length > kind.flash.max_payload:
        raise bad("payload_length", length, f"over the {kind.flash.max_payload} bytes a {kind.name} slot takes",
                  ImageIncompatibleError)
    payload = data[HEADER_LENGTH:HEADER_LENGTH + length]
    header = ImageHeader(kind, hw_min, hw_max, Version(*version), build_time, length, digest, kid)
    image = FirmwareImage(header, payload, data[HEADER_LENGTH + length:])
    # 3. the payload is the one the header names.
    if check_payload and not image.payload_ok:
        raise bad("payload_sha256", digest, "the payload's SHA-256 differs: the payload is corrupted")
    return image


def verify_image(data: bytes, trusted: Iterable[bytes], *, board: BoardKind | None = None,
                 hw_revision: int | None = None, running: Version | None = None, allow_downgrade: bool = False,
                 source=None) -> FirmwareImage:
    """Every check of IMAGE.md in order: 1-3 (``read_image``), 4 a trusted key, 5 the signature,
    6 (when ``board``/``hw_revision``/``running`` are given) that it fits the board."""
    image = read_image(data, source=source)
    header = image.header
    keys = {key_id(k): k for k in trusted}
    # 4. the key id names a trusted key.
    public = keys.get(header.key_id)
    if public is None:
        raise UntrustedKeyError("key_id", header.key_id, OFFSETS["key_id"],
                                f"signed by a key that is not trusted (trusted: {len(keys)} key(s))", source=source)
    # 5. the signature verifies with that key.
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(image.signature, image.signed_part)
    except InvalidSignature:
        raise BadSignatureError("signature", image.signature[:8], HEADER_LENGTH + header.payload_length,
                                "does not verify: the header or the signature was altered", source=source) from None
    # 6. the board: kind, hardware revision, no downgrade unless allowed.
    check_fit(header, board=board, hw_revision=hw_revision, running=running, allow_downgrade=allow_downgrade,
              source=source)
    return image


def check_fit(header: ImageHeader, *, board: BoardKind | None = None, hw_revision: int | None = None,
              running: Version | None = None, allow_downgrade: bool = False, source=None) -> None:
    """IMAGE.md check 6 alone: the image is for this board kind and hardware revision and is not a
    downgrade unless allowed (``linegate flash`` without --trust: the board checks the signature)."""
    if board is not None and board.code != header.kind.code:
        raise ImageIncompatibleError("board_kind", header.kind.name, OFFSETS["board_kind"],
                                     f"the board is {board.name}", source=source)
    if hw_revision is not None and not header.hw_revision_min <= hw_revision <= header.hw_revision_max:
        raise ImageIncompatibleError(
            "hw_revision_min", header.hw_revision_min, OFFSETS["hw_revision_min"],
            f"runs on hardware revisions {header.hw_revision_min}..{header.hw_revision_max}; the board is "
            f"revision {hw_revision}", source=source)
    if running is not None and tuple(header.version) < tuple(running) and not allow_downgrade:
        raise ImageIncompatibleError("version", str(header.version), OFFSETS["version"],
                                     f"older than the running {Version(*running)}; a downgrade needs "
                                     f"--allow-downgrade", source=source)
