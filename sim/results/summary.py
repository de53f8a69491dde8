"""Summaries across replications and a readable table of them.

Everything here is a function of the tidy results table (``replication, scenario, year,
entity, metric, value``); nothing mutates a run.

* :func:`summarise` — mean, SD, SE, 2.5th/97.5th percentiles and n across replications;
* :func:`format_summary` — a compact plain-text table (population first, money with
  thousands separators).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.catalogue import is_money
from sim.results.table import RESULT_COLUMNS

OverYears = Literal["mean", "by_year"]
STAT_COLUMNS = ["mean", "sd", "se", "p2.5", "p97.5", "n"]


# --------------------------------------------------------------------------- summaries


def summarise(
    results: pd.DataFrame,
    by: Sequence[str] = ("scenario", "entity", "metric"),
    over_years: OverYears = "mean",
    percentiles: Sequence[float] = (),
) -> pd.DataFrame:
    """Summarise ``value`` across replications for each group of ``by``.

    ``over_years="mean"`` first averages each replication's values over the years (so a
    yearly total becomes an average annual total), then summarises across replications;
    ``"by_year"`` summarises each year separately (``year`` is added to the groups). Rows
    of one replication that share a group (and year) are averaged first.

    Returns one row per group, in order of first appearance, with columns ``*by``
    (``year`` too when by year), ``mean``, ``sd`` (sample SD, ddof 1), ``se`` (sd/sqrt(n)),
    ``p2.5``, ``p97.5`` (percentiles across replications, linear interpolation) and ``n``
    (replications with a value). ``percentiles`` (in percent, e.g. ``(5, 50, 95)``) adds a
    column ``p<q>`` for each.
    """
    by = list(by)
    if over_years not in ("mean", "by_year"):
        raise ValueError(f"over_years must be 'mean' or 'by_year', got {over_years!r}")
    if over_years == "mean" and "year" in by:
        raise ValueError("'year' in by contradicts over_years='mean'; use over_years='by_year'")
    keys = by + ["year"] if over_years == "by_year" and "year" not in by else by
    missing = [c for c in dict.fromkeys([*keys, "replication", "value"]) if c not in results]
    if missing:
        raise ValueError(f"results lack column(s) {missing}; expected {RESULT_COLUMNS}")

    extra_q = [float(q) for q in percentiles if float(q) not in (2.5, 97.5)]
    if any(not 0 <= q <= 100 for q in extra_q):
        raise ValueError(f"percentiles must lie between 0 and 100, got {list(percentiles)}")
    extra_cols = [percentile_column(q) for q in extra_q]
    if results.empty:
        return pd.DataFrame(columns=[*keys, *STAT_COLUMNS, *extra_cols])
    per_rep = (
        results.groupby(["replication", *keys], sort=False, observed=True)["value"]
        .mean()
        .reset_index()
    )
    grouped = per_rep.groupby(keys, sort=False, observed=True)["value"]
    stats = grouped.agg(["mean", "std", "count"]).rename(columns={"std": "sd", "count": "n"})
    qs = [0.025, 0.975, *(q / 100 for q in extra_q)]
    quantiles = grouped.quantile(qs).unstack()
    stats["p2.5"] = quantiles[0.025]
    stats["p97.5"] = quantiles[0.975]
    for q, col in zip(extra_q, extra_cols, strict=True):
        stats[col] = quantiles[q / 100]
    stats["se"] = stats["sd"] / np.sqrt(stats["n"])
    stats["n"] = stats["n"].astype("int64")
    return stats[STAT_COLUMNS + extra_cols].reset_index()


def percentile_column(q: float) -> str:
    """The column name of percentile ``q`` (in percent): ``p5``, ``p2.5``, ``p99.9``."""
    return f"p{float(q):g}"


def format_number(value: float, *, money: bool = False, like: float | None = None) -> str:
    """A readable number: thousands separators, decimals to suit the magnitude.

    ``like`` chooses the precision (e.g. a row's mean, so its interval uses the same).
    """
    if not np.isfinite(value):
        return "n/a" if np.isnan(value) else str(value)
    scale = abs(value if like is None or not np.isfinite(like) else like)
    if money or scale >= 1000:
        return f"{value:,.0f}"
    if scale >= 10:
        return f"{value:,.1f}"
    if scale >= 1:
        return f"{value:,.2f}"
    if scale == 0:
        return f"{value:.2g}"
    decimals = max(2, int(np.ceil(-np.log10(scale))) + 2)  # three significant digits
    return f"{value:.{decimals}f}"


def column_formatters(frame: pd.DataFrame) -> dict[str, Any]:
    """A formatter per numeric column of ``frame``: :func:`format_number` with the
    precision of the column's largest magnitude (money columns by the catalogue or a
    ``_usd`` in the name without cents), so a column reads in one format."""
    out: dict[str, Any] = {}
    for col in frame.columns:
        values = frame[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        if pd.api.types.is_integer_dtype(values):
            out[col] = lambda v: f"{v:,}"
            continue
        finite = values[np.isfinite(values.astype(float))].abs()
        like = float(finite.max()) if len(finite) else None
        money = is_money(str(col)) or "usd" in str(col).lower()

        def fmt(v: float, like: float | None = like, money: bool = money) -> str:
            return format_number(float(v), money=money, like=like)

        out[col] = fmt
    return out


def format_table(frame: pd.DataFrame, index: bool = False) -> str:
    """``frame`` as plain text in the console's number format (thousands separators, no
    scientific notation; see :func:`column_formatters`)."""
    return frame.to_string(index=index, formatters=column_formatters(frame))


def _cell(value: Any, money: bool) -> str:
    """One cell in the console's number format (its own magnitude); other values as text."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    return format_number(float(value), money=money)


class ReadableFrame(pd.DataFrame):
    """A DataFrame that shows its numbers as the console does (thousands separators, no
    scientific notation; each cell to its own magnitude, so a transposed or reshaped frame
    that mixes money and shares still reads right), e.g. ``RunResult.risk()``; its values
    are untouched."""

    @property
    def _constructor(self) -> type[ReadableFrame]:
        return ReadableFrame

    def _formatters(self) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for col in self.columns:
            money = is_money(str(col)) or "usd" in str(col).lower()
            out[col] = lambda v, money=money: _cell(v, money)
        return out

    def __repr__(self) -> str:
        return self.to_string(formatters=self._formatters())

    def _repr_html_(self) -> str:
        return self.to_html(formatters=self._formatters())


def _entity_order(entities: Iterable[Any]) -> list[Any]:
    seen = list(dict.fromkeys(entities))
    return [e for e in seen if e == "population"] + [e for e in seen if e != "population"]


def format_summary(
    summary: pd.DataFrame,
    *,
    title: str | None = None,
    interval: tuple[str, str] = ("p2.5", "p97.5"),
) -> str:
    """A compact plain-text table of a :func:`summarise` result.

    Grouped by scenario (when there are several) and entity, ``population`` first; each row
    shows the metric, its mean and the interval between the ``interval`` columns (by default
    the 95% interval across replications). Money (``*_usd``) has thousands separators and no
    cents.
    """
    lo_col, hi_col = interval
    lines: list[str] = [title, ""] if title else []
    if summary.empty:
        return "\n".join([*lines, "(no results)"])
    has_year = "year" in summary.columns
    scenarios = list(dict.fromkeys(summary["scenario"])) if "scenario" in summary else [None]

    rows: list[tuple[str, str, str, str] | str] = []
    for scen in scenarios:
        part = summary if scen is None else summary[summary["scenario"] == scen]
        if len(scenarios) > 1:
            rows.append(f"== {scen} ==")
        entities = _entity_order(part["entity"]) if "entity" in part else [None]
        for entity in entities:
            block = part if entity is None else part[part["entity"] == entity]
            if entity is not None:
                rows.append(str(entity))
            for rec in block.itertuples(index=False):
                r = dict(zip(block.columns, rec, strict=True))
                money = is_money(str(r["metric"]))
                mean = float(r["mean"])
                lo, hi = float(r[lo_col]), float(r[hi_col])
                label = str(r["metric"])
                year = f"year {r['year']}" if has_year else ""
                rows.append((
                    label,
                    year,
                    format_number(mean, money=money),
                    f"{format_number(lo, money=money, like=mean)} to "
                    f"{format_number(hi, money=money, like=mean)}",
                ))
            rows.append("")

    cells = [r for r in rows if isinstance(r, tuple)]
    header = ("metric", "year" if has_year else "", "mean", "95% interval")
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(4)]

    def line(c: tuple[str, str, str, str]) -> str:
        parts = [c[0].ljust(widths[0])]
        if has_year:
            parts.append(c[1].ljust(widths[1]))
        parts += [c[2].rjust(widths[2]), c[3].ljust(widths[3])]
        return ("  " + "   ".join(parts)).rstrip()

    lines.append(line(header))
    for r in rows:
        lines.append(line(r) if isinstance(r, tuple) else r)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


__all__ = [
    "STAT_COLUMNS",
    "ReadableFrame",
    "column_formatters",
    "format_table",
    "OverYears",
    "format_number",
    "format_summary",
    "is_money",
    "percentile_column",
    "summarise",
]
