"""Memory of the main process of a long run, for this tree and a baseline commit (issue 16
item 4: "memory flat in the number of replications").

    PYTHONPATH=$PWD python benchmarks/main_memory.py [--baseline-commit 7bf0088]
        [--replications 200 1000] [--size 1000] [--engine fast] [--workers 2]
        [--scenarios ffs_baseline mssp_two_sided] [--json out.json]

Each measurement is ``vbcsim compare SCENARIOS --replications R --out DIR`` (the command
itself, ``sim.cli.main``) in a fresh subprocess with the tree first on ``sys.path``, the
scenarios resized to ``--size`` patients (the main process's memory does not depend on it:
it holds the replications' result rows, not their patients). The child reports its resident
memory (RSS, MiB) and its peak so far (``ru_maxrss``) at the end of each stage of the run:

* ``run``: the replications run on the workers (``sim.runner._execute``; each finished one
  written to its part in the results directory),
* ``check``: the parts checked (``sim.runner._assemble``),
* ``combine``: the parts combined into the run's tables (``sim.results.combine_parts``),
* ``write``: the results directory written (``RunResult.to_dir``),
* ``end``: the command's summaries printed,

and the rows and deep memory of the final tables. Flat memory means the ``run`` stage's RSS
does not grow with the replications; the end peak grows with the final tables only (the
run's result is held in memory for the summaries and ``RunResult``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(args: argparse.Namespace) -> None:
    import contextlib
    import io
    import warnings

    warnings.filterwarnings("ignore")
    import sim.runner as runner
    from sim.cli import main
    from sim.run_result import RunResult

    stages: list[dict] = []

    def staged(owner, name: str, stage: str) -> None:
        f = getattr(owner, name)

        def wrapper(*a, **k):
            out = f(*a, **k)
            stages.append({"stage": stage, "rss_mib": _rss(), "peak_mib": _peak()})
            return out
        setattr(owner, name, wrapper)

    staged(runner, "_execute", "run")
    staged(runner, "_assemble", "check")
    staged(runner, "combine_parts", "combine")
    staged(RunResult, "to_dir", "write")
    tables: dict = {}
    to_dir = RunResult.to_dir

    def keep(self, *a, **k):
        tables["results"] = (len(self.results),
                             float(self.results.memory_usage(deep=True).sum() / 2**20))
        for name, t in self.tables.items():
            tables[name] = (len(t), float(t.memory_usage(deep=True).sum() / 2**20))
        return to_dir(self, *a, **k)
    RunResult.to_dir = keep
    with tempfile.TemporaryDirectory(prefix="main_memory_") as tmp:
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["compare", *args.scenarios, "--replications", str(args.reps),
                         "--set", f"population.size={args.size}",
                         "--set", "attribution.enforce_minimum=false",
                         "--engine", args.engine, "--workers", str(args.workers),
                         "--quiet", "--out", str(Path(tmp) / "r")])
        wall = time.perf_counter() - t0
    if code:
        raise SystemExit(f"vbcsim compare exited with {code}")
    stages.append({"stage": "end", "rss_mib": _rss(), "peak_mib": _peak()})
    print(json.dumps({"reps": args.reps, "wall_s": wall, "stages": stages,
                      "tables": tables}))


def _measure(tree: Path, reps: int, args: argparse.Namespace) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--reps", str(reps),
           "--size", str(args.size), "--engine", args.engine, "--workers", str(args.workers),
           "--scenarios", *args.scenarios]
    out = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"child in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-commit", default=None,
                    help="also measure this commit (exported with git archive)")
    ap.add_argument("--replications", type=int, nargs="+", default=[200, 1000])
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--engine", default="fast")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scenarios", nargs="+", default=["ffs_baseline", "mssp_two_sided"])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    from replication_speed import _export  # noqa: PLC0415 (a sibling script)

    runs = []
    with tempfile.TemporaryDirectory(prefix="main_memory_base_") as tmp:
        trees = [("current", ROOT)]
        if args.baseline_commit:
            trees.insert(0, (args.baseline_commit, _export(args.baseline_commit, Path(tmp))))
        for reps in args.replications:
            for label, tree in trees:
                m = _measure(tree, reps, args)
                runs.append({"tree": label, **m})
                by = {s["stage"]: s for s in m["stages"]}
                print(f"{label:>10} {reps:>6} reps  wall {m['wall_s']:6.0f} s  "
                      + "  ".join(f"{k} {by[k]['rss_mib']:.0f}/{by[k]['peak_mib']:.0f}"
                                  for k in ("run", "check", "combine", "write", "end")
                                  if k in by)
                      + "  (RSS/peak MiB at the end of each stage)", flush=True)
                print("             final tables: " + ", ".join(
                    f"{k} {n:,} rows {mb:.0f} MiB" for k, (n, mb) in m["tables"].items()),
                    flush=True)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
