"""``linegate image``: firmware image keys, build, sign, inspect and verify (boards/IMAGE.md).

    linegate image keygen KEY                       writes KEY (private) and KEY.pub
    linegate image build --board KIND --version X.Y.Z --key KEY -o IMAGE PAYLOAD
    linegate image sign --key KEY -o OUT IMAGE      the same image, signed by another key
    linegate image inspect IMAGE [--json]
    linegate image verify IMAGE --trust KEY.pub [--trust ...] [--board KIND] [--hw-revision N]
                                [--running X.Y.Z] [--allow-downgrade]

Refusals have their own exit codes (tools/cli.py): 2 a malformed image or bad
arguments, 4 a bad signature or a key not trusted, 5 an image that does not fit
the board (kind, hardware revision, downgrade, size).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

from gateway.errors import UsageError


def _kind(text: str):
    from gateway.boards.kinds import kind_by_name

    try:
        return kind_by_name(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _version(text: str):
    from gateway.boards.protocol import Version

    try:
        return Version.parse(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _revision(text: str) -> int:
    if not text.isdigit() or int(text) > 255:
        raise argparse.ArgumentTypeError(f"{text!r} is not a hardware revision 0..255")
    return int(text)


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: a folder, not a {what}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def _write(path: str, data: bytes) -> None:
    # Written beside the target and renamed: an interrupted build never leaves half an image.
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, target)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _private_key(path: str):
    from gateway.boards.image import load_private_key

    _read(path, "key file")
    return load_private_key(path)


def _trusted(paths: list[str]) -> list[bytes]:
    from gateway.boards.image import load_public_key

    keys = []
    for path in paths:
        _read(path, "public key file")
        keys.append(load_public_key(path))
    return keys


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser(
        "image", help="firmware images: keys, build, sign, inspect, verify",
        description="Build, sign, inspect and verify firmware images (boards/IMAGE.md).")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    keygen = actions.add_parser("keygen", help="make a signing key pair",
                                description="Write a new Ed25519 private key to KEY (PEM, PKCS#8, mode 0600) "
                                            "and its public key to KEY.pub (64 hex digits).")
    keygen.add_argument("key", metavar="KEY")
    keygen.add_argument("--force", action="store_true", help="replace KEY and KEY.pub if they exist")
    keygen.set_defaults(run=run_keygen)

    build = actions.add_parser("build", help="build and sign an image from a firmware payload")
    build.add_argument("payload", metavar="PAYLOAD", help="the firmware as the board runs it")
    build.add_argument("--board", type=_kind, required=True, metavar="KIND", help="e1x2, fxo4 or fxs4")
    build.add_argument("--version", type=_version, required=True, metavar="X.Y.Z")
    build.add_argument("--key", required=True, metavar="KEY", help="private key from `linegate image keygen`")
    build.add_argument("-o", "--output", required=True, metavar="IMAGE")
    build.add_argument("--hw-min", type=_revision, metavar="N",
                       help="lowest hardware revision it runs on (default: the kind's current one)")
    build.add_argument("--hw-max", type=_revision, metavar="N", help="highest (default: --hw-min)")
    build.set_defaults(run=run_build)

    sign = actions.add_parser("sign", help="sign an existing image with another key")
    sign.add_argument("image", metavar="IMAGE")
    sign.add_argument("--key", required=True, metavar="KEY")
    sign.add_argument("-o", "--output", required=True, metavar="OUT")
    sign.set_defaults(run=run_sign)

    inspect = actions.add_parser("inspect", help="show an image's header")
    inspect.add_argument("image", metavar="IMAGE")
    inspect.add_argument("--json", action="store_true", help="one JSON object")
    inspect.set_defaults(run=run_inspect)

    verify = actions.add_parser("verify", help="check an image as a board's bootloader does")
    verify.add_argument("image", metavar="IMAGE")
    verify.add_argument("--trust", action="append", required=True, metavar="KEY.pub",
                        help="a trusted public key (repeat for several)")
    verify.add_argument("--board", type=_kind, metavar="KIND", help="the board it is meant for")
    verify.add_argument("--hw-revision", type=_revision, metavar="N", help="the board's hardware revision")
    verify.add_argument("--running", type=_version, metavar="X.Y.Z", help="the version the board runs")
    verify.add_argument("--allow-downgrade", action="store_true")
    verify.set_defaults(run=run_verify)


def run_keygen(args) -> int:
    from gateway.boards.image import key_id, write_keypair

    public = write_keypair(args.key, overwrite=args.force)
    print(f"{args.key}: private key; {args.key}.pub: public key {public.hex()} (key id {key_id(public).hex()[:16]})")
    return 0


def run_build(args) -> int:
    from gateway.boards.image import build_image, read_image

    payload = _read(args.payload, "payload file")
    key = _private_key(args.key)
    data = build_image(payload, args.board, args.version, key, hw_revision_min=args.hw_min,
                       hw_revision_max=args.hw_max, source=args.payload)
    _write(args.output, data)
    header = read_image(data).header
    print(f"{args.output}: {header.kind.name} {header.version}, payload {header.payload_length} bytes, "
          f"{len(data)} bytes in all, signed by key {header.key_id.hex()[:16]}")
    return 0


def run_sign(args) -> int:
    from gateway.boards.image import read_image, sign_image

    data = sign_image(_read(args.image, "image file"), _private_key(args.key), source=args.image)
    _write(args.output, data)
    print(f"{args.output}: signed by key {read_image(data).header.key_id.hex()[:16]}")
    return 0


def describe(path: str, image) -> dict:
    h = image.header
    return {"path": path, "format_version": 1, "board": h.kind.name, "board_code": h.kind.code,
            "hw_revision_min": h.hw_revision_min, "hw_revision_max": h.hw_revision_max, "version": str(h.version),
            "build_time": h.build_time, "payload_length": h.payload_length, "payload_sha256": h.payload_sha256.hex(),
            "payload_ok": image.payload_ok, "key_id": h.key_id.hex(), "size": len(image.to_bytes()),
            "slot_size": h.kind.flash.slot_size}


def run_inspect(args) -> int:
    from gateway.boards.image import read_image

    image = read_image(_read(args.image, "image file"), source=args.image, check_payload=False)
    info = describe(args.image, image)
    if args.json:
        print(json.dumps(info))
    else:
        built = datetime.datetime.fromtimestamp(info["build_time"], datetime.timezone.utc)
        print(f"{args.image}: Linegate firmware image, format 1")
        print(f"  board        {info['board']} (kind {info['board_code']}), hardware revisions "
              f"{info['hw_revision_min']}..{info['hw_revision_max']}")
        print(f"  version      {info['version']}")
        print(f"  built        {built:%Y-%m-%d %H:%M:%S} UTC")
        print(f"  payload      {info['payload_length']} bytes, sha256 {info['payload_sha256']} "
              f"({'matches' if info['payload_ok'] else 'DOES NOT MATCH'})")
        print(f"  key id       {info['key_id']}")
        print(f"  size         {info['size']} bytes of a {info['slot_size']}-byte slot")
    if not image.payload_ok:  # shown first, then refused like verify would
        read_image(image.to_bytes(), source=args.image)
    return 0


def run_verify(args) -> int:
    from gateway.boards.image import verify_image

    image = verify_image(_read(args.image, "image file"), _trusted(args.trust), board=args.board,
                         hw_revision=args.hw_revision, running=args.running, allow_downgrade=args.allow_downgrade,
                         source=args.image)
    h = image.header
    print(f"{args.image}: OK, {h.kind.name} {h.version} for hardware revisions {h.hw_revision_min}.."
          f"{h.hw_revision_max}, signed by trusted key {h.key_id.hex()[:16]}", file=sys.stdout)
    return 0
