import pytest

from tests.interop.openr2_peer import build_peer, missing


@pytest.fixture(scope="session")
def r2_peer(tmp_path_factory):
    """tests/interop/r2_peer.c built against the system's libopenr2 (skips, saying why, without it)."""
    reason = missing()
    if reason is not None:
        pytest.skip(f"openr2 interop: {reason}")
    return build_peer(tmp_path_factory.mktemp("r2_peer"))
