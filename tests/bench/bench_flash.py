"""Time of a firmware flash over the simulator's link: `linegate flash` of a 1 MiB image to a
simulated fxo4 on loopback TCP (erase, write, read back, pending, restart, trial, confirm).

    python tests/bench/bench_flash.py [--size 1048576]

Prints the write time, its speed and the whole flash's time. Nothing is asserted about
time; tests/bench/test_bench_boards.py only checks that this runs (on a small image).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from gateway.boards import image as images  # noqa: E402
from gateway.boards.kinds import kind_by_name  # noqa: E402
from gateway.boards.protocol import Version  # noqa: E402
from gateway.tools.cli import main as linegate  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1024 * 1024, help="payload bytes (default 1 MiB)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-flash-") as d:
        key = Path(d) / "release.key"
        images.write_keypair(key)
        image = Path(d) / "fw.img"
        image.write_bytes(images.build_image(os.urandom(args.size), kind_by_name("fxo4"), Version(1, 1, 0),
                                             images.load_private_key(key)))
        print(f"flashing a {args.size}-byte payload ({image.stat().st_size} bytes of image) to sim://fxo4 "
              "over loopback TCP", flush=True)
        return linegate(["flash", f"sim://fxo4?seed=1&trust={key}.pub", str(image)])


if __name__ == "__main__":
    sys.exit(main())
