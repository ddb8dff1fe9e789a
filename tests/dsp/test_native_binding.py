"""The binding to the compiled core: ABI stamp and return-code mapping."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.dsp import native
from gateway.errors import LinegateError, NativeError, UsageError

ROOT = Path(__file__).resolve().parents[2]


def test_abi_version_of_library_binding_and_header_agree():
    header = (ROOT / "native" / "lg_common.h").read_text()
    declared = int(re.search(r"#define LG_ABI_VERSION (\d+)", header).group(1))
    assert native.lib.lg_abi_version() == native.ABI_VERSION == declared


def test_a_stale_library_is_refused_with_a_clear_error():
    # Load the real binding module's source against the real library, with the
    # version the Python side expects moved on, as after a header change that
    # was not rebuilt.
    source = Path(native.__file__).read_text()
    patched = re.sub(r"^ABI_VERSION = \d+", f"ABI_VERSION = {native.ABI_VERSION + 1}", source, flags=re.M)
    assert patched != source
    code = (
        "import types, sys\n"
        "module = types.ModuleType('stale_binding')\n"
        f"source = {patched!r}\n"
        "try:\n"
        "    exec(compile(source, 'stale_binding', 'exec'), module.__dict__)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        "    sys.exit(0)\n"
        "sys.exit('no error raised')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("NativeError")
    assert "stale" in done.stdout and "pip install" in done.stdout


def test_check_passes_results_through():
    assert native.check(0, "x") == 0
    assert native.check(17, "x") == 17


@pytest.mark.parametrize("code, error", [
    (native.lib.LG_E_ARG, UsageError),
    (native.lib.LG_E_RANGE, UsageError),
    (native.lib.LG_E_SPACE, NativeError),
    (-99, NativeError),
])
def test_check_turns_codes_into_errors_naming_the_call(code, error):
    with pytest.raises(error, match="the thing") as raised:
        native.check(code, "the thing")
    assert isinstance(raised.value, LinegateError)
