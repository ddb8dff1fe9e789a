"""MFC/R2 call set-up time, seize to offer, Linegate against openr2 1.3.3 in every variant.

    python tests/bench/bench_r2.py [--variants ITU,CN,...] [--dnis 4000] [--ani 5551234]

Each call runs on the interop bench (tests/interop): lock step on 20 ms blocks, one
block of delay each way, real MF tones; times are line time, so the same on any machine.
Four pairings: openr2 to openr2, Linegate to openr2, openr2 to Linegate, Linegate to
Linegate (China: openr2's caller cannot send its number, so no openr2 caller there).
The called side takes exactly the number's digits (max_dnis) and up to 10 of the caller's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gateway.r2 import variants  # noqa: E402
from tests.interop.openr2_peer import build_peer, missing  # noqa: E402
from tests.interop.scenario import (linegate_calls_linegate, linegate_calls_openr2,  # noqa: E402
                                    openr2_calls_linegate, openr2_calls_openr2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(sorted(variants())))
    parser.add_argument("--dnis", default="4000")
    parser.add_argument("--ani", default="5551234")
    args = parser.parse_args(argv)
    names = [v.strip().upper() for v in args.variants.split(",") if v.strip()]
    reason = missing()
    print(f"R2 seize to offer, {len(args.dnis)}-digit number, {len(args.ani)}-digit caller; "
          f"Linegate's MF receiver: the native mfr2 detectors")
    print(f"{'variant':8} {'openr2->openr2':>15} {'Linegate->openr2':>17} {'openr2->Linegate':>17} "
          f"{'Linegate->Linegate':>19}")
    with tempfile.TemporaryDirectory() as tmp:
        binary = build_peer(Path(tmp)) if reason is None else None
        for name in names:
            ours = linegate_calls_linegate(name, args.dnis, args.ani) / 1000
            if binary is None:
                print(f"{name:8} {'-':>15} {'-':>17} {'-':>17} {ours:>18.2f}s")
                continue
            # openr2 (1.3.3) reads Mexico's I-15 as "restricted" after digits: let it stop asking first.
            max_ani = len(args.ani) if name == "MX" else 10
            both = openr2_calls_openr2(binary, name, args.dnis, args.ani, max_ani=max_ani) / 1000 \
                if name != "CN" else None
            out = linegate_calls_openr2(binary, name, args.dnis, args.ani, max_ani=max_ani).setup_s
            into = openr2_calls_linegate(binary, name, args.dnis, args.ani).setup_s if name != "CN" else None
            cell = (lambda v, w: f"{v:>{w - 1}.2f}s" if v is not None else f"{'-':>{w}}")
            print(f"{name:8} {cell(both, 15)} {cell(out, 17)} {cell(into, 17)} {cell(ours, 19)}")
    if reason is not None:
        print(f"(no openr2 figures: {reason})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
