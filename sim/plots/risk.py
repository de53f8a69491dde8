"""Financial risk of a provider: the distribution of its margin, and how often it owes money.

The risk numbers come from :mod:`sim.risk` (VaR95 is the 5th percentile of the margin across
replications, in the margin's own sign; CVaR95 the mean at or below it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.plots._common import (
    LOSS_COLOUR,
    MoneyFormatter,
    as_results,
    money,
    new_figure,
    percent_axis,
    pick_scenarios,
    plain,
    rows_of,
    scenario_colours,
    style_axes,
)
from sim.risk import cvar, per_replication, risk_table, var


def margin_values(
    results: Any, provider: str, scenarios: Sequence[str] | None = None,
    period: Literal["plan", "year"] = "plan",
) -> pd.DataFrame:
    """The margins :func:`margin_distribution` draws: ``scenario, replication, value`` (plan
    totals, ``period="plan"``) or ``scenario, replication, year, value`` (each year)."""
    res = as_results(results)
    names = pick_scenarios(res, scenarios)
    rows = rows_of(res, provider, "margin_usd")
    rows = rows[rows["scenario"].isin(names)]
    if period not in ("plan", "year"):
        raise ValueError(f"period must be 'plan' or 'year', got {period!r}")
    values = per_replication(rows, "margin_usd", "total" if period == "plan" else "by_year")
    values["scenario"] = pd.Categorical(values["scenario"].astype(str), names, ordered=True)
    values = values.sort_values(["scenario", "replication"], kind="stable")
    values["scenario"] = values["scenario"].astype(str)
    return values.drop(columns="entity").reset_index(drop=True)


def _span(x: np.ndarray) -> tuple[float, float]:
    """An axis range holding ``x`` and zero, padded."""
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    pad = 0.06 * (hi - lo if hi > lo else max(abs(hi), 1.0))
    return lo - pad, hi + pad


def margin_distribution(
    results: Any,
    provider: str,
    scenarios: Sequence[str] | None = None,
    *,
    period: Literal["plan", "year"] = "plan",
    alpha: float = 0.05,
) -> Any:
    """Distribution of ``provider``'s margin across replications, one panel per scenario.

    ``period="plan"``: each replication's margin summed over the plan years; ``"year"``:
    every replication-year. Each panel has a histogram (and a smoothed density when there
    are at least 8 values), a tick per replication, the loss region (margin < 0) shaded
    red, the mean and VaR95 (the 5th percentile: 1 replication in 20 does worse) marked, and
    P(loss), VaR95 and CVaR95 written in the corner. Every dollar axis includes zero; the
    panels share it unless their ranges differ more than fourfold (then each has its own
    scale, so a small margin is not flattened against a large one).
    """
    values = margin_values(results, provider, scenarios, period)
    names = list(dict.fromkeys(values["scenario"]))
    colours = scenario_colours(names)
    tail = f"{(1 - alpha) * 100:g}"
    data = {n: values.loc[values["scenario"] == n, "value"].to_numpy(float) for n in names}
    spans = {n: _span(x) for n, x in data.items()}
    widths = [hi - lo for lo, hi in spans.values()]
    shared = max(widths) <= 4 * min(widths)
    if shared:
        common = _span(values["value"].to_numpy(float))
        spans = dict.fromkeys(names, common)
    fig = new_figure(7.5, 1.0 + 1.6 * len(names))
    axes = fig.subplots(len(names), 1, sharex=shared, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=True):
        style_axes(ax)
        x, (lo, hi), c = data[name], spans[name], colours[name]
        bins = int(np.clip(np.sqrt(len(x)) * 2, 8, 30))
        edges = np.histogram_bin_edges(x, bins=bins, range=(float(x.min()), float(x.max()))
                                       if np.ptp(x) > 0 else None)
        ax.axvspan(lo, 0.0, color=LOSS_COLOUR, alpha=0.08, linewidth=0)
        ax.axvline(0.0, color=LOSS_COLOUR, linewidth=0.8)
        counts, _, _ = ax.hist(x, bins=edges, color=c, alpha=0.55, edgecolor="white",
                               linewidth=0.5)
        top = max(float(counts.max()), 1.0)
        if len(x) >= 8 and np.std(x) > 0:
            from scipy.stats import gaussian_kde

            grid = np.linspace(lo, hi, 400)
            dens = gaussian_kde(x)(grid) * len(x) * (edges[1] - edges[0])
            ax.plot(grid, dens, color=c, linewidth=1.5)
            top = max(top, float(dens.max()))
        ax.plot(x, np.full(len(x), -0.07 * top), "|", color=c, markersize=9, clip_on=False)
        v, cv, mean = var(x, alpha), cvar(x, alpha), float(np.mean(x))
        ax.axvline(mean, color="#333333", linewidth=1.2, label="mean")
        ax.axvline(v, color="#333333", linewidth=1.4, linestyle="--",
                   label=f"VaR{tail} (5th percentile)")
        ax.set_ylim(-0.14 * top, top * 1.15)
        ax.set_xlim(lo, hi)
        ax.xaxis.set_major_formatter(MoneyFormatter())
        ax.set_ylabel("replications", fontsize="small")
        p_loss = float((x < 0).mean())
        ax.set_title(name, loc="left", fontsize="medium", color=c)
        ax.set_title(plain(f"mean {money(mean)} · P(loss) {p_loss:.0%} · VaR{tail} {money(v)} · "
                           f"CVaR{tail} {money(cv)}"), loc="right", fontsize="small")
        if lo < 0:
            ax.text(0.005, 0.96, "loss", transform=ax.transAxes, ha="left", va="top",
                    color=LOSS_COLOUR, fontsize="small")
    what = "plan-total" if period == "plan" else "annual"
    unit = "USD over the plan" if period == "plan" else "USD per year"
    axes[-1].set_xlabel(f"{provider}: {what} margin ({unit})")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize="small",
               frameon=False)
    fig.suptitle(f"{provider}: distribution of {what} margin across replications",
                 x=0.01, ha="left", fontweight="bold")
    return fig


def owing_table(
    results: Any, provider: str, scenarios: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per scenario and plan year (from :func:`sim.risk.risk_table`, by year): ``n``,
    ``p_owing`` (share of replications whose settlement is negative: the provider owes the
    payer) and ``p_negative_margin`` (share with a loss that year)."""
    res = as_results(results)
    names = pick_scenarios(res, scenarios)
    sub = res[(res["entity"] == provider) & res["scenario"].isin(names)]
    if sub.empty:
        rows_of(res, provider, "margin_usd")  # raises with what exists
    table = risk_table(sub, over_years="by_year")
    for col in ("p_owing", "p_negative_margin"):
        if col not in table:
            table[col] = np.nan
    table["scenario"] = pd.Categorical(table["scenario"].astype(str), names, ordered=True)
    table = table.sort_values(["scenario", "year"]).reset_index(drop=True)
    table["scenario"] = table["scenario"].astype(str)
    return table[["scenario", "year", "n", "p_owing", "p_negative_margin"]]


def owing_probability(
    results: Any, provider: str, scenarios: Sequence[str] | None = None, *, loss: bool = True
) -> Any:
    """Probability, by plan year, that ``provider`` owes the payer money (its settlement is
    negative), as bars per scenario; with ``loss`` a second panel shows the probability of
    an annual loss (margin < 0). Each bar is labelled with its percentage; the numbers are
    :func:`owing_table`'s."""
    table = owing_table(results, provider, scenarios)
    names = list(dict.fromkeys(table["scenario"]))
    colours = scenario_colours(names)
    years = sorted(table["year"].unique())
    panels = [("p_owing", "Owes the payer (settlement < 0)")]
    if loss:
        panels.append(("p_negative_margin", "Annual loss (margin < 0)"))
    fig = new_figure(4.2 * len(panels) + 0.6, 3.8)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    width = 0.8 / max(len(names), 1)
    for ax, (col, subtitle) in zip(axes, panels, strict=True):
        style_axes(ax)
        for i, name in enumerate(names):
            part = table[table["scenario"] == name].set_index("year").reindex(years)
            x = np.arange(len(years)) + (i - (len(names) - 1) / 2) * width
            y = part[col].to_numpy(float)
            bars = ax.bar(x, np.nan_to_num(y), width=width * 0.95, color=colours[name],
                          label=name)
            ax.bar_label(bars, labels=[f"{v:.0%}" if np.isfinite(v) else "" for v in y],
                         fontsize=7, padding=1)
        ax.set_xticks(np.arange(len(years)), [str(y) for y in years])
        ax.set_xlabel("Plan year (0 = first year of the plan)")
        ax.set_title(subtitle, fontsize="medium")
        ax.set_ylim(0, 1.08)
        percent_axis(ax.yaxis)
    axes[0].set_ylabel("Share of replications")
    axes[-1].legend(fontsize="small", frameon=False, loc="upper right")
    fig.suptitle(f"{provider}: probability of owing money, by plan year", x=0.01, ha="left",
                 fontweight="bold")
    return fig


__all__ = ["margin_distribution", "margin_values", "owing_probability", "owing_table"]
