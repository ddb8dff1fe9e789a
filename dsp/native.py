"""The one module that imports the compiled core ``gateway._native``.

Checks the ABI version at import so that a library built from other headers
fails with a clear message instead of a crash, and turns the core's return
codes into exceptions (``check``).
"""

from gateway.errors import NativeError, UsageError

# Must equal LG_ABI_VERSION in native/lg_common.h; bump both together.
ABI_VERSION = 12

_REBUILD = "rebuild it with `pip install .` (or `python setup.py build_ext --inplace` in a checkout)"

try:
    from gateway._native import ffi, lib  # noqa: F401  (re-exported)
except ImportError as exc:  # pragma: no cover - depends on the install
    raise NativeError(f"the compiled DSP core gateway._native cannot be loaded ({exc}); {_REBUILD}") from exc

try:
    _built_abi = lib.lg_abi_version()
except AttributeError as exc:  # a library older than the ABI stamp itself
    raise NativeError(f"gateway._native has no ABI stamp: it is stale; {_REBUILD}") from exc
if _built_abi != ABI_VERSION:
    raise NativeError(
        f"gateway._native was built with C interface version {_built_abi}, "
        f"this Python code needs version {ABI_VERSION}: the build is stale; {_REBUILD}"
    )

_MESSAGES = {
    lib.LG_E_ARG: "invalid argument",
    lib.LG_E_RANGE: "parameter out of range",
    lib.LG_E_SPACE: "output buffer too small",
}


def check(rv, what):
    """Return ``rv`` if it is >= 0; otherwise raise an error naming ``what``."""
    if rv >= 0:
        return rv
    reason = _MESSAGES.get(rv, f"unknown error code {rv}")
    if rv in (lib.LG_E_ARG, lib.LG_E_RANGE):
        raise UsageError(f"{what}: {reason}")
    raise NativeError(f"{what}: {reason}")


def as_pointer(ctype, array):
    """A cffi pointer to a C-contiguous NumPy array's data (no copy)."""
    return ffi.cast(ctype, ffi.from_buffer(array))
