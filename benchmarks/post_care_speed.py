"""Time what follows the care model in a replication, for this tree and a baseline commit.

    PYTHONPATH=$PWD python benchmarks/post_care_speed.py [--baseline-commit 150cf05]
        [--size 10000] [--reps 3] [--rounds 2] [--engine fast] [--no-baseline]

Runs ``sim.run`` (one process, ``workers=1``) on the PSA scenario of
``benchmarks/psa_scale.py`` (``scenarios/mssp_two_sided.yaml`` resized, parameter
uncertainty and behaviour on) in a fresh subprocess per tree and round, and reports the
**CPU seconds per replication** (``time.process_time``) of:

* ``settlement``: ``SettlementRun.settle_year`` (contracts, statements, economics),
* ``context``: outermost calls of ``SettlementContext`` queries (claims with payer and
  attribution, the CMS assignment, spending per patient, quality; inside behaviour and
  settlement alike: it overlaps ``settlement``),
* ``context_in_behaviour``: the part of ``context`` inside ``Behaviour.choose`` (the
  decisions' look at the closed years: their assignment, spending, benchmarks),
* ``metrics``: ``population_metrics``; ``output``: ``sim.replication._output``,
* ``task_overhead``: ``execute_task`` minus the replication (the drawn scenario, checks),
* ``runner_overhead``: ``sim.run`` minus every ``execute_task`` (collecting results),
* ``post_care``: everything after the care model (issue 16's row h4): settlement +
  context_in_behaviour + metrics + output + task_overhead + runner_overhead,
* ``gc``: the garbage collector's collections (``gc.callbacks``), inside the phases above,
* ``total``: ``sim.run``.

``--worker`` runs as a worker process of a parallel run does: after the untimed
replication it calls ``sim.experiment.freeze_long_lived`` (if the tree has it).

One replication (another seed) runs first, untimed, so that imports and first-use costs
are left out.

It also prints a SHA-256 of the results and side tables of the run of each tree: equal
digests mean bit-identical results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("settlement", "context", "context_in_behaviour", "metrics", "output",
          "task_overhead", "runner_overhead", "post_care", "gc", "total")


def _digest(res) -> str:  # noqa: ANN001 - a RunResult
    """SHA-256 of the results, draws and side tables of a run (bit-identity check)."""
    import pandas as pd

    h = hashlib.sha256()

    def add(name: str, frame: pd.DataFrame) -> None:
        h.update(name.encode())
        h.update(str(list(frame.columns)).encode())
        h.update(str([str(t) for t in frame.dtypes]).encode())
        h.update(pd.util.hash_pandas_object(frame, index=False).values.tobytes())

    add("results", res.results)
    if getattr(res, "draws", None) is not None:
        add("draws", res.draws)
    for name in sorted(getattr(res, "tables", {}) or {}):
        add(name, res.tables[name])
    return h.hexdigest()


def _child(args: argparse.Namespace) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    # the measured tree's psa_scale (it puts its own tree first on sys.path); cwd: the tree
    sys.path.insert(0, str(Path.cwd() / "benchmarks"))
    from psa_scale import SCENARIO, build_scenario

    import sim.experiment as experiment
    import sim.replication as rep
    from sim.runner import run
    from sim.settlement import SettlementRun
    from sim.settlement.context import SettlementContext

    if Path(sim_file := sys.modules["sim"].__file__).resolve().parents[1] != Path.cwd().resolve():
        raise SystemExit(f"measuring {Path.cwd()} but sim is imported from {sim_file}")
    import sim.behaviour.decide as decide

    spent = dict.fromkeys(PHASES, 0.0)
    depth = {"context": 0, "replication": 0, "behaviour": 0}

    def timed(owner, name: str, phase: str, guard: str | None = None) -> None:  # noqa: ANN001
        fn = getattr(owner, name)

        def wrapper(*a, **k):  # noqa: ANN202
            if guard is not None:
                depth[guard] += 1
                if depth[guard] > 1:
                    try:
                        return fn(*a, **k)
                    finally:
                        depth[guard] -= 1
            t = time.process_time()
            if phase == "behaviour":
                depth["behaviour"] += 1
            try:
                return fn(*a, **k)
            finally:
                dt = time.process_time() - t
                spent[phase] += dt
                if phase == "behaviour":
                    depth["behaviour"] -= 1
                if phase == "context" and depth["behaviour"]:
                    spent["context_in_behaviour"] += dt
                if guard is not None:
                    depth[guard] -= 1

        setattr(owner, name, wrapper)

    timed(SettlementRun, "settle_year", "settlement")
    for name in ("claims", "assigned", "spend_per_patient", "truncated_spend", "measures",
                 "quality", "members", "set_coverage"):
        timed(SettlementContext, name, "context", guard="context")
    timed(rep, "population_metrics", "metrics")
    spent["behaviour"] = 0.0
    timed(decide.Behaviour, "choose", "behaviour")
    timed(rep, "_output", "output")
    simulate = rep.simulate_replication
    inner = {"t": 0.0}

    def replicate(*a, **k):  # noqa: ANN202
        t = time.process_time()
        try:
            return simulate(*a, **k)
        finally:
            inner["t"] += time.process_time() - t

    timed(experiment, "execute_task", "task_overhead")
    sc = build_scenario(SCENARIO, args.size, args.engine)
    # one replication first, untimed: imports and first-use costs out of the figures
    run(sc, replications=1, seed=args.seed + 1, workers=1, progress=False)
    if args.worker and hasattr(experiment, "freeze_long_lived"):
        experiment.freeze_long_lived()
    import gc

    started = [0.0]

    def collected(phase: str, _info: dict) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            spent["gc"] += time.process_time() - started[0]

    gc.callbacks.append(collected)
    spent.update(dict.fromkeys((*PHASES, "behaviour"), 0.0))
    inner["t"] = 0.0
    t = time.process_time()
    res = run(sc, replications=args.reps, seed=args.seed, workers=1, progress=False,
              replicate=replicate)
    spent["total"] = time.process_time() - t
    spent["runner_overhead"] = spent["total"] - spent["task_overhead"]
    spent["task_overhead"] -= inner["t"]
    spent["post_care"] = sum(spent[p] for p in (
        "settlement", "context_in_behaviour", "metrics", "output", "task_overhead",
        "runner_overhead"))
    return {"seconds": {p: v / args.reps for p, v in spent.items()}, "digest": _digest(res)}


def _run_child(tree: Path, args: argparse.Namespace) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", "--size", str(args.size),
         "--reps", str(args.reps), "--seed", str(args.seed), "--engine", args.engine,
         *(["--worker"] if args.worker else [])],
        cwd=tree, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-commit", default="150cf05")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20_240_101)
    ap.add_argument("--engine", default="fast")
    ap.add_argument("--worker", action="store_true",
                    help="measure as in a worker process (gc.freeze after the first task)")
    ap.add_argument("--child", action="store_true", help="(internal)")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args)))
        return
    trees = {"tree": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_baseline:
            archive = subprocess.run(["git", "archive", "--format=tar", args.baseline_commit],
                                     cwd=ROOT, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            # the baseline runs this script (it may predate it)
            trees = {"baseline": Path(tmp), "tree": ROOT}
        runs: dict[str, list[dict]] = {k: [] for k in trees}
        for _ in range(args.rounds):
            for k, tree in trees.items():
                runs[k].append(_run_child(tree, args))
    print(f"CPU s per replication ({args.size:,} patients, {args.reps} reps, engine "
          f"{args.engine}; min over {args.rounds} rounds)")
    print(f"{'phase':<18}" + "".join(f"{k:>12}" for k in trees)
          + ("     speed-up" if len(trees) > 1 else ""))
    for p in PHASES:
        vals = [min(r["seconds"][p] for r in runs[k]) for k in trees]
        line = f"{p:<18}" + "".join(f"{v:12.4f}" for v in vals)
        if len(vals) > 1:
            line += f"{vals[0] / vals[1]:12.2f}x" if vals[1] > 0 else ""
        print(line)
    for k in trees:
        print(f"digest {k}: {sorted({r['digest'] for r in runs[k]})}")


if __name__ == "__main__":
    main()
