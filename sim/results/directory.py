"""Writing, checking and replacing results directories (their layout:
:mod:`sim.results.layout`).

A results directory is written into a hidden sibling and renamed into place, so nothing
already written is lost or half-overwritten. An existing directory is replaced only when
asked (``overwrite``) and only when everything in it was written by vbcsim, as its
``manifest.json`` (or, for an unfinished run, its ``run.json``) lists; anything else in it (a
user's notes, a notebook) makes the replacement refused, naming it. Nothing vbcsim did not
write is ever deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import secrets
import shutil
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim._version import __version__
from sim.results import layout
from sim.results.layout import ResultsDirError, ResultsWarning
from sim.results.lock import OutputLock, check_unlocked, held_here
from sim.results.summary import summarise

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

MANIFEST_FORMAT = 1
#: at most this many unexpected files are named in a refusal
_SHOWN = 10


# --------------------------------------------------------------------------- checks


def replaceable(path: Path) -> list[str]:
    """What replacing the existing directory ``path`` would delete: the files vbcsim wrote
    there by its own record (see :func:`sim.results.layout.owned_files`). Raises
    :class:`ResultsDirError` if the directory was not written by vbcsim, or if it holds
    anything vbcsim did not write (named in the message)."""
    if not any(path.iterdir()):
        return []
    owned = layout.owned_files(path)
    if owned is None:
        raise ResultsDirError(
            f"{path} exists and is not a vbcsim results directory (no vbcsim "
            f"{layout.MANIFEST}); refusing to replace it"
        )
    unexpected = layout.unexpected_files(path, owned)
    if unexpected:
        shown = ", ".join(unexpected[:_SHOWN])
        more = f" and {len(unexpected) - _SHOWN} more" if len(unexpected) > _SHOWN else ""
        record = layout.MANIFEST if (path / layout.MANIFEST).is_file() else layout.STATE
        raise ResultsDirError(
            f"{path} holds files vbcsim did not write (not listed in its {record}): "
            f"{shown}{more}; refusing to replace it (move them elsewhere first, or choose "
            "another output directory)"
        )
    return owned


def check_results_dir(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Refuse a results directory that cannot be written; return it as a :class:`Path`.

    Refused: a directory another vbcsim run is writing (its lock,
    :class:`~sim.results.lock.OutputLocked`); an existing directory unless ``overwrite``,
    and even then unless it is empty or everything in it was written by vbcsim (so ``--out
    .`` never replaces a working tree and a user's notes are never deleted); a path whose
    parent cannot be created or written.
    """
    p = Path(path)
    check_unlocked(p)
    if p.exists() or p.is_symlink():
        if not p.is_dir():
            raise ResultsDirError(f"{p} exists and is not a directory")
        if not overwrite:
            raise ResultsDirError(
                f"{p} already exists; pass --overwrite to replace it, or choose another "
                "output directory"
            )
        replaceable(p)
    ancestor = p.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ResultsDirError(f"cannot create {p}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ResultsDirError(f"cannot create {p}: {ancestor} is not writable")
    return p


def check_finished(path: str | os.PathLike[str]) -> Path:
    """Refuse what is not a finished vbcsim results directory (missing, a file, an unfinished
    run, no vbcsim manifest, no results table); return it as a :class:`Path`."""
    p = Path(path)
    if not p.exists():
        raise ResultsDirError("no such directory")
    if not p.is_dir():
        raise ResultsDirError("not a directory (give a results directory written by vbcsim "
                              "run or vbcsim compare)")
    manifest = p / layout.MANIFEST
    if not manifest.is_file():
        if (p / layout.STATE).is_file():
            raise ResultsDirError(f"the run did not finish; complete it with "
                                  f"`vbcsim run --resume {p}`")
        raise ResultsDirError(f"not a vbcsim results directory (no {layout.MANIFEST})")
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsDirError(f"unreadable {layout.MANIFEST} ({exc})") from None
    if not isinstance(data, dict) or "vbcsim_version" not in data:
        raise ResultsDirError(f"not a vbcsim results directory ({layout.MANIFEST} was not "
                              "written by vbcsim)")
    if not (p / layout.RESULTS_PARQUET).is_file():
        raise ResultsDirError(f"{layout.RESULTS_PARQUET} is missing")
    return p


# --------------------------------------------------------------------------- writing


def resolved_scenario_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML (every default filled in, no ``extends:``)."""
    from sim.scenario import resolved_yaml

    return resolved_yaml(scenario)


def _utc_iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def build_manifest(
    *,
    scenario: Scenario,
    scenario_sha256: str,
    seed: int,
    workers: int | None,
    command: str | None,
    started_at: datetime | None,
    finished_at: datetime | None,
    source: str | os.PathLike[str] | None,
    files: Sequence[str],
) -> dict[str, Any]:
    """The manifest of a results directory: what ran, how, when and with which software,
    and every file vbcsim wrote there (``files``; the manifest itself aside)."""
    from sim.scenario.engines import resolve_engine

    duration = (
        (finished_at - started_at).total_seconds() if started_at and finished_at else None
    )
    return {
        "format": MANIFEST_FORMAT,
        "vbcsim_version": __version__,
        "command": command,
        "seed": seed,
        "replications": scenario.replications,
        "workers": workers,
        "started_at": _utc_iso(started_at),
        "finished_at": _utc_iso(finished_at),
        "duration_seconds": None if duration is None else round(duration, 3),
        "scenario_name": scenario.name,
        "scenario_source": None if source is None else str(source),
        "scenario_sha256": scenario_sha256,
        # the executor of the care model (sim.scenario.engines): the scenario's setting
        # and the one that ran
        "engine": resolve_engine(scenario),
        "engine_setting": getattr(scenario, "engine", "des"),
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "pandas_version": pd.__version__,
        "simpy_version": _version("simpy"),
        "platform": platform.platform(),
        "files": list(files),
    }


def write_results_dir(
    path: str | os.PathLike[str],
    results: pd.DataFrame,
    *,
    scenario: Scenario,
    tables: Mapping[str, pd.DataFrame] | None = None,
    seed: int | None = None,
    workers: int | None = None,
    command: str | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    source: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    scenarios: Sequence[Scenario] | None = None,
    draws: pd.DataFrame | None = None,
    reports: Mapping[str, pd.DataFrame] | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, Path] | None = None,
) -> Path:
    """Write a results directory and return its path.

    Files (:mod:`sim.results.layout`): ``results.parquet``, ``results.csv`` (the tidy
    table), ``summary.csv`` (:func:`~sim.results.summarise`), ``scenario.yaml`` (the
    resolved scenario; re-running it reproduces the run) — or, for several ``scenarios`` run
    together, ``scenarios/<name>.yaml`` each — ``draws.parquet`` (the parameter draws, when
    any parameter is uncertain), ``<name>.parquet`` per side table, ``<name>.csv`` per
    report (e.g. ``risk``, ``compare_npv``), and ``manifest.json`` (written last, listing
    every file). ``extra_files`` (relative path -> an existing file, e.g. the claims kept
    by ``--save-claims``) are hard-linked (or copied) in and listed too.

    The folder's lock (:class:`~sim.results.lock.OutputLock`) is held while it is written.
    Everything is written into a hidden temporary sibling directory that is then renamed into
    place; with ``overwrite`` an existing results directory is moved aside first and its
    files deleted only once the new one is in place (only the files its manifest lists).
    Raises :class:`ResultsDirError` if the directory exists and may not be replaced.
    """
    tables = dict(tables or {})
    reports = dict(reports or {})
    for name in [*tables, *reports]:
        layout.check_table_name(name)
    out = check_results_dir(path, overwrite=overwrite)
    with contextlib.nullcontext() if held_here(out) else OutputLock(out, command):
        _write(out, results, scenario=scenario, tables=tables, seed=seed, workers=workers,
               command=command, started_at=started_at, finished_at=finished_at,
               source=source, overwrite=overwrite, scenarios=scenarios, draws=draws,
               reports=reports, extra_manifest=extra_manifest,
               extra_files=dict(extra_files or {}))
    return out


def _write(
    out: Path, results: pd.DataFrame, *, scenario: Scenario,
    tables: dict[str, pd.DataFrame], seed: int | None, workers: int | None,
    command: str | None, started_at: datetime | None, finished_at: datetime | None,
    source: str | os.PathLike[str] | None, overwrite: bool,
    scenarios: Sequence[Scenario] | None, draws: pd.DataFrame | None,
    reports: dict[str, pd.DataFrame], extra_manifest: Mapping[str, Any] | None,
    extra_files: Mapping[str, Path] | None = None,
) -> None:
    """The body of :func:`write_results_dir`, with the folder's lock held."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_sibling(out, "writing")
    several = scenarios is not None and len(scenarios) > 1
    try:
        scenario_bytes = resolved_scenario_yaml(scenario).encode("utf-8")
        scenario_files: list[dict[str, str]] = []
        if several:
            (tmp / layout.SCENARIOS_DIR).mkdir()
            for sc in scenarios or ():
                data = resolved_scenario_yaml(sc).encode("utf-8")
                rel = layout.scenario_file(sc.name)
                (tmp / rel).write_bytes(data)
                scenario_files.append({"name": sc.name, "file": rel,
                                       "sha256": hashlib.sha256(data).hexdigest()})
        else:
            (tmp / layout.SCENARIO_YAML).write_bytes(scenario_bytes)
        results.to_parquet(tmp / layout.RESULTS_PARQUET, index=False)
        results.to_csv(tmp / layout.RESULTS_CSV, index=False)
        summarise(results).to_csv(tmp / layout.SUMMARY_CSV, index=False)
        files = [layout.RESULTS_PARQUET, layout.RESULTS_CSV, layout.SUMMARY_CSV]
        files += [f["file"] for f in scenario_files] if several else [layout.SCENARIO_YAML]
        if draws is not None and len(draws):
            draws.to_parquet(tmp / layout.DRAWS_PARQUET, index=False)
            files.append(layout.DRAWS_PARQUET)
        for name, table in tables.items():
            table.to_parquet(tmp / layout.side_table_file(name), index=False)
            files.append(layout.side_table_file(name))
        for name, report in reports.items():
            report.to_csv(tmp / layout.report_file(name), index=False)
            files.append(layout.report_file(name))
        for rel, src in (extra_files or {}).items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, tmp / rel)  # no copy: the same bytes, one more name
            except OSError:
                shutil.copyfile(src, tmp / rel)
            files.append(rel)
        manifest = build_manifest(
            scenario=scenario,
            scenario_sha256=hashlib.sha256(scenario_bytes).hexdigest(),
            seed=scenario.seed if seed is None else seed,
            workers=workers,
            command=command,
            started_at=started_at,
            finished_at=finished_at,
            source=source,
            files=files,
        )
        if several:
            manifest["scenarios"] = scenario_files
        manifest.update(extra_manifest or {})
        (tmp / layout.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        _move_into_place(tmp, out, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # our own new folder, not yet in place
        raise


def _make_sibling(out: Path, tag: str) -> Path:
    """A new hidden directory next to ``out`` (created with the usual umask permissions)."""
    for _ in range(100):
        candidate = layout.sibling(out, tag, secrets.token_hex(4))
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"could not create a temporary directory next to {out}")


def _move_into_place(tmp: Path, out: Path, *, overwrite: bool) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is set aside, and once ``tmp`` is in
    place only the files vbcsim wrote in it are deleted."""
    check_results_dir(out, overwrite=overwrite)  # again: it may have changed meanwhile
    if not (out.exists() or out.is_symlink()):
        os.rename(tmp, out)
        return
    owned = [] if out.is_symlink() else replaceable(out)
    old = layout.sibling(out, "old", secrets.token_hex(4))
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rename(old, out)
        raise
    if old.is_symlink() or not old.is_dir():
        old.unlink()
        return
    left = layout.remove_owned(old, owned)
    if left:  # something appeared after the check: it is kept, never deleted
        warnings.warn(f"the previous {out} was replaced; {old} keeps what vbcsim did not "
                      f"write in it: {', '.join(left[:_SHOWN])}", ResultsWarning, stacklevel=3)


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a results directory."""
    return json.loads((Path(path) / layout.MANIFEST).read_text(encoding="utf-8"))


__all__ = [
    "MANIFEST_FORMAT",
    "build_manifest",
    "check_finished",
    "check_results_dir",
    "read_manifest",
    "replaceable",
    "resolved_scenario_yaml",
    "write_results_dir",
]
