"""One combine: the outputs of units of work, concatenated into the tables of a run."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sim.results.table import PartOutput, empty_results, tidy
from sim.uncertainty import draws_frame


def combine_parts(
    parts: Sequence[tuple[int, str, PartOutput]], several: bool = False
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], pd.DataFrame]:
    """Concatenate the outputs of units of work, in the order given: the results table (with
    its canonical columns and types, :func:`~sim.results.tidy`), the side tables and the
    parameter draws.

    ``parts`` holds ``(replication, scenario label, output)`` per unit of work. A side table
    without a ``replication`` column gets the unit's replication; with ``several``
    scenarios, one without a ``scenario`` column gets the unit's scenario label.
    """
    if parts:
        results = tidy(pd.concat([o.results for _, _, o in parts], ignore_index=True))
    else:
        results = empty_results()
    names = list(dict.fromkeys(n for _, _, o in parts for n in (o.tables or {})))
    tables: dict[str, pd.DataFrame] = {}
    for name in names:
        pieces = []
        for replication, label, o in parts:
            t = (o.tables or {}).get(name)
            if t is None:
                continue
            if "replication" not in t.columns or (several and "scenario" not in t.columns):
                t = t.copy()
                if several and "scenario" not in t.columns:
                    t.insert(0, "scenario", label)
                if "replication" not in t.columns:
                    t.insert(0, "replication", replication)
            pieces.append(t)
        tables[name] = pd.concat(pieces, ignore_index=True)
    draw_frames = [o.draws for _, _, o in parts if o.draws is not None and len(o.draws)]
    draws = pd.concat(draw_frames, ignore_index=True) if draw_frames else draws_frame([])
    return results, tables, draws


__all__ = ["combine_parts"]
