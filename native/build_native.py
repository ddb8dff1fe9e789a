"""cffi build of the C core into ``gateway._native`` (API mode, out of line).

pip runs this through setup.py's ``cffi_modules``. The cdef is not retyped:
it is the text between ``/* cdef-begin */`` and ``/* cdef-end */`` in each
header, with struct bodies marked ``/* cdef-opaque */`` shown as ``{ ...; }``
so that Python can allocate them without depending on their fields.
"""

import os
import re
import sys

import cffi

HERE = os.path.dirname(os.path.abspath(__file__))

# Order matters: a header's types must be declared before they are used.
HEADERS = ["lg_common.h", "g711.h", "tone_gen.h", "dtmf.h", "dtmf_gen.h", "dtmf_rx.h", "modem_tone.h", "cpt.h", "amd.h", "fsk_rx.h", "fsk_tx.h", "mf.h", "mf_rx.h", "mf_tx.h", "detector_set.h"]
# Headers of the core that cffi never sees; a change to them must rebuild too.
INTERNAL_HEADERS = ["goertzel.h", "lg_simd.h", "amd_model.h", "tone_ring.h"]
SOURCES = ["lg_common.c", "g711.c", "tone_gen.c", "dtmf.c", "dtmf_gen.c", "goertzel.c", "dtmf_rx.c", "modem_tone.c", "cpt.c", "amd.c", "fsk_rx.c", "fsk_tx.c", "mf.c", "mf_rx.c", "mf_tx.c", "detector_set.c"]

_REGION = re.compile(r"/\* cdef-begin \*/(.*?)/\* cdef-end \*/", re.S)
_OPAQUE = re.compile(r"\{\s*/\* cdef-opaque \*/.*?\n\}", re.S)


def cdef_text():
    parts = []
    for name in HEADERS:
        with open(os.path.join(HERE, name), encoding="utf-8") as f:
            text = f.read()
        regions = _REGION.findall(text)
        if not regions:
            raise RuntimeError(f"native/{name}: no cdef-begin/cdef-end region")
        for region in regions:
            region = _OPAQUE.sub("{ ...; }", region)
            parts.append(region)
    return "\n".join(parts)


def _compile_args():
    # -ffp-contract=fast: ISO mode would otherwise keep every a * b + c as two
    # roundings and two dependent operations on the audio path.
    args = ["-std=c99", "-O3", "-ffp-contract=fast", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-psabi"]
    # Extra flags, e.g. "-DLG_NO_VECTOR_EXTENSIONS -DLG_NO_X86_KERNELS" for the portable code.
    args += os.environ.get("LINEGATE_NATIVE_CFLAGS", "").split()
    if os.environ.get("LINEGATE_NATIVE_DEBUG"):
        args += ["-O0", "-g", "-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    return args


ffibuilder = cffi.FFI()
ffibuilder.cdef(cdef_text())
ffibuilder.set_source(
    "gateway._native",
    "".join(f'#include "{h}"\n' for h in HEADERS),
    sources=[os.path.relpath(os.path.join(HERE, s)) for s in SOURCES],
    include_dirs=[os.path.relpath(HERE)],
    depends=[os.path.relpath(os.path.join(HERE, h)) for h in HEADERS + INTERNAL_HEADERS],
    extra_compile_args=_compile_args(),
    extra_link_args=["-fsanitize=address,undefined"] if os.environ.get("LINEGATE_NATIVE_DEBUG") else [],
    libraries=["m"],
)

if __name__ == "__main__":
    sys.stdout.write(cdef_text())
