"""Disk and memory of ``--save-claims`` and ``vbcsim claims`` (docs/claims.md).

Runs one scenario (default: the shipped ``ffs_baseline`` at ``--quick`` size, one worker)
once without and once with ``--save-claims``, then exports the kept claims as CSV and as
Parquet, each step in a fresh subprocess; prints, per 1,000 patient-years of the kept
replication, the claims and the bytes on disk, and the peak RSS of each step (the child's own
ru_maxrss). Usage::

    PYTHONPATH=. python benchmarks/claims_size.py [SCENARIO] [--set population.size=N]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def _step(args: list[str], cwd: str) -> tuple[float, float]:
    """Run ``python -m sim.cli ARGS`` in a subprocess; (wall s, peak RSS MB)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD, *args], cwd=cwd, env=env,
                          check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    return wall, peak_kb / 1024


#: the child: the command, then its own peak RSS (KB) as the last line of stderr
_CHILD = ("import resource, sys; from sim.cli import main; rc = main(sys.argv[1:]); "
          "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
          "sys.exit(rc)")


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: list[str]) -> None:
    scenario = argv[0] if argv and not argv[0].startswith("--") else "ffs_baseline"
    extra = [a for a in argv if a != scenario]
    with tempfile.TemporaryDirectory() as tmp:
        common = ["run", scenario, "--quick", "-q", "--workers", "1", *extra]
        w0, m0 = _step([*common, "--out", "plain"], tmp)
        w1, m1 = _step([*common, "--save-claims", "--out", "kept"], tmp)
        w2, m2 = _step(["claims", "kept", "--out", "csv"], tmp)
        w3, m3 = _step(["claims", "kept", "--out", "pq", "--parquet"], tmp)
        root = Path(tmp)
        res = pd.read_parquet(root / "kept" / "results.parquet")
        py = res[(res["replication"] == 0) & (res["metric"] == "person_years")]["value"].sum()
        claims = len(pd.read_parquet(next((root / "kept").rglob("claims.parquet"))))
        per = 1000.0 / py
        print(f"scenario {scenario} {' '.join(extra)}: kept replication 0, "
              f"{py:,.0f} patient-years, {claims:,} claims ({claims * per:,.0f} per 1,000 "
              "patient-years)")
        print("| step | wall s | peak RSS MB | disk MB per 1,000 patient-years |")
        print("| --- | --- | --- | --- |")
        print(f"| run without --save-claims | {w0:.1f} | {m0:.0f} | - |")
        print(f"| run with --save-claims | {w1:.1f} | {m1:.0f} | "
              f"{_size(root / 'kept' / 'claims') / 1e6 * per:.2f} (kept claims, Parquet) |")
        print(f"| vbcsim claims (CSV) | {w2:.1f} | {m2:.0f} | "
              f"{_size(root / 'csv') / 1e6 * per:.2f} |")
        print(f"| vbcsim claims --parquet | {w3:.1f} | {m3:.0f} | "
              f"{_size(root / 'pq') / 1e6 * per:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
