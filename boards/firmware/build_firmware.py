"""Build the board firmware's two targets from one list of core sources.

    python boards/firmware/build_firmware.py OUT [--sanitize]     # native: the board simulator
    python boards/firmware/build_firmware.py --cortex-m OUT.elf   # Cortex-M3 (MPS2 AN385, QEMU)

setup.py's build_ext calls ``build()`` to install the native executable as
``gateway/boards/bin/linegate-fw-native``; the tests build their own copy from
the checkout. Needs a C compiler (``$CC``, default ``cc``). ``build_cortex_m()``
needs Debian's ``gcc-arm-none-eabi`` and ``libnewlib-arm-none-eabi``;
``linegate sim --target cortex-m`` calls it when its ELF is missing or stale.
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXECUTABLE = "linegate-fw-native"
CORTEX_M_ELF = "linegate-fw-cortex-m.elf"

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
TARGET = ["target/native/main.c", "../sim/line_model.c", "../sim/line_script.c", "../sim/network_link.c"]
WARNINGS = ["-Wall", "-Wextra", "-Wno-unused-parameter"]

# The Cortex-M target: the same CORE and VENDOR, its own start-up and HAL.
# The line models run inside the emulated board too (QEMU has no telephony hardware).
CORTEX_M_TARGET = ["target/cortex-m/startup.c", "target/cortex-m/main.c", "../sim/line_model.c"]
CORTEX_M_LDSCRIPT = "target/cortex-m/mps2-an385.ld"
CORTEX_M_CC = "arm-none-eabi-gcc"
# Where QEMU's loader puts the provisioning block (PSRAM + 4 MiB, past the
# emulated flash): one number for the firmware (-D) and linegate sim.
CORTEX_M_PROVISION_ADDR = 0x21400000
CORTEX_M_APT = "apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
# newlib-nano for memcpy/snprintf; no start files (startup.c is ours), no
# syscall stubs: the link fails if anything asks for I/O, a heap or exit.
CORTEX_M_FLAGS = ["-mcpu=cortex-m3", "-mthumb", "-std=c11", "-g", "-Os", "-Wall", "-Wextra", "-Werror",
                  "-ffunction-sections", "-fdata-sections", "-ffreestanding",
                  f"-DLG_PROVISION_ADDR={CORTEX_M_PROVISION_ADDR:#x}u"]
CORTEX_M_LDFLAGS = ["--specs=nano.specs", "-nostartfiles", "-Wl,--gc-sections", "-Wl,--no-warn-rwx-segments"]


def sources():
    return [os.path.join(HERE, s) for s in CORE + VENDOR + TARGET]


def cortex_m_sources():
    return [os.path.join(HERE, s) for s in CORE + VENDOR + CORTEX_M_TARGET]


def cortex_m_inputs():
    """Every file the ELF depends on (for staleness checks): sources, headers, the linker script, this script."""
    found = [os.path.abspath(__file__), os.path.join(HERE, CORTEX_M_LDSCRIPT)]
    for folder, _, names in os.walk(HERE):
        found += [os.path.join(folder, n) for n in names if n.endswith((".c", ".h"))]
    return found


def build_cortex_m(out):
    """Cross-compile the Cortex-M target into the ELF ``out``; returns its size report
    (text, data, bss). Raises RuntimeError naming the apt-get line when the
    toolchain is missing, or with the compiler's output."""
    if shutil.which(CORTEX_M_CC) is None:
        raise RuntimeError(f"building the Cortex-M firmware needs {CORTEX_M_CC}, which was not found: {CORTEX_M_APT}")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    cmd = [CORTEX_M_CC, *CORTEX_M_FLAGS, "-T", os.path.join(HERE, CORTEX_M_LDSCRIPT), *CORTEX_M_LDFLAGS,
           "-Wl,-Map=" + out + ".map", "-o", tmp, *cortex_m_sources()]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        if "nano.specs" in proc.stderr:
            raise RuntimeError(f"building the Cortex-M firmware needs newlib ({proc.stderr.strip()}): {CORTEX_M_APT}")
        raise RuntimeError(f"building {CORTEX_M_ELF} failed:\n{proc.stderr}")
    os.replace(tmp, out)
    size = shutil.which("arm-none-eabi-size")
    report = subprocess.run([size, out], capture_output=True, text=True).stdout if size else ""
    return report


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
    if sys.argv[1] == "--cortex-m":
        if len(sys.argv) != 3:
            sys.exit(__doc__)
        try:
            print(build_cortex_m(sys.argv[2]), end="")
        except RuntimeError as exc:
            sys.exit(str(exc))
        print(sys.argv[2])
    else:
        print(build(sys.argv[1], sanitize="--sanitize" in sys.argv[2:]))
