"""The cost-effectiveness plane: one point per replication of each scenario's difference
from the reference in QALYs (x) and payer spending (y), with willingness-to-pay lines.

The points are :func:`sim.comparison.ce_differences` (discounted plan totals, paired by
replication); the mean of each scenario is the point :func:`sim.comparison.cost_effectiveness`
reports. A scenario below a willingness-to-pay line through the origin has a positive net
monetary benefit at that willingness to pay: in the NE quadrant it costs less per QALY gained
than the line, in the SW quadrant it saves more per QALY lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.comparison import DEFAULT_WTP, ce_differences, cost_metric, outcome_basis
from sim.constants import DEFAULT_DISCOUNT_RATE
from sim.plots._common import (
    MoneyFormatter,
    as_results,
    metric_label,
    new_figure,
    pick_scenarios,
    plain,
    scenario_colours,
)

#: Where each quadrant's label goes (axes fraction) and what it says.
_QUADRANT_LABELS = (
    (0.98, 0.98, "right", "top", "more costly,\nmore effective"),
    (0.98, 0.02, "right", "bottom", "dominant\n(saves money, gains health)"),
    (0.02, 0.98, "left", "top", "dominated\n(costs more, loses health)"),
    (0.02, 0.02, "left", "bottom", "saves money,\nloses health"),
)


def _per_qaly(w: float) -> str:
    """``$50k/QALY``, ``$1.5M/QALY``, ``$500/QALY``."""
    if w >= 1e6:
        return f"${w / 1e6:g}M/QALY"
    return f"${w / 1e3:g}k/QALY" if w >= 1e3 else f"${w:g}/QALY"


def _defaults(results: Any, reference: str | None, discount_rate: float | None,
              frame: pd.DataFrame) -> tuple[str, float]:
    """The reference (given, the run's, else the first scenario) and discount rate (given,
    the run's, else the default)."""
    names = pick_scenarios(frame, None)
    reference = reference or getattr(results, "reference", None) or names[0]
    if reference not in names:
        raise ValueError(f"reference {reference!r} is not among the scenarios {names}")
    if discount_rate is None:
        discount_rate = float(getattr(results, "discount_rate", DEFAULT_DISCOUNT_RATE))
    return reference, discount_rate


def ce_plane_table(
    results: Any, reference: str | None = None, *, discount_rate: float | None = None,
) -> pd.DataFrame:
    """The points :func:`ce_plane` draws: per replication and scenario other than
    ``reference``, ``d_qalys`` and ``d_cost_usd`` (discounted plan totals, scenario minus
    reference) and their ``quadrant`` (:func:`sim.comparison.ce_differences`).

    ``results``: a results table, a :class:`~sim.run_result.RunResult` (its reference and
    discount rate are the defaults) or a results directory. Raises ``ValueError`` when the
    results have no QALYs."""
    frame = as_results(results)
    reference, discount_rate = _defaults(results, reference, discount_rate, frame)
    points = ce_differences(frame, reference, discount_rate)
    if points.empty:
        raise ValueError("the cost-effectiveness plane needs the population's 'qalys' and "
                         "payer spending in the results, and a scenario besides the reference")
    return points


def ce_plane(
    results: Any,
    reference: str | None = None,
    *,
    wtp: Sequence[float] = DEFAULT_WTP,
    discount_rate: float | None = None,
    scenarios: Sequence[str] | None = None,
) -> Any:
    """The cost-effectiveness plane of every scenario (or those in ``scenarios``) against
    ``reference``: one dot per replication at (difference in QALYs, difference in payer
    spending), both discounted plan totals, the mean of each scenario as a large marker, a
    dashed line through the origin for each willingness to pay per QALY in ``wtp`` (USD),
    and the four quadrants labelled (NE more costly and more effective; SE dominant; NW
    dominated; SW saves money and loses health). Returns a matplotlib ``Figure``; the points
    are :func:`ce_plane_table`'s."""
    frame = as_results(results)
    points = ce_plane_table(results, reference, discount_rate=discount_rate)
    reference = str(points["reference"].iloc[0])
    names = pick_scenarios(frame, None)
    colours = scenario_colours(names)
    shown = [s for s in (pick_scenarios(frame, scenarios) if scenarios is not None else names)
             if s != reference]
    points = points[points["scenario"].isin(shown)]
    fig = new_figure(7.5, 5.2)
    ax = fig.add_subplot()
    ax.set_axisbelow(True)
    ax.grid(True, color="#eeeeee", linewidth=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for scen in shown:
        part = points[points["scenario"] == scen]
        if part.empty:
            continue
        ax.scatter(part["d_qalys"], part["d_cost_usd"], s=14, alpha=0.45,
                   color=colours[scen], linewidths=0, gid=f"points:{scen}")
        mx, my = float(part["d_qalys"].mean()), float(part["d_cost_usd"].mean())
        ax.scatter([mx], [my], s=110, marker="D", color=colours[scen], edgecolors="#111111",
                   linewidths=1.2, zorder=4, label=f"{scen} (mean)", gid=f"mean:{scen}")
    # symmetric limits around the origin: the four quadrants are the same size
    x_half = float(np.abs(points["d_qalys"]).max()) if len(points) else 0.0
    y_half = float(np.abs(points["d_cost_usd"]).max()) if len(points) else 0.0
    x_half = 1.15 * x_half if x_half > 0 else 1.0
    y_half = 1.15 * y_half if y_half > 0 else 1.0
    ax.axhline(0, color="#333333", linewidth=0.9)
    ax.axvline(0, color="#333333", linewidth=0.9)
    for w in sorted({float(x) for x in wtp if float(x) > 0}):
        ax.plot([-x_half, x_half], [-w * x_half, w * x_half], linestyle="--", linewidth=1,
                color="#777777", gid=f"wtp:{w:g}")
        x_end = min(x_half, y_half / w)
        ax.text(x_end, w * x_end, plain(f" {_per_qaly(w)}"), fontsize=7.5, color="#555555",
                ha="right" if x_end < x_half else "left", va="bottom", clip_on=False)
    ax.set_xlim(-x_half, x_half)
    ax.set_ylim(-y_half, y_half)
    for x, y, ha, va, text in _QUADRANT_LABELS:
        ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=8,
                color="#555555", style="italic", zorder=1,
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
    ax.yaxis.set_major_formatter(MoneyFormatter())
    cost = metric_label(cost_metric(frame))  # issue 11: the perspective's cost
    qalys = ("QALYs (closed cohort + terminal value)" if outcome_basis(frame).startswith(
        "closed") else metric_label("qalys"))
    ax.set_xlabel(f"Difference in {qalys} from {reference} (discounted plan total)")
    ax.set_ylabel(f"Difference in {cost.lower()} from {reference}\n(USD, discounted plan "
                  "total)")
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], marker="o", linestyle="", color="#999999", markersize=4),
                Line2D([], [], linestyle="--", color="#777777", linewidth=1)]
    labels += ["one replication", "willingness to pay per QALY"]
    fig.legend(handles, labels, fontsize="small", frameon=False, loc="outside lower center",
               ncol=min(len(labels), 4))
    ax.set_title(f"Cost-effectiveness plane against {reference}", loc="left",
                 fontweight="bold", fontsize="medium")
    return fig


__all__ = ["ce_plane", "ce_plane_table"]
