import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def fw_bin(tmp_path_factory):
    """The native firmware built from this checkout (LINEGATE_NATIVE_DEBUG=1: with ASan/UBSan)."""
    spec = importlib.util.spec_from_file_location("build_firmware", ROOT / "boards" / "firmware" / "build_firmware.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        return Path(module.build(str(tmp_path_factory.mktemp("fw") / module.EXECUTABLE)))
    except RuntimeError as exc:
        pytest.fail(str(exc))
