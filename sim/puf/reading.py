"""Reading CMS's MSSP ACO public use file (PUF): one ACO's row, the file's year, clear errors.

The PY2023 and PY2024 files differ in a few columns (PY2024 adds ``RR_weight_*_PY`` and
``Guardrail``; PY2023 has ``Met_30pctl``) and in how percents are written (``9.09%`` in 2023,
``8.89`` in 2024). Suppressed cells (``*`` or blank, CMS's small-cell suppression) read as
``None``; the mapping falls back to the schema default and says so.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

#: columns without which no scenario can be built
REQUIRED = ("ACO_ID", "N_AB", "Current_Track")
#: column -> performance year it identifies
YEAR_MARKERS = {"RR_weight_AGND_PY": 2024, "Guardrail": 2024, "Met_30pctl": 2023}


class PufError(ValueError):
    """A PUF file that cannot be read, or an ACO it does not hold."""


@dataclass(frozen=True)
class PufRow:
    """One ACO's row: raw strings by column, the file and its performance year."""

    path: Path
    year: int
    values: dict[str, str]

    def text(self, column: str) -> str | None:
        raw = self.values.get(column)
        raw = raw.strip() if raw is not None else None
        return None if raw in (None, "", "*", ".", "NA", "N/A") else raw

    def number(self, column: str) -> float | None:
        """The column as a number (``%``, ``$`` and thousands commas removed); ``None`` when
        absent or suppressed (``*``/blank)."""
        raw = self.text(column)
        if raw is None:
            return None
        try:
            return float(re.sub(r"[%$,\s]", "", raw))
        except ValueError:
            return None


def _detect_year(path: Path, columns: list[str]) -> int | None:
    for col, year in YEAR_MARKERS.items():
        if col in columns:
            return year
    m = re.search(r"py(20\d\d)", path.name.lower())
    return int(m.group(1)) if m else None


def read_puf_row(path: str | Path, aco_id: str, year: int | None = None) -> PufRow:
    """The row of ``aco_id`` in the PUF at ``path``; ``year`` (optional) must match the file."""
    path = Path(path)
    if not path.is_file():
        raise PufError(f"{path}: no such PUF file (expected CMS's MSSP ACO PUF CSV, e.g. "
                       "mssp_aco_puf_py2024.csv)")
    try:
        with path.open(encoding="latin-1", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = list(reader.fieldnames or [])
            rows = list(reader)
    except (csv.Error, UnicodeError) as exc:
        raise PufError(f"{path}: not a readable CSV ({exc})") from exc
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise PufError(f"{path}: not an MSSP ACO PUF: missing column(s) {', '.join(missing)} "
                       f"(expected columns such as {', '.join(REQUIRED)}, CapAnn_INP_All, ADM)")
    detected = _detect_year(path, columns)
    if year is not None and detected is not None and year != detected:
        raise PufError(f"{path}: --year {year} given but the file's columns are those of the "
                       f"PY{detected} PUF")
    year = year if year is not None else detected
    if year is None:
        raise PufError(f"{path}: cannot tell the performance year from the columns or the "
                       "file name; pass year (--year)")
    wanted = aco_id.strip().upper()
    for row in rows:
        if (row.get("ACO_ID") or "").strip().upper() == wanted:
            return PufRow(path, year, row)
    ids = [(r.get("ACO_ID") or "").strip() for r in rows]
    near = difflib.get_close_matches(wanted, ids, n=5, cutoff=0.6)
    hint = f"; nearest: {', '.join(near)}" if near else ""
    raise PufError(f"{path}: no ACO with ACO_ID {aco_id!r} among its {len(ids)} rows{hint}")
