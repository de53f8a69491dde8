"""Readable settlement statements for the terminal (``vbcsim run``).

Statements are itemised per contract, entity and year; across replications each line is
averaged, so the printout reads as "the typical settlement" while
``settlements.parquet`` keeps every replication. A line that a year's rule did not
reach (e.g. shared losses in a one-sided year) shows as blank.
"""

from __future__ import annotations

import math

import pandas as pd

from sim.contracts.registry import SHOWN_STATEMENTS


def _fmt(v: float) -> str:
    if isinstance(v, float) and math.isnan(v):
        return f"{'':>16}"
    return f"{v:>16,.0f}" if abs(v) >= 100 or v == 0 else f"{v:>16.4f}"


def format_statements(settlements: pd.DataFrame, contracts: tuple[str, ...] = SHOWN_STATEMENTS,
                      max_years: int = 6) -> str:
    """Mean itemised statement lines by year (columns) for each contract and entity."""
    if settlements is None or settlements.empty:
        return ""
    lines = settlements[(settlements["kind"] == "line") & settlements["contract"].isin(contracts)]
    if lines.empty:
        return ""
    n_rep = settlements["replication"].nunique() if "replication" in settlements else 1
    out = [f"Settlement statements (USD, mean over {n_rep} replication(s); every replication "
           "in settlements.parquet)"]
    keys = ["label", "entity", "statement", "contract"]
    for (label, entity, _, contract), grp in lines.groupby(keys, sort=False):
        ids = [c for c in ("replication", "year") if c in grp]
        occurrence = grp.groupby([*ids, "item"]).cumcount()
        item = grp["item"].where(occurrence == 0, grp["item"] + " (" + (occurrence + 1).astype(str) + ")")
        grp = grp.assign(item=item)
        order = list(dict.fromkeys(grp["item"]))
        table = grp.pivot_table(index="item", columns="year", values="value", aggfunc="mean")
        table = table.reindex(order).iloc[:, :max_years]
        width = max(12, *(len(i) for i in order))
        out.append("")
        out.append(f"  {contract} — {label} — {entity}")
        out.append(f"    {'item':<{width}}" + "".join(f"{'year ' + str(y):>16}" for y in table.columns))
        for name, row in table.iterrows():
            out.append(f"    {name:<{width}}" + "".join(_fmt(float(v)) for v in row.to_numpy()))
    return "\n".join(out)
