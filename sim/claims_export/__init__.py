"""Export the claims kept by ``--save-claims`` (``vbcsim claims``; docs/claims.md).

The reading side: it reads the results directory's ``claims/<scenario>/rep_<k>/`` folders
(written by :mod:`sim.claims_saving`, checked against the SHA-256 in ``manifest.json``) and
writes, per scenario and replication, the CCLF-like files of :mod:`sim.claims_export.cclf`
as CSV or Parquet: ``OUT/<scenario>/rep_<k>/CCLF1.csv`` ... ``CCLF8.csv``. One replication
is read, converted and written at a time, so memory stays bounded by one replication's
claims.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from sim.claims_export.cclf import COLUMNS, cclf_tables
from sim.results import layout
from sim.results.directory import check_finished, read_manifest
from sim.results.layout import ResultsDirError

FORMATS = ("cclf",)
#: the default first calendar year when a resolved scenario does not say (the schema's)
DEFAULT_FIRST_CALENDAR_YEAR = 2025


class ClaimsExportError(ValueError):
    """The claims cannot be exported (the message says why and what to do)."""


def _how_to_save(path: Path) -> str:
    return (f"run the scenario again with --save-claims (e.g. `vbcsim run SCENARIO "
            f"--save-claims --out {path}`; --save-claims all or N,M for other replications)")


def available_claims(path: str | os.PathLike[str]) -> dict[str, list[int]]:
    """The replications whose claims a finished results directory keeps, per scenario (as
    its manifest lists them)."""
    p = Path(path)
    try:
        check_finished(p)
    except ResultsDirError as exc:
        raise ClaimsExportError(f"{p}: {exc}") from None
    saved = read_manifest(p).get("saved_claims") or {}
    out: dict[str, set[int]] = {}
    for rel in saved:
        parts = rel.split("/")
        if len(parts) == 4 and parts[0] == layout.CLAIMS_DIR and parts[2].startswith("rep_"):
            out.setdefault(parts[1], set()).add(int(parts[2][4:]))
    return {name: sorted(reps) for name, reps in out.items()}


def _first_calendar_year(path: Path, scenario: str) -> int:
    import yaml

    for rel in (layout.scenario_file(scenario), layout.SCENARIO_YAML):
        f = path / rel
        if f.is_file():
            data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
            value = (data.get("economics") or {}).get("first_calendar_year")
            if value is not None:
                return int(value)
    return DEFAULT_FIRST_CALENDAR_YEAR


def _read_checked(path: Path, folder: str, saved: dict[str, str]) -> dict[str, pd.DataFrame]:
    """The saved tables of one replication, each checked against the manifest's SHA-256."""
    tables: dict[str, pd.DataFrame] = {}
    for name in ("claims", "stays", "beneficiaries", "providers"):
        rel = f"{folder}/{name}.parquet"
        f = path / rel
        if not f.is_file():
            raise ClaimsExportError(f"{path}: {rel} is missing; {_how_to_save(path)}")
        data = f.read_bytes()
        if saved.get(rel) != hashlib.sha256(data).hexdigest():
            raise ClaimsExportError(f"{path}: {rel} does not match the SHA-256 in "
                                    f"{layout.MANIFEST} (changed or damaged); "
                                    f"{_how_to_save(path)}")
        tables[name] = pd.read_parquet(f)
    return tables


def export_claims(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    fmt: str = "cclf",
    replications: Iterable[int] | None = None,
    scenario: str | None = None,
    parquet: bool = False,
) -> list[Path]:
    """Write the kept claims of the results directory ``path`` to ``out`` in the layout
    ``fmt`` (``cclf``): ``out/<scenario>/rep_<k>/CCLF{1-6,8}.csv`` (``.parquet`` with
    ``parquet``); ``replications`` and ``scenario`` choose (default: every kept one).
    Returns the files written. Raises :class:`ClaimsExportError` (nothing kept, a
    replication or scenario not kept, ``out`` not empty, a file damaged)."""
    if fmt not in FORMATS:
        raise ClaimsExportError(f"unknown format {fmt!r}; expected one of {list(FORMATS)}")
    p = Path(path)
    kept = available_claims(p)
    if not kept:
        raise ClaimsExportError(f"{p} keeps no simulated claims (the run was made without "
                                f"--save-claims); {_how_to_save(p)}")
    if scenario is not None:
        if scenario not in kept:
            raise ClaimsExportError(f"{p} keeps no claims of scenario {scenario!r}; it keeps "
                                    f"those of {sorted(kept)}")
        kept = {scenario: kept[scenario]}
    wanted = None if replications is None else sorted(set(replications))
    jobs: list[tuple[str, int]] = []
    for name, reps in kept.items():
        chosen = reps if wanted is None else wanted
        missing = sorted(set(chosen) - set(reps))
        if missing:
            raise ClaimsExportError(
                f"{p} keeps the claims of replication(s) {reps} of {name!r}, not "
                f"{missing}; run again with --save-claims "
                f"{','.join(str(r) for r in sorted(set(reps) | set(missing)))} (or all)")
        jobs += [(name, r) for r in chosen]
    target = Path(out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ClaimsExportError(f"{target} exists and is not empty; choose another --out")
    saved = read_manifest(p).get("saved_claims") or {}
    written: list[Path] = []
    for name, rep in jobs:
        folder = layout.claims_folder(name, rep)
        tables = _read_checked(p, folder, saved)
        cclf = cclf_tables(tables["claims"], tables["stays"], tables["beneficiaries"],
                           tables["providers"], _first_calendar_year(p, name))
        del tables
        dest = target / name / f"rep_{rep}"
        dest.mkdir(parents=True, exist_ok=True)
        for file, frame in cclf.items():
            f = dest / f"{file}.{'parquet' if parquet else 'csv'}"
            if parquet:
                frame.to_parquet(f, index=False)
            else:
                frame.to_csv(f, index=False, date_format="%Y-%m-%d")
            written.append(f)
    return written


__all__ = ["COLUMNS", "FORMATS", "ClaimsExportError", "available_claims", "export_claims"]
