"""Build the native target of the board firmware (the board simulator).

    python boards/firmware/build_firmware.py OUT [--sanitize]

setup.py's build_ext calls ``build()`` to install the executable as
``gateway/boards/bin/linegate-fw-native``; the tests build their own copy from
the checkout. Needs a C compiler (``$CC``, default ``cc``).
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXECUTABLE = "linegate-fw-native"

# The portable core (one file a line, so that parallel work merges), then the
# native target's HAL and process, and the line models under its HAL.
CORE = [
    "crc32.c",
    "frame.c",
    "msg.c",
    "crypto.c",
    "image.c",
    "boot.c",
    "firmware.c",
    "tone.c",
    "port.c",
    "span.c",
    "config.c",
    "line.c",
]
VENDOR = ["vendor/monocypher/monocypher.c", "vendor/sha2_glue_256.c", "vendor/sha2_glue_512.c"]
TARGET = ["target/native/main.c", "../sim/line_model.c"]
WARNINGS = ["-Wall", "-Wextra", "-Wno-unused-parameter"]


def sources():
    return [os.path.join(HERE, s) for s in CORE + VENDOR + TARGET]


def build(out, sanitize=None):
    """Compile the native firmware into the file ``out``; raises RuntimeError with the compiler's output."""
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise RuntimeError(f"building the board simulator needs a C compiler: '{cc}' was not found (install gcc or set CC)")
    if sanitize is None:
        sanitize = bool(os.environ.get("LINEGATE_NATIVE_DEBUG"))
    flags = ["-std=c11", "-g"] + WARNINGS
    flags += ["-O0", "-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined"] if sanitize else ["-O2"]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    cmd = [cc, *flags, "-o", tmp, *sources()]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"building {EXECUTABLE} failed:\n{proc.stderr}")
    os.replace(tmp, out)
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print(build(sys.argv[1], sanitize="--sanitize" in sys.argv[2:]))
