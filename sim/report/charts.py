"""The charts of a report, each with a caption generated from the numbers it shows."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim import plots
from sim.catalogue import is_share
from sim.comparison import DEFAULT_WTP, DEFAULT_WTP_GRID, icer_text
from sim.comparison import ceac as ceac_table
from sim.plots.comparison import resolve_metrics
from sim.report.inputs import ReportInputs
from sim.report.numbers import (
    OUTCOMES,
    fmt_money,
    fmt_probability,
    fmt_value,
    in_points,
    population_metrics,
    value_table,
)
from sim.risk import var

DPI = 150


@dataclass(frozen=True)
class Chart:
    """One figure of the report: anchor id, section, heading, PNG data URI, alt text and
    caption."""

    id: str
    section: str
    heading: str
    data_uri: str
    alt: str
    caption: str


def png_data_uri(fig: Any) -> str:
    """The figure as a base64 PNG ``data:`` URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _list(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else items[0]


def _fan_caption(inputs: ReportInputs, metric: str, entity: str, what: str) -> str:
    table = plots.fan_table(inputs.results, metric, entity)
    last = int(table["year"].max())
    at = table[table["year"] == last]
    medians = _list([f"{fmt_value(metric, float(r.p50))} under {r.scenario}"
                     for r in at.itertuples()])
    n = int(table["n"].min())
    return (f"{what} by plan year ({plots.metric_unit(metric)}). Line: the median of the "
            f"{n} replications; dark band: the middle 50% of replications; light band: the "
            f"middle 90%. In plan year {last} the median is {medians}.")


def _ce_plane_caption(inputs: ReportInputs, value: pd.DataFrame) -> str:
    ref = inputs.reference
    wtp = _list([fmt_money(w) for w in DEFAULT_WTP])
    where = _list([f"{r.scenario}: {icer_text(r.d_cost_usd, r.d_qalys)}"
                   + (f" ({getattr(r, f'n_{r.quadrant}')} of {r.n} replications in that "
                      "quadrant)" if r.quadrant else "") for r in value.itertuples()])
    return (f"Each small dot is one replication's difference from {ref} (paired by "
            "replication) in QALYs (x, right is more health) and payer spending (y, up is "
            f"more cost), both summed over the plan and discounted at "
            f"{inputs.discount_rate:.1%} a year; diamonds are the means. Lower right: "
            "dominant (saves money, gains health); upper left: dominated; upper right: "
            "costs more per QALY gained; lower left: saves money but loses health. The "
            f"dashed lines are willingness to pay of {wtp} per QALY: a point below a line "
            f"is worth it at that price. On average: {where}.")


def _empty(values: Any) -> bool:
    """Whether a chart of ``values`` would show nothing: every value 0 or missing."""
    x = pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").to_numpy(float)
    return bool(len(x) == 0 or np.all(np.isnan(x) | (x == 0)))


def build_charts(inputs: ReportInputs, skipped: list[tuple[str, str]] | None = None
                 ) -> list[Chart]:
    """Every chart the inputs allow, in report order. A chart whose values would all be 0 or
    missing is left out; why is appended to ``skipped`` as ``(section, sentence)``."""
    res, names, ref, p = inputs.results, list(inputs.scenarios), inputs.reference, \
        inputs.provider
    charts: list[Chart] = []
    skipped = [] if skipped is None else skipped

    def add(id_: str, section: str, heading: str, fig: Any, alt: str, caption: str) -> None:
        charts.append(Chart(id_, section, heading, png_data_uri(fig), alt, caption))

    spend = next((m for m, _, _ in population_metrics(inputs) if m.endswith("per_capita_usd")),
                 None)
    if spend:
        add("fig-spending", "spending", "Spending by plan year",
            plots.fan_chart(res, spend), f"Fan chart of {plots.metric_label(spend).lower()}",
            _fan_caption(inputs, spend, "population", plots.metric_label(spend)))
    if p is not None and ((res["entity"] == p) & (res["metric"] == "margin_usd")).any():
        fan = plots.fan_chart(res, "margin_usd", entity=p)
        separate = len(fan.axes) > 1
        add("fig-margin", "margin", f"{p}: margin by plan year", fan,
            f"Fan chart of {p}'s margin",
            _fan_caption(inputs, "margin_usd", p, f"{p}'s margin (revenue minus costs)")
            + (" Scenarios whose margins differ too much in size to share a scale are drawn "
               "in separate panels." if separate else ""))
        values = plots.margin_values(res, p)
        dist = plots.margin_distribution(res, p)
        stats = []
        for s in names:
            x = values.loc[values["scenario"] == s, "value"].to_numpy(float)
            stats.append(f"{s}: P(loss) {fmt_probability(float((x < 0).mean()))}, VaR95 "
                         f"{fmt_money(var(x))}")
        add("fig-distribution", "margin", f"{p}: distribution of the plan-total margin", dist,
            f"Histograms of {p}'s plan-total margin by scenario",
            f"How {p}'s margin summed over the plan varies across replications, one panel per "
            "scenario (bars: number of replications; ticks below: each replication; curve: "
            "smoothed density when there are 8 or more). The red region is a loss (margin "
            "below zero); the solid line marks the mean and the dashed line VaR95, the 5th "
            "percentile: 1 replication in 20 does worse. Every dollar axis includes zero; "
            "panels get their own scale when the margins differ greatly in size. "
            + "; ".join(stats) + ".")
        owing = plots.owing_table(res, p)
        worst = owing.groupby("scenario")["p_owing"].max().fillna(0.0)
        owes = [f"{s} up to {fmt_probability(float(worst[s]))}" for s in names
                if s in worst and worst[s] > 0]
        if _empty(owing["p_owing"]) and _empty(owing["p_negative_margin"]):
            skipped.append(("margin", f"No chart of the probability of owing money: {p} "
                            "never owes the payer money and never makes a loss, in any "
                            "scenario, replication or plan year (every bar would be 0%)."))
        else:
            add("fig-owing", "margin", f"{p}: probability of owing money by plan year",
                plots.owing_probability(res, p),
                f"Bar chart of the probability that {p} owes money, by plan year",
                f"Left: the share of replications in which {p} owes the payer money in a "
                "plan year (its settlement is negative, e.g. shared losses or a repayment); "
                "right: the share in which it makes a loss that year (margin below zero). "
                + (f"It owes money in some year under {_list(owes)}." if owes else
                   "It never owes the payer money in any scenario, replication or year."))
        table = plots.waterfall_table({"results": res, "cash_flows": inputs.cash_flows}, p)
        year = int(table["year"].iloc[0])
        margins = _list([f"{fmt_money(float(r.value))} under {r.scenario}" for r in
                         table[table["metric"] == "margin_usd"].itertuples()])
        add("fig-waterfall", "margin", f"{p}: from revenue to margin in plan year {year}",
            plots.settlement_waterfall({"results": res, "cash_flows": inputs.cash_flows}, p),
            f"Waterfall from {p}'s revenue to its margin",
            f"From revenue to margin for {p} in plan year {year}, the last of the plan (the "
            "contracts in force at its end), mean over replications: fee-for-service revenue, "
            "capitation and settlements with the payer add up to revenue (green adds, red "
            "takes away), then the costs of its own services, of claims it pays other "
            "providers (under capitation), of investment and of changing practice leave the "
            f"margin: {margins}.")
    if len(names) > 1:
        _outcome_charts(inputs, add, skipped)
        value = value_table(inputs)
        flat = len(value) and _empty(value["d_cost_usd"]) and _empty(value["d_qalys"])
        if flat:
            skipped.append(("value", f"No cost-effectiveness plane or curve: no scenario "
                            f"differs from {ref} in payer spending or QALYs."))
        elif len(value) and inputs.paired:
            add("fig-ce-plane", "value", "Cost-effectiveness plane",
                plots.ce_plane(res, ref, wtp=DEFAULT_WTP, discount_rate=inputs.discount_rate),
                f"Cost-effectiveness plane: differences from {ref} in QALYs and payer "
                "spending, per replication", _ce_plane_caption(inputs, value))
        if len(value) and not flat:
            curve = ceac_table(res, DEFAULT_WTP_GRID, inputs.discount_rate)
            if len(curve):
                add("fig-ceac", "value", "Cost-effectiveness acceptability curve",
                    plots.ceac(curve), "Cost-effectiveness acceptability curve",
                    "For each amount the payer is willing to pay for one quality-adjusted "
                    "life year (QALY), the share of replications in which each scenario has "
                    "the highest net monetary benefit (willingness to pay x QALYs minus payer "
                    f"spending, both discounted at {inputs.discount_rate:.1%} a year).")
    for sens in inputs.sensitivity:
        on = f" of {sens.scenario}" if sens.scenario else ""
        source = (f"Run on scenario {sens.scenario}; from {sens.path}." if sens.scenario
                  else f"From {sens.path} (the scenario it was run on is not recorded).")
        if sens.scenario and sens.scenario not in names:
            source += (f" {sens.scenario} is not one of the plans compared here, so these "
                       "swings describe that scenario, not the plans above.")
        if sens.kind == "tornado":
            t = sens.table
            if {"metric_low", "metric_high"} <= set(t) and _empty(
                    (t["metric_high"] - t["metric_low"]).abs()):
                skipped.append(("assumptions", f"No tornado chart{on} ({sens.path}): no "
                                "assumption moves the output (every swing is 0)."))
                continue
            fig, what = plots.tornado(sens.table), f"One-way sensitivity{on} (tornado)"
            caption = ("How much the output moves when each assumption in turn is set to its "
                       "low and then its high value (labels: low → high), all others at their "
                       "base case; the largest swings, on top, are the assumptions that "
                       f"matter most. {source}")
        else:
            fig, what = (plots.sobol_indices(sens.table),
                         f"Global sensitivity{on} (Sobol indices)")
            caption = ("Share of the output's variance due to each uncertain assumption alone "
                       "(first order, S1) and with its interactions (total, ST), with 95% "
                       f"bootstrap intervals; the largest matter most. {source}")
        add(f"fig-{sens.kind}-{len(charts)}", "assumptions", what, fig, what, caption)
    return charts


def _outcome_charts(inputs: ReportInputs, add: Any, skipped: list[tuple[str, str]]) -> None:
    """The differences from the reference in two charts of one unit each: percent of the
    reference (spending, use of care, QALYs) and points (rates and shares in percentage
    points, the quality score in points), as the table shows them. Metrics whose
    differences are all 0 are left out (said in the caption)."""
    res, ref, p = inputs.results, inputs.reference, inputs.provider
    metrics: list[Any] = [m for m, _, _ in population_metrics(inputs)
                          if m.endswith("per_capita_usd") or m in OUTCOMES]
    if p is not None and ((res["entity"] == p) & (res["metric"] == "quality_score")).any():
        metrics.append((p, "quality_score"))
    pairs = resolve_metrics(res, metrics)
    table = plots.comparison_table(res, pairs, ref)
    zero = []
    kept = []
    for entity, metric in pairs:
        part = table[(table["entity"] == entity) & (table["metric"] == metric)]
        if part.empty or _empty(part["diff_mean"]) and _empty(part["p2.5"]) \
                and _empty(part["p97.5"]):
            zero.append(plots.metric_label(metric).lower())
        else:
            kept.append((entity, metric))
    interval = "replications" if inputs.paired else "mean"
    whiskers = ("of the paired differences across replications" if inputs.paired else
                "of the mean difference")
    left_out = (f" Not drawn: {_list(zero)} (no difference in any replication)."
                if zero else "")
    percent = [m for m in kept if not (is_share(m[1]) or in_points(m[1]))]
    points = [m for m in kept if is_share(m[1]) or in_points(m[1])]
    if percent:
        add("fig-outcomes", "outcomes", "Spending, use of care and health compared",
            plots.scenario_comparison(res, percent, ref, interval=interval),
            f"Bar chart of differences from {ref} in percent",
            f"Difference of each scenario from {ref}, in percent of {ref}'s mean per plan "
            f"year; whiskers: the 95% interval {whiskers}. A difference whose whiskers "
            "cross zero is not clear at this number of replications." + left_out)
        left_out = ""
    if points:
        add("fig-outcomes-points", "outcomes", "Rates, shares and quality compared",
            plots.scenario_comparison(res, points, ref, interval=interval, unit="points"),
            f"Bar chart of differences from {ref} in points",
            f"Difference of each scenario from {ref} in points, as in the table: percentage "
            "points for rates and shares (a readmission rate of 16.0% against 15.1% is "
            "+0.9 points), points on the 0-100 scale for the quality score; whiskers: the 95% "
            f"interval {whiskers}." + left_out)
        left_out = ""
    if not kept:
        skipped.append(("outcomes", f"No chart of differences from {ref}: no outcome differs "
                        "in any replication."))


__all__ = ["Chart", "build_charts", "png_data_uri"]
