"""`linegate image ...` in process: the exact forms of issue 5, and each refusal's exit code."""

import json

import pytest

from gateway.tools.cli import EXIT_BAD_INPUT, EXIT_INCOMPATIBLE, EXIT_UNTRUSTED, main


@pytest.fixture
def signed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    (tmp_path / "fw.bin").write_bytes(b"\x5a" * 3000)
    assert main(["image", "keygen", "KEY"]) == 0
    assert main(["image", "build", "--board", "fxo4", "--version", "1.2.3", "--key", "KEY", "-o", "fw.img",
                 "fw.bin"]) == 0
    return tmp_path


def test_keygen_build_inspect_verify(signed, capsys):
    assert (signed / "KEY").exists() and len((signed / "KEY.pub").read_text().strip()) == 64
    capsys.readouterr()
    assert main(["image", "inspect", "fw.img", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["board"] == "fxo4" and info["version"] == "1.2.3" and info["payload_length"] == 3000
    assert info["build_time"] == 1700000000 and info["payload_ok"] is True
    assert main(["image", "inspect", "fw.img"]) == 0
    out = capsys.readouterr().out
    assert "fxo4 (kind 2)" in out and "2023-11-14 22:13:20 UTC" in out and "(matches)" in out
    assert main(["image", "verify", "fw.img", "--trust", "KEY.pub", "--board", "fxo4", "--hw-revision", "1",
                 "--running", "1.2.0"]) == 0
    assert capsys.readouterr().out.startswith("fw.img: OK, fxo4 1.2.3")


def refusal(capsys, argv):
    code = main(argv)
    return code, capsys.readouterr().err


def test_refusals_and_their_exit_codes(signed, capsys):
    data = (signed / "fw.img").read_bytes()
    (signed / "trunc.img").write_bytes(data[:-10])
    (signed / "payload.img").write_bytes(data[:500] + b"\x00" + data[501:])
    (signed / "header.img").write_bytes(data[:12] + b"\x02" + data[13:])
    (signed / "sig.img").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    (signed / "magic.img").write_bytes(b"XXXX" + data[4:])
    assert main(["image", "keygen", "OTHER"]) == 0
    cases = [
        (["trunc.img"], EXIT_BAD_INPUT, "truncated"),
        (["payload.img"], EXIT_BAD_INPUT, "payload is corrupted"),
        (["header.img"], EXIT_UNTRUSTED, "does not verify"),
        (["sig.img"], EXIT_UNTRUSTED, "does not verify"),
        (["magic.img"], EXIT_BAD_INPUT, "magic"),
        (["fw.img", "--board", "e1x2"], EXIT_INCOMPATIBLE, "the board is e1x2"),
        (["fw.img", "--hw-revision", "4"], EXIT_INCOMPATIBLE, "revision 4"),
        (["fw.img", "--running", "2.0.0"], EXIT_INCOMPATIBLE, "--allow-downgrade"),
    ]
    for extra, code, text in cases:
        got, err = refusal(capsys, ["image", "verify", "--trust", "KEY.pub", *extra])
        assert (got, text in err) == (code, True), (extra, err)
    assert refusal(capsys, ["image", "verify", "fw.img", "--trust", "OTHER.pub"])[0] == EXIT_UNTRUSTED
    assert main(["image", "verify", "fw.img", "--trust", "OTHER.pub", "--trust", "KEY.pub"]) == 0
    assert main(["image", "verify", "fw.img", "--trust", "KEY.pub", "--running", "2.0.0",
                 "--allow-downgrade"]) == 0
    code, err = refusal(capsys, ["image", "inspect", "payload.img"])
    assert code == EXIT_BAD_INPUT and "corrupted" in err


def test_sign_and_bad_usage(signed, capsys):
    assert main(["image", "keygen", "OTHER"]) == 0
    assert main(["image", "sign", "fw.img", "--key", "OTHER", "-o", "re.img"]) == 0
    assert main(["image", "verify", "re.img", "--trust", "OTHER.pub"]) == 0
    assert refusal(capsys, ["image", "verify", "re.img", "--trust", "KEY.pub"])[0] == EXIT_UNTRUSTED
    for argv, text in [
        (["image", "keygen", "KEY"], "exists"),
        (["image", "build", "--board", "fxo9", "--version", "1.0.0", "--key", "KEY", "-o", "x", "fw.bin"],
         "unknown board kind 'fxo9'"),
        (["image", "build", "--board", "fxo4", "--version", "1.0", "--key", "KEY", "-o", "x", "fw.bin"],
         "X.Y.Z"),
        (["image", "build", "--board", "fxo4", "--version", "1.0.0", "--key", "KEY", "-o", "x", "none.bin"],
         "none.bin: no such payload file"),
        (["image", "build", "--board", "fxo4", "--version", "1.0.0", "--key", "KEY.pub", "-o", "x", "fw.bin"],
         "KEY.pub: not an unencrypted PEM"),
        (["image", "verify", "fw.img", "--trust", "KEY"], "not a public key"),
        (["image", "verify", "fw.img"], "--trust"),
        (["image", "inspect", "nothing.img"], "no such image file"),
    ]:
        code, err = refusal(capsys, argv)
        assert code == EXIT_BAD_INPUT and text in err, (argv, err)
    assert not (signed / "x").exists()


def test_payload_larger_than_the_slot(signed, capsys):
    (signed / "big.bin").write_bytes(bytes(1536 * 1024 - 192 + 1))
    code, err = refusal(capsys, ["image", "build", "--board", "e1x2", "--version", "1.0.0", "--key", "KEY",
                                 "-o", "big.img", "big.bin"])
    assert code == EXIT_INCOMPATIBLE and "big.bin" in err and "over the 1572672 bytes a e1x2 slot takes" in err
    assert not (signed / "big.img").exists()
