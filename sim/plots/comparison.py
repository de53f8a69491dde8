"""Comparisons of scenarios: effects against a reference with 95% intervals, and the CEAC.

The numbers come from :mod:`sim.comparison` (differences paired by replication: with common
random numbers replication ``r`` of every scenario shares its random numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.catalogue import describe, is_share
from sim.comparison import incremental, plan_values
from sim.plots._common import (
    as_results,
    axis_label,
    metric_label,
    new_figure,
    percent_axis,
    pick_scenarios,
    rows_of,
    scenario_colours,
    style_axes,
    value_axis,
)

Metric = str | tuple[str, str]


def resolve_metrics(results: pd.DataFrame, metrics: Sequence[Metric]) -> list[tuple[str, str]]:
    """(entity, metric) pairs: a bare metric name means the ``population``'s if it has it,
    else the first entity that has it."""
    out = []
    for m in metrics:
        if isinstance(m, tuple):
            rows_of(results, m[0], m[1])
            out.append((str(m[0]), str(m[1])))
            continue
        entities = list(pd.unique(results.loc[results["metric"] == m, "entity"]))
        if not entities:
            rows_of(results, "population", m)  # raises, listing the metrics
        out.append(("population" if "population" in entities else entities[0], m))
    return out


def comparison_table(
    results: Any, metrics: Sequence[Metric], reference: str | None = None,
) -> pd.DataFrame:
    """Each scenario against ``reference`` (default: the first scenario) on each metric,
    values averaged over the plan years: the columns of :func:`sim.comparison.incremental`
    (``reference_mean``, ``scenario_mean``, ``diff_mean``, ``ci_low``/``ci_high`` of the mean
    difference, ``p2.5``/``p97.5`` of the paired differences, ``p_positive``, ``n``) plus the
    same as percentages of the reference mean (``pct_*``)."""
    res = as_results(results)
    names = pick_scenarios(res, None)
    reference = reference or names[0]
    if reference not in names:
        raise ValueError(f"reference {reference!r} is not among the scenarios {names}")
    pairs = resolve_metrics(res, metrics)
    table = incremental(res, reference, pairs, how="mean")
    if table.empty:
        return table
    base = table["reference_mean"].where(table["reference_mean"] != 0)
    for col in ("diff_mean", "ci_low", "ci_high", "p2.5", "p97.5"):
        table[f"pct_{col}"] = 100.0 * table[col] / base.abs()
    return table


def scenario_comparison(
    results: Any,
    metrics: Sequence[Metric],
    reference: str | None = None,
    *,
    relative: bool = True,
    interval: Literal["replications", "mean"] = "replications",
    unit: Literal["percent", "points"] = "percent",
) -> Any:
    """Compare scenarios on ``metrics`` (names, or ``(entity, metric)`` pairs), values
    averaged over the plan years.

    ``relative=True`` (default): one bar per scenario and metric for the difference from
    ``reference`` in percent of the reference's mean, with its 95% interval: of the paired
    differences across replications (``interval="replications"``, the spread of the effect
    under the run's uncertainty) or of the mean difference (``"mean"``, mean +- 1.96 standard
    errors). ``relative=False``: one panel per metric with every scenario's mean and the
    95% interval across replications. ``unit="points"`` (with ``relative``) draws the
    differences in points instead of percent: percentage points for shares and rates (a
    readmission rate of 16.0% against 15.1% is +0.9), the metric's own points for scores
    (the quality score, 0-100), as the report's table shows them; use it for metrics of
    those kinds only. Returns a matplotlib ``Figure``; the numbers are
    :func:`comparison_table`'s (relative) or :func:`sim.comparison.plan_values`' means.
    """
    res = as_results(results)
    names = pick_scenarios(res, None)
    reference = reference or names[0]
    colours = scenario_colours(names)
    pairs = resolve_metrics(res, metrics)
    if relative:
        return _relative(comparison_table(res, pairs, reference), pairs, names, reference,
                         colours, interval, unit)
    n = len(pairs)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig = new_figure(3.3 * cols + 0.5, 3.0 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (entity, metric) in zip(axes, pairs, strict=False):
        style_axes(ax)
        table = plan_values(res, entity, metric, how="mean")[names]
        mean = table.mean()
        lo, hi = table.quantile(0.025), table.quantile(0.975)
        x = np.arange(len(names))
        ax.bar(x, mean, color=[colours[s] for s in names], alpha=0.85,
               hatch=["//" if s == reference else "" for s in names], edgecolor="white")
        ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], fmt="none", ecolor="#222222",
                    capsize=3, linewidth=1)
        ax.set_xticks(x, names, rotation=20, ha="right", fontsize=8)
        who = "" if entity == "population" else f" — {entity}"
        ax.set_title(metric_label(metric) + who, fontsize="medium")
        ax.set_ylabel(axis_label(metric).replace(metric_label(metric), "").strip(" ()") or "",
                      fontsize="small")
        value_axis(ax.yaxis, metric)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(f"Scenarios compared (mean per plan year; bars: 95% interval across "
                 f"replications; hatched: {reference})", x=0.01, ha="left", fontweight="bold",
                 fontsize="medium")
    return fig


def _relative(
    table: pd.DataFrame, pairs: list[tuple[str, str]], names: list[str], reference: str,
    colours: dict[str, str], interval: str, unit: str = "percent",
) -> Any:
    others = [s for s in names if s != reference]
    if unit not in ("percent", "points"):
        raise ValueError(f"unit must be 'percent' or 'points', got {unit!r}")
    prefix = "pct_" if unit == "percent" else "pts_"
    if unit == "points" and len(table):
        scale = np.where([is_share(m) for m in table["metric"]], 100.0, 1.0)
        for col in ("diff_mean", "ci_low", "ci_high", "p2.5", "p97.5"):
            table[f"pts_{col}"] = table[col] * scale
    lo_col, hi_col = (f"{prefix}p2.5", f"{prefix}p97.5") if interval == "replications" else (
        f"{prefix}ci_low", f"{prefix}ci_high")
    mid = f"{prefix}diff_mean"
    sym = "%" if unit == "percent" else " pts"
    fig = new_figure(7.5, 1.1 + 0.32 * len(pairs) * max(len(others), 1) + 0.25 * len(pairs))
    ax = fig.add_subplot()
    ax.grid(True, axis="x", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    height = 0.8 / max(len(others), 1)
    labels = []
    for j, (entity, metric) in enumerate(pairs):
        who = "" if entity == "population" else f" ({entity})"
        better = describe(metric).better
        hint = f"\n{better} is better" if better != "neither" else ""
        labels.append(f"{metric_label(metric)}{who}{hint}")
        for i, scen in enumerate(others):
            row = table[(table["entity"] == entity) & (table["metric"] == metric)
                        & (table["scenario"] == scen)] if len(table) else table
            if row.empty:
                continue
            r = row.iloc[0]
            y = j + (i - (len(others) - 1) / 2) * height
            ax.barh(y, r[mid], height=height * 0.9, color=colours[scen],
                    label=scen if j == 0 else None)
            ax.errorbar(r[mid], y, xerr=[[r[mid] - r[lo_col]], [r[hi_col] - r[mid]]],
                        fmt="none", ecolor="#222222", capsize=2.5, linewidth=1)
            d = float(r[mid])
            ax.text(max(r[hi_col], d, 0), y, f"  {d:+.1f}{sym}" if abs(d) >= 0.1 else
                    f"  {d:+.2f}{sym}", va="center", fontsize=7.5)
    ax.axvline(0, color="#333333", linewidth=0.9)
    ax.set_yticks(np.arange(len(pairs)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"Difference from {reference} (% of {reference}'s mean per plan year)"
                  if unit == "percent" else f"Difference from {reference} (points: percentage "
                  "points for rates and shares)")
    xmin, xmax = ax.get_xlim()
    ax.set_xlim(xmin, xmax + 0.12 * (xmax - xmin))
    from matplotlib.ticker import FuncFormatter

    zero = "0%" if unit == "percent" else "0"
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: zero if abs(x) < 1e-9 else
                                               f"{x:+g}{sym.strip()}"))
    fig.legend(fontsize="small", frameon=False, loc="outside lower center",
               ncol=min(len(others), 4))
    what = "across replications" if interval == "replications" else "of the mean"
    fig.suptitle(f"Difference from {reference}, with 95% interval {what}", x=0.01,
                 ha="left", fontweight="bold", fontsize="medium")
    return fig


def ceac(table: Any) -> Any:
    """Cost-effectiveness acceptability curve from :func:`sim.comparison.ceac`'s table (or a
    :class:`~sim.comparison.Comparison`): for each willingness to pay per QALY, the
    probability that each scenario has the highest net monetary benefit. Lines differ in
    colour, dash, marker and width, so overlapping lines stay distinguishable."""
    frame = table.ceac if hasattr(table, "ceac") and not isinstance(table, pd.DataFrame) \
        else table
    need = {"wtp_usd_per_qaly", "scenario", "probability"}
    if not need <= set(frame.columns):
        raise ValueError(f"a CEAC table needs the columns {sorted(need)}")
    names = list(dict.fromkeys(frame["scenario"].astype(str)))
    colours = scenario_colours(names)
    fig = new_figure(7.5, 4.0)
    ax = fig.add_subplot()
    style_axes(ax)
    # lines that coincide (e.g. two plans both at 0%) must stay visible: each has its own
    # dash pattern, marker and width, thinner lines drawn on top of thicker ones
    styles = ("-", "--", "-.", ":")
    markers = ("o", "s", "^", "D", "v", "P", "X", "*")
    for i, name in enumerate(names):
        part = frame[frame["scenario"].astype(str) == name].sort_values("wtp_usd_per_qaly")
        every = max(1, len(part) // 8)
        ax.plot(part["wtp_usd_per_qaly"], part["probability"], color=colours[name],
                linewidth=max(1.2, 3.2 - 0.6 * i), linestyle=styles[i % len(styles)],
                marker=markers[i % len(markers)], markersize=5, markevery=(i % every, every),
                label=name, zorder=2 + i, alpha=0.9)
    ax.set_ylim(-0.02, 1.02)
    percent_axis(ax.yaxis)
    from sim.plots._common import MoneyFormatter

    ax.xaxis.set_major_formatter(MoneyFormatter())
    ax.set_xlabel("Willingness to pay (USD per QALY gained)")
    ax.set_ylabel("Probability of the highest net benefit")
    ax.legend(fontsize="small", frameon=False)
    ax.set_title("Cost-effectiveness acceptability curve", loc="left", fontweight="bold")
    return fig


__all__ = ["ceac", "comparison_table", "resolve_metrics", "scenario_comparison"]
