"""Fitting the care-model rates and prices of a PUF scenario to the ACO's published figures.

Fixed-point scaling (the "ratio method"): simulate one FFS year of a modest panel with the
current values, then multiply each utilisation rate by PUF / simulated for its count per
1,000 and each category's prices by PUF / simulated for its per-capita spending; repeat.
Spending is linear in prices and close to linear in the rates, so two iterations bring
every target within a few percent (the Monte Carlo error of the calibration panel sets the
floor: ~2-3% for 3,000 person-years of admissions). Every run uses the same seed (common
random numbers), so iterations differ by the parameters, not by the dice.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.puf.mapping import Target

#: target metric -> scenario paths whose values are multiplied by PUF / simulated. Prices
#: shared by two categories (imaging, chronic services: facility and professional parts)
#: follow the outpatient category; the next iteration corrects professional for them.
LEVERS: dict[str, tuple[str, ...]] = {
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
    "spend_inpatient_per_capita_usd": ("prices.admission_mean_usd",
                                       "prices.elective_admission_usd"),
    "spend_outpatient_per_capita_usd": ("prices.ed_facility_usd", "prices.outpatient_procedure_usd",
                                        "prices.chronic_service_usd", "prices.imaging_usd"),
    "spend_professional_per_capita_usd": (
        "prices.pcp_visit_usd", "prices.specialist_visit_usd", "prices.lab_test_usd",
        "prices.ed_professional_usd", "prices.inpatient_professional_usd",
        "prices.elective_professional_usd", "prices.outpatient_procedure_professional_usd"),
    "spend_post_acute_per_capita_usd": ("prices.snf_per_day_usd",
                                        "prices.home_health_period_usd"),
    "spend_other_per_capita_usd": ("prices.other_claim_usd",),
}
#: most a single iteration may move a value (guards against a target from a tiny count)
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


def calibrate(data: dict[str, Any], targets: list[Target], simulate: Simulate,
              iterations: int = 2) -> tuple[dict[str, Any], list[FitRow], list[str]]:
    """Scale ``data``'s rates and prices toward ``targets``: ``iterations`` updates, then one
    more simulation for the fit table. Returns the new data, the fit table and the paths
    that hit a schema bound (their targets cannot be met)."""
    from sim.scenario.schema import Scenario

    defaults = Scenario().model_dump(mode="python")
    data = copy.deepcopy(data)
    clipped: set[str] = set()
    sim = measured(simulate(data))
    for _ in range(iterations):
        for t in targets:
            got = sim.get(t.name)
            if not got or t.value <= 0 or t.name not in LEVERS:
                continue
            ratio = min(MAX_STEP, max(1 / MAX_STEP, t.value / got))
            for path in LEVERS[t.name]:
                lo, hi = _bounds(path)
                new = _get(data, path, defaults) * ratio
                if not lo <= new <= hi:
                    clipped.add(path)
                    new = min(hi, max(lo, new))
                _put(data, path, float(f"{new:.6g}"))
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
