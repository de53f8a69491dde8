"""Value of information: EVPI and EVPPI of the payer's decision against willingness to pay,
and of each provider's decision (``sim.voi``, docs/voi.md)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from sim.plots._common import MoneyFormatter, new_figure, style_axes
from sim.voi import VOI_COLUMNS, voi_from_dir


def voi_values(results: Any, **kwargs: Any) -> pd.DataFrame:
    """The value-of-information table :func:`voi_curve` draws: ``results`` as the table of
    :func:`sim.voi.voi_table` itself, a :class:`~sim.run_result.RunResult` (its ``voi()``)
    or a results directory (:func:`sim.voi.voi_from_dir`); ``kwargs`` go to those."""
    if isinstance(results, pd.DataFrame):
        missing = [c for c in VOI_COLUMNS if c not in results.columns]
        if missing:
            raise ValueError(f"not a value-of-information table: missing column(s) {missing}")
        return results
    if hasattr(results, "voi"):
        return results.voi(**kwargs)
    return voi_from_dir(results, **kwargs)


def voi_curve(results: Any, *, per_person: bool = True, **kwargs: Any) -> Any:
    """EVPI and EVPPI (per parameter and group) of the payer's choice of plan against the
    willingness to pay per QALY (left; EVPI solid black, ``all parameters`` dashed), and of
    each provider's choice by margin (right, bars), per person when the population size is
    known (``per_person``), else for the simulated population. ``results``: see
    :func:`voi_values`. Returns a matplotlib ``Figure``."""
    table = voi_values(results, **kwargs)
    col = "per_person_usd" if per_person and table["per_person_usd"].notna().all() \
        else "value_usd"
    unit = "USD per person" if col == "per_person_usd" else "USD, simulated population"
    payer = table[table["decision"] == "payer"]
    provider = table[table["decision"] == "provider"]
    panels = int(len(payer) > 0) + int(len(provider) > 0)
    fig = new_figure(6.5 * max(panels, 1), 4.2)
    axes = fig.subplots(1, max(panels, 1), squeeze=False)[0]
    k = 0
    if len(payer):
        ax = axes[k]
        k += 1
        style_axes(ax)
        what = list(dict.fromkeys(payer["parameters"]))
        for name in what:
            part = payer[payer["parameters"] == name].sort_values("wtp_usd_per_qaly")
            evpi = name == ""
            ax.plot(part["wtp_usd_per_qaly"], part[col], marker="o", markersize=4,
                    color="#000000" if evpi else None, linewidth=2.4 if evpi else 1.4,
                    linestyle="--" if name == "all parameters" else "-",
                    label="EVPI (sample)" if evpi else f"EVPPI: {name}", gid=f"voi:{name}")
        ax.xaxis.set_major_formatter(MoneyFormatter())
        ax.yaxis.set_major_formatter(MoneyFormatter())
        ax.set_xlabel("Willingness to pay (USD per QALY gained)")
        ax.set_ylabel(f"Value of information ({unit})")
        ax.set_title("Payer: plan with the highest net monetary benefit", loc="left",
                     fontweight="bold", fontsize="medium")
        ax.legend(fontsize="x-small", frameon=False)
    if len(provider):
        ax = axes[k]
        style_axes(ax)
        labels, values, colours = [], [], []
        for entity, part in provider.groupby("entity", sort=False):
            for r in part.itertuples():
                labels.append(f"{entity}: " + ("EVPI" if r.measure == "EVPI"
                                               else f"EVPPI {r.parameters}"))
                values.append(getattr(r, col))
                colours.append("#000000" if r.measure == "EVPI" else "#0072B2")
        y = list(range(len(labels)))[::-1]
        ax.barh(y, values, color=colours, gid="voi:provider")
        ax.set_yticks(y, labels, fontsize="x-small")
        ax.xaxis.set_major_formatter(MoneyFormatter())
        ax.set_xlabel(f"Value of information ({unit})")
        ax.set_title("Providers: plan with the highest margin", loc="left",
                     fontweight="bold", fontsize="medium")
    return fig


__all__ = ["voi_curve", "voi_values"]
