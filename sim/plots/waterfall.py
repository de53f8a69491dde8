"""Settlement waterfall: how a provider gets from fee-for-service revenue to its margin.

For one plan year, mean over replications: fee-for-service revenue, capitation, the
settlement (shared savings or losses, capitation settlements, bundle reconciliations: split
by kind when the run's ``cash_flows`` table is available), the revenue subtotal, then each
cost (own services, claims paid to other providers under capitation, investment, the effort
of changing practice, fixed costs) down to the margin. The steps add up exactly: the results
table has ``revenue = ffs + capitation + settlement`` and ``margin = revenue - costs`` in
every replication, and means preserve sums.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.contracts.registry import CAPITATION_KINDS
from sim.plots._common import (
    LOSS_COLOUR,
    MoneyFormatter,
    as_results,
    metric_label,
    money,
    new_figure,
    pick_scenarios,
    plain,
    rows_of,
)

#: steps as (metric, label); labels from the metric catalogue
REVENUE_STEPS = tuple((m, metric_label(m)) for m in ("ffs_revenue_usd", "capitation_revenue_usd"))
SETTLEMENT = ("settlement_usd", metric_label("settlement_usd"))
COST_STEPS = tuple((m, metric_label(m)) for m in (
    "own_service_cost_usd", "capacity_cost_usd", "paid_to_providers_usd",  # capacity: issue 11
    "investment_cost_usd", "effort_cost_usd", "fixed_cost_usd"))
ALWAYS = {"ffs_revenue_usd", "revenue_usd", "margin_usd"}
#: cash-flow kinds that are not settlements (they are the revenue steps or a cost)
NOT_SETTLEMENT = frozenset({"ffs_claims", "capitated_claims"}) | CAPITATION_KINDS
GAIN, LOSS, TOTAL = "#009E73", LOSS_COLOUR, "#34495E"


def _inputs(source: Any) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(results, cash_flows or None) from a directory, a RunResult, a table or a mapping."""
    if isinstance(source, str | os.PathLike):
        from sim.results.layout import CASH_FLOWS_PARQUET

        p = Path(source)
        flows = pd.read_parquet(p / CASH_FLOWS_PARQUET) if (p / CASH_FLOWS_PARQUET).exists() \
            else None
        return as_results(p), flows
    if isinstance(source, Mapping):
        return as_results(source["results"]), source.get("cash_flows")
    if isinstance(source, pd.DataFrame):
        return as_results(source), None
    tables = getattr(source, "tables", None) or {}
    return as_results(source), tables.get("cash_flows")


def _settlement_split(
    flows: pd.DataFrame, provider: str, scenario: str, year: int, replications: Sequence[int],
    total: float,
) -> list[tuple[str, float]] | None:
    """Mean settlement per cash-flow kind, if the kinds add up to ``total``."""
    f = flows
    if "scenario" in f:
        f = f[f["scenario"].astype(str) == scenario]
    f = f[(f["year"] == year) & ((f["target"] == provider) | (f["source"] == provider))]
    f = f[~f["kind"].isin(NOT_SETTLEMENT)]
    if f.empty:
        return None
    signed = f["amount_usd"].where(f["target"] == provider, -f["amount_usd"])
    by = (f.assign(signed=signed).groupby(["replication", "kind"])["signed"].sum()
          .unstack("kind").reindex(list(replications)).fillna(0.0))
    means = by.mean()
    if not np.isclose(float(means.sum()), total, rtol=1e-6, atol=1.0):
        return None
    return [(f"Settlement: {str(k).replace('_', ' ')}", float(v)) for k, v in means.items()]


def waterfall_table(
    source: Any, provider: str, year: int | None = None, scenario: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """The steps of :func:`settlement_waterfall`: ``scenario, year, n, step, item, kind``
    (``delta`` or ``total``), ``value`` (mean over replications, USD), ``start`` and ``end``
    (where the bar begins and ends). ``year=None`` takes the last plan year."""
    res, flows = _inputs(source)
    names = pick_scenarios(res, [scenario] if isinstance(scenario, str) else scenario)
    sub = res[(res["entity"] == provider) & res["scenario"].isin(names)]
    if sub.empty:
        rows_of(res, provider, "margin_usd")
    years = sorted(sub["year"].unique())
    if year is None:
        year = int(years[-1])
    elif year not in years:
        raise ValueError(f"no plan year {year} in the results; years: {years}")
    sub = sub[sub["year"] == year]
    means = sub.groupby(["scenario", "metric"])["value"].mean().unstack("metric")
    counts = sub.groupby("scenario")["replication"].nunique()
    steps: dict[str, list[tuple[str, str, float]]] = {}
    for name in names:
        m = means.loc[name] if name in means.index else pd.Series(dtype=float)

        def get(metric: str, m: pd.Series = m) -> float:
            v = m.get(metric)
            return float(v) if v is not None and pd.notna(v) else 0.0

        items = [(metric, label, get(metric)) for metric, label in REVENUE_STEPS]
        split = None
        if flows is not None and abs(get("settlement_usd")) > 0.5:
            reps = sorted(sub.loc[sub["scenario"] == name, "replication"].unique())
            split = _settlement_split(flows, provider, name, year, reps, get("settlement_usd"))
        if split:
            items += [("settlement_usd", label, v) for label, v in split]
        else:
            items.append((SETTLEMENT[0], SETTLEMENT[1], get("settlement_usd")))
        items.append(("revenue_usd", metric_label("revenue_usd"), get("revenue_usd")))
        items += [(metric, label, -get(metric)) for metric, label in COST_STEPS]
        items.append(("margin_usd", metric_label("margin_usd"), get("margin_usd")))
        steps[name] = items
    keep = {label for items in steps.values() for metric, label, v in items
            if metric in ALWAYS or abs(v) > 0.5}
    rows = []
    for name, items in steps.items():
        level, k = 0.0, 0
        for metric, label, value in items:
            if label not in keep:
                continue
            total = metric in ("revenue_usd", "margin_usd")
            start, end = (0.0, value) if total else (level, level + value)
            level = end
            rows.append({"scenario": name, "year": year, "n": int(counts.get(name, 0)),
                         "step": k, "item": label, "metric": metric,
                         "kind": "total" if total else "delta", "value": value,
                         "start": start, "end": end})
            k += 1
    return pd.DataFrame(rows)


def settlement_waterfall(
    results_dir_or_tables: Any,
    provider: str,
    year: int | None = None,
    scenario: str | Sequence[str] | None = None,
) -> Any:
    """Waterfall from fee-for-service revenue through capitation and settlement to costs and
    margin for ``provider`` in one plan year (default: the last), mean over replications;
    one panel per scenario (``scenario``: one name, several, or ``None`` for all).

    ``results_dir_or_tables``: a results directory, a :class:`~sim.run_result.RunResult`, a tidy
    results table, or ``{"results": ..., "cash_flows": ...}``; with cash flows the
    settlement is split by kind. Green steps add to the provider's money, red ones take
    from it; dark bars are the revenue subtotal and the margin. The numbers are
    :func:`waterfall_table`'s.
    """
    table = waterfall_table(results_dir_or_tables, provider, year, scenario)
    names = list(dict.fromkeys(table["scenario"]))
    n_items = int(table.groupby("scenario").size().max())
    fig = new_figure(7.5, 0.9 + len(names) * (0.45 + 0.3 * n_items))
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=True):
        part = table[table["scenario"] == name].reset_index(drop=True)
        y = np.arange(len(part))[::-1]
        colours = [TOTAL if k == "total" else (GAIN if v >= 0 else LOSS)
                   for k, v in zip(part["kind"], part["value"], strict=True)]
        left = np.minimum(part["start"], part["end"])
        width = np.abs(part["end"] - part["start"])
        ax.barh(y, width, left=left, color=colours, height=0.62)
        for i in range(len(part) - 1):
            ax.plot([part["end"][i]] * 2, [y[i] - 0.31, y[i + 1] + 0.31], color="#999999",
                    linewidth=0.7, linestyle=":")
        lo = min(0.0, float(part[["start", "end"]].min().min()))
        hi = max(0.0, float(part[["start", "end"]].max().max()))
        span = hi - lo if hi > lo else 1.0
        for yi, (_, r) in zip(y, part.iterrows(), strict=True):
            if r["kind"] == "total" or abs(r["value"]) < 0.5:
                text = money(r["value"])
            else:
                text = ("+" if r["value"] > 0 else "") + money(r["value"])
            ax.text(max(r["start"], r["end"]) + 0.01 * span, yi, plain(text), va="center",
                    fontsize=8, color="#222222")
        ax.set_xlim(lo - 0.02 * span, hi + 0.2 * span)
        ax.axvline(0, color="#555555", linewidth=0.8)
        ax.set_yticks(y, part["item"], fontsize=8.5)
        ax.xaxis.set_major_formatter(MoneyFormatter())
        ax.grid(True, axis="x", color="#e5e5e5", linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.set_title(f"{name} (mean of {int(part['n'].iloc[0])} replications)", loc="left",
                     fontsize="medium")
    axes[-1].set_xlabel("USD in the year")
    yr = int(table["year"].iloc[0])
    fig.suptitle(f"{provider}: from revenue to margin in plan year {yr}", x=0.01, ha="left",
                 fontweight="bold")
    return fig


__all__ = ["settlement_waterfall", "waterfall_table"]
