"""Fitting the care-model rates and prices of a PUF scenario to the ACO's published figures.

Rates by fixed-point scaling (the "ratio method"): simulate one FFS year of a modest panel
with the current values, multiply each utilisation rate by PUF / simulated for its count
per 1,000; repeat. Prices by a linear solve: with the events fixed, spending by category is
linear in the prices (see :func:`calibrate`). Every run uses the same seed (common random
numbers), so runs differ by the parameters, not by the dice; the Monte Carlo error of the
calibration panel (10,000 patients: ~1.3% on admissions) is the floor of the fit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.puf.mapping import Target

#: utilisation target -> scenario rates multiplied by PUF / simulated (ratio method)
RATES: dict[str, tuple[str, ...]] = {
    "admissions_per_1000": ("clinical.admissions.rate_per_year",
                            "clinical.electives.rate_per_year"),
    "ed_visits_per_1000": ("clinical.utilisation.ed_visits_per_year",),
    # primary-care capacity follows the visits, else unmet requests spill into the ED
    "pcp_visits_per_1000": ("clinical.utilisation.pcp_visits_per_year",
                            "clinical.utilisation.pcp_visits_per_condition",
                            "capacity.pcp_fte_per_1000"),
    "specialist_visits_per_1000": ("clinical.utilisation.specialist_visits_per_year",
                                   "clinical.utilisation.specialist_visits_per_condition"),
    "snf_admissions_per_1000": ("clinical.post_acute.snf_probability",),
}
#: price groups, each scaled by one factor. Imaging and chronic services are billed partly
#: by the facility (outpatient) and partly by the professional, so they form their own group.
PRICE_GROUPS: dict[str, tuple[str, ...]] = {
    "inpatient": ("prices.admission_mean_usd", "prices.elective_admission_usd"),
    "outpatient": ("prices.ed_facility_usd", "prices.outpatient_procedure_usd"),
    "professional": (
        "prices.pcp_visit_usd", "prices.specialist_visit_usd", "prices.lab_test_usd",
        "prices.ed_professional_usd", "prices.inpatient_professional_usd",
        "prices.elective_professional_usd", "prices.outpatient_procedure_professional_usd"),
    "post_acute": ("prices.snf_per_day_usd", "prices.home_health_period_usd"),
    "other": ("prices.other_claim_usd",),
    "shared": ("prices.chronic_service_usd", "prices.imaging_usd"),
}
CATEGORIES = ("inpatient", "outpatient", "professional", "post_acute", "other")
#: for the YAML comments: target -> the paths it moves
LEVERS: dict[str, tuple[str, ...]] = {
    **RATES,
    **{f"spend_{g}_per_capita_usd": PRICE_GROUPS[g] for g in CATEGORIES},
}
#: most a single step may move a value (guards against a target from a tiny count)
MAX_STEP = 4.0

Simulate = Callable[[dict[str, Any]], dict[str, float]]


@dataclass
class FitRow:
    """One line of the fit table."""

    target: str
    column: str
    puf: float
    simulated: float

    @property
    def difference(self) -> float:
        return self.simulated - self.puf

    @property
    def difference_pct(self) -> float:
        return 100.0 * self.difference / self.puf if self.puf else float("nan")


def _get(data: dict[str, Any], path: str, defaults: dict[str, Any]) -> float:
    node: Any = data
    for p in path.split("."):
        if not isinstance(node, dict) or p not in node:
            node = defaults
            for q in path.split("."):
                node = node[q]
            return float(node)
        node = node[p]
    return float(node)


def _put(data: dict[str, Any], path: str, value: float) -> None:
    node = data
    *parents, leaf = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


def _bounds(path: str) -> tuple[float, float]:
    from sim.scenario.schema import Scenario

    model: Any = Scenario
    *parents, leaf = path.split(".")
    for p in parents:
        model = model.model_fields[p].annotation
    lo, hi = 0.0, float("inf")
    for meta in model.model_fields[leaf].metadata:
        lo = float(getattr(meta, "ge", lo) if getattr(meta, "ge", None) is not None else lo)
        hi = float(getattr(meta, "le", hi) if getattr(meta, "le", None) is not None else hi)
    return lo, hi


def measured(metrics: dict[str, float]) -> dict[str, float]:
    """Per-capita spending by category from the population metrics (and the rest as is)."""
    out = dict(metrics)
    per_cap, total = metrics.get("spend_per_capita_usd", 0.0), metrics.get("spend_total_usd", 0)
    person_years = total / per_cap if per_cap else 0.0
    for cat in ("inpatient", "outpatient", "professional", "post_acute", "other"):
        v = metrics.get(f"spend_{cat}_usd")
        if v is not None and person_years:
            out[f"spend_{cat}_per_capita_usd"] = v / person_years
    return out


def _scale(data: dict[str, Any], paths: tuple[str, ...], factor: float,
           defaults: dict[str, Any], clipped: set[str]) -> None:
    for path in paths:
        lo, hi = _bounds(path)
        new = _get(data, path, defaults) * factor
        if not lo <= new <= hi:
            clipped.add(path)
            new = min(hi, max(lo, new))
        _put(data, path, float(f"{new:.6g}"))


def calibrate(data: dict[str, Any], targets: list[Target], simulate: Simulate,
              iterations: int = 2) -> tuple[dict[str, Any], list[FitRow], list[str]]:
    """Fit ``data`` to ``targets``; returns the new data, the fit table (from one more
    simulation) and the paths that hit a schema bound (their targets cannot be met).

    1. Rates: ``iterations`` ratio steps (rate x PUF / simulated per utilisation target).
    2. Prices: with the events fixed (same seed, fixed behaviour), spending by category is
       linear in the price groups' factors: one run per group with its prices doubled
       measures its spending by category (matrix A), and the factors solve
       A f = PUF (least change from 1 where the groups outnumber the targets)."""
    from sim.scenario.schema import Scenario

    defaults = Scenario().model_dump(mode="python")
    data = copy.deepcopy(data)
    clipped: set[str] = set()
    sim = measured(simulate(data))
    rate_targets = [t for t in targets if t.name in RATES]
    for _ in range(iterations if rate_targets else 0):
        for t in rate_targets:
            got = sim.get(t.name)
            if got and t.value > 0:
                _scale(data, RATES[t.name], min(MAX_STEP, max(1 / MAX_STEP, t.value / got)),
                       defaults, clipped)
        sim = measured(simulate(data))
    spend = {t.name: t.value for t in targets if t.name.startswith("spend_")}
    rows = [c for c in CATEGORIES if f"spend_{c}_per_capita_usd" in spend]
    if rows:
        base = np.array([sim.get(f"spend_{c}_per_capita_usd", 0.0) for c in rows])
        groups = list(PRICE_GROUPS)
        a = np.empty((len(rows), len(groups)))
        for j, g in enumerate(groups):
            doubled = copy.deepcopy(data)
            _scale(doubled, PRICE_GROUPS[g], 2.0, defaults, set())
            s2 = measured(simulate(doubled))
            a[:, j] = [s2.get(f"spend_{c}_per_capita_usd", 0.0) for c in rows] - base
        want = np.array([spend[f"spend_{c}_per_capita_usd"] for c in rows])
        # least change: f = 1 + pinv(A) (PUF - A 1), A 1 = base
        f = 1.0 + np.linalg.pinv(a) @ (want - base)
        for g, factor in zip(groups, f, strict=True):
            if not np.isfinite(factor):
                continue
            _scale(data, PRICE_GROUPS[g], float(min(MAX_STEP, max(1 / MAX_STEP, factor))),
                   defaults, clipped)
        sim = measured(simulate(data))
    table = [FitRow(t.name, t.column, t.value, sim.get(t.name, float("nan"))) for t in targets]
    return data, table, sorted(clipped)


def format_table(rows: list[FitRow]) -> str:
    """The fit table as aligned text."""
    lines = [f"{'target':36} {'PUF column':36} {'PUF':>10} {'simulated':>10} {'diff':>9} "
             f"{'diff %':>7}"]
    for r in rows:
        lines.append(f"{r.target:36} {r.column:36} {r.puf:10.1f} {r.simulated:10.1f} "
                     f"{r.difference:9.1f} {r.difference_pct:7.1f}")
    return "\n".join(lines)
