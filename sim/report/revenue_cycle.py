"""The report's "Coding and the revenue cycle" section: what documentation and denial
management are worth, per 1,000 beneficiaries, to each party, and why it differs by
contract.

Shown when the results carry revenue-cycle figures (``revenue_cycle`` on in a scenario:
denials, RADV audits or a documentation programme). For every scenario: per 1,000
person-years and plan year, the payer's spending, the focal provider's margin, the other
providers' margins (specialists, hospital, post-acute, suppliers), the focal provider's RADV
recovery, what all providers wrote off and spent reworking denials, the mean risk score
and the primary-care recapture rate. Scenarios named ``<contract>_<setting>`` next to a
``<contract>_usual`` (as in ``scenarios/experiments/value_of_documentation.yaml``) are also
shown as the value of each setting under its contract: the setting's arm minus the usual
arm, paired by replication. The text under the table says why the value differs by
contract, from the contracts each scenario holds (read from the saved scenario files).
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
import pandas as pd

from sim.report.inputs import ReportInputs

#: The revenue-cycle metrics whose presence (any non-zero) shows the section.
SIGNAL = ("denial_rate", "written_off_usd", "rework_cost_usd", "radv_recovery_usd")

COLUMNS = (  # (key, heading)
    ("payer", "Payer spending"),
    ("margin", "Provider margin"),
    ("others", "Other providers' margin"),
    ("radv", "RADV recovery (provider repays)"),
    ("written_off", "Claims written off (all providers)"),
    ("rework", "Rework cost (all providers)"),
    ("risk", "Mean risk score"),
    ("recapture", "HCC recapture rate"),
)
MONEY = {"payer", "margin", "others", "radv", "written_off", "rework"}

WHY = {
    "ffs": "Fee-for-service: no payment is risk-adjusted, but office visits are paid by "
           "their E/M level, so documentation that codes visits higher raises what the "
           "payer pays (and hospital documentation that captures MCCs raises DRG "
           "payments); denials cost the billing providers their write-offs, rework costs "
           "and 60 days of cash.",
    "mssp": "MSSP: a higher risk score raises the benchmark through the risk ratio, but its "
            "growth over the agreement is capped at +3% (42 CFR 425.605(a)(1)), so coding "
            "beyond that earns nothing; claims written off after denials lower the ACO's "
            "expenditure against the benchmark (and its baseline's), so denial management "
            "can cost the ACO shared savings while it raises the billing providers' revenue. "
            "No RADV audit applies.",
    "reach": "ACO REACH: scores are normalised to the reference population, their growth "
             "from base year 3 capped at +/-3%, and cut by the coding intensity factor, so "
             "little of a coding gain reaches the benchmark. No RADV audit applies.",
    "capitation": "Capitation (Medicare Advantage-style): every point of risk score is paid, "
                  "after the coding-intensity adjustment of {adj} on every member's factor, "
                  "but RADV audits sample the contract's records and recover by "
                  "extrapolation the payment for unsupported codes (2023 RADV final rule, "
                  "no FFS adjuster), years later.",
}


def _contract_types(inputs: ReportInputs, scenario: str) -> list[str]:
    data: dict[str, Any] = inputs.scenario_data.get(scenario) or {}
    types = []
    for period in data.get("plan") or []:
        for c in period.get("contracts") or []:
            t = c.get("type")
            if t and t not in types:
                types.append(t)
    return types


def _coding_adjustment(inputs: ReportInputs, scenario: str) -> float | None:
    data: dict[str, Any] = inputs.scenario_data.get(scenario) or {}
    for period in data.get("plan") or []:
        for c in period.get("contracts") or []:
            if c.get("type") == "capitation":
                return float(c.get("coding_adjustment", 0.059))
    return None


def has_revenue_cycle(inputs: ReportInputs) -> bool:
    """Whether any scenario has revenue-cycle figures to show."""
    r = inputs.results
    m = r[r["metric"].isin(SIGNAL)]
    return bool(len(m)) and bool((m["value"].abs() > 0).any())


def per_1000(inputs: ReportInputs) -> pd.DataFrame:
    """Per scenario and replication: the section's figures per 1,000 person-years per plan
    year (money) or their person-year-weighted means (score, rate)."""
    r = inputs.results
    prov = inputs.provider
    py = r[(r["entity"] == "population") & (r["metric"] == "person_years")]
    py = py.groupby(["scenario", "replication"])["value"].sum()

    def total(entity_mask: pd.Series, metric: str) -> pd.Series:
        sel = r[entity_mask & (r["metric"] == metric)]
        return sel.groupby(["scenario", "replication"])["value"].sum()

    providers = ~r["entity"].isin(["population"]) & r["metric"].isin(
        ["written_off_usd", "rework_cost_usd"])
    out = pd.DataFrame(index=py.index)
    k = 1000.0 / py
    out["payer"] = total(r["entity"] == "population", "payer_spend_usd") * k
    if prov is not None:
        out["margin"] = total(r["entity"] == prov, "margin_usd") * k
        out["radv"] = total(r["entity"] == prov, "radv_recovery_usd") * k
        out["others"] = total(~r["entity"].isin(["population", prov]), "margin_usd") * k
        rec = r[(r["entity"] == prov) & (r["metric"] == "hcc_recapture_rate")]
        out["recapture"] = rec.groupby(["scenario", "replication"])["value"].mean()
    out["written_off"] = total(providers, "written_off_usd") * k
    out["rework"] = total(providers, "rework_cost_usd") * k
    risk = r[(r["entity"] == "population") & (r["metric"] == "risk_score_mean")]
    out["risk"] = risk.groupby(["scenario", "replication"])["value"].mean()
    return out


def _fmt(key: str, v: float) -> str:
    if not np.isfinite(v):
        return "–"
    if key in MONEY:
        return f"{'-' if v < 0 else ''}${abs(v):,.0f}"
    if key == "recapture":
        return f"{v:.1%}"
    return f"{v:.3f}"


def _families(scenarios: tuple[str, ...]) -> dict[str, str]:
    """Scenario -> its contract's ``<prefix>_usual`` arm, for ``<prefix>_<setting>``."""
    out = {}
    for s in scenarios:
        prefix = s.split("_", 1)[0]
        usual = f"{prefix}_usual"
        if s != usual and "_" in s and usual in scenarios:
            out[s] = usual
    return out


def render_revenue_cycle(inputs: ReportInputs) -> str:
    """The section's HTML ("" when no scenario has revenue-cycle figures)."""
    if not has_revenue_cycle(inputs):
        return ""
    table = per_1000(inputs)
    keys = [k for k, _ in COLUMNS if k in table.columns]
    heads = dict(COLUMNS)
    means = table.groupby(level="scenario").mean()
    rows = []
    for s in inputs.scenarios:
        if s not in means.index:
            continue
        cells = "".join(f"<td class=\"num\">{_fmt(k, float(means.loc[s, k]))}</td>"
                        for k in keys)
        rows.append(f"<tr><th>{escape(s)}</th>{cells}</tr>")
    head = "".join(f"<th>{escape(heads[k])}</th>" for k in keys)
    parts = ["<section id=\"revenue-cycle\"><h2>Coding and the revenue cycle</h2>",
             "<p>Per 1,000 person-years and plan year (mean of the replications); the "
             f"provider is {escape(str(inputs.provider))}. Money in US dollars; scores and "
             "rates as person-year-weighted means.</p>",
             f"<div class=\"scroll\"><table class=\"key\"><tr><th>Scenario</th>{head}</tr>"
             + "".join(rows) + "</table></div>"]
    fam = _families(inputs.scenarios)
    if fam:
        diff_rows = []
        for s, usual in fam.items():
            if s not in means.index or usual not in means.index:
                continue
            d = (table.loc[s] - table.loc[usual]).mean() if inputs.paired else (
                means.loc[s] - means.loc[usual])
            cells = "".join(f"<td class=\"num\">{_fmt(k, float(d[k]))}</td>" for k in keys
                            if k in MONEY)
            diff_rows.append(f"<tr><th>{escape(s)} vs {escape(usual)}</th>{cells}</tr>")
        money_heads = "".join(f"<th>{escape(heads[k])}</th>" for k in keys if k in MONEY)
        parts.append("<h3>Value of each setting under its contract</h3><p>The setting's "
                     "arm minus the same contract's usual arm, per 1,000 person-years and "
                     "year"
                     + (", paired by replication" if inputs.paired else "")
                     + ". A positive payer figure is more spending; a positive margin "
                     "figure is what the provider gains (before the programme's own "
                     "cost).</p>"
                     f"<div class=\"scroll\"><table class=\"key\"><tr><th>Difference</th>"
                     f"{money_heads}</tr>" + "".join(diff_rows) + "</table></div>")
    seen: list[str] = []
    for s in inputs.scenarios:
        for t in _contract_types(inputs, s):
            if t in WHY and t not in seen and (t != "ffs" or len(_contract_types(inputs, s)) == 1):
                seen.append(t)
    if seen:
        adj = next((a for s in inputs.scenarios
                    if (a := _coding_adjustment(inputs, s)) is not None), 0.059)
        items = "".join(f"<li>{escape(WHY[t].format(adj=f'{adj:.1%}'))}</li>" for t in seen)
        parts.append("<h3>Why the value differs by contract</h3><ul>" + items + "</ul>")
    parts.append("</section>")
    return "".join(parts)


__all__ = ["has_revenue_cycle", "per_1000", "render_revenue_cycle"]
