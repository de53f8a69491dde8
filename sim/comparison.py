"""Comparisons of scenarios (plans) against a reference, from the tidy results table.

All differences are **paired by replication**: replication ``r`` of every scenario shares
its random numbers and parameter draws (common random numbers), so the difference of
replication ``r`` is a draw of the policy effect. Intervals:

* ``ci_low``/``ci_high`` — 95% confidence interval of the *mean* difference
  (mean +- 1.96 x Monte Carlo standard error): how precisely the runs pin the mean down;
* ``p2.5``/``p97.5`` — percentiles of the paired differences across replications: the
  spread of the effect under parameter (and stochastic) uncertainty, as a PSA reports it.

Quantities (``payer spending`` is ``payer_spend_usd`` of the ``population`` entity when the
table has it, else ``spend_total_usd``):

* ``incremental`` — plan totals (sums over years) of payer spending, QALYs, and each
  entity's ``margin_usd``, scenario minus reference;
* ``cost_effectiveness`` — discounted incremental cost and QALYs (``docs/economics.md``):
  cost of the perspective (``health_sector``, the default: ``health_sector_cost_usd``,
  care at the payer's prices net of transfers plus providers' effort and investment costs;
  ``payer``: payer spending; the payer's figures are always in the ``*_payer`` columns),
  QALYs of the closed cohort (the members at the start, followed to the horizon) plus the
  discounted remaining QALYs of its survivors at the horizon (:func:`health_outcome`; the
  open panel's QALYs would count healthy entrants replacing the dead as a gain), where
  the means fall on the cost-effectiveness plane (:func:`ce_quadrant`), the ICER and the
  net monetary benefit ``NMB = wtp x dQALY - dCost`` at each willingness-to-pay, with
  P(NMB > 0). Dominance is reported as such, never as a negative ICER (Drummond et al.,
  *Methods for the Economic Evaluation of Health Care Programmes*, 4th ed., 2015, ch. 4):

  ========  =======================================  ============  ==========================
  quadrant  mean dCost, mean dQALY                   ``dominance``  ``icer_usd_per_qaly``
  ========  =======================================  ============  ==========================
  ``NE``    more costly, more effective               ``""``        cost per QALY gained
  ``SE``    no more costly, no less effective         dominant      NaN
  ``NW``    no less costly, no more effective         dominated     NaN
  ``SW``    less costly, less effective               ``""``        savings per QALY lost
  ``""``    no difference in cost or QALYs            ``""``        NaN
  ========  =======================================  ============  ==========================

  (an axis counts as the dominance quadrant: equal QALYs at lower cost is dominant, equal
  cost with fewer QALYs dominated). In the SW quadrant the ICER (positive) reads as the
  savings per QALY given up: the scenario is worth it at a willingness to pay *below* it.
  ``verdict`` says the same in words; :func:`icer_text` is the one place that words it;
  :func:`ce_differences` gives the per-replication points of the plane;
* ``ceac`` — for each willingness-to-pay, the probability that each scenario has the
  highest NMB (``wtp x QALYs - cost``);
* ``best`` — for each metric, the probability that each scenario is best (lowest or highest
  as the metric catalogue, :mod:`sim.catalogue`, says; ties shared; metrics without a better
  direction are left out);
* ``npv`` — net present value of each provider's margin, ``sum_t margin_t / (1 + r)^t``
  (``t`` = 0 for the first plan year), and its paired difference from the reference;
* ``cumulative_savings`` — payer savings (reference spending minus scenario spending)
  accumulated year by year.

Only comparable scenarios are compared (:func:`check_comparable`): the same plan years (a
1-year plan total beside a 3-year one is no difference), the same first calendar year and,
when differences are paired by replication (common random numbers), the same population
size (replication r of each would not hold the same patients). Scenarios with different
horizons are compared over their common plan years only when asked
(``align_horizon="shortest"``, ``--align-horizon shortest``), which the output states.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.catalogue import describe, is_money
from sim.constants import DEFAULT_DISCOUNT_RATE
from sim.results import format_number

Z95 = 1.959963984540054
DEFAULT_WTP_GRID = tuple(float(x) for x in range(0, 200_001, 10_000))
#: willingness-to-pay values per QALY of a comparison unless given (USD)
DEFAULT_WTP = (50_000.0, 100_000.0, 150_000.0)


#: How scenarios with different horizons may be aligned: over the plan years they share.
ALIGNMENTS = ("shortest",)


class NotComparable(ValueError):
    """Scenarios whose paired differences would be meaningless (different horizons, first
    calendar years or populations), and no alignment was asked for."""


def _listing(values: Mapping[str, object]) -> str:
    return ", ".join(f"{name} {value}" for name, value in values.items())


def check_comparable(
    years: Mapping[str, Sequence[int]],
    *,
    first_calendar_year: Mapping[str, int | None] | None = None,
    population: Mapping[str, int | None] | None = None,
    align_horizon: str | None = None,
    paired: bool = True,
) -> list[int] | None:
    """Check that scenarios can be compared: per scenario, its plan ``years``, its
    ``first_calendar_year`` and, if differences are ``paired`` by replication (common random
    numbers), its ``population`` size (``None``: unknown, not checked). Independent streams
    (``paired=False``) may compare panels of different sizes (e.g. a study of panel size).

    Returns ``None`` when every scenario has the same plan years, else, with
    ``align_horizon="shortest"``, the plan years all of them share (compare over those
    only). Raises :class:`NotComparable` naming the values and the way out otherwise.
    """
    if align_horizon is not None and align_horizon not in ALIGNMENTS:
        raise ValueError(f"align_horizon: expected one of {', '.join(ALIGNMENTS)} or None, got "
                         f"{align_horizon!r}")
    for what, values, field_name in (
            ("calendar years", first_calendar_year, "economics.first_calendar_year"),
            ("patients", population if paired else None, "population.size")):
        known = {k: v for k, v in (values or {}).items() if v is not None}
        if len(set(known.values())) > 1:
            independent = (" (or, for panels of different sizes, independent random numbers: "
                           "--no-crn / crn=False)" if field_name == "population.size" else "")
            raise NotComparable(
                f"the scenarios have different {field_name} ({_listing(known)}): replication r "
                f"of each would not follow the same {what}, so paired differences, ICERs and "
                f"NPVs side by side would be meaningless; give them the same "
                f"{field_name}{independent}")
    spans = {k: sorted({int(y) for y in v}) for k, v in years.items()}
    if len({tuple(v) for v in spans.values()}) <= 1:
        return None
    shown = {k: f"{len(v)} year(s)" for k, v in spans.items()}
    common = sorted(set.intersection(*(set(v) for v in spans.values())))
    if align_horizon is None:
        raise NotComparable(
            f"the scenarios cover different plan years (horizon_years: {_listing(shown)}): "
            "their plan totals, ICERs and NPVs are not comparable; give them the same "
            "horizon_years, or compare over the plan years they share with --align-horizon "
            "shortest (align_horizon='shortest')")
    if not common:
        raise NotComparable(f"the scenarios share no plan year ({_listing(shown)}); nothing to "
                            "compare")
    return common


def alignment_note(years: Mapping[str, Sequence[int]], common: Sequence[int]) -> str:
    """The sentence that says a comparison is restricted to the ``common`` plan years."""
    spans = {k: f"{len(set(v))} year(s)" for k, v in years.items()}
    first, last = min(common), max(common)
    span = f"plan year {first}" if first == last else f"plan years {first}-{last}"
    return (f"compared over the common {span} only (--align-horizon shortest; horizons: "
            f"{_listing(spans)})")


def years_by_scenario(results: pd.DataFrame) -> dict[str, list[int]]:
    """The plan years of each scenario in a results table."""
    return {str(k): sorted(int(y) for y in v.unique())
            for k, v in results.groupby("scenario", observed=True, sort=False)["year"]}


def payer_spending_metric(results: pd.DataFrame) -> str:
    """``payer_spend_usd`` if the table has it, else ``spend_total_usd``."""
    metrics = set(results["metric"].unique())
    return "payer_spend_usd" if "payer_spend_usd" in metrics else "spend_total_usd"


def plan_values(
    results: pd.DataFrame, entity: str, metric: str, discount_rate: float = 0.0,
    how: str = "total",
) -> pd.DataFrame:
    """Replication x scenario table of ``metric`` of ``entity``: the (discounted) sum over
    years (``how="total"``) or the mean over years (``"mean"``)."""
    rows = results[(results["entity"] == entity) & (results["metric"] == metric)]
    if rows.empty:
        return pd.DataFrame()
    rows = rows.groupby(["replication", "scenario", "year"], observed=True,
                        sort=False)["value"].sum().reset_index()
    if how == "mean":
        out = rows.groupby(["replication", "scenario"], observed=True, sort=False)[
            "value"].mean()
    else:
        t = rows["year"] - results["year"].min()
        rows = rows.assign(value=rows["value"] / (1.0 + discount_rate) ** t)
        out = rows.groupby(["replication", "scenario"], observed=True, sort=False)[
            "value"].sum()
    table = out.unstack("scenario")
    table.columns = [str(c) for c in table.columns]
    return table


def _diff_stats(diff: pd.Series) -> dict[str, float]:
    d = diff.dropna().to_numpy(dtype=float)
    n = len(d)
    mean = float(d.mean()) if n else np.nan
    se = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
    return {
        "diff_mean": mean, "diff_se": se,
        "ci_low": mean - Z95 * se, "ci_high": mean + Z95 * se,
        "p2.5": float(np.quantile(d, 0.025)) if n else np.nan,
        "p97.5": float(np.quantile(d, 0.975)) if n else np.nan,
        "p_positive": float((d > 0).mean()) if n else np.nan,
        "n": n,
    }


def default_metrics(results: pd.DataFrame) -> list[tuple[str, str]]:
    """(entity, metric) pairs compared by default: payer spending, health-sector cost,
    QALYs of the open panel and of the closed cohort (population), each entity's margin
    and settlement, each payer's spending."""
    # the distinct pairs first (vectorised), not every row's strings through Python
    keys = results[["entity", "metric"]].drop_duplicates()
    pairs = set(zip(keys["entity"].astype(str), keys["metric"].astype(str), strict=True))
    spend = payer_spending_metric(results)
    out = [(e, m) for e, m in [("population", spend), ("population", HEALTH_SECTOR_COST),
                               ("population", "qalys"), ("population", COHORT_QALYS)]
           if (e, m) in pairs]
    entities = [str(e) for e in pd.unique(results["entity"])]  # in order of appearance
    for metric in ("margin_usd", "settlement_usd", "payer_spend_usd"):
        out += [(e, metric) for e in entities
                if e != "population" and (e, metric) in pairs and (e, metric) not in out]
    return out


def incremental(
    results: pd.DataFrame, reference: str, metrics: Sequence[tuple[str, str]] | None = None,
    how: str = "total",
) -> pd.DataFrame:
    """Paired differences (scenario minus ``reference``) of plan totals per (entity,
    metric); see the module doc for the columns."""
    rows = []
    for entity, metric in metrics if metrics is not None else default_metrics(results):
        table = plan_values(results, entity, metric, how=how)
        if table.empty or reference not in table:
            continue
        for scen in table.columns:
            if scen == reference:
                continue
            rows.append({"scenario": scen, "reference": reference, "entity": entity,
                         "metric": metric, "reference_mean": float(table[reference].mean()),
                         "scenario_mean": float(table[scen].mean()),
                         **_diff_stats(table[scen] - table[reference])})
    return pd.DataFrame(rows)


#: Perspectives of cost-effectiveness (``economics.perspective``; docs/economics.md).
PERSPECTIVES = ("health_sector", "payer")
HEALTH_SECTOR_COST = "health_sector_cost_usd"
#: The closed cohort's QALYs and its remaining QALYs at year end (the terminal value).
COHORT_QALYS, COHORT_TERMINAL = "cohort_qalys", "cohort_qale_end"


def cost_metric(results: pd.DataFrame, perspective: str = "health_sector") -> str:
    """The cost of a ``perspective``: ``health_sector_cost_usd`` (health sector; payer
    spending when the table lacks it) or :func:`payer_spending_metric` (payer)."""
    if perspective not in PERSPECTIVES:
        raise ValueError(f"perspective: expected one of {', '.join(PERSPECTIVES)}, got "
                         f"{perspective!r}")
    if perspective == "health_sector" and HEALTH_SECTOR_COST in set(results["metric"].unique()):
        return HEALTH_SECTOR_COST
    return payer_spending_metric(results)


def outcome_basis(results: pd.DataFrame) -> str:
    """``"closed cohort + terminal value"`` when the table has the closed cohort's metrics,
    else ``"open panel"`` (older results: QALYs of whoever was a member)."""
    return ("closed cohort + terminal value" if COHORT_QALYS in set(results["metric"].unique())
            else "open panel")


def health_outcome(results: pd.DataFrame, discount_rate: float) -> pd.DataFrame:
    """Replication x scenario discounted QALYs that cannot reward death: the closed
    cohort's QALYs over the plan years (year t discounted by (1 + r)^t) plus its remaining
    QALYs at the end of the last plan year T, discounted by (1 + r)^(T + 1) (the terminal
    value; ``docs/economics.md``). Tables without the cohort metrics fall back to the open
    panel's ``qalys``."""
    if COHORT_QALYS not in set(results["metric"].unique()):
        return plan_values(results, "population", "qalys", discount_rate)
    qalys = plan_values(results, "population", COHORT_QALYS, discount_rate)
    rows = results[(results["entity"] == "population") & (results["metric"] == COHORT_TERMINAL)]
    first, last = results["year"].min(), rows["year"].max()
    end = rows[rows["year"] == last].groupby(["replication", "scenario"], observed=True)[
        "value"].sum().unstack("scenario")
    end.columns = [str(c) for c in end.columns]
    return qalys + end.reindex_like(qalys) / (1.0 + discount_rate) ** (last - first + 1)


def _cost_qalys(
    results: pd.DataFrame, discount_rate: float, perspective: str = "health_sector",
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    cost = plan_values(results, "population", cost_metric(results, perspective), discount_rate)
    if cost.empty or "qalys" not in set(results["metric"].unique()) and \
            COHORT_QALYS not in set(results["metric"].unique()):
        return None
    qalys = health_outcome(results, discount_rate)
    if qalys.empty:
        return None
    return cost, qalys


#: The quadrants of the cost-effectiveness plane (dQALY on x, dCost on y) in words.
QUADRANTS = {
    "NE": "more costly, more effective",
    "SE": "dominant: saves money, gains health",
    "NW": "dominated: costs more, loses health",
    "SW": "saves money, loses health",
    "": "no difference in cost or QALYs",
}


def ce_quadrant(d_cost: float, d_qalys: float) -> str:
    """Where ``(d_qalys, d_cost)`` falls on the cost-effectiveness plane: ``"NE"`` (more
    costly, more effective), ``"SE"`` (dominant: no more costly and no less effective, not
    both equal), ``"NW"`` (dominated: no less costly and no more effective, not both
    equal), ``"SW"`` (less costly, less effective) or ``""`` (both differences zero, or
    not a number)."""
    if not (np.isfinite(d_cost) and np.isfinite(d_qalys)) or (d_cost == 0 and d_qalys == 0):
        return ""
    if d_qalys >= 0 and d_cost <= 0:
        return "SE"
    if d_qalys <= 0 and d_cost >= 0:
        return "NW"
    return "NE" if d_cost > 0 else "SW"


def dominance(d_cost: float, d_qalys: float) -> str:
    """``"dominant"``, ``"dominated"`` or ``""`` (see :func:`ce_quadrant`)."""
    return {"SE": "dominant", "NW": "dominated"}.get(ce_quadrant(d_cost, d_qalys), "")


def icer(d_cost: float, d_qalys: float) -> float:
    """The ICER ``d_cost / d_qalys`` in the NE (cost per QALY gained) and SW (savings per
    QALY lost) quadrants; NaN when one alternative dominates or nothing differs (a ratio
    there would be negative or undefined and means nothing)."""
    return d_cost / d_qalys if ce_quadrant(d_cost, d_qalys) in ("NE", "SW") else np.nan


def icer_text(d_cost: float, d_qalys: float) -> str:
    """The ICER in words: ``"$45,000 per QALY gained"``, ``"dominant (saves money, gains
    health)"``, ``"dominated (costs more, loses health)"``, ``"$30,000 saved per QALY lost
    (saves money, loses health)"`` or ``"no difference in cost or QALYs"``."""
    quadrant = ce_quadrant(d_cost, d_qalys)
    if quadrant == "NE":
        return f"${d_cost / d_qalys:,.0f} per QALY gained"
    if quadrant == "SW":
        return f"${d_cost / d_qalys:,.0f} saved per QALY lost (saves money, loses health)"
    if quadrant in ("SE", "NW"):
        word, what = QUADRANTS[quadrant].split(": ")
        if d_qalys == 0:
            what = "saves money, same QALYs" if quadrant == "SE" else "costs more, same QALYs"
        elif d_cost == 0:
            what = ("same cost, gains health" if quadrant == "SE"
                    else "same cost, loses health")
        return f"{word} ({what})"
    return QUADRANTS[""]


def ce_differences(
    results: pd.DataFrame, reference: str, discount_rate: float = DEFAULT_DISCOUNT_RATE,
    perspective: str = "health_sector",
) -> pd.DataFrame:
    """The points of the cost-effectiveness plane: per replication and scenario other than
    ``reference``, the discounted plan-total differences of cost (``d_cost_usd``, of the
    ``perspective``: :func:`cost_metric`) and QALYs (``d_qalys``: :func:`health_outcome`)
    from the reference, paired by replication, and the ``quadrant`` of each
    (:func:`ce_quadrant`). Empty without QALYs or the reference."""
    both = _cost_qalys(results, discount_rate, perspective)
    columns = ["replication", "scenario", "reference", "d_cost_usd", "d_qalys", "quadrant"]
    if both is None or reference not in both[0]:
        return pd.DataFrame(columns=columns)
    cost, qalys = both
    parts = []
    for scen in cost.columns:
        if scen == reference:
            continue
        dc = (cost[scen] - cost[reference]).rename("d_cost_usd")
        dq = (qalys[scen] - qalys[reference]).rename("d_qalys")
        part = pd.concat([dc, dq], axis=1).dropna().reset_index()
        part.insert(1, "scenario", scen)
        part.insert(2, "reference", reference)
        part["quadrant"] = [ce_quadrant(c, q) for c, q in
                            zip(part["d_cost_usd"], part["d_qalys"], strict=True)]
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def cost_effectiveness(
    results: pd.DataFrame, reference: str, wtp: Sequence[float],
    discount_rate: float = DEFAULT_DISCOUNT_RATE, perspective: str = "health_sector",
) -> pd.DataFrame:
    """ICER and NMB of every scenario against ``reference`` (discounted costs and QALYs):
    one row per scenario and willingness to pay, with ``quadrant``, ``dominance``,
    ``icer_usd_per_qaly`` (NaN when dominant or dominated) and ``verdict`` as the module
    doc says, in the ``perspective`` (column ``perspective``: the cost actually used;
    ``outcome``: closed cohort or open panel); the payer's figures are always beside them
    (``d_cost_payer_usd``, ``icer_payer_usd_per_qaly``, ``verdict_payer``,
    ``nmb_payer_mean``)."""
    points = ce_differences(results, reference, discount_rate, perspective)
    used = ("health_sector" if cost_metric(results, perspective) == HEALTH_SECTOR_COST
            else "payer")
    payer = ce_differences(results, reference, discount_rate, "payer")
    basis = outcome_basis(results)
    rows = []
    for scen, part in points.groupby("scenario", sort=False):
        dc, dq = part["d_cost_usd"], part["d_qalys"]
        mc, mq = float(dc.mean()), float(dq.mean())
        quadrant = ce_quadrant(mc, mq)
        pp = payer[payer["scenario"] == scen]
        pc = float(pp["d_cost_usd"].mean()) if len(pp) else np.nan
        for w in wtp:
            nmb = w * dq - dc
            rows.append({
                "perspective": used, "outcome": basis,
                "d_cost_payer_usd": pc, "icer_payer_usd_per_qaly": icer(pc, mq),
                "verdict_payer": icer_text(pc, mq),
                "nmb_payer_mean": float((w * pp["d_qalys"] - pp["d_cost_usd"]).mean())
                if len(pp) else np.nan,
                "scenario": scen, "reference": reference, "wtp_usd_per_qaly": float(w),
                "d_cost_usd": mc, "d_qalys": mq, "icer_usd_per_qaly": icer(mc, mq),
                "quadrant": quadrant, "dominance": dominance(mc, mq),
                "verdict": icer_text(mc, mq),
                "nmb_mean": float(nmb.mean()),
                "nmb_se": float(nmb.std(ddof=1) / np.sqrt(len(nmb))) if len(nmb) > 1 else np.nan,
                "nmb_p2.5": float(nmb.quantile(0.025)), "nmb_p97.5": float(nmb.quantile(0.975)),
                "p_nmb_positive": float((nmb > 0).mean()), "discount_rate": discount_rate,
            })
    return pd.DataFrame(rows)


def ceac(
    results: pd.DataFrame, wtp: Sequence[float] = DEFAULT_WTP_GRID,
    discount_rate: float = DEFAULT_DISCOUNT_RATE, perspective: str = "health_sector",
) -> pd.DataFrame:
    """Cost-effectiveness acceptability curve: P(highest NMB) per scenario and WTP (costs
    of the ``perspective``, QALYs of :func:`health_outcome`)."""
    both = _cost_qalys(results, discount_rate, perspective)
    if both is None:
        return pd.DataFrame()
    cost, qalys = both
    scenarios = list(cost.columns)
    rows = []
    for w in sorted(set(float(x) for x in wtp)):
        nmb = (w * qalys[scenarios] - cost[scenarios]).to_numpy()
        share = _best_share(nmb, higher=True)
        rows += [{"wtp_usd_per_qaly": w, "scenario": s, "probability": p}
                 for s, p in zip(scenarios, share, strict=True)]
    return pd.DataFrame(rows)


def _best_share(values: np.ndarray, higher: bool) -> np.ndarray:
    """Share of rows (replications) in which each column is best; ties shared."""
    values = values[~np.isnan(values).any(axis=1)]
    if not len(values):
        return np.full(values.shape[1], np.nan)
    target = values.max(axis=1) if higher else values.min(axis=1)
    best = values == target[:, None]
    return (best / best.sum(axis=1, keepdims=True)).mean(axis=0)


def probability_best(
    results: pd.DataFrame, metrics: Sequence[tuple[str, str]] | None = None
) -> pd.DataFrame:
    """P(each scenario is best) per (entity, metric) on plan totals; a metric whose
    catalogue entry has no better direction (``neither``) is left out."""
    rows = []
    for entity, metric in metrics if metrics is not None else default_metrics(results):
        better = describe(metric).better
        table = plan_values(results, entity, metric)
        if table.empty or better == "neither":
            continue
        lower = better == "lower"
        share = _best_share(table.to_numpy(), higher=not lower)
        rows += [{"entity": entity, "metric": metric, "best_is": "lowest" if lower else "highest",
                  "scenario": s, "probability": float(p)}
                 for s, p in zip(table.columns, share, strict=True)]
    return pd.DataFrame(rows)


#: The year's margin already valued by payment date at the provider discount rate.
MARGIN_PV = "margin_pv_usd"


def npv(results: pd.DataFrame, reference: str | None, discount_rate: float = DEFAULT_DISCOUNT_RATE,
        metric: str = "margin_usd") -> pd.DataFrame:
    """NPV of ``metric`` per scenario and entity, and its paired difference from
    ``reference``: ``sum_t metric_t / (1 + discount_rate)^t`` by plan year; for
    ``margin_pv_usd`` (each year's flows already discounted from their payment dates at the
    scenario's provider discount rate) the plain sum, with ``discount_rate`` NaN. Column
    ``basis`` says which."""
    rows = []
    pv = metric == MARGIN_PV
    entities = list(pd.unique(results.loc[results["metric"] == metric, "entity"]))
    for entity in entities:
        table = plan_values(results, entity, metric, 0.0 if pv else discount_rate)
        for scen in table.columns:
            v = table[scen].dropna()
            row = {"scenario": scen, "entity": entity, "metric": metric,
                   "discount_rate": np.nan if pv else discount_rate,
                   "basis": ("payment dates, provider discount rate" if pv
                             else "plan years, given discount rate"),
                   "npv_mean": float(v.mean()),
                   "npv_p2.5": float(v.quantile(0.025)), "npv_p97.5": float(v.quantile(0.975)),
                   "p_negative": float((v < 0).mean())}
            if reference is not None and reference in table and scen != reference:
                s = _diff_stats(table[scen] - table[reference])
                row.update({"d_npv_mean": s["diff_mean"], "d_npv_p2.5": s["p2.5"],
                            "d_npv_p97.5": s["p97.5"]})
            rows.append(row)
    return pd.DataFrame(rows)


def cumulative_savings(results: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Payer savings (reference minus scenario spending) accumulated by year."""
    metric = payer_spending_metric(results)
    rows = results[(results["entity"] == "population") & (results["metric"] == metric)]
    if rows.empty:
        return pd.DataFrame()
    wide = rows.groupby(["replication", "year", "scenario"], observed=True)["value"].sum() \
        .unstack("scenario")
    wide.columns = [str(c) for c in wide.columns]
    if reference not in wide:
        return pd.DataFrame()
    out = []
    for scen in wide.columns:
        if scen == reference:
            continue
        saving = (wide[reference] - wide[scen]).unstack("year").sort_index(axis=1)
        cum = saving.cumsum(axis=1)
        for year in cum.columns:
            c = cum[year].dropna()
            out.append({"scenario": scen, "reference": reference, "year": int(year),
                        "metric": metric, "saving_mean": float(saving[year].mean()),
                        "cumulative_mean": float(c.mean()),
                        "cumulative_p2.5": float(c.quantile(0.025)),
                        "cumulative_p97.5": float(c.quantile(0.975)),
                        "p_cumulative_positive": float((c > 0).mean())})
    return pd.DataFrame(out)


@dataclass(frozen=True)
class Comparison:
    """All comparisons of an experiment with its reference (DataFrames)."""

    reference: str
    incremental: pd.DataFrame
    cost_effectiveness: pd.DataFrame
    ceac: pd.DataFrame
    best: pd.DataFrame
    npv: pd.DataFrame
    cumulative_savings: pd.DataFrame
    wtp: tuple[float, ...] = field(default=())
    discount_rate: float = DEFAULT_DISCOUNT_RATE
    #: how the scenarios were aligned ("": same plan years), see :func:`alignment_note`
    alignment: str = ""

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"incremental": self.incremental, "cost_effectiveness": self.cost_effectiveness,
                "ceac": self.ceac, "best": self.best, "npv": self.npv,
                "cumulative_savings": self.cumulative_savings}

    def format(self) -> str:
        """A readable plain-text report of the main comparisons."""
        lines = [f"Compared with {self.reference} (paired by replication, plan totals; "
                 "mean difference and 95% interval of the paired differences):"]
        if self.alignment:
            lines.insert(0, f"Note: {self.alignment}.")
        inc = self.incremental
        if inc.empty:
            return "\n".join([*lines, "  (nothing to compare)"])
        cells = []
        for r in inc.to_dict("records"):
            money = is_money(r["metric"])
            cells.append((str(r["scenario"]), str(r["entity"]), str(r["metric"]),
                          format_number(r["diff_mean"], money=money),
                          f"{format_number(r['p2.5'], money=money, like=r['diff_mean'])} to "
                          f"{format_number(r['p97.5'], money=money, like=r['diff_mean'])}"))
        header = ("scenario", "entity", "metric", "difference", "95% interval")
        widths = [max(len(c[i]) for c in [header, *cells]) for i in range(5)]
        for c in [header, *cells]:
            lines.append("  " + "   ".join([c[0].ljust(widths[0]), c[1].ljust(widths[1]),
                                            c[2].ljust(widths[2]), c[3].rjust(widths[3]),
                                            c[4]]).rstrip())
        ce = self.cost_effectiveness
        if not ce.empty:
            first = ce.iloc[0]
            what = str(first.get("perspective", "payer")).replace("_", "-")
            lines += ["", f"Cost-effectiveness ({what} perspective: "
                      f"{'health-sector cost' if what == 'health-sector' else 'payer spending'}"
                      f" vs QALYs of the {first.get('outcome', 'open panel')}, discounted at "
                      f"{self.discount_rate:.1%} a year; payer perspective beside):"]
            for scen, part in ce.groupby("scenario", sort=False):
                first = part.iloc[0]
                lines.append(f"  {scen}: dCost {first['d_cost_usd']:,.0f} USD, dQALYs "
                             f"{first['d_qalys']:.3g}, ICER: {first['verdict']}")
                if what != "payer" and "d_cost_payer_usd" in first:
                    lines.append(f"    payer perspective: dCost {first['d_cost_payer_usd']:,.0f}"
                                 f" USD, ICER: {first['verdict_payer']}")
                for r in part.to_dict("records"):
                    lines.append(f"    WTP {r['wtp_usd_per_qaly']:,.0f}: NMB "
                                 f"{r['nmb_mean']:,.0f} USD, P(NMB > 0) = "
                                 f"{r['p_nmb_positive']:.2f}")
        return "\n".join(lines)


def compare_results(
    results: pd.DataFrame,
    reference: str,
    *,
    wtp: Sequence[float] = DEFAULT_WTP,
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
    metrics: Sequence[tuple[str, str]] | None = None,
    align_horizon: str | None = None,
    perspective: str = "health_sector",
) -> Comparison:
    """Every comparison of the module doc, against ``reference``; scenarios with different
    plan years only with ``align_horizon="shortest"`` (over their common years;
    :func:`check_comparable`); cost-effectiveness in the ``perspective`` (payer beside)."""
    names = list(pd.unique(results["scenario"].astype(str)))
    if reference not in names:
        raise ValueError(f"reference {reference!r} is not among the scenarios {names}")
    years = years_by_scenario(results)
    common = check_comparable(years, align_horizon=align_horizon)
    alignment = ""
    if common is not None:
        results = results[results["year"].isin(common)]
        alignment = alignment_note(years, common)
    grid = sorted(set(DEFAULT_WTP_GRID) | {float(w) for w in wtp})
    return Comparison(
        reference=reference,
        incremental=incremental(results, reference, metrics),
        cost_effectiveness=cost_effectiveness(results, reference, wtp, discount_rate,
                                              perspective),
        ceac=ceac(results, grid, discount_rate, perspective),
        best=probability_best(results, metrics),
        npv=pd.concat([t for t in (npv(results, reference, discount_rate),
                                   npv(results, reference, discount_rate, MARGIN_PV))
                       if not t.empty] or [pd.DataFrame()], ignore_index=True),
        cumulative_savings=cumulative_savings(results, reference),
        wtp=tuple(float(w) for w in wtp),
        discount_rate=discount_rate,
        alignment=alignment,
    )


__all__ = [
    "ALIGNMENTS",
    "DEFAULT_WTP",
    "PERSPECTIVES",
    "QUADRANTS",
    "DEFAULT_WTP_GRID",
    "Comparison",
    "NotComparable",
    "alignment_note",
    "ce_differences",
    "ce_quadrant",
    "ceac",
    "check_comparable",
    "compare_results",
    "cost_effectiveness",
    "cost_metric",
    "cumulative_savings",
    "default_metrics",
    "dominance",
    "icer",
    "health_outcome",
    "icer_text",
    "incremental",
    "npv",
    "outcome_basis",
    "payer_spending_metric",
    "plan_values",
    "probability_best",
    "years_by_scenario",
]
