"""The tidy results table: its columns, their canonical types, and what one unit of work
produced.

Every output of vbcsim is one long table with the columns :data:`RESULT_COLUMNS`
(``replication, scenario, year, entity, metric, value``), plus named side tables (e.g.
itemised settlements) and the parameter draws. This module imports nothing of the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

RESULT_COLUMNS = ["replication", "scenario", "year", "entity", "metric", "value"]
#: the canonical type of each column of the results table
RESULT_DTYPES = {"replication": "int64", "scenario": "string", "year": "int64",
                 "entity": "string", "metric": "string", "value": "float64"}


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    """A results table with the columns of :data:`RESULT_COLUMNS` first (other columns
    after them, in their order) and the canonical types of :data:`RESULT_DTYPES`."""
    extra = [c for c in df.columns if c not in RESULT_COLUMNS]
    return df[RESULT_COLUMNS + extra].astype(RESULT_DTYPES)


def results_frame(rows: list[tuple]) -> pd.DataFrame:
    """``tidy(pd.DataFrame(rows, columns=RESULT_COLUMNS))`` built column by column in the
    canonical types (the same table, without inferring each column's type from objects)."""
    if not rows:
        return tidy(pd.DataFrame(rows, columns=RESULT_COLUMNS))
    cols = list(zip(*rows, strict=True))
    return pd.DataFrame({
        name: np.array(col, dtype=RESULT_DTYPES[name]) if RESULT_DTYPES[name] != "string"
        else pd.array(col, dtype="string")
        for name, col in zip(RESULT_COLUMNS, cols, strict=True)})


def empty_results() -> pd.DataFrame:
    """A results table without rows (the canonical columns and types)."""
    return tidy(pd.DataFrame(columns=RESULT_COLUMNS))


@dataclass
class PartOutput:
    """What one unit of work (one replication of one scenario) produced: its rows of the
    results table, its side tables and its parameter draws (None when nothing is
    uncertain)."""

    results: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    draws: pd.DataFrame | None = None


__all__ = ["RESULT_COLUMNS", "RESULT_DTYPES", "PartOutput", "empty_results", "results_frame",
           "tidy"]
