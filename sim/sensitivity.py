"""Deterministic and global sensitivity analysis of one output metric.

* :func:`tornado` — one-way sensitivity: every parameter in turn at a low and a high value,
  all others at their base case (uncertain parameters at their means). The low/high values
  are given (``"path=LOW:HIGH"`` or ``(path, low, high)``) or, for a parameter declared with
  a distribution, its 2.5th and 97.5th percentiles.
* :func:`sobol` — variance-based global sensitivity (Sobol first-order and total indices,
  via SALib): Saltelli/Sobol sampling of the declared distributions (each factor is the
  probability at which the distribution's quantile is taken, so the sample follows the
  declared distributions; a Dirichlet contributes one factor per share). Sobol indices
  assume independent inputs, so correlation groups are ignored here.

Everything is checked before the first point runs: the parameter paths, that each range is
two finite numbers LOW < HIGH giving a valid scenario at both ends, and that ``metric`` is
written for ``entity`` (:func:`check_output`).

Every design point runs ``replications`` replications with the same seed sequences (common
random numbers), so the stochastic noise is the same at every point; the output of a point
is the mean over replications of ``metric`` of ``entity`` (averaged over the years, or
summed with ``over_years="total"``). Points run on any executor, like experiments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.executors import Executor
from sim.experiment import Replicate, Task
from sim.rng import replication_seeds
from sim.scenario.schema import Scenario
from sim.scenario.uncertain import DrawError, apply_values, uncertainty_of
from sim.uncertainty import EDGE, Dirichlet, get_at, locate, mean_values


class SensitivityError(ValueError):
    """A sensitivity analysis was asked for something it cannot do."""


def known_outputs(scenario: Scenario) -> dict[str, list[str]]:
    """The metrics :func:`sim.replication.simulate_replication` writes for each entity of
    ``scenario``: the population, each provider of the run (:class:`sim.providers.
    ProviderTable`; a listed one's levers and incentives too) and each payer."""
    from sim.behaviour.expected import LEVER_NAMES
    from sim.behaviour.hospital import HOSPITAL_ONLY
    from sim.metrics import POPULATION_METRICS
    from sim.providers import ProviderTable
    from sim.settlement.engine import PAYER_METRICS, PROVIDER_METRICS

    out = {"population": [*POPULATION_METRICS, "payer_spend_usd", "payer_spend_per_capita_usd",
                          "health_sector_cost_usd"]}
    # the levers sim.replication writes: the group's, the hospital's own (elective volume,
    # post-acute intensity, CDI effort) and the specialists' volume
    levers = (*LEVER_NAMES, *HOSPITAL_ONLY, "specialist_volume")
    decides = [*PROVIDER_METRICS, *(f"lever_{n}" for n in levers),
               *(f"incentive_{n}_usd" for n in LEVER_NAMES)]
    listed = {p.name for p in scenario.providers}
    # every provider of the run: the listed ones (they decide), the implicit ones of kinds
    # nobody listed and, with attribution on, the outside ones (no levers)
    out.update({name: decides if name in listed else list(PROVIDER_METRICS)
                for name in ProviderTable.from_scenario(scenario).names})
    out.update({p.name: list(PAYER_METRICS) for p in scenario.payers})
    return out


def check_output(scenario: Scenario, metric: str, entity: str) -> None:
    """Refuse, before anything runs, an ``entity`` or ``metric`` that the results of
    ``scenario`` will not have (:class:`SensitivityError` listing what there is)."""
    known = known_outputs(scenario)
    if entity not in known:
        raise SensitivityError(f"--entity {entity!r}: not an entity of scenario "
                               f"'{scenario.name}'; expected one of {', '.join(known)}")
    if metric not in known[entity]:
        elsewhere = [e for e, metrics in known.items() if metric in metrics]
        hint = (f" ({metric!r} is written for {', '.join(elsewhere)}: set --entity)"
                if elsewhere else "")
        raise SensitivityError(f"--metric {metric!r}: not a metric of entity {entity!r}{hint}; "
                               f"expected one of {', '.join(known[entity])}")


def parse_range(text: str) -> tuple[str, float | None, float | None]:
    """``"path"`` or ``"path=LOW:HIGH"`` -> (path, low, high)."""
    if "=" not in text:
        return text, None, None
    path, _, rng = text.partition("=")
    lo, sep, hi = rng.partition(":")
    try:
        if not sep:
            raise ValueError
        low, high = float(lo), float(hi)
    except ValueError:
        raise SensitivityError(f"{text!r}: expected PATH or PATH=LOW:HIGH (two numbers)") \
            from None
    check_range(path, low, high)
    return path, low, high


def check_range(path: str, low: float, high: float) -> None:
    """Refuse a range that is not two finite numbers with ``low < high``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise SensitivityError(f"{path}: the range {low:g}:{high:g} must be two finite numbers")
    if not low < high:
        raise SensitivityError(f"{path}: expected LOW < HIGH, got {low:g}:{high:g}")


def _point_values(
    scenario: Scenario, items: Sequence[str | tuple[str, float | None, float | None]]
) -> list[tuple[str, float, float, float]]:
    """(path, base, low, high) for each tornado parameter."""
    uncertainty = uncertainty_of(scenario)
    data = scenario.model_dump()
    out = []
    for item in items:
        path, lo, hi = parse_range(item) if isinstance(item, str) else item
        try:
            keys = locate(data, path)
        except KeyError as exc:
            raise SensitivityError(f"{path}: {exc.args[0]}") from None
        base = get_at(data, keys)
        if isinstance(base, bool) or not isinstance(base, int | float):
            raise SensitivityError(f"{path}: not a numeric parameter")
        shown = ".".join(str(k) for k in keys)
        param = next((p for p in uncertainty.parameters
                      if ".".join(p.keys) == shown), None)
        if lo is None or hi is None:
            if param is None:
                declared = ", ".join(uncertainty.paths()) or "none"
                raise SensitivityError(
                    f"{path}: give a range (PATH=LOW:HIGH) or declare a distribution for it in "
                    f"the scenario; parameters with distributions: {declared}")
            if isinstance(param.dist, Dirichlet):
                raise SensitivityError(f"{path}: a dirichlet share cannot move alone (the "
                                       "shares must sum to 1)")
            lo, hi = param.dist.interval(0.95)
        check_range(path, float(lo), float(hi))
        out.append((param.path if param is not None else path, float(base), lo, hi))
    return out


def _check_points(scenario: Scenario, specs: list[tuple[str, float, float, float]],
                  base: dict[str, float]) -> None:
    """Validate the scenario at both ends of every range before anything runs."""
    for path, _, lo, hi in specs:
        for end, value in (("LOW", lo), ("HIGH", hi)):
            try:
                apply_values(scenario, {**base, path: value})
            except DrawError as exc:
                raise SensitivityError(f"{path}: {end} = {value:g} gives an invalid scenario "
                                       f"({exc})") from None


def _run_points(
    scenario: Scenario, points: list[dict[str, float]], metric: str, entity: str,
    replications: int, seed: int, over_years: str, replicate: Replicate | None,
    executor: Executor | None, progress: bool | None, desc: str,
    task_timeout: float | None = None, force: bool = False, workers: int | None = None,
) -> np.ndarray:
    from sim.runner import execute_tasks

    seeds = replication_seeds(seed, replications)
    tasks = [Task(k, scenario, r, seeds[r], values=values)
             for k, values in enumerate(points) for r in range(replications)]
    if executor is None and workers is not None:
        # as many processes as asked, at most one per task: the design points run side by
        # side (a cap of one per replication would run a one-replication Sobol serially)
        from sim.run_setup import choose_executor

        executor = choose_executor(None, workers, None, None, len(tasks), len(tasks))
    outputs = execute_tasks(tasks, replicate=replicate, executor=executor, progress=progress,
                            desc=desc, task_timeout=task_timeout, force=force)
    sums = np.zeros(len(points))
    counts = np.zeros(len(points))
    for task, out in zip(tasks, outputs, strict=True):
        res = out.results
        rows = res[(res["entity"] == entity) & (res["metric"] == metric)]
        if rows.empty:
            known = sorted(set(res["metric"].astype(str)))
            raise SensitivityError(f"no metric {metric!r} for entity {entity!r} in the results; "
                                   f"metrics: {', '.join(known)}")
        v = rows["value"].to_numpy(float)
        sums[task.scenario_index] += v.sum() if over_years == "total" else v.mean()
        counts[task.scenario_index] += 1
    return sums / counts


def tornado(
    scenario: Scenario,
    parameters: Sequence[str | tuple[str, float | None, float | None]],
    metric: str,
    *,
    entity: str = "population",
    replications: int | None = None,
    seed: int | None = None,
    over_years: str = "mean",
    replicate: Replicate | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    task_timeout: float | None = None,
    force: bool = False,
    workers: int | None = None,
) -> pd.DataFrame:
    """One-way sensitivity of ``metric`` (of ``entity``) to each parameter.

    Returns one row per parameter, largest swing first: ``parameter``, ``base_value``,
    ``low_value``, ``high_value``, ``metric_base``, ``metric_low``, ``metric_high``,
    ``swing`` (|metric_high - metric_low|). ``task_timeout`` and ``force`` as for
    :func:`sim.run`. The points run on ``executor``, or on ``workers`` local processes (at
    most one per point and replication), else serially in this process.
    """
    if not parameters:
        raise SensitivityError("name at least one parameter")
    if replicate is None:
        check_output(scenario, metric, entity)
    specs = _point_values(scenario, parameters)
    base = mean_values(uncertainty_of(scenario))
    _check_points(scenario, specs, base)
    points = [dict(base)]
    for path, _, lo, hi in specs:
        points += [{**base, path: lo}, {**base, path: hi}]
    y = _run_points(scenario, points, metric, entity,
                    replications or scenario.replications,
                    scenario.seed if seed is None else seed, over_years, replicate, executor,
                    progress, f"tornado {metric}", task_timeout, force, workers)
    rows = []
    for i, (path, value, lo, hi) in enumerate(specs):
        rows.append({"parameter": path, "base_value": base.get(path, value), "low_value": lo,
                     "high_value": hi, "metric": metric, "entity": entity,
                     "metric_base": y[0], "metric_low": y[1 + 2 * i],
                     "metric_high": y[2 + 2 * i], "swing": abs(y[2 + 2 * i] - y[1 + 2 * i])})
    table = pd.DataFrame(rows)
    return table.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def tornado_figure(table: pd.DataFrame) -> Any:
    """A tornado diagram of a :func:`tornado` table (a matplotlib ``Figure``)."""
    from matplotlib.figure import Figure

    rows = table.iloc[::-1]
    fig = Figure(figsize=(7, 0.5 + 0.45 * max(1, len(rows))))
    ax = fig.add_subplot()
    base = float(table["metric_base"].iloc[0]) if len(table) else 0.0
    y = np.arange(len(rows))
    ax.barh(y, rows["metric_low"] - base, left=base, color="#4c72b0", label="low value")
    ax.barh(y, rows["metric_high"] - base, left=base, color="#dd8452", label="high value")
    ax.axvline(base, color="black", linewidth=0.8)
    ax.set_yticks(y, rows["parameter"])
    ax.set_xlabel(f"{table['metric'].iloc[0]} ({table['entity'].iloc[0]})" if len(table) else "")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def _factors(scenario: Scenario, parameters: Sequence[str] | None) -> list[tuple[str, Any]]:
    """(factor name, (parameter, share or None)) for every Sobol factor."""
    uncertainty = uncertainty_of(scenario)
    if not uncertainty:
        raise SensitivityError("Sobol indices need parameters declared with distributions; "
                               "this scenario has none")
    chosen = list(uncertainty.parameters)
    if parameters:
        known = {p.path: p for p in chosen}
        missing = [p for p in parameters if p not in known]
        if missing:
            raise SensitivityError(f"not uncertain parameters of the scenario: "
                                   f"{', '.join(missing)}; declared: {', '.join(known)}")
        chosen = [known[p] for p in parameters]
    out: list[tuple[str, Any]] = []
    for p in chosen:
        if isinstance(p.dist, Dirichlet):
            out += [(f"{p.path}.{k}", (p, k)) for k in p.dist.keys]
        else:
            out.append((p.path, (p, None)))
    return out


def _values_at(
    factors: list[tuple[str, Any]], u: np.ndarray, base: dict[str, float]
) -> dict[str, float]:
    from scipy.stats import gamma

    values = dict(base)
    u = np.clip(u, EDGE, 1 - EDGE)
    shares: dict[str, dict[str, float]] = {}
    for (name, (param, share)), ui in zip(factors, u, strict=True):
        if share is None:
            values[name] = float(param.dist.ppf(ui))
        else:
            alpha = dict(zip(param.dist.keys, param.dist.alpha, strict=True))[share]
            shares.setdefault(param.path, {})[share] = float(gamma(alpha).ppf(ui))
    for path, g in shares.items():
        total = sum(g.values())
        values.update({f"{path}.{k}": v / total for k, v in g.items()})
    return values


def sobol(
    scenario: Scenario,
    n: int,
    metric: str,
    *,
    entity: str = "population",
    parameters: Sequence[str] | None = None,
    replications: int = 1,
    seed: int | None = None,
    over_years: str = "mean",
    replicate: Replicate | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    task_timeout: float | None = None,
    force: bool = False,
    workers: int | None = None,
) -> pd.DataFrame:
    """Sobol first-order (``S1``) and total (``ST``) indices of ``metric`` for the declared
    uncertain parameters (or those named), with 95% bootstrap half-widths (``*_conf``).

    ``n`` base samples (a power of 2) give ``n * (D + 2)`` design points for ``D`` factors,
    each run ``replications`` times. ``task_timeout`` and ``force`` as for :func:`sim.run`.
    The points run on ``executor``, or on ``workers`` local processes (at most one per
    point and replication), else serially in this process.
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    if n < 2 or n & (n - 1):
        raise SensitivityError(f"n must be a power of 2 (>= 2), got {n}")
    if replicate is None:
        check_output(scenario, metric, entity)
    factors = _factors(scenario, parameters)
    root = scenario.seed if seed is None else seed
    problem = {"num_vars": len(factors), "names": [f for f, _ in factors],
               "bounds": [[0.0, 1.0]] * len(factors)}
    sample = sobol_sample.sample(problem, n, calc_second_order=False, scramble=True,
                                 seed=root % 2**32)
    base = mean_values(uncertainty_of(scenario))
    points = [_values_at(factors, row, base) for row in sample]
    y = _run_points(scenario, points, metric, entity, replications, root, over_years,
                    replicate, executor, progress, f"sobol {metric}", task_timeout, force,
                    workers)
    if np.ptp(y) == 0:
        raise SensitivityError(f"{metric} does not vary over the sample; no variance to "
                               "attribute")
    si = sobol_analyze.analyze(problem, y, calc_second_order=False, print_to_console=False,
                               seed=root % 2**32)
    return pd.DataFrame({
        "parameter": problem["names"], "metric": metric, "entity": entity,
        "S1": si["S1"], "S1_conf": si["S1_conf"], "ST": si["ST"], "ST_conf": si["ST_conf"],
        "n": n, "points": len(points),
    }).sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)


__all__ = [
    "SensitivityError",
    "check_output",
    "check_range",
    "known_outputs",
    "parse_range",
    "sobol",
    "tornado",
    "tornado_figure",
]
