"""Readable settlement statements for the terminal (``vbcsim run``).

Statements are itemised per contract, entity and year. Averaging them line by line across
replications would not add up (the average of "gross savings" minus the average threshold
is not the average "shareable savings" when some replications pass the threshold and
others do not), so the printout shows one real replication: the median one by the plan
total of what the contracts paid providers (the lower middle of an even number), named in
the heading with the lowest and highest totals. ``settlements.parquet`` keeps every
replication. A line that a year's rule did not reach (e.g. shared losses in a one-sided
year) shows as blank. By default only the statements that move money are shown (a
benchmark's derivation is a statement without cash); ``full`` shows them all.
"""

from __future__ import annotations

import math

import pandas as pd

from sim.contracts.registry import SHOWN_STATEMENTS

STATEMENT_KEYS = ["label", "entity", "statement", "contract"]


def _fmt(v: float) -> str:
    if isinstance(v, float) and math.isnan(v):
        return f"{'':>16}"
    return f"{v:>16,.0f}" if abs(v) >= 100 or v == 0 else f"{v:>16,.4f}"


def representative_replication(settlements: pd.DataFrame,
                               contracts: tuple[str, ...] = SHOWN_STATEMENTS,
                               ) -> tuple[int, pd.Series] | None:
    """The median replication by the plan total paid to providers under ``contracts``
    (the lower middle of an even number; ties: the lower replication number), and every
    replication's total; ``None`` without a ``replication`` column."""
    if "replication" not in settlements:
        return None
    cash = settlements[(settlements["kind"] == "cash")
                       & (settlements["item"] == "provider_received_usd")
                       & settlements["contract"].isin(contracts)]
    reps = sorted(settlements["replication"].unique())
    totals = cash.groupby("replication")["value"].sum().reindex(reps, fill_value=0.0)
    order = sorted(reps, key=lambda r: (totals[r], r))
    return int(order[(len(order) - 1) // 2]), totals


def _moves_money(settlements: pd.DataFrame) -> set[tuple]:
    """The statements (label, entity, statement, contract) with a non-zero cash line."""
    cash = settlements[(settlements["kind"] == "cash") & (settlements["value"] != 0)]
    return set(cash[STATEMENT_KEYS].drop_duplicates().itertuples(index=False, name=None))


def format_statements(settlements: pd.DataFrame, contracts: tuple[str, ...] = SHOWN_STATEMENTS,
                      max_years: int = 6, full: bool = False) -> str:
    """The itemised statement lines by year (columns) for each contract and entity, of the
    median replication (see the module doc); ``full``: also statements without cash."""
    if settlements is None or settlements.empty:
        return ""
    shown = settlements[settlements["contract"].isin(contracts)]
    lines = shown[shown["kind"] == "line"]
    if not full:
        money = _moves_money(shown)
        keep = [k in money for k in lines[STATEMENT_KEYS].itertuples(index=False, name=None)]
        lines = lines[keep]
    if lines.empty:
        return ""
    chosen = representative_replication(shown, contracts)
    if chosen is None:
        out = ["Settlement statements (USD)"]
    else:
        rep, totals = chosen
        lines = lines[lines["replication"] == rep]
        out = [f"Settlement statements (USD) of replication {rep}: the median of {len(totals)} "
               f"by the plan total paid to providers ({totals[rep]:,.0f}; lowest "
               f"{totals.min():,.0f}, highest {totals.max():,.0f}).",
               "Each statement adds up; every replication is in settlements.parquet"
               + ("; --full adds the statements without cash (e.g. benchmarks)." if not full
                  else ".")]
    for (label, entity, _, contract), grp in lines.groupby(STATEMENT_KEYS, sort=False):
        ids = [c for c in ("replication", "year") if c in grp]
        occurrence = grp.groupby([*ids, "item"]).cumcount()
        item = grp["item"].where(occurrence == 0, grp["item"] + " (" + (occurrence + 1).astype(str) + ")")
        grp = grp.assign(item=item)
        order = list(dict.fromkeys(grp["item"]))
        table = grp.pivot_table(index="item", columns="year", values="value", aggfunc="first",
                                dropna=False)
        table = table.reindex(order).iloc[:, :max_years]
        width = max(12, *(len(i) for i in order))
        out.append("")
        out.append(f"  {contract} — {label} — {entity}")
        out.append(f"    {'item':<{width}}" + "".join(f"{'year ' + str(y):>16}" for y in table.columns))
        for name, row in table.iterrows():
            out.append(f"    {name:<{width}}" + "".join(_fmt(float(v)) for v in row.to_numpy()))
    return "\n".join(out)
