"""CPU time of one evaluation of the behaviour model's panel expectation: a baseline commit's
``expected_panels`` against this tree's, in the same process, on the calls of a real run.

    python benchmarks/panel_expectation.py [--scenario scenarios/mssp_two_sided.yaml]
        [--baseline-commit c0b108d] [--seed 1] [--rounds 3] [--engine fast]

1. One replication of the scenario (behaviour on, seeds ``[seed, 0]``) runs with this tree,
   recording every call of ``sim.behaviour.expected.expected_panels`` (the sample, the lever
   settings, the prices, the payer count).
2. The calls are replayed, in order, by the baseline's ``expected_panels`` (the source of
   ``sim/behaviour/expected.py`` and ``sim/care/model.py`` at the baseline commit, read with
   ``git show`` and run against this tree's other modules: fee schedule, CMS-HCC code) and
   by this tree's, alternately, ``rounds`` times; each replay starts from fresh copies of the
   samples (instances of its own module's classes, no caches), so each pays its per-sample
   work (the CMS-HCC fit, the rates basis) as in a run.
3. Prints CPU microseconds per evaluation (``time.process_time``; median over rounds), also
   without the per-sample CMS-HCC fit (``fitted``: the samples carry the run's fitted quartic;
   the fit is the same code in both), and the largest relative differences of every result
   field between the two.

Relative differences: per field, ``max |new - old| / max |old|`` over a panel's entries (the
spending matrix, counts, ...) and the largest over all evaluations; for spending also the
elementwise relative difference of each payer's total.
"""

from __future__ import annotations

import os

# One BLAS thread, as benchmarks/replication_speed.py's children (set before NumPy loads):
# on a busy 2-core machine OpenBLAS's second thread spins, and the CMS-HCC fit's matrix
# product then costs ~10x the CPU time (measured 2026-12-07: 7.7 vs 0.7 ms for 1,000 x 54 x 252).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("spend", "count", "person_years", "risk", "episodes", "episode_spend",
          "coding_uplift", "qalys", "deaths", "death_qalys", "lab_at_pcp_share", "measures")


def capture(scenario: str, seed: int, engine: str | None) -> tuple[object, list[tuple]]:
    """(scenario, calls) of one replication: each call ``(sample, levers_list, prices,
    n_payers)`` of ``expected_panels``."""
    import sim.behaviour.expected as E
    import sim.behaviour.model as M
    import sim.replication as rep
    from sim.scenario.loader import load_scenario

    sc = load_scenario(scenario)
    if engine:
        sc = sc.model_copy(update={"engine": engine})
    calls: list[tuple] = []
    orig = E.expected_panels

    def record(sc_, sample, levers_list, prices=None, n_payers=1):
        calls.append((sample, [tuple(float(v) for v in x) for x in levers_list], prices,
                      n_payers))
        return orig(sc_, sample, levers_list, prices, n_payers)

    E.expected_panels = M.expected_panels = record
    try:
        rep.simulate_replication(sc, 0, np.random.SeedSequence([seed, 0]))
    finally:
        E.expected_panels = M.expected_panels = orig
    return sc, calls


def _module(name: str, source: str) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__file__ = f"<{name}>"
    sys.modules[name] = mod
    exec(compile(source, mod.__file__, "exec"), mod.__dict__)  # noqa: S102
    return mod


def baseline_module(commit: str) -> types.ModuleType:
    """The baseline's ``sim.behaviour.expected`` (with its own ``sim.care.model``)."""
    def show(path: str) -> str:
        return subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout

    _module("_baseline_care_model", show("sim/care/model.py"))
    src = show("sim/behaviour/expected.py").replace("from sim.care.model import",
                                                     "from _baseline_care_model import")
    return _module("_baseline_expected", src)


def fresh(mod: types.ModuleType, sample: object, fitted: bool = False) -> object:
    """A copy of ``sample`` as ``mod``'s PanelSample (and HccSample), without caches
    (``fitted``: with the CMS-HCC quartic the run fitted, so no fit is timed)."""
    def copy(cls: type, obj: object) -> object:
        kw = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        return cls(**{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in kw.items()})

    hs = getattr(sample, "hcc", None)
    out = copy(mod.PanelSample, sample)
    out.hcc = None if hs is None else copy(mod.HccSample, hs)
    if fitted and hs is not None and hasattr(hs, "_poly"):
        out.hcc._poly = hs._poly.copy()
    return out


def replay(mod: types.ModuleType, sc: object, calls: list[tuple], fitted: bool = False
           ) -> tuple[float, list]:
    """(CPU seconds, results) of every call through ``mod.expected_panels``."""
    samples: dict[int, object] = {}
    args = []
    for sample, levers, prices, n_payers in calls:
        if id(sample) not in samples:
            samples[id(sample)] = fresh(mod, sample, fitted)
        args.append((samples[id(sample)], levers, prices, n_payers))
    fn = mod.expected_panels
    t = time.process_time()
    out = [fn(sc, s, lv, pr, n) for s, lv, pr, n in args]
    return time.process_time() - t, [p for res in out for p in res]


def differences(old: list, new: list) -> dict[str, float]:
    """Largest relative difference of each field over all evaluations."""
    worst = dict.fromkeys(FIELDS, 0.0)
    worst["spend_total_by_payer"] = 0.0
    for a, b in zip(old, new, strict=True):
        for f in FIELDS:
            x, y = getattr(a, f), getattr(b, f)
            if f == "measures":
                x, y = np.array(list(x.values())), np.array([y[k] for k in x])
            if x is None or y is None:
                if (x is None) != (y is None):
                    worst[f] = float("inf")
                continue
            x, y = np.asarray(x, float), np.asarray(y, float)
            scale = max(float(np.max(np.abs(x))), 1e-300)
            worst[f] = max(worst[f], float(np.max(np.abs(x - y))) / scale)
        tx, ty = a.spend.sum(axis=1), b.spend.sum(axis=1)
        worst["spend_total_by_payer"] = max(
            worst["spend_total_by_payer"],
            float(np.max(np.abs(tx - ty) / np.maximum(np.abs(tx), 1e-300))))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "mssp_two_sided.yaml"))
    ap.add_argument("--baseline-commit", default="c0b108d")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--engine", default="fast", choices=("des", "fast", "auto"))
    args = ap.parse_args()
    import sim.behaviour.expected as current

    base = baseline_module(args.baseline_commit)
    sc, calls = capture(args.scenario, args.seed, args.engine)
    n_eval = sum(len(c[1]) for c in calls)
    n_samples = len({id(c[0]) for c in calls})
    times: dict[str, list[float]] = {k: [] for k in ("baseline", "current", "baseline fitted",
                                                       "current fitted")}
    results = {}
    for _ in range(args.rounds):
        for label, mod in (("baseline", base), ("current", current)):
            sec, results[label] = replay(mod, sc, calls)
            times[label].append(sec)
            times[label + " fitted"].append(replay(mod, sc, calls, fitted=True)[0])
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"{args.scenario}: {len(calls)} calls, {n_eval} evaluations, {n_samples} samples "
          f"({', '.join(str(len(s.age)) for s in {id(c[0]): c[0] for c in calls}.values())} "
          f"patients); baseline {args.baseline_commit}; load average "
          f"{os.getloadavg()[0]:.1f}")
    for label in times:
        print(f"{label:<16} {med[label]:7.3f} CPU s  {1e6 * med[label] / n_eval:8.1f} us per "
              f"evaluation  (rounds: {', '.join(f'{x:.3f}' for x in times[label])})")
    print(f"speed-up  {med['baseline'] / med['current']:.1f}x; without the samples' CMS-HCC "
          f"fits (the same in both): {med['baseline fitted'] / med['current fitted']:.1f}x")
    print("largest relative difference (current vs baseline):")
    for k, v in differences(results["baseline"], results["current"]).items():
        print(f"  {k:<22} {v:.2e}")


if __name__ == "__main__":
    main()
