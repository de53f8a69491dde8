"""Which assumptions matter most: tornado diagrams and Sobol indices.

From the tables of :func:`sim.sensitivity.tornado` and :func:`sim.sensitivity.sobol` (as
returned, or read back from the ``tornado.csv``/``sobol.csv`` that ``vbcsim sensitivity
--out DIR`` writes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.plots._common import (
    axis_label,
    metric_label,
    new_figure,
    parameter_label,
    value_axis,
)

TORNADO_COLUMNS = ("parameter", "low_value", "high_value", "metric_base", "metric_low",
                   "metric_high")
SOBOL_COLUMNS = ("parameter", "S1", "ST")


def _table(table: Any, need: tuple[str, ...], what: str) -> pd.DataFrame:
    if isinstance(table, str | os.PathLike):
        table = pd.read_csv(Path(table))
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ValueError(f"not a {what} table: missing column(s) {missing}")
    if table.empty:
        raise ValueError(f"the {what} table is empty")
    return table


def short_number(value: float) -> str:
    """``11,000``, ``0.12``, ``1.5e-05``: thousands separators, no exponent below 1e9."""
    if value == 0 or not np.isfinite(value):
        return f"{value:g}"
    if 1000 <= abs(value) < 1e9:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def tornado(table: Any, *, top: int | None = 15) -> Any:
    """Tornado diagram of a one-way sensitivity table (a DataFrame or a ``tornado.csv``).

    One row per parameter, largest swing on top (at most ``top``): the bar runs from the
    output at the parameter's low value (blue) to the output at its high value (orange),
    around the base-case output (the vertical line). Each label names the parameter in words
    (:func:`sim.plots.parameter_label`) and gives its low and high values; the legend sits
    below the axes, never over the bars.
    """
    t = _table(table, TORNADO_COLUMNS, "tornado")
    t = t.assign(swing=(t["metric_high"] - t["metric_low"]).abs()).sort_values(
        "swing", ascending=False, kind="stable")
    if top:
        t = t.head(top)
    rows = t.iloc[::-1]
    metric = str(t["metric"].iloc[0]) if "metric" in t else "output"
    entity = str(t["entity"].iloc[0]) if "entity" in t else "population"
    base = float(t["metric_base"].iloc[0])
    fig = new_figure(7.5, 1.6 + 0.45 * len(rows))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    ax.barh(y, rows["metric_low"] - base, left=base, color="#0072B2", height=0.6,
            label="parameter at its low value")
    ax.barh(y, rows["metric_high"] - base, left=base, color="#E69F00", height=0.6,
            label="parameter at its high value")
    ax.axvline(base, color="#222222", linewidth=0.9)
    labels = [f"{parameter_label(p)}\n{short_number(lo)} → {short_number(hi)}" for p, lo, hi in
              zip(rows["parameter"], rows["low_value"], rows["high_value"], strict=True)]
    ax.set_yticks(y, labels, fontsize=7.5)
    ax.grid(True, axis="x", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    who = "" if entity == "population" else f" of {entity}"
    ax.set_xlabel(axis_label(metric) + who)
    value_axis(ax.xaxis, metric)
    fig.legend(fontsize="small", frameon=False, loc="outside lower center", ncol=2)
    fig.suptitle(f"One-way sensitivity of {metric_label(metric).lower()}{who} (line: base "
                 f"case, {short_number(base)})", x=0.01, ha="left", fontweight="bold",
                 fontsize="medium")
    return fig


def sobol_indices(table: Any, *, top: int | None = 15) -> Any:
    """Sobol first-order (``S1``) and total (``ST``) indices per parameter, with their 95%
    bootstrap intervals when the table has them: the share of the output's variance due to
    each parameter alone (S1) and with its interactions (ST)."""
    t = _table(table, SOBOL_COLUMNS, "Sobol").sort_values("ST", ascending=False,
                                                          kind="stable")
    if top:
        t = t.head(top)
    rows = t.iloc[::-1]
    metric = str(t["metric"].iloc[0]) if "metric" in t else "output"
    fig = new_figure(7.5, 1.6 + 0.4 * len(rows))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    for col, off, colour, label in (("ST", 0.18, "#D55E00", "total (ST)"),
                                    ("S1", -0.18, "#0072B2", "first order (S1)")):
        err = rows.get(f"{col}_conf")
        ax.barh(y + off, rows[col], height=0.34, color=colour, label=label,
                xerr=None if err is None else err, error_kw={"linewidth": 0.8})
    ax.set_yticks(y, [parameter_label(p) for p in rows["parameter"]], fontsize=7.5)
    ax.set_xlabel(f"Share of the variance of {metric_label(metric).lower()}")
    ax.grid(True, axis="x", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.legend(fontsize="small", frameon=False, loc="outside lower center", ncol=2)
    fig.suptitle(f"Sobol sensitivity indices of {metric_label(metric).lower()}", x=0.01,
                 ha="left", fontweight="bold", fontsize="medium")
    return fig


__all__ = ["short_number", "sobol_indices", "tornado"]
