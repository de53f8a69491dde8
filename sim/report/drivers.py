"""What drives each difference from the reference, in words.

Computed from the results table (means over the plan years per replication, then across
replications, as the table) and the settlement statements' values:

- **volume**: payer spending split into the cost of care (claims at the fee schedule,
  ``spend_per_capita_usd``, and its largest service categories) and what the payer pays
  beyond claims (shared savings, capitation above the claims it replaces);
- **the provider's margin**: the revenue and cost lines whose differences add up to it;
- **behaviour**: the focal provider's practice levers (coding intensity, discretionary
  services, prevention, transitional care) and what they move (risk scores: coding);
- **threshold**: for shared-savings contracts, how often savings passed the minimum savings
  rate (``msr_met`` in the statements), without which nothing is shared.
"""

from __future__ import annotations

import math

import pandas as pd

from sim.report.inputs import ReportInputs
from sim.report.numbers import fmt_money

#: provider revenue and cost lines whose differences add up to the margin's (sign: +1 revenue)
MARGIN_LINES = (("ffs_revenue_usd", "fee-for-service revenue", 1),
                ("capitation_revenue_usd", "capitation revenue", 1),
                ("settlement_usd", "settlements with the payer", 1),
                ("own_service_cost_usd", "the cost of its own services", -1),
                ("paid_to_providers_usd", "claims it pays other providers", -1),
                ("investment_cost_usd", "investment", -1),
                ("effort_cost_usd", "the effort of changing practice", -1),
                ("fixed_cost_usd", "fixed costs", -1))
#: service categories of the cost of care (population totals)
CATEGORIES = (("spend_inpatient_usd", "hospital stays"), ("spend_outpatient_usd", "outpatient care"),
              ("spend_professional_usd", "professional services"),
              ("spend_post_acute_usd", "post-acute care"), ("spend_other_usd", "other care"))
#: practice levers (0-1) and what a move means, (higher, lower)
LEVERS = {
    "lever_coding_intensity": ("codes diagnoses more intensively", "codes less intensively"),
    "lever_discretionary_intensity": ("orders more discretionary services",
                                      "orders fewer discretionary services, i.e. less volume"),
    "lever_prevention_effort": ("puts more effort into prevention",
                                "puts less effort into prevention"),
    "lever_transitional_care_effort": ("puts more effort into transitional care after "
                                       "discharge", "puts less effort into transitional care"),
}
#: a lever difference smaller than this (on its 0-1 scale) is not mentioned
LEVER_STEP = 0.02


def _means(res: pd.DataFrame, entity: str, metrics: list[str]) -> pd.DataFrame:
    """scenario x metric: mean over the plan years per replication, then across them."""
    part = res[(res["entity"] == entity) & res["metric"].isin(metrics)]
    if part.empty:
        return pd.DataFrame()
    per = part.groupby(["scenario", "metric", "replication"], observed=True)["value"].mean()
    return per.groupby(["scenario", "metric"], observed=True).mean().unstack("metric")


def _get(table: pd.DataFrame, scen: str, metric: str) -> float:
    if table.empty or scen not in table.index or metric not in table.columns:
        return math.nan
    return float(table.loc[scen, metric])


def _signed(v: float) -> str:
    return ("+" if v > 0 else "") + fmt_money(v)


def spending_driver(inputs: ReportInputs, scen: str) -> str:
    """Payer spending per person-year against the reference: care (volume) and payments
    beyond claims."""
    res, ref = inputs.results, inputs.reference
    pop = _means(res, "population", ["payer_spend_per_capita_usd", "spend_per_capita_usd",
                                     "person_years", *(m for m, _ in CATEGORIES)])
    payer = {s: _get(pop, s, "payer_spend_per_capita_usd") for s in (scen, ref)}
    care = {s: _get(pop, s, "spend_per_capita_usd") for s in (scen, ref)}
    if not all(math.isfinite(v) for v in (*payer.values(), *care.values())):
        return ""
    d_payer, d_care = payer[scen] - payer[ref], care[scen] - care[ref]
    d_beyond = d_payer - d_care
    text = (f"Payer spending: {_signed(d_payer)} per person-year against {ref}, of which the "
            f"cost of care (claims at the fee schedule, i.e. volume and mix of services) "
            f"{_signed(d_care)}")
    cats = []
    for metric, label in CATEGORIES:
        a, b = _get(pop, scen, metric), _get(pop, ref, metric)
        py_a, py_b = _get(pop, scen, "person_years"), _get(pop, ref, "person_years")
        if all(math.isfinite(v) for v in (a, b, py_a, py_b)) and py_a > 0 and py_b > 0:
            cats.append((a / py_a - b / py_b, label))
    cats = [c for c in sorted(cats, key=lambda c: -abs(c[0])) if abs(c[0]) >= 1][:2]
    if cats:
        text += " (mostly " + " and ".join(f"{label} {_signed(d)}" for d, label in cats) + ")"
    if abs(d_beyond) >= 1:
        text += (f", and payments beyond claims (shared savings or losses, capitation above "
                 f"the claims it replaces) {_signed(d_beyond)}")
    return text + "."


def margin_driver(inputs: ReportInputs, scen: str) -> str:
    """The provider's margin against the reference, by the lines that add up to it."""
    p, ref, res = inputs.provider, inputs.reference, inputs.results
    if p is None:
        return ""
    table = _means(res, p, ["margin_usd", *(m for m, _, _ in MARGIN_LINES)])
    d_margin = _get(table, scen, "margin_usd") - _get(table, ref, "margin_usd")
    if not math.isfinite(d_margin):
        return ""
    parts = []
    for metric, label, sign in MARGIN_LINES:
        d = _get(table, scen, metric) - _get(table, ref, metric)
        if math.isfinite(d) and abs(d) >= 1:
            parts.append((sign * d, label))
    parts.sort(key=lambda x: -abs(x[0]))
    word = "higher" if d_margin >= 0 else "lower"
    text = f"{p}'s margin: {fmt_money(abs(d_margin))} a year {word} than under {ref}"
    if parts:
        text += "; the largest effects on it: " + ", ".join(
            f"{label} {_signed(d)}" for d, label in parts[:3])
    return text + "."


def behaviour_driver(inputs: ReportInputs, scen: str) -> str:
    """How the provider's practice responds to its contract (levers), and what coding moves."""
    p, ref, res = inputs.provider, inputs.reference, inputs.results
    if p is None:
        return ""
    table = _means(res, p, list(LEVERS))
    moves = []
    for lever, (up, down) in LEVERS.items():
        a, b = _get(table, scen, lever), _get(table, ref, lever)
        if math.isfinite(a) and math.isfinite(b) and abs(a - b) >= LEVER_STEP:
            moves.append(f"{up if a > b else down} ({b:.2f} → {a:.2f})")
    if not moves:
        return ""
    text = f"Behaviour (practice levers on a 0-1 scale, {ref} → this plan): {p} " + \
        "; ".join(moves)
    pop = _means(res, "population", ["risk_score_mean"])
    r_a, r_b = _get(pop, scen, "risk_score_mean"), _get(pop, ref, "risk_score_mean")
    if "codes diagnoses more intensively" in text and math.isfinite(r_a) and r_b > 0:
        text += (f". Coding raises the average risk score by {100 * (r_a / r_b - 1):.1f}% "
                 "without any change in health, and a risk-adjusted payment (capitation, a "
                 "benchmark) rises with it")
    return text + "."


def threshold_driver(inputs: ReportInputs, scen: str) -> str:
    """How often a shared-savings contract's savings passed the minimum savings rate."""
    table = inputs.thresholds
    if table is None or table.empty:
        return ""
    part = table[(table["scenario"] == scen) & (table["item"] == "msr_met")]
    if part.empty:
        return ""
    met = int((part["value"] > 0).sum())
    n = len(part)
    text = (f"Threshold: savings passed the minimum savings rate (MSR) in {met} of {n} "
            "plan years across replications")
    if met == 0:
        text += ", so no savings were shared: the payer's savings are the care not given"
    elif met < n:
        text += "; savings are shared only in those years"
    return text + "."


def drivers(inputs: ReportInputs, scen: str) -> list[str]:
    """The sentences on what drives ``scen``'s differences from the reference (none for the
    reference itself)."""
    if scen == inputs.reference:
        return []
    out = [spending_driver(inputs, scen), margin_driver(inputs, scen),
           behaviour_driver(inputs, scen), threshold_driver(inputs, scen)]
    return [s for s in out if s]


__all__ = ["behaviour_driver", "drivers", "margin_driver", "spending_driver",
           "threshold_driver"]
