"""Financial risk and Monte Carlo precision, as functions of the tidy results table.

Everything here takes a results table (``replication, scenario, year, entity, metric,
value``) and returns a new DataFrame; it works on any table with the metric names used
(by default ``margin_usd`` and ``settlement_usd`` per provider or payer entity).

Sign conventions
----------------
* ``margin_usd`` is revenue minus cost of an entity: negative is a loss.
* ``settlement_usd`` is the reconciliation paid by the payer to the entity: negative means
  the entity **owes** (a shared loss, a repayment).
* ``VaR95`` of a quantity is its 5th percentile across replications (linear interpolation):
  the value the quantity falls below in the worst 5% of replications. It is reported in the
  quantity's own sign, so a VaR95 of margin of ``-2e5`` means "a loss of at least $200,000
  in 1 replication out of 20". ``CVaR95`` is the mean of the values at or below VaR95 (the
  expected value in that worst tail), always <= VaR95.
* The worst cumulative position of a replication is the minimum over plan years of the
  cumulative margin (``min_t sum_{s<=t} margin_s``): the deepest hole the entity is in at any
  year end.

By payment date (``docs/economics.md``): margins above are booked in the year the money is
earned; the cash arrives later (reconciliations ~9 months after the year, repayments ~11).
When the results have them, :func:`risk_table` adds the cash view: ``margin_pv_*`` (the
plan's margin at present value by payment date, provider discount rate: its mean, VaR95,
CVaR95, ``p_negative_margin_pv``), the worst cumulative **cash** position (net cash by the
year it is paid, the plan's money paid after the horizon as a last step:
``worst_cash_mean``, ``worst_cash_p5``, ``p_cash_below_zero``) and, by year,
``p_owing_paid`` (share of replications in which the entity repays reconciliation money
in that calendar year).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri

MARGIN = "margin_usd"
SETTLEMENT = "settlement_usd"
#: Payment-date metrics of the settlement (sim.settlement.engine, docs/economics.md).
MARGIN_PV = "margin_pv_usd"
CASH = "cash_net_usd"
CASH_AFTER = "cash_after_horizon_usd"
SETTLEMENT_PAID = "settlement_paid_usd"


def cash_path(results: pd.DataFrame) -> pd.DataFrame:
    """Net cash by the year it is paid (``cash_net_usd``), with the plan's money paid after
    the horizon (``cash_after_horizon_usd`` of the last plan year) as one more step, the
    year after the last: the rows :func:`worst_cumulative` needs for the cash position."""
    cash = results[results["metric"] == CASH]
    after = results[(results["metric"] == CASH_AFTER)]
    if not after.empty:
        last = after["year"].max()
        after = after[after["year"] == last].assign(year=last + 1, metric=CASH)
        cash = pd.concat([cash, after], ignore_index=True)
    return cash


def var(values: Sequence[float] | np.ndarray, alpha: float = 0.05) -> float:
    """Value at risk: the ``alpha`` quantile of ``values`` (linear interpolation)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    return float(np.quantile(x, alpha)) if len(x) else math.nan


def cvar(values: Sequence[float] | np.ndarray, alpha: float = 0.05) -> float:
    """Conditional value at risk: the mean of the values at or below :func:`var`."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if not len(x):
        return math.nan
    return float(x[x <= np.quantile(x, alpha)].mean())


def _label(alpha: float) -> str:
    return f"{(1 - alpha) * 100:g}"


def per_replication(
    results: pd.DataFrame, metric: str, over_years: Literal["total", "mean", "by_year"] = "total"
) -> pd.DataFrame:
    """One value per replication, scenario and entity (and year with ``"by_year"``): the
    sum (``"total"``) or mean (``"mean"``) of ``metric`` over the years."""
    rows = results[results["metric"] == metric]
    keys = ["scenario", "entity", "replication"]
    if over_years == "by_year":
        keys.insert(2, "year")
        how = "sum"
    else:
        how = "sum" if over_years == "total" else "mean"
    if rows.empty:
        return pd.DataFrame(columns=[*keys, "value"])
    return rows.groupby(keys, sort=False, observed=True)["value"].agg(how).reset_index()


def worst_cumulative(results: pd.DataFrame, metric: str = MARGIN) -> pd.DataFrame:
    """Per replication, scenario and entity: the minimum over years of the cumulative
    ``metric`` (column ``worst_cumulative``) and the year it is reached."""
    rows = results[results["metric"] == metric]
    cols = ["scenario", "entity", "replication", "worst_cumulative", "worst_year"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    rows = (rows.groupby(["scenario", "entity", "replication", "year"], sort=False,
                         observed=True)["value"].sum().reset_index()
            .sort_values(["scenario", "entity", "replication", "year"], kind="stable"))
    rows["cum"] = rows.groupby(["scenario", "entity", "replication"], observed=True)[
        "value"].cumsum()
    idx = rows.groupby(["scenario", "entity", "replication"], sort=False,
                       observed=True)["cum"].idxmin()
    worst = rows.loc[idx, ["scenario", "entity", "replication", "cum", "year"]]
    return worst.rename(columns={"cum": "worst_cumulative", "year": "worst_year"})[cols] \
        .reset_index(drop=True)


def risk_table(
    results: pd.DataFrame,
    *,
    over_years: Literal["total", "by_year"] = "total",
    alpha: float = 0.05,
    margin: str = MARGIN,
    settlement: str = SETTLEMENT,
) -> pd.DataFrame:
    """Financial risk per scenario and entity, across replications.

    ``over_years="total"``: each replication's values are summed over the plan years
    (the whole plan's margin / settlement), and the worst cumulative position is added;
    ``"by_year"``: one row per year. Columns (present when the metric is):

    * ``n`` — replications;
    * ``margin_mean``, ``p_negative_margin`` (share of replications with margin < 0),
      ``margin_var95``, ``margin_cvar95`` (see the module doc for signs);
    * ``settlement_mean``, ``p_owing`` (share with settlement < 0), ``settlement_var95``,
      ``settlement_cvar95``;
    * with ``"total"``: ``worst_cumulative_mean``, ``worst_cumulative_p5``,
      ``worst_cumulative_p50``, ``p_cumulative_loss`` (share of replications whose
      cumulative margin is below 0 at some year end).

    ``alpha`` sets the tail (0.05 gives the ``95`` suffix). Rows only for entities with a
    margin or settlement metric.
    """
    if over_years not in ("total", "by_year"):
        raise ValueError(f"over_years must be 'total' or 'by_year', got {over_years!r}")
    lab = _label(alpha)
    keys = ["scenario", "entity"] + (["year"] if over_years == "by_year" else [])
    frames = []
    for metric, prefix, p_col in ((margin, "margin", "p_negative_margin"),
                                  (settlement, "settlement", "p_owing")):
        values = per_replication(results, metric, over_years)
        if values.empty:
            continue
        grouped = values.groupby(keys, sort=False, observed=True)["value"]
        stats = pd.DataFrame({
            "n": grouped.count(),
            f"{prefix}_mean": grouped.mean(),
            p_col: grouped.apply(lambda x: float((x < 0).mean())),
            f"{prefix}_var{lab}": grouped.apply(lambda x: var(x, alpha)),
            f"{prefix}_cvar{lab}": grouped.apply(lambda x: cvar(x, alpha)),
        })
        frames.append(stats)
    if not frames:
        return pd.DataFrame(columns=[*keys, "n"])
    table = frames[0]
    for extra in frames[1:]:
        table = table.join(extra.drop(columns="n"), how="outer") if "n" in table else extra
    if over_years == "total" and (results["metric"] == MARGIN_PV).any():
        values = per_replication(results, MARGIN_PV, "total")
        g = values.groupby(keys, sort=False, observed=True)["value"]
        table = table.join(pd.DataFrame({
            "margin_pv_mean": g.mean(),
            "p_negative_margin_pv": g.apply(lambda x: float((x < 0).mean())),
            f"margin_pv_var{lab}": g.apply(lambda x: var(x, alpha)),
            f"margin_pv_cvar{lab}": g.apply(lambda x: cvar(x, alpha)),
        }), how="left")
    if over_years == "total" and (results["metric"] == CASH).any():
        worst = worst_cumulative(cash_path(results), CASH)
        g = worst.groupby(["scenario", "entity"], sort=False, observed=True)["worst_cumulative"]
        table = table.join(pd.DataFrame({
            "worst_cash_mean": g.mean(), "worst_cash_p5": g.quantile(0.05),
            "p_cash_below_zero": g.apply(lambda x: float((x < 0).mean())),
        }), how="left")
    if over_years == "by_year" and (results["metric"] == SETTLEMENT_PAID).any():
        values = per_replication(results, SETTLEMENT_PAID, "by_year")
        g = values.groupby(keys, sort=False, observed=True)["value"]
        table = table.join(pd.DataFrame({
            "p_owing_paid": g.apply(lambda x: float((x < 0).mean()))}), how="left")
    if over_years == "total":
        worst = worst_cumulative(results, margin)
        if len(worst):
            g = worst.groupby(["scenario", "entity"], sort=False, observed=True)[
                "worst_cumulative"]
            table = table.join(pd.DataFrame({
                "worst_cumulative_mean": g.mean(),
                "worst_cumulative_p5": g.quantile(0.05),
                "worst_cumulative_p50": g.quantile(0.5),
                "p_cumulative_loss": g.apply(lambda x: float((x < 0).mean())),
            }), how="left")
    table["n"] = table["n"].astype("int64")
    return table.reset_index()


def precision(
    results: pd.DataFrame,
    *,
    relative: float | None = 0.01,
    absolute: float | None = None,
    confidence: float = 0.95,
    by: Sequence[str] = ("scenario", "entity", "metric"),
) -> pd.DataFrame:
    """Monte Carlo precision of each mean, and the replications needed for a target.

    Values are first averaged over the years of each replication. Columns: ``mean``,
    ``sd``, ``n``, ``mcse`` (Monte Carlo standard error, sd / sqrt(n)), ``half_width``
    (z * mcse for the ``confidence`` level), ``relative_half_width`` (half_width / |mean|)
    and ``replications_needed``: the n at which the half-width would reach the target,
    ``absolute`` (in the metric's unit) if given, else ``relative`` x |mean|; at least the
    current n is never claimed to suffice unless it does.
    """
    by = list(by)
    per_rep = (results.groupby(["replication", *by], sort=False, observed=True)["value"]
               .mean().reset_index())
    g = per_rep.groupby(by, sort=False, observed=True)["value"]
    out = g.agg(["mean", "std", "count"]).rename(columns={"std": "sd", "count": "n"})
    z = float(ndtri(0.5 + confidence / 2))
    out["mcse"] = out["sd"] / np.sqrt(out["n"])
    out["half_width"] = z * out["mcse"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["relative_half_width"] = out["half_width"] / out["mean"].abs()
        target = (pd.Series(float(absolute), index=out.index) if absolute is not None
                  else out["mean"].abs() * float(relative if relative is not None else 0.01))
        needed = np.ceil((z * out["sd"] / target) ** 2)
    out["target_half_width"] = target
    out["replications_needed"] = needed.where(np.isfinite(needed)).astype("Float64")
    out["n"] = out["n"].astype("int64")
    return out.reset_index()


__all__ = [
    "cash_path",
    "cvar",
    "per_replication",
    "precision",
    "risk_table",
    "var",
    "worst_cumulative",
]
