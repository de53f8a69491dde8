"""What every plot shares: reading results, metric labels and units (from the metric
catalogue), colours, money axes.

Figures are made with :class:`matplotlib.figure.Figure` directly (never ``pyplot``), so
nothing here touches matplotlib's global state and every function works under Agg.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter

from sim import catalogue
from sim.catalogue import is_share, metric_label, metric_unit

#: Okabe-Ito colours (distinguishable with the common colour-vision deficiencies).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#999999")
LOSS_COLOUR = "#C0392B"


def axis_label(metric: str) -> str:
    """``"Label (unit)"`` (label and unit from the metric catalogue, :mod:`sim.catalogue`)."""
    unit = metric_unit(metric)
    return f"{metric_label(metric)} ({unit})" if unit else metric_label(metric)


#: unit suffixes of scenario field names and how a label shows them
_UNIT_SUFFIXES = (("_usd", "$"), ("_pmpm", "$ PMPM"), ("_days", "days"), ("_years", "years"),
                  ("_pct", "%"))
_ABBREVIATIONS = {"los": "length of stay", "pcp": "PCP", "ed": "ED", "snf": "SNF",
                  "hcc": "HCC", "msr": "MSR", "mlr": "MLR", "ffs": "FFS", "acsc": "ACSC",
                  "wtp": "willingness to pay", "hba1c": "HbA1c"}
#: top-level groups of the scenario that add nothing to a label
_GENERIC = {"clinical", "prices", "economics", "behaviour", "population", "costs", "quality"}


def _words(key: str) -> str:
    return " ".join(_ABBREVIATIONS.get(w, w) for w in key.split("_") if w)


def parameter_label(path: str) -> str:
    """A readable label for a scenario parameter path (tornado and Sobol rows, report text):
    ``clinical.admissions.rate_per_year`` → ``Admissions: rate per year``,
    ``prices.admission_mean_usd`` → ``Admission mean ($)``, ``plan.1.contracts.0.discount``
    → ``Contract 1 of plan period 2: discount``."""
    parts = [p for p in str(path).split(".") if p]
    if not parts:
        return str(path)
    leaf, unit = parts[-1], ""
    for suffix, shown in _UNIT_SUFFIXES:
        if leaf.endswith(suffix) and len(leaf) > len(suffix):
            leaf, unit = leaf[: -len(suffix)], shown
            break
    context = []
    k = 0
    rest = parts[:-1]
    while k < len(rest):
        part = rest[k]
        if k + 1 < len(rest) and rest[k + 1].isdigit():
            noun = {"contracts": "contract", "plan": "plan period", "providers": "provider",
                    "payers": "payer", "corridors": "corridor band"}.get(part, _words(part))
            context.append(f"{noun} {int(rest[k + 1]) + 1}")
            k += 2
            continue
        if not (k == 0 and part in _GENERIC and len(rest) > 1) and not (
                k == 0 and part in _GENERIC and len(rest) == 1 and part != "population"):
            context.append(_words(part))
        k += 1
    text = _words(leaf)
    if context:
        where = " of ".join(reversed(context))
        text = f"{where[0].upper()}{where[1:]}: {text}"
    else:
        text = text[0].upper() + text[1:]
    return f"{text} ({unit})" if unit else text


def as_results(results: Any) -> pd.DataFrame:
    """The tidy results table from a DataFrame, a :class:`~sim.run_result.RunResult`, a results
    directory or a ``results.parquet``/``.csv`` file; ``scenario``/``entity``/``metric`` as
    plain strings."""
    if isinstance(results, str | os.PathLike):
        from sim.results import layout

        p = Path(results)
        if p.is_dir():
            p = layout.results_file(p) or p / layout.RESULTS_CSV
        if not p.exists():
            raise FileNotFoundError(f"{results}: no {layout.RESULTS_PARQUET} or "
                                    f"{layout.RESULTS_CSV}")
        frame = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    elif isinstance(results, pd.DataFrame):
        frame = results
    elif hasattr(results, "results") and isinstance(results.results, pd.DataFrame):
        frame = results.results
    else:
        raise TypeError(f"expected a results table, a RunResult or a results directory, got "
                        f"{type(results).__name__}")
    missing = [c for c in ("replication", "scenario", "year", "entity", "metric", "value")
               if c not in frame.columns]
    if missing:
        raise ValueError(f"not a results table: missing column(s) {missing}")
    frame = frame.copy()
    for col in ("scenario", "entity", "metric"):
        frame[col] = frame[col].astype(str)
    return frame


def pick_scenarios(results: pd.DataFrame, scenarios: Sequence[str] | None) -> list[str]:
    """``scenarios`` (checked) or every scenario in order of appearance."""
    present = list(pd.unique(results["scenario"]))
    if scenarios is None:
        return present
    unknown = [s for s in scenarios if s not in present]
    if unknown:
        raise ValueError(f"unknown scenario(s) {unknown}; the results have {present}")
    return list(scenarios)


def rows_of(results: pd.DataFrame, entity: str, metric: str) -> pd.DataFrame:
    """The rows of ``metric`` of ``entity``; a clear error naming what exists otherwise."""
    rows = results[(results["entity"] == entity) & (results["metric"] == metric)]
    if rows.empty:
        entities = sorted(results.loc[results["metric"] == metric, "entity"].unique())
        hint = (f"entities with {metric!r}: {', '.join(entities)}" if entities
                else f"metrics: {', '.join(sorted(results['metric'].unique()))}")
        raise ValueError(f"no {metric!r} for entity {entity!r} in the results; {hint}")
    return rows


def scenario_colours(names: Iterable[str]) -> dict[str, str]:
    """One colour per scenario, by position (so every chart of a report agrees)."""
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


class ResultFigure(Figure):
    """A matplotlib ``Figure`` that shows itself in a notebook as the last expression of a
    cell even where no matplotlib display hook is registered (a figure made without
    ``pyplot`` has none otherwise); where one is registered, IPython uses it instead."""

    def _repr_png_(self) -> bytes:
        import io

        from matplotlib.backends.backend_agg import FigureCanvasAgg

        buf = io.BytesIO()
        FigureCanvasAgg(self)  # a canvas of its own: no pyplot, no global state
        self.savefig(buf, format="png", dpi=100, facecolor="white", bbox_inches="tight")
        return buf.getvalue()


def new_figure(width: float, height: float) -> Figure:
    """A figure not registered with pyplot, with the house style."""
    fig = ResultFigure(figsize=(width, height), layout="constrained")
    return fig


def style_axes(ax: Any) -> None:
    """Light grid, no top/right spines."""
    ax.grid(True, axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def money(value: float, decimals: int | None = None) -> str:
    """``$1.2M``, ``$350k``, ``-$12,345``: a compact dollar amount for labels."""
    if not np.isfinite(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1e9:
        return f"{sign}${v / 1e9:.{1 if decimals is None else decimals}f}B"
    if v >= 1e6:
        return f"{sign}${v / 1e6:.{1 if decimals is None else decimals}f}M"
    if v >= 1e5:
        return f"{sign}${v / 1e3:.{0 if decimals is None else decimals}f}k"
    return f"{sign}${v:,.0f}"


def plain(text: str) -> str:
    """``text`` with its dollar signs escaped, so matplotlib does not read them as maths."""
    return text.replace("$", r"\$")


class MoneyFormatter(Formatter):
    """Dollar tick labels with one scale for the whole axis (``$1.5M``, ``$250k``)."""

    def __init__(self) -> None:
        self.scale, self.suffix, self.decimals = 1.0, "", 0

    def set_locs(self, locs: Sequence[float]) -> None:
        finite = np.asarray([x for x in locs if np.isfinite(x)], float)
        top = float(np.abs(finite).max()) if len(finite) else 0.0
        self.scale, self.suffix = ((1e9, "B") if top >= 1e9 else (1e6, "M") if top >= 1e6
                                   else (1e3, "k") if top >= 1e5 else (1.0, ""))
        step = float(np.min(np.diff(np.sort(finite)))) / self.scale if len(finite) > 1 else 1.0
        self.decimals = 0 if step >= 1 or step == 0 else min(3, int(np.ceil(-np.log10(step))))

    def __call__(self, x: float, pos: int | None = None) -> str:
        if abs(x) < 1e-9 * self.scale:
            return r"\$0"
        sign = "-" if x < 0 else ""
        v = abs(x) / self.scale
        return sign + r"\$" + f"{v:,.{self.decimals}f}{self.suffix}"


def percent_axis(axis: Any) -> None:
    """Show a 0-1 axis as percentages."""
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))


def value_axis(axis: Any, metric: str) -> None:
    """Money as dollars, shares as percentages, others with thousands separators."""
    from matplotlib.ticker import StrMethodFormatter

    if catalogue.is_money(metric):
        axis.set_major_formatter(MoneyFormatter())
    elif is_share(metric):
        from matplotlib.ticker import PercentFormatter

        axis.set_major_formatter(PercentFormatter(xmax=1.0))
    else:
        axis.set_major_formatter(StrMethodFormatter("{x:,g}"))


__all__ = [
    "PALETTE",
    "MoneyFormatter",
    "as_results",
    "axis_label",
    "is_share",
    "metric_label",
    "metric_unit",
    "money",
    "new_figure",
    "pick_scenarios",
    "plain",
    "rows_of",
    "scenario_colours",
    "style_axes",
]
