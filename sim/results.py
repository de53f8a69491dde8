"""Results of a run: summaries across replications, a readable table, the results directory.

Everything here is a function of the tidy results table (``replication, scenario, year,
entity, metric, value``); nothing mutates a run.

* :func:`summarise` — mean, SD, SE, 2.5th/97.5th percentiles and n across replications;
* :func:`format_summary` — a compact plain-text table (population first, money with
  thousands separators);
* :func:`write_results_dir` — writes a results directory into a temporary sibling and
  renames it into place, so nothing already written is lost or half-overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from sim.catalogue import is_money
from sim.replication import RESULT_COLUMNS
from sim.scenario.schema import Scenario

OverYears = Literal["mean", "by_year"]
STAT_COLUMNS = ["mean", "sd", "se", "p2.5", "p97.5", "n"]
MANIFEST_FORMAT = 1
RESERVED_FILES = frozenset({"results", "summary", "scenario", "manifest", "draws", "run",
                            "scenarios", "parts"})
_TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")


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


# --------------------------------------------------------------------------- results directory


class ResultsDirError(FileExistsError):
    """The results directory exists and may not (or cannot) be replaced."""


def _is_results_dir(path: Path) -> bool:
    """An empty directory, one whose manifest.json was written by vbcsim, or the working
    directory of an unfinished vbcsim run."""
    if not any(path.iterdir()):
        return True
    from sim.checkpoint import read_state

    if read_state(path) is not None:
        return True
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "vbcsim_version" in manifest


def check_results_dir(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Refuse a results directory that cannot be written; return it as a :class:`Path`.

    An existing directory is refused unless ``overwrite``, and even then unless it is empty
    or holds a vbcsim manifest (so ``--out .`` never replaces a working tree).
    """
    p = Path(path)
    if p.exists() or p.is_symlink():
        if not p.is_dir():
            raise ResultsDirError(f"{p} exists and is not a directory")
        if not overwrite:
            raise ResultsDirError(
                f"{p} already exists; pass --overwrite to replace it, or choose another "
                "output directory"
            )
        if not _is_results_dir(p):
            raise ResultsDirError(
                f"{p} exists and is not a vbcsim results directory (no vbcsim manifest.json); "
                "refusing to replace it"
            )
    ancestor = p.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ResultsDirError(f"cannot create {p}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ResultsDirError(f"cannot create {p}: {ancestor} is not writable")
    return p


def resolved_scenario_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML (every default filled in, no ``extends:``)."""
    try:
        from sim.scenario import resolved_yaml  # provided by the full loader
    except ImportError:
        return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False)
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
    """The manifest of a results directory: what ran, how, when and with which software."""
    import sim

    duration = (
        (finished_at - started_at).total_seconds() if started_at and finished_at else None
    )
    return {
        "format": MANIFEST_FORMAT,
        "vbcsim_version": sim.__version__,
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
) -> Path:
    """Write a results directory and return its path.

    Files: ``results.parquet``, ``results.csv`` (the tidy table), ``summary.csv``
    (:func:`summarise`), ``scenario.yaml`` (the resolved scenario; re-running it reproduces
    the run) — or, for several ``scenarios`` run together, ``scenarios/<name>.yaml`` each —
    ``draws.parquet`` (the parameter draws, when any parameter is uncertain),
    ``<name>.parquet`` per side table, ``<name>.csv`` per report (e.g. ``risk``,
    ``comparison``), and ``manifest.json`` (written last).

    Everything is written into a hidden temporary sibling directory that is then renamed into
    place; with ``overwrite`` an existing results directory is moved aside first and deleted
    only once the new one is in place. Raises :class:`ResultsDirError` if the directory
    exists and may not be replaced.
    """
    tables = dict(tables or {})
    reports = dict(reports or {})
    for name in [*tables, *reports]:
        if not _TABLE_NAME.match(name) or name in RESERVED_FILES:
            raise ValueError(
                f"side table name {name!r} cannot be a file name: expected letters, digits, "
                f"'_' or '-', and none of {sorted(RESERVED_FILES)}"
            )
    out = check_results_dir(path, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_sibling(out, "partial")
    several = scenarios is not None and len(scenarios) > 1
    try:
        scenario_bytes = resolved_scenario_yaml(scenario).encode("utf-8")
        scenario_files: list[dict[str, str]] = []
        if several:
            (tmp / "scenarios").mkdir()
            for sc in scenarios or ():
                data = resolved_scenario_yaml(sc).encode("utf-8")
                (tmp / "scenarios" / f"{sc.name}.yaml").write_bytes(data)
                scenario_files.append({"name": sc.name, "file": f"scenarios/{sc.name}.yaml",
                                       "sha256": hashlib.sha256(data).hexdigest()})
        else:
            (tmp / "scenario.yaml").write_bytes(scenario_bytes)
        results.to_parquet(tmp / "results.parquet", index=False)
        results.to_csv(tmp / "results.csv", index=False)
        summarise(results).to_csv(tmp / "summary.csv", index=False)
        files = ["results.parquet", "results.csv", "summary.csv"]
        files += [f["file"] for f in scenario_files] if several else ["scenario.yaml"]
        if draws is not None and len(draws):
            draws.to_parquet(tmp / "draws.parquet", index=False)
            files.append("draws.parquet")
        for name, table in tables.items():
            table.to_parquet(tmp / f"{name}.parquet", index=False)
            files.append(f"{name}.parquet")
        for name, report in reports.items():
            report.to_csv(tmp / f"{name}.csv", index=False)
            files.append(f"{name}.csv")
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
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        _move_into_place(tmp, out, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _make_sibling(out: Path, tag: str) -> Path:
    """A new hidden directory next to ``out`` (created with the usual umask permissions)."""
    for _ in range(100):
        candidate = out.parent / f".{out.name}.{tag}-{secrets.token_hex(4)}"
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"could not create a temporary directory next to {out}")


def _move_into_place(tmp: Path, out: Path, *, overwrite: bool) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is set aside and removed afterwards."""
    check_results_dir(out, overwrite=overwrite)  # again: it may have appeared meanwhile
    if not (out.exists() or out.is_symlink()):
        os.rename(tmp, out)
        return
    old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rename(old, out)
        raise
    if old.is_symlink() or not old.is_dir():
        old.unlink()
    else:
        shutil.rmtree(old, ignore_errors=True)


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a results directory."""
    return json.loads((Path(path) / "manifest.json").read_text(encoding="utf-8"))


__all__ = [
    "STAT_COLUMNS",
    "ResultsDirError",
    "check_results_dir",
    "format_number",
    "format_summary",
    "is_money",
    "percentile_column",
    "read_manifest",
    "resolved_scenario_yaml",
    "summarise",
    "write_results_dir",
]
