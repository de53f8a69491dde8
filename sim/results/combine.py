"""One combine: the outputs of units of work, concatenated into the tables of a run."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from sim.results.table import PartOutput, empty_results, tidy
from sim.uncertainty import draws_frame

#: Parts whose frames are concatenated together before the next are read
#: (:func:`combine_parts`): a run's many small per-part frames (each with its own index and
#: column objects) are held only this many at a time, so the memory of combining is that of
#: the combined tables, not of every part at once.
CHUNK_PARTS = 64


class _Pieces:
    """Frames of one table, concatenated every ``CHUNK_PARTS`` additions (the same table as
    one concatenation of them all: the pieces are concatenated in order)."""

    def __init__(self) -> None:
        self.chunks: list[pd.DataFrame] = []
        self.pending: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame) -> None:
        self.pending.append(frame)
        if len(self.pending) >= CHUNK_PARTS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.chunks.append(self.pending[0] if len(self.pending) == 1
                               else pd.concat(self.pending, ignore_index=True))
            self.pending = []

    def frame(self) -> pd.DataFrame | None:
        self.flush()
        if not self.chunks:
            return None
        out = self.chunks[0] if len(self.chunks) == 1 else pd.concat(self.chunks,
                                                                      ignore_index=True)
        return out.reset_index(drop=True)


def combine_parts(
    parts: Iterable[tuple[int, str, PartOutput]], several: bool = False
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], pd.DataFrame]:
    """Concatenate the outputs of units of work, in the order given: the results table (with
    its canonical columns and types, :func:`~sim.results.tidy`), the side tables and the
    parameter draws.

    ``parts`` holds ``(replication, scenario label, output)`` per unit of work; it may be an
    iterator that reads each part when asked (a run's results directory): the parts are
    consumed one at a time and concatenated in chunks of ``CHUNK_PARTS``, so no more than
    that many are held at once. A side table without a ``replication`` column gets the
    unit's replication; with ``several`` scenarios, one without a ``scenario`` column gets
    the unit's scenario label.
    """
    results = _Pieces()
    tables: dict[str, _Pieces] = {}  # in the order the tables first appear
    draws = _Pieces()
    for replication, label, o in parts:
        results.add(o.results)
        for name, t in (o.tables or {}).items():
            if t is None:
                continue
            if "replication" not in t.columns or (several and "scenario" not in t.columns):
                t = t.copy()
                if several and "scenario" not in t.columns:
                    t.insert(0, "scenario", label)
                if "replication" not in t.columns:
                    t.insert(0, "replication", replication)
            tables.setdefault(name, _Pieces()).add(t)
        if o.draws is not None and len(o.draws):
            draws.add(o.draws)
    combined = results.frame()
    drawn = draws.frame()
    out_tables = {name: frame for name, pieces in tables.items()
                  if (frame := pieces.frame()) is not None}
    return (empty_results() if combined is None else tidy(combined), out_tables,
            draws_frame([]) if drawn is None else drawn)


__all__ = ["CHUNK_PARTS", "combine_parts"]
