"""Re-measure the constants of the memory estimate in ``sim/resources.py``.

Runs ``benchmarks/profile_memory.py N YEARS --full`` (one whole replication of the default
scenario, 5 warm-up years) in a fresh process for each size, reads its peak RSS, and prints
the table and the constants to paste into ``sim/resources.py``: ``BASE_MB`` from a
least-squares line, and ``MB_PER_1000_PATIENT_YEARS`` raised until no measurement is above
the estimate. Usage, from the repository root (a few minutes; run on a quiet machine)::

    PYTHONPATH=$PWD python benchmarks/fit_memory.py
    PYTHONPATH=$PWD python benchmarks/fit_memory.py --sizes 5000x2 20000x5 50000x5
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WARMUP_YEARS = 5  # the default scenario's warmup_years


def peak_rss_mb(patients: int, years: int) -> float:
    """Peak RSS (MB) of one whole replication of ``patients`` x ``years`` plan years."""
    out = subprocess.run([sys.executable, str(HERE / "profile_memory.py"), str(patients),
                          str(years), "--full"], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(HERE.parent)}).stdout
    match = re.search(r"peak RSS \(ru_maxrss\)\s+([\d.]+) MB", out)
    if match is None:
        raise RuntimeError(f"no peak RSS in the output of profile_memory.py:\n{out}")
    return float(match[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["5000x2", "5000x5", "20000x2", "20000x5",
                                                   "50000x2", "50000x5"],
                    help="PATIENTSxPLAN_YEARS cases (default: six from 5,000 to 50,000)")
    args = ap.parse_args()
    rows = []
    for case in args.sizes:
        patients, years = (int(v) for v in case.lower().split("x"))
        py = patients * (years + WARMUP_YEARS)
        rows.append((patients, years, py, peak_rss_mb(patients, years)))
        print(f"measured {patients:,} x {years}: {rows[-1][3]:,.0f} MB", file=sys.stderr)
    x = np.array([r[2] for r in rows], float) / 1000
    y = np.array([r[3] for r in rows], float)
    base, slope = np.linalg.lstsq(np.c_[np.ones_like(x), x], y, rcond=None)[0]
    base = round(float(base), -1)
    envelope = math.ceil(100 * max(float(slope), float(((y - base) / x).max()))) / 100
    print("    patients x plan years    patient-years    peak RSS MB    estimate MB")
    for (patients, years, py, mb), xi in zip(rows, x, strict=True):
        print(f"    {patients:>10,} x {years:<2}        {py:>13,}    {mb:>11,.0f}"
              f"    {base + envelope * xi:>11,.0f}")
    print(f"\nleast squares: {base:.0f} MB + {slope:.3f} MB per 1,000 patient-years")
    print(f"BASE_MB = {base:.1f}\nMB_PER_1000_PATIENT_YEARS = {envelope:.2f}")


if __name__ == "__main__":
    main()
