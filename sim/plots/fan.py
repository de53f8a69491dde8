"""Fan chart: a metric by plan year, median with 50% and 90% bands across replications."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.plots._common import (
    as_results,
    axis_label,
    metric_label,
    metric_unit,
    new_figure,
    pick_scenarios,
    rows_of,
    scenario_colours,
    style_axes,
    value_axis,
)

QUANTILES = {"p5": 0.05, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p95": 0.95}


def fan_table(
    results: Any, metric: str, entity: str = "population", scenarios: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per scenario and plan year: ``n`` replications, ``mean`` and the percentiles ``p5``,
    ``p25``, ``p50`` (median), ``p75``, ``p95`` of ``metric`` of ``entity`` across
    replications (linear interpolation), the numbers :func:`fan_chart` draws."""
    res = as_results(results)
    names = pick_scenarios(res, scenarios)
    rows = rows_of(res, entity, metric)
    rows = rows[rows["scenario"].isin(names)]
    per_rep = rows.groupby(["scenario", "year", "replication"], observed=True)["value"].sum()
    g = per_rep.groupby(level=["scenario", "year"], observed=True)
    out = pd.DataFrame({"n": g.count(), "mean": g.mean()})
    for col, q in QUANTILES.items():
        out[col] = g.quantile(q)
    out = out.reset_index()
    out["scenario"] = pd.Categorical(out["scenario"], categories=names, ordered=True)
    out = out.sort_values(["scenario", "year"]).reset_index(drop=True)
    out["scenario"] = out["scenario"].astype(str)
    return out


def _groups(table: pd.DataFrame, names: list[str]) -> list[list[str]]:
    """Scenarios whose 90% bands (over all years) overlap, chained: each group can share an
    axis without one fan being flattened by another's scale."""
    lo = table.groupby("scenario")["p5"].min()
    hi = table.groupby("scenario")["p95"].max()
    joint = float(hi.max() - lo.min())
    groups: list[list[str]] = []
    reach = -np.inf
    for name in sorted(names, key=lambda n: lo[n]):
        if groups and lo[name] <= reach + 0.05 * joint:
            groups[-1].append(name)
        else:
            groups.append([name])
        reach = max(reach, float(hi[name])) if len(groups[-1]) > 1 else float(hi[name])
    order = {n: i for i, n in enumerate(names)}
    groups = [sorted(g, key=order.__getitem__) for g in groups]
    return sorted(groups, key=lambda g: order[g[0]])


def fan_chart(
    results: Any,
    metric: str,
    entity: str = "population",
    scenarios: Sequence[str] | None = None,
    *,
    separate: bool | None = None,
    title: str | None = None,
) -> Any:
    """Fan chart of ``metric`` of ``entity`` by plan year, one fan per scenario.

    The line (with a dot per year) is the median across replications; the darker band holds
    the middle 50% of replications (25th to 75th percentile), the lighter band the middle
    90% (5th to 95th). ``results``: a tidy results table, a :class:`~sim.run_result.RunResult`
    or a results directory. The fans share one axis, or with ``separate`` get one panel
    each (own vertical scale); ``None`` puts scenarios whose 90% bands overlap on a shared
    panel and gives the others their own, so no fan is flattened by another's scale.
    Returns a matplotlib ``Figure``; the numbers are :func:`fan_table`'s.
    """
    table = fan_table(results, metric, entity, scenarios)
    names = list(dict.fromkeys(table["scenario"]))
    colours = scenario_colours(names)
    if separate is None:
        groups = _groups(table, names)
    else:
        groups = [[n] for n in names] if separate else [names]
    separate = len(groups) > 1
    fig = new_figure(7.5, 4.6 if not separate else 1.1 + 2.0 * len(groups))
    axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
    years = sorted(table["year"].unique())
    for ax, group in zip(axes, groups, strict=True):
        style_axes(ax)
        for name in group:
            part = table[table["scenario"] == name]
            c = colours[name]
            x = part["year"].to_numpy()
            ax.fill_between(x, part["p5"], part["p95"], color=c, alpha=0.12, linewidth=0)
            ax.fill_between(x, part["p25"], part["p75"], color=c, alpha=0.28, linewidth=0)
            ax.plot(x, part["p50"], color=c, marker="o", linewidth=2, markersize=4, label=name)
        value_axis(ax.yaxis, metric)
        if separate:
            ax.set_title(", ".join(group), loc="left", fontsize="medium",
                         color=colours[group[0]] if len(group) == 1 else "#222222")
            ax.set_ylabel(metric_unit(metric) or metric_label(metric), fontsize="small")
        else:
            ax.set_ylabel(axis_label(metric))
    axes[-1].set_xticks(years)
    if len(years) == 1:
        axes[-1].set_xlim(years[0] - 0.5, years[0] + 0.5)
    axes[-1].set_xlabel("Plan year (0 = first year of the plan)")
    who = "" if entity == "population" else f" — {entity}"
    fig.suptitle(title or f"{metric_label(metric)} by plan year{who}", x=0.01, ha="left",
                 fontweight="bold")
    handles = [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
    handles += [Line2D([], [], color="#555555", marker="o", markersize=4, label="median"),
                Patch(color="#777777", alpha=0.45, label="middle 50% of replications"),
                Patch(color="#777777", alpha=0.18, label="middle 90% of replications")]
    fig.legend(handles=handles, fontsize="small", frameon=False, loc="outside lower center",
               ncol=min(len(handles), 3))
    return fig


__all__ = ["fan_chart", "fan_table"]
