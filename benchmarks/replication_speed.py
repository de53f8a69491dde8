"""Time one replication by phase, for this tree and a baseline commit, in the same run.

    python benchmarks/replication_speed.py [--scenario scenarios/mssp_two_sided.yaml]
        [--baseline-commit 6088b4c] [--replications 1] [--rounds 2] [--json out.json]
        [--engine des|fast|auto] [--behavior fixed|incentives]

``--engine`` and ``--behavior`` override the scenario's fields in both trees (``--behavior
fixed``: everything but the optimiser, the same work in both trees).

The baseline commit is exported (``git archive``, no worktree is registered) to a
temporary directory; each round runs the baseline and this tree, alternately, each in a
fresh subprocess with its own tree first on ``sys.path``. A child runs
``sim.replication.simulate_replication`` for the scenario (seeds ``[seed, r]``) and times
its phases in **CPU seconds of the process** (``time.process_time``: other work on a
shared machine inflates wall time far more), by wrapping:

* ``care``: ``CareSimulation.start_year``, ``run_to_year_end`` and ``close_year`` (the
  discrete-event year), minus
* ``claims``: ``sim.care.claims.close_year`` (the year's routine claims drawn),
* ``behaviour``: ``Behaviour.choose`` (every decision; ``solves``: problems solved by the
  optimiser, ``evaluations``: points the objective is evaluated at,
  ``ProviderProblem.utility`` calls, or ``utility_many``'s points where it exists),
* ``settlement``: ``SettlementRun.settle_year``,
* ``metrics``: ``population_metrics``,
* ``output``: the replication's result tables (``sim.replication._output``),
* ``total``: the whole ``simulate_replication`` call (``other`` = total minus the phases).

Also timed, inside the phases above (not added to ``other``):

* ``statements``: every ``StatementBuilder.build`` (settlement statements, and those the
  optimiser's payoff tables build inside ``behaviour``),
* ``hcc_expected``: ``sim.coding.hcc.expected_raw_scores`` (the behaviour's expected
  CMS-HCC scores, inside ``behaviour``),
* ``non_optimiser``: ``total`` minus ``behaviour`` plus the statements built inside it:
  the care model, warm-up, claims, HCC documentation and scoring, settlement, statements,
  metrics and output (issue 16's "everything but the optimiser").

``--exact`` runs this tree without rounding the optimum to the lever grid: its decisions
are then those of a baseline before the rounding (checked: largest lever difference 0),
so every phase does the same work in both trees. Without it the rounding changes the
first decision by < 5e-5, and the optimiser's path-dependence (docs/behaviour.md) makes
later decisions, and hence the number of objective evaluations, differ.

Each phase's figure is the median over rounds of the per-replication mean. The behaviour
decisions of the two trees are compared (largest absolute difference of a chosen lever).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("care", "claims", "behaviour", "settlement", "metrics", "output", "other", "total")
#: timed inside the phases (see the module docstring); non_optimiser is derived
NESTED = ("statements", "hcc_expected", "non_optimiser")


def _child(scenario: str, replications: int, seed: int, exact: bool = False,
           engine: str | None = None, behavior: str | None = None) -> dict:
    """Run in the child: time the phases of ``replications`` replications (``exact``: the
    optimiser's answer unrounded, where the tree has ``ProviderProblem.solve_exact``;
    ``engine``, ``behavior``: override the scenario's fields)."""
    import numpy as np

    import sim.behaviour.decide as decide
    import sim.behaviour.model as bmodel
    import sim.care.claims as claims
    import sim.replication as rep
    from sim.care.engine import CareSimulation
    from sim.scenario.loader import load_scenario
    from sim.settlement import SettlementRun

    spent = dict.fromkeys(PHASES + NESTED + ("statements_in_behaviour",), 0.0)
    counts = {"solves": 0, "evaluations": 0}
    depth = {"behaviour": 0}

    def timed(owner, name: str, phase: str) -> None:
        fn = getattr(owner, name, None)
        if fn is None:  # not in this tree (an older baseline)
            return

        def wrapper(*a, **k):
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
                elif phase == "statements" and depth["behaviour"]:
                    spent["statements_in_behaviour"] += dt

        setattr(owner, name, wrapper)

    for name in ("start_year", "run_to_year_end", "close_year"):
        timed(CareSimulation, name, "care")
    timed(claims, "close_year", "claims")
    timed(decide.Behaviour, "choose", "behaviour")
    timed(SettlementRun, "settle_year", "settlement")
    timed(rep, "population_metrics", "metrics")
    timed(rep, "_output", "output")
    import importlib

    for module, owner, name, phase in (
            ("sim.contracts.statement", "StatementBuilder", "build", "statements"),
            ("sim.coding.hcc", None, "expected_raw_scores", "hcc_expected")):
        try:  # an older baseline tree may lack the module
            mod = importlib.import_module(module)
        except ImportError:
            continue
        timed(getattr(mod, owner) if owner else mod, name, phase)
    # A tree with ProviderProblem.utility_many evaluates every point through it (utility is
    # a batch of one): count its points; an older tree's utility calls.
    name = "utility_many" if hasattr(bmodel.ProviderProblem, "utility_many") else "utility"
    utility = getattr(bmodel.ProviderProblem, name)

    def counted(self, *a, **k):
        counts["evaluations"] += len(a[0]) if name == "utility_many" else 1
        return utility(self, *a, **k)

    setattr(bmodel.ProviderProblem, name, counted)
    solve = bmodel.ProviderProblem.solve
    if exact and hasattr(bmodel.ProviderProblem, "solve_exact"):
        solve = bmodel.ProviderProblem.solve_exact

    def solved(self, *a, **k):
        counts["solves"] += 1
        return solve(self, *a, **k)

    bmodel.ProviderProblem.solve = solved
    sc = load_scenario(scenario)
    update = {k: v for k, v in (("engine", engine), ("behavior", behavior)) if v}
    if update:
        sc = sc.model_copy(update=update)
    decisions = []
    for r in range(replications):
        beh: list = []
        init = decide.Behaviour.__init__

        def keep(self, *a, _init=init, _beh=beh, **k):
            _init(self, *a, **k)
            _beh.append(self)

        decide.Behaviour.__init__ = keep
        t = time.process_time()
        rep.simulate_replication(sc, r, np.random.SeedSequence([seed, r]))
        spent["total"] += time.process_time() - t
        decide.Behaviour.__init__ = init
        decisions += [[d.provider, d.year, [float(getattr(d.levers, n)) for n in
                                            type(d.levers).model_fields]]
                      for b in beh for d in b.decisions]
    spent["care"] -= spent["claims"]
    spent["other"] = spent["total"] - sum(spent[p] for p in PHASES[:-2])
    spent["non_optimiser"] = (spent["total"] - spent["behaviour"]
                              + spent.pop("statements_in_behaviour"))
    return {"seconds": {p: v / replications for p, v in spent.items()},
            "counts": {k: v / replications for k, v in counts.items()},
            "decisions": decisions}


def _run_child(tree: Path, args: argparse.Namespace) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", "--scenario",
         str(Path(args.scenario).resolve()), "--replications", str(args.replications),
         "--seed", str(args.seed), *(["--exact"] if args.exact else []),
         *(["--engine", args.engine] if args.engine else []),
         *(["--behavior", args.behavior] if args.behavior else [])],
        cwd=tree, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _export(commit: str, where: Path) -> Path:
    """The tree of ``commit`` written to ``where`` (git archive)."""
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    return s[len(s) // 2] if len(s) % 2 else 0.5 * (s[len(s) // 2 - 1] + s[len(s) // 2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "mssp_two_sided.yaml"))
    ap.add_argument("--baseline-commit", default="6088b4c",
                    help="commit to compare with (default: the tree before the optimiser "
                    "and expectation speed-ups)")
    ap.add_argument("--replications", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None)
    ap.add_argument("--exact", action="store_true",
                    help="this tree without rounding the optimum to the lever grid: the same "
                    "decisions as a baseline before it, so the phases compare like for like")
    ap.add_argument("--engine", default=None, choices=("des", "fast", "auto"),
                    help="override the scenario's engine (both trees)")
    ap.add_argument("--behavior", default=None, choices=("fixed", "incentives"),
                    help="override the scenario's behaviour (fixed: the care model, claims, "
                    "settlement, metrics and output without the optimiser)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.scenario, args.replications, args.seed, args.exact,
                                args.engine, args.behavior)))
        return
    with tempfile.TemporaryDirectory(prefix="vbcsim-baseline-") as tmp:
        base = _export(args.baseline_commit, Path(tmp))
        runs: dict[str, list[dict]] = {"baseline": [], "current": []}
        for _ in range(args.rounds):
            for label, tree in (("baseline", base), ("current", ROOT)):
                runs[label].append(_run_child(tree, args))
    print(f"scenario {args.scenario}, {args.replications} replication(s) x {args.rounds} "
          f"round(s); CPU seconds per replication (median over rounds); load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'phase':<12}{'baseline':>10}{'current':>10}{'speed-up':>10}")
    summary: dict = {}
    for p in PHASES + NESTED:
        b = _median([r["seconds"][p] for r in runs["baseline"]])
        c = _median([r["seconds"][p] for r in runs["current"]])
        summary[p] = {"baseline": b, "current": c}
        print(f"{p:<12}{b:>10.2f}{c:>10.2f}{(b / c if c > 0 else float('nan')):>9.1f}x")
    for k in ("solves", "evaluations"):
        b, c = (runs[x][0]["counts"][k] for x in ("baseline", "current"))
        summary[k] = {"baseline": b, "current": c}
        print(f"{k:<12}{b:>10.0f}{c:>10.0f}")
    db, dc = runs["baseline"][0]["decisions"], runs["current"][0]["decisions"]
    # levers both trees choose (a newer tree may choose more, e.g. the hospital's CDI effort)
    diff = max((abs(x - y) for a, b in zip(db, dc, strict=False)
                for x, y in zip(a[2], b[2], strict=False)), default=0.0)
    summary["max_lever_difference"] = diff
    print(f"largest difference of a chosen lever, baseline vs current: {diff:.2e} "
          f"({len(db)} vs {len(dc)} decisions)")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "summary": summary,
                                               "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
