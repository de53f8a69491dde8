"""One evaluation of a calibration: run every scenario at given parameter values under common
random numbers, compute every target's simulated value and the objective.

Every evaluation runs replication ``r`` of every scenario with the same ``SeedSequence``
(child ``r`` of the calibration's seed), whatever the parameter values: the patients and
the chance events are the same at every point, so the objective moves with the parameters,
not with the dice (common random numbers). A scenario's uncertain parameters are held at
their means (as in a tornado analysis), so the objective is a deterministic function of the
fitted parameters.

The objective is ``sum_k weight_k * ((simulated_k - value_k) / half_width_k)**2``: each
target's miss in units of half its interval (a miss of the interval's edge counts 1).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim._version import __version__
from sim.calibration.spec import Calibration, Target
from sim.executors import Executor
from sim.experiment import Replicate, Task, scenario_digest
from sim.rng import replication_seeds
from sim.scenario.uncertain import uncertainty_of
from sim.uncertainty import mean_values


@dataclass(frozen=True)
class Evaluation:
    """The outcome at one parameter vector: each target's simulated value and its Monte
    Carlo standard error over replications, and the objective."""

    values: dict[str, float]
    simulated: dict[str, float]
    standard_error: dict[str, float]
    objective: float


def statistic(frame: pd.DataFrame, target: Target, scenario: str) -> float:
    """The target's metric of ``scenario`` in one replication's results (its plan year, or
    the mean over plan years)."""
    t = target.spec
    rows = frame[(frame["scenario"] == scenario) & (frame["entity"] == t.entity)
                 & (frame["metric"] == t.metric)]
    if t.year != "mean":
        rows = rows[rows["year"] == t.year]
    if rows.empty:
        raise ValueError(f"target {target.name}: no {t.metric} of {t.entity} "
                         f"(year {t.year}) in the results of scenario {scenario!r}")
    return float(rows["value"].to_numpy(float).mean())


def target_value(target: Target, a: np.ndarray, b: np.ndarray | None) -> tuple[float, float]:
    """(point estimate, standard error) of a target from per-replication statistics of its
    scenario (``a``) and of the one it is compared with (``b``). A relative change is the
    ratio of the means minus one; its standard error is that of the per-replication
    ratios (paired under common random numbers)."""
    kind = target.spec.kind
    if kind == "level":
        per, point = a, float(a.mean())
    elif kind == "difference_vs":
        assert b is not None
        per, point = a - b, float(a.mean() - b.mean())
    else:
        assert b is not None
        with np.errstate(divide="ignore", invalid="ignore"):
            per = a / b - 1
        point = float(a.mean() / b.mean() - 1) if b.mean() != 0 else float("nan")
    se = float(np.std(per, ddof=1) / np.sqrt(len(per))) if len(per) > 1 else float("nan")
    return point, se


def objective_of(cal: Calibration, simulated: Mapping[str, float]) -> float:
    """Sum over targets of weight x ((simulated - value) / half-width)^2 (inf if a simulated
    value is not a number)."""
    total = 0.0
    for t in cal.targets:
        x = simulated[t.name]
        if not np.isfinite(x):
            return float("inf")
        total += t.spec.weight * ((x - t.spec.value) / t.spec.half_width) ** 2
    return float(total)


def scenario_values(cal: Calibration, values: Mapping[str, float]) -> list[dict[str, float]]:
    """The values substituted into each scenario: its uncertain parameters at their means,
    and the fitted parameters that apply to it."""
    out = []
    for s in cal.scenarios:
        fitted = {p.path: float(values[p.path]) for p in cal.parameters
                  if cal.applies(p, s.name)}
        # uncertain parameters at their means, except those fitted (matched by path)
        v = {path: m for path, m in dict(mean_values(uncertainty_of(s))).items()
             if path not in fitted}
        v.update(fitted)
        out.append(v)
    return out


def evaluate(
    cal: Calibration, values: Mapping[str, float], *, executor: Executor | None = None,
    replicate: Replicate | None = None,
) -> Evaluation:
    """Run every scenario of ``cal`` at ``values`` (``{path: value}``), replications under
    common random numbers, and compute the targets and the objective."""
    from sim.runner import execute_tasks

    seeds = replication_seeds(cal.seed, cal.replications)
    per_scenario = scenario_values(cal, values)
    tasks = [Task(k, s, r, seeds[r], values=per_scenario[k])
             for k, s in enumerate(cal.scenarios) for r in range(cal.replications)]
    outputs = execute_tasks(tasks, replicate=replicate, executor=executor, progress=False,
                            desc=f"calibrate {cal.name}")
    frames: dict[int, list[pd.DataFrame]] = {}
    for task, out in zip(tasks, outputs, strict=True):
        frames.setdefault(task.replication, []).append(out.results)
    reps = [pd.concat(frames[r], ignore_index=True) for r in range(cal.replications)]
    simulated: dict[str, float] = {}
    errors: dict[str, float] = {}
    for t in cal.targets:
        a = np.array([statistic(f, t, t.scenario) for f in reps])
        b = None if t.spec.vs is None else np.array([statistic(f, t, t.spec.vs) for f in reps])
        simulated[t.name], errors[t.name] = target_value(t, a, b)
    return Evaluation(dict(values), simulated, errors, objective_of(cal, simulated))


def calibration_digest(cal: Calibration) -> str:
    """SHA-256 of what an evaluation depends on besides the parameter values: the scenarios,
    which parameters apply where, the targets, replications, seed and vbcsim's version.
    (Bounds, starts and the method do not change an evaluation, so a resumed calibration
    may change them and still reuse the cached evaluations.)"""
    payload = {
        "scenarios": [scenario_digest(s) for s in cal.scenarios],
        "parameters": [[p.path, p.scenarios] for p in cal.parameters],
        "targets": [[t.name, t.scenario, t.spec.model_dump(mode="json")] for t in cal.targets],
        "replications": cal.replications, "seed": cal.seed, "version": __version__,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def vector_key(paths: Sequence[str], values: Mapping[str, float]) -> str:
    """The cache key of a parameter vector (each value to 12 significant digits)."""
    return json.dumps([[p, float(f"{float(values[p]):.12g}")] for p in paths])


__all__ = [
    "Evaluation",
    "calibration_digest",
    "evaluate",
    "objective_of",
    "scenario_values",
    "statistic",
    "target_value",
    "vector_key",
]
