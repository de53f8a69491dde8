"""CPU time of the care model's year start and close per replication, this tree vs a commit.

    python benchmarks/year_ends.py [--baseline-commit 150cf05] [--rounds 3] [--reps 2]
        [--size 10000]

Runs the PSA of ``scenarios/mssp_two_sided.yaml`` (fast engine, behaviour and parameter
uncertainty on, ``--size`` patients, 5 warm-up + 5 plan years; ``benchmarks/psa_scale.py``
builds it) in a child process per tree and round: one replication first (seed 99: imports,
caches, the heap of a process that has run before), then ``--reps`` replications timed in
CPU seconds of the process (``time.process_time``) by wrapping
``CareSimulation.start_year``, ``CareSimulation.close_year`` (which includes
``sim.care.claims.close_year``, also shown), ``CareSimulation.run_to_year_end`` (the
executor) and ``sim.replication.simulate_replication`` (``total``). The baseline commit is
exported with ``git archive`` to a temporary directory; the trees alternate, and each
figure is the smallest over rounds (the machine is shared: the minimum is the least
disturbed), per replication. Issue 16's year start/close speed-ups were measured with it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMED = ("start_year", "close_year", "claims", "run_to_year_end", "total")


def _child(size: int, reps: int) -> None:
    """In the child (its tree first on sys.path): time the phases, print one JSON line."""
    import functools
    import time
    import warnings

    warnings.simplefilter("ignore")
    sys.path.insert(0, str(Path.cwd() / "benchmarks"))
    from psa_scale import SCENARIO, build_scenario

    import sim
    import sim.care.engine as eng
    import sim.replication as rep

    spent = dict.fromkeys(TIMED, 0.0)

    def wrap(owner: object, name: str, label: str) -> None:
        f = getattr(owner, name)

        @functools.wraps(f)
        def timed(*a: object, **k: object) -> object:
            t = time.process_time()
            try:
                return f(*a, **k)
            finally:
                spent[label] += time.process_time() - t
        setattr(owner, name, timed)

    for name in ("start_year", "close_year", "run_to_year_end"):
        wrap(eng.CareSimulation, name, name)
    wrap(eng.claimgen, "close_year", "claims")
    wrap(rep, "simulate_replication", "total")
    sc = build_scenario(SCENARIO, size, "fast")
    sim.run(sc, replications=1, seed=99, workers=1, progress=False)
    for k in spent:
        spent[k] = 0.0
    sim.run(sc, replications=reps, workers=1, progress=False)
    print(json.dumps({k: v / reps for k, v in spent.items()}))


def _run(tree: Path, size: int, reps: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child",
                          "--size", str(size), "--reps", str(reps)], cwd=tree, env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline-commit", default=None)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.size, args.reps)
        return
    trees = {"current": ROOT}
    with tempfile.TemporaryDirectory(prefix="year_ends_") as tmp:
        if args.baseline_commit:
            base = Path(tmp) / "baseline"
            base.mkdir()
            archive = subprocess.run(["git", "archive", args.baseline_commit], cwd=ROOT,
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
            # the child script from this tree (the baseline may not have it)
            (base / "benchmarks" / "year_ends.py").write_bytes(Path(__file__).read_bytes())
            trees = {"baseline": base, "current": ROOT}
        best: dict[str, dict[str, float]] = {t: {} for t in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                got = _run(tree, args.size, args.reps)
                for k, v in got.items():
                    best[name][k] = min(best[name].get(k, v), v)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CPU s per replication ({args.size:,} patients, min over {args.rounds} rounds of "
          f"{args.reps}); load average {load:.1f}")
    print(f"{'phase':18s}" + "".join(f"{t:>10s}" for t in trees)
          + ("   speed-up" if len(trees) == 2 else ""))
    for k in TIMED:
        row = [best[t][k] for t in trees]
        ratio = f"{row[0] / row[1]:10.2f}x" if len(row) == 2 and row[1] > 0 else ""
        print(f"{k:18s}" + "".join(f"{v:10.3f}" for v in row) + ratio)
    if len(trees) == 2:
        a = best["baseline"]["start_year"] + best["baseline"]["close_year"]
        b = best["current"]["start_year"] + best["current"]["close_year"]
        print(f"{'start + close':18s}{a:10.3f}{b:10.3f}{a / b:10.2f}x")


if __name__ == "__main__":
    main()
