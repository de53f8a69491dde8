"""The numbers of a report: the side-by-side table, differences from the reference, and the
plain-language summary generated from them.

Every number is computed from the results table by the library's own functions:
:func:`sim.results.summarise` (means and 95% intervals across replications, yearly values
averaged over the plan years per replication, as ``summary.csv``), :func:`sim.risk.risk_table`
(probabilities of loss and owing, VaR95/CVaR95 of the plan-total margin),
:func:`sim.comparison.npv` and :func:`sim.comparison.incremental` (paired differences).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.catalogue import describe, is_money, is_share, metric_label, metric_unit, sentence_label
from sim.comparison import (
    DEFAULT_WTP,
    QUADRANTS,
    Z95,
    ce_differences,
    cost_effectiveness,
    icer_text,
    incremental,
    npv,
)
from sim.plots.risk import owing_table
from sim.report.inputs import ReportInputs
from sim.results import format_number, summarise
from sim.risk import risk_table

# Which metrics the report shows; their labels and units come from the metric catalogue.
#: population rows of the table
POPULATION_ROWS = ("payer_spend_per_capita_usd", "payer_spend_usd", "admissions_per_1000",
                   "readmission_rate_30d", "ed_visits_per_1000", "diabetes_controlled_share",
                   "qalys")
#: what a population row shows when the results have no payer rows
FALLBACK = {"payer_spend_per_capita_usd": "spend_per_capita_usd",
            "payer_spend_usd": "spend_total_usd"}
PROVIDER_ROWS = ("margin_usd", "settlement_usd", "quality_score")
#: plan-level risk rows: catalogue entries (columns of risk_table, and the NPV of the margin)
NPV = "margin_npv_usd"
RISK_ROWS = (NPV, "p_negative_margin", "p_cumulative_loss", "p_owing", "margin_var95",
             "margin_cvar95")
OUTCOMES = ("admissions_per_1000", "readmission_rate_30d", "ed_visits_per_1000",
            "diabetes_controlled_share", "qalys")
FEW_REPLICATIONS = 30

# When a difference is "clear" (the rule is stated in the report): its 95% interval across
# replications (paired) or confidence interval (unpaired) excludes zero AND it is material,
# at least as large as these (assumptions: a CFO's order of magnitude of "worth a line").
#: money, use of care and other amounts: share of the reference's mean
MATERIAL_RELATIVE = 0.01
#: rates and shares (readmission rate, diabetic control): percentage points, as a share
MATERIAL_SHARE = 0.005
#: scores in points (the quality score, 0-100)
MATERIAL_POINTS = 1.0
#: QALYs: share of the reference's QALYs
MATERIAL_QALYS = 0.001


def in_points(metric: str) -> bool:
    """Whether differences of ``metric`` are shown in points (a score such as the quality
    score, 0-100) rather than in percent of the reference."""
    return metric_unit(metric).startswith("points")


def material(metric: str, diff: float, ref: float) -> bool:
    """Whether a difference of ``diff`` from a reference mean ``ref`` is large enough to be
    called clear (see :data:`MATERIAL_RELATIVE` and the constants next to it)."""
    if not math.isfinite(diff):
        return False
    if is_share(metric):
        return abs(diff) >= MATERIAL_SHARE
    if in_points(metric):
        return abs(diff) >= MATERIAL_POINTS
    if ref == 0 or not math.isfinite(ref):
        return diff != 0
    limit = MATERIAL_QALYS if metric.startswith("qalys") else MATERIAL_RELATIVE
    return abs(diff) / abs(ref) >= limit


def clear_rule(reference: str, paired: bool = True) -> str:
    """The rule for a clear difference, in words."""
    interval = "95% interval across replications" if paired else "95% confidence interval"
    return (f"A difference from {reference} is called clear when its {interval} excludes zero "
            f"and it is material: at least {MATERIAL_RELATIVE:.0%} of {reference}'s value "
            f"({MATERIAL_QALYS:.1%} for QALYs), {100 * MATERIAL_SHARE:.1f} percentage points for "
            f"rates and shares, {MATERIAL_POINTS:g} point for the quality score.")


# --------------------------------------------------------------------------- formatting


def fmt_money(v: float) -> str:
    """``$12,346``; ``$18.43M`` from a million; ``-$1,234``."""
    if not math.isfinite(v):
        return "n/a"
    sign = "-" if v < 0 else ""
    a = abs(v)
    return f"{sign}${a / 1e6:,.2f}M" if a >= 1e6 else f"{sign}${a:,.0f}"


def fmt_value(metric: str, v: float) -> str:
    """How a value of ``metric`` is shown in the report."""
    if not math.isfinite(v):
        return "n/a"
    if is_money(metric):
        return fmt_money(v)
    if is_share(metric):
        return f"{100 * v:.1f}%"
    if metric == "qalys":
        return f"{v:,.1f}"
    return format_number(v)


def fmt_probability(p: float) -> str:
    return "n/a" if not math.isfinite(p) else f"{100 * p:.0f}%"


def fmt_delta(metric: str, diff: float, ref: float) -> str:
    """A difference: percentage points for shares, points for scores (the quality score),
    percent of the reference otherwise (the same units as the report's figures); money also
    in dollars first (``+$17,888 (+73.6%)``; from a doubling on ``+$486,078 (21.0 times as
    much)``)."""
    if not math.isfinite(diff):
        return "n/a"
    if is_share(metric):
        return f"{100 * diff:+.1f} pts"
    if in_points(metric):
        return f"{diff:+.1f} pts"
    if ref == 0 or not math.isfinite(ref):
        return ("+" if diff > 0 else "") + fmt_money(diff) if is_money(metric) \
            else f"{diff:+,.4g}"
    pct = 100 * diff / abs(ref)
    rel = f"{pct:+.1f}%" if abs(pct) >= 0.1 else f"{pct:+.2f}%"
    if is_money(metric):  # a CFO reads the dollars first; a huge percent says little
        dollars = ("+" if diff > 0 else "") + fmt_money(diff)
        return f"{dollars} ({rel})" if abs(pct) < 100 else \
            f"{dollars} ({(ref + diff) / ref:.1f} times as much)" if ref > 0 < ref + diff else dollars
    return rel


# --------------------------------------------------------------------------- differences


def differences(inputs: ReportInputs, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Each scenario minus the reference, values averaged over the plan years: ``scenario,
    entity, metric, reference_mean, scenario_mean, diff_mean, low, high, n``, ``agree``
    (replications whose difference has the sign of the mean difference; paired only),
    ``material`` (:func:`material`) and ``clear`` (the 95% interval excludes zero and the
    difference is material: :func:`clear_rule`).

    Paired runs: the interval is the 2.5th to 97.5th percentile of the paired differences
    (:func:`sim.comparison.incremental`); otherwise the 95% confidence interval of the
    difference of two independent means."""
    res, ref = inputs.results, inputs.reference
    if inputs.paired:
        table = incremental(res, ref, pairs, how="mean")
        if table.empty:
            return table
        table = table.rename(columns={"p2.5": "low", "p97.5": "high"})
        up = table["p_positive"]
        table["agree"] = np.where(table["diff_mean"] >= 0, up, 1 - up) * table["n"]
        table["agree"] = table["agree"].round().astype("Int64")
    else:
        rows = []
        for entity, metric in pairs:
            sub = res[(res["entity"] == entity) & (res["metric"] == metric)]
            per = sub.groupby(["scenario", "replication"])["value"].mean()
            if ref not in per.index.get_level_values(0):
                continue
            a = per.loc[ref]
            for scen in inputs.scenarios:
                if scen == ref or scen not in per.index.get_level_values(0):
                    continue
                b = per.loc[scen]
                d = float(b.mean() - a.mean())
                se = math.sqrt(b.var(ddof=1) / len(b) + a.var(ddof=1) / len(a)) \
                    if len(a) > 1 and len(b) > 1 else math.nan
                rows.append({"scenario": scen, "reference": ref, "entity": entity,
                             "metric": metric, "reference_mean": float(a.mean()),
                             "scenario_mean": float(b.mean()), "diff_mean": d,
                             "low": d - Z95 * se, "high": d + Z95 * se,
                             "n": min(len(a), len(b)), "agree": pd.NA})
        table = pd.DataFrame(rows)
        if table.empty:
            return table
    excludes_zero = (table["low"] > 0) | (table["high"] < 0)
    table["material"] = [material(str(m), float(d), float(r)) for m, d, r in
                         zip(table["metric"], table["diff_mean"], table["reference_mean"],
                             strict=True)]
    table["clear"] = excludes_zero & table["material"]
    return table


# --------------------------------------------------------------------------- value


def value_table(inputs: ReportInputs) -> pd.DataFrame:
    """Cost-effectiveness of each scenario against the reference (one row per scenario;
    empty without QALYs or with one scenario): the discounted plan-total differences in
    payer spending (``d_cost_usd``) and QALYs (``d_qalys``), their ``quadrant``,
    ``dominance``, ``icer_usd_per_qaly`` (NaN when dominant or dominated), the ICER in words
    (``verdict``, :func:`sim.comparison.icer_text`), P(NMB > 0) at each willingness to pay
    of :data:`sim.comparison.DEFAULT_WTP` (``p_nmb_positive_<wtp>``) and, per replication,
    how many fall in each quadrant (``n_NE``, ``n_SE``, ``n_NW``, ``n_SW``, ``n``)."""
    if len(inputs.scenarios) < 2 or not (inputs.results["metric"] == "qalys").any():
        return pd.DataFrame()
    ce = cost_effectiveness(inputs.results, inputs.reference, DEFAULT_WTP,
                            inputs.discount_rate)
    if ce.empty:
        return ce
    points = ce_differences(inputs.results, inputs.reference, inputs.discount_rate)
    rows = []
    for scen, part in ce.groupby("scenario", sort=False):
        first = part.iloc[0]
        row = {k: first[k] for k in ("scenario", "reference", "d_cost_usd", "d_qalys",
                                     "icer_usd_per_qaly", "quadrant", "dominance", "verdict",
                                     "discount_rate")}
        # issue 11: which cost (perspective) and which QALYs; the payer's view beside
        row.update({k: first[k] for k in ("perspective", "outcome", "d_cost_payer_usd",
                                          "verdict_payer") if k in first})
        for r in part.itertuples():
            row[f"p_nmb_positive_{r.wtp_usd_per_qaly:.0f}"] = float(r.p_nmb_positive)
        quadrants = points.loc[points["scenario"] == scen, "quadrant"]
        row.update({f"n_{q}": int((quadrants == q).sum()) for q in QUADRANTS if q})
        row["n"] = len(quadrants)
        rows.append(row)
    return pd.DataFrame(rows)


def value_sentence(row: pd.Series | dict) -> str:
    """``Cost-effectiveness against REF: payer spending differs by -$317,932 and QALYs by
    +0.79 over the plan (discounted), so it is dominant (saves money, gains health); it is
    dominant in 2 of 3 replications.``"""
    where = {"NE": "costs more and gains health", "SE": "is dominant",
             "NW": "is dominated", "SW": "saves money and loses health"}
    q = str(row["quadrant"])
    dc, dq = float(row["d_cost_usd"]), float(row["d_qalys"])
    words = icer_text(dc, dq)
    verdict = (f"it is {words}" if row["dominance"] else
               f"the ICER is {words}" if q else f"there is {words}")
    spread = f"; it {where[q]} in {row[f'n_{q}']} of {row['n']} replications" if q else ""
    cost = ("health-sector cost" if row.get("perspective") == "health_sector"
            else "payer spending")  # issue 11: the perspective is said
    payer = (f" (payer perspective: spending differs by {fmt_money(row['d_cost_payer_usd'])}, "
             f"{row['verdict_payer']})" if row.get("perspective") == "health_sector"
             and "verdict_payer" in row else "")
    return (f"Cost-effectiveness against {row['reference']}: {cost} differs by "
            f"{fmt_money(dc)} and QALYs by {dq:+,.2f} over the plan (discounted), so "
            f"{verdict}{spread}{payer}.")


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Cell:
    """One scenario's value in a row: the raw number, its text, its 95% interval and (for
    a scenario other than the reference) its difference from the reference."""

    scenario: str
    value: float
    text: str
    interval: str = ""
    delta: str = ""
    verdict: str = ""  # "better", "worse" (clear differences) or "" (none / not clear)


@dataclass(frozen=True)
class Row:
    """One row of the side-by-side table; ``stat`` says which statistic of ``metric`` of
    ``entity`` the cells hold (``mean`` per plan year, ``npv``, a risk column)."""

    group: str
    label: str
    unit: str
    entity: str
    metric: str
    stat: str
    cells: tuple[Cell, ...]


def _present(res: pd.DataFrame, entity: str, metric: str) -> bool:
    return bool(((res["entity"] == entity) & (res["metric"] == metric)).any())


def _row(metric: str) -> tuple[str, str, str]:
    return metric, metric_label(metric), metric_unit(metric)


def population_metrics(inputs: ReportInputs) -> list[tuple[str, str, str]]:
    """(metric, label, unit) of the population rows present in the results."""
    out = []
    for metric in POPULATION_ROWS:
        if not _present(inputs.results, "population", metric) and metric in FALLBACK:
            metric = FALLBACK[metric]
        if _present(inputs.results, "population", metric):
            out.append(_row(metric))
    return out


def key_table(inputs: ReportInputs) -> list[Row]:
    """The rows of the side-by-side table (see the module doc for where each comes from)."""
    res, names, ref = inputs.results, inputs.scenarios, inputs.reference
    summary = summarise(res).set_index(["scenario", "entity", "metric"])
    provider = inputs.provider
    mean_rows = [("Payer and patients (mean per plan year)", "population", m, label, unit)
                 for m, label, unit in population_metrics(inputs)]
    if provider is not None:
        mean_rows += [(f"{provider} (mean per plan year)", provider, m, label, unit)
                      for m, label, unit in map(_row, PROVIDER_ROWS)
                      if _present(res, provider, m)]
    diffs = differences(inputs, [(e, m) for _, e, m, _, _ in mean_rows]) if len(names) > 1 \
        else pd.DataFrame()
    rows = []
    for group, entity, metric, label, unit in mean_rows:
        cells = []
        for scen in names:
            key = (scen, entity, metric)
            if key not in summary.index:
                cells.append(Cell(scen, math.nan, "n/a"))
                continue
            s = summary.loc[key]
            mean, lo, hi = float(s["mean"]), float(s["p2.5"]), float(s["p97.5"])
            delta, verdict = "", ""
            if scen != ref and len(diffs):
                d = diffs[(diffs["scenario"] == scen) & (diffs["entity"] == entity)
                          & (diffs["metric"] == metric)]
                if len(d):
                    r = d.iloc[0]
                    delta = fmt_delta(metric, float(r["diff_mean"]), float(r["reference_mean"]))
                    better = describe(metric).better
                    # no verdict on a settlement: what the provider gains, the payer loses
                    if bool(r["clear"]) and better != "neither" and metric != "settlement_usd":
                        good = (r["diff_mean"] < 0) == (better == "lower")
                        verdict = "better" if good else "worse"
            cells.append(Cell(scen, mean, fmt_value(metric, mean),
                              f"{fmt_value(metric, lo)} to {fmt_value(metric, hi)}", delta,
                              verdict))
        rows.append(Row(group, label, unit, entity, metric, "mean", tuple(cells)))
    if provider is not None and _present(res, provider, "margin_usd"):
        rows += _risk_rows(inputs, provider)
    return rows


def _risk_rows(inputs: ReportInputs, provider: str) -> list[Row]:
    res, names = inputs.results, inputs.scenarios
    risk = risk_table(res[res["entity"] == provider], over_years="total").set_index("scenario")
    npvs = npv(res[res["entity"] == provider], None, inputs.discount_rate).set_index("scenario")
    group = f"{provider}: risk over the whole plan ({len(inputs.years)} years)"
    rows = []
    for name in RISK_ROWS:
        stat, label, unit = ("npv" if name == NPV else name), metric_label(name), metric_unit(name)
        if stat == "npv":
            label = f"{label} (discounted at {inputs.discount_rate:.1%} a year)"
        cells = []
        for scen in names:
            if stat == "npv":
                ok = scen in npvs.index
                v = float(npvs.loc[scen, "npv_mean"]) if ok else math.nan
                interval = (f"{fmt_money(float(npvs.loc[scen, 'npv_p2.5']))} to "
                            f"{fmt_money(float(npvs.loc[scen, 'npv_p97.5']))}") if ok else ""
                cells.append(Cell(scen, v, fmt_money(v), interval))
                continue
            ok = scen in risk.index and stat in risk.columns
            v = float(risk.loc[scen, stat]) if ok else math.nan
            text = fmt_probability(v) if stat.startswith("p_") else fmt_money(v)
            cells.append(Cell(scen, v, text))
        if all(not math.isfinite(c.value) for c in cells):
            continue
        rows.append(Row(group, label, unit, provider, "margin_usd" if stat != "p_owing"
                        else "settlement_usd", stat, tuple(cells)))
    return rows


# --------------------------------------------------------------------------- the summary


def _interval_words(metric: str, r: pd.Series, paired: bool) -> str:
    """``95% interval 3.2% to 5.0% lower`` or ``... from 1.0% lower to 2.0% higher``."""
    ref = float(r["reference_mean"])

    def amount(x: float) -> tuple[str, str]:
        if is_share(metric):
            return f"{abs(100 * x):.1f} points", "lower" if x < 0 else "higher"
        if in_points(metric):
            return f"{abs(x):.1f} points", "lower" if x < 0 else "higher"
        return f"{abs(100 * x / ref):.1f}%", "lower" if x < 0 else "higher"

    (lo, lo_dir), (hi, hi_dir) = amount(float(r["low"])), amount(float(r["high"]))
    what = "95% interval across replications" if paired else "95% confidence interval"
    if lo_dir == hi_dir:
        a, b = (hi, lo) if lo_dir == "lower" else (lo, hi)
        return f"{what}: {a} to {b} {lo_dir}"
    return f"{what}: from {lo} {lo_dir} to {hi} {hi_dir}, so not clearly different"


@dataclass(frozen=True)
class Summary:
    """The plain-language summary: an opening sentence, one block of statements per
    scenario (``(heading, [sentences])``) and how sure the numbers are."""

    intro: str
    blocks: tuple[tuple[str, tuple[str, ...]], ...]
    caveat: str

    def text(self) -> str:
        """The summary as plain text."""
        lines = [self.intro]
        for heading, items in self.blocks:
            lines += [heading, *(f"- {i}" for i in items)]
        return "\n".join([*lines, self.caveat])


def summary(inputs: ReportInputs, rows: list[Row]) -> Summary:
    """The plain-language summary, generated from the numbers of ``rows``."""
    names, ref, res = inputs.scenarios, inputs.reference, inputs.results
    reps = inputs.replications
    n_min = min(reps.values())
    years = inputs.years
    provider = inputs.provider
    blocks = []
    scen_list = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    span = f"plan years {years[0]} to {years[-1]}" if len(years) > 1 else f"plan year {years[0]}"
    reps_text = (f"{n_min} replications each" if len(set(reps.values())) == 1
                 else "replications " + ", ".join(f"{s}: {n}" for s, n in reps.items()))
    who = f" and for {provider}" if provider else ""
    verb = "compares" if len(names) > 1 else "describes"
    intro = (f"This report {verb} {scen_list} over {span} ({len(years)} years), with "
             f"{reps_text}, for the payer and the patients{who}."
             + (f" Differences are against {ref}." if len(names) > 1 else ""))
    by = {(r.entity, r.metric, r.stat): r for r in rows}
    spend = next((r for r in rows if r.entity == "population" and r.stat == "mean"
                  and r.metric.endswith("per_capita_usd")), None)
    pop_metrics = [r.metric for r in rows if r.entity == "population" and r.stat == "mean"]
    pairs = [("population", m) for m in pop_metrics]
    if provider:
        pairs += [(provider, m) for m in ("margin_usd", "quality_score")
                  if (provider, m, "mean") in by]
    diffs = differences(inputs, pairs) if len(names) > 1 else pd.DataFrame()
    owing = owing_table(res, provider) if provider and (provider, "margin_usd", "mean") in by \
        else None
    value = value_table(inputs)
    value = value.set_index("scenario", drop=False) if len(value) else value
    for scen in names:
        if scen == ref and len(names) > 1:
            continue
        parts = []
        d = diffs[diffs["scenario"] == scen] if len(diffs) else diffs
        if spend is not None:
            cell = next(c for c in spend.cells if c.scenario == scen)
            if len(names) > 1 and len(d):
                r = d[(d["entity"] == "population") & (d["metric"] == spend.metric)].iloc[0]
                pct = 100 * r["diff_mean"] / r["reference_mean"]
                word = "lower" if pct < 0 else "higher"
                agree = (f"; {word} in {int(r['agree'])} of {int(r['n'])} replications"
                         if inputs.paired and pd.notna(r["agree"]) else "")
                parts.append(
                    f"Under {scen}, {sentence_label(spend.metric)} is {abs(pct):.1f}% {word} "
                    f"than under {ref} ({cell.text} against "
                    f"{fmt_money(float(r['reference_mean']))} per person-year; "
                    f"{_interval_words(spend.metric, r, inputs.paired)}{agree}).")
            else:
                parts.append(f"Under {scen}, {sentence_label(spend.metric)} averages "
                             f"{cell.text} per person-year (95% interval across replications "
                             f"{cell.interval}).")
        if provider and (provider, "margin_usd", "mean") in by:
            parts.append(_provider_sentence(inputs, by, scen, owing))
        if len(names) > 1 and len(d):
            parts.append(_outcomes_sentence(d, provider))
        if scen in value.index:
            parts.append(value_sentence(value.loc[scen]))
        if len(names) > 1:
            from sim.report.drivers import drivers

            parts += [f"Why — {d}" for d in drivers(inputs, scen)]
        heading = f"{scen} compared with {ref}" if scen != ref else scen
        blocks.append((heading, tuple(p for p in parts if p)))
    paired = f"{inputs.pairing}. " if len(names) > 1 else ""
    caveat = (f"How sure: {paired}The intervals are 95% intervals across "
              "replications: they hold the chance variation of individual patients and, when "
              "parameters are drawn per replication, the uncertainty of the parameters.")
    if len(names) > 1:
        caveat += " " + clear_rule(ref, inputs.paired)
    if n_min < FEW_REPLICATIONS:
        caveat += (f" With only {n_min} replications per scenario, treat the intervals, and "
                   "above all the tail measures (VaR95, CVaR95: the worst 5% of replications), "
                   "as rough; rerun with more (e.g. --replications 200) before relying on them.")
    return Summary(intro, tuple(blocks), caveat)


def _cell(by: dict, key: tuple[str, str, str], scen: str) -> Cell | None:
    row = by.get(key)
    return None if row is None else next((c for c in row.cells if c.scenario == scen), None)


def _provider_sentence(inputs: ReportInputs, by: dict, scen: str,
                       owing: pd.DataFrame | None) -> str:
    p, ref = inputs.provider, inputs.reference
    margin = _cell(by, (p, "margin_usd", "mean"), scen)
    npv_cell = _cell(by, (p, "margin_usd", "npv"), scen)
    loss = _cell(by, (p, "margin_usd", "p_negative_margin"), scen)
    var95 = _cell(by, (p, "margin_usd", "margin_var95"), scen)
    text = f"For {p}, the margin averages {margin.text} a year" if margin else f"For {p}"
    if scen != ref:
        ref_margin = _cell(by, (p, "margin_usd", "mean"), ref)
        if ref_margin:
            text += f" (under {ref}: {ref_margin.text})"
    if npv_cell:
        text += (f", a net present value of {npv_cell.text} over the plan at "
                 f"{inputs.discount_rate:.1%} a year")
    text += "."
    if loss and var95:
        text += (f" The probability of a loss over the whole plan is {loss.text}; in the worst "
                 f"5% of replications the plan-total margin is {var95.text} or less (VaR95).")
    if owing is not None:
        part = owing[owing["scenario"] == scen]
        p_owe = part["p_owing"].fillna(0.0)
        if len(part) and float(p_owe.max()) > 0:
            k = int(part.loc[p_owe.idxmax(), "year"])
            text += (f" It owes the payer money in some replications: most often in plan year "
                     f"{k} ({fmt_probability(float(p_owe.max()))} of replications).")
        elif len(part):
            text += " It never owes the payer money, in any replication or year."
    return text


def _outcomes_sentence(d: pd.DataFrame, provider: str | None) -> str:
    clear, unclear = [], []
    wanted = [("population", m) for m in OUTCOMES] + ([(provider, "quality_score")]
                                                      if provider else [])
    for entity, metric in wanted:
        r = d[(d["entity"] == entity) & (d["metric"] == metric)]
        if r.empty:
            continue
        r = r.iloc[0]
        label = sentence_label(metric) if metric != "quality_score" \
            else f"{provider}'s {sentence_label(metric)}"
        if bool(r["clear"]):
            delta = fmt_delta(metric, float(r["diff_mean"]), float(r["reference_mean"]))
            clear.append(f"{label} {delta}")
        else:
            unclear.append(label)
    text = ""
    if clear:
        text += "Clear differences in outcomes (see the rule below): " + ", ".join(clear) + "."
    if unclear:
        text += (" " if text else "") + "No clear difference: " + ", ".join(unclear) + "."
    return text


__all__ = [
    "MATERIAL_POINTS",
    "MATERIAL_QALYS",
    "MATERIAL_RELATIVE",
    "MATERIAL_SHARE",
    "Cell",
    "Summary",
    "Row",
    "clear_rule",
    "differences",
    "fmt_delta",
    "fmt_money",
    "fmt_probability",
    "fmt_value",
    "in_points",
    "key_table",
    "material",
    "summary",
    "value_sentence",
    "value_table",
]
