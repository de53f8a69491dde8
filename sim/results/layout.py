"""The layout of a results directory, defined once.

A **finished** results directory (written by :func:`sim.results.write_results_dir`, i.e. by
``vbcsim run``/``compare`` and ``RunResult.to_dir``) holds:

* ``results.parquet`` and ``results.csv`` — the tidy results table;
* ``summary.csv`` — mean, SD, SE and 95% interval per metric;
* ``scenario.yaml`` — the resolved scenario (or ``scenarios/<name>.yaml``, one per scenario
  run together);
* ``draws.parquet`` — the parameter draws (when a parameter is uncertain);
* ``<table>.parquet`` — one per side table (``settlements``, ``cash_flows``, ...);
* ``<report>.csv`` — one per report table (``risk``, ``compare_*``);
* ``manifest.json`` — written last: what ran, how, when, with which software, and the list
  of every file vbcsim wrote there (``files``).

An **unfinished** run keeps, in its working directory (the results directory itself, or a
hidden sibling ``.<name>.partial-<token>`` when an existing directory is being replaced):

* ``run.json`` — what is being run (to resume it) and the files vbcsim owns there;
* ``UNFINISHED.txt`` — a note for people: the run did not finish, how to complete it;
* ``parts/task-NNNNNN/`` — one folder per finished unit of work (``results.parquet``,
  ``draws.parquet``, ``table-<name>.parquet``, ``checksums.json``).

While a run writes an output folder, the lock file ``.<name>.lock`` sits next to it
(:mod:`sim.results.lock`). A sensitivity analysis writes ``tornado.csv`` (+ ``tornado.png``)
or ``sobol.csv``; a report looks for them in a folder, or its ``sensitivity/`` subfolder.

Everything that knows a file name of this layout imports it from here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class ResultsDirError(FileExistsError):
    """A results directory cannot be written, replaced or read (the message says why)."""


class ResultsWarning(UserWarning):
    """A note about an output folder (a stale lock taken over, a damaged part run again,
    something left in place); the command shows it as one ``vbcsim: warning:`` line."""


# --------------------------------------------------------------------------- file names

MANIFEST = "manifest.json"
RESULTS_PARQUET = "results.parquet"
RESULTS_CSV = "results.csv"
SUMMARY_CSV = "summary.csv"
SCENARIO_YAML = "scenario.yaml"
SCENARIOS_DIR = "scenarios"
DRAWS_PARQUET = "draws.parquet"
CASH_FLOWS_PARQUET = "cash_flows.parquet"
SETTLEMENTS_PARQUET = "settlements.parquet"
NPV_CSV = "compare_npv.csv"

STATE = "run.json"
UNFINISHED_NOTE = "UNFINISHED.txt"
PARTS = "parts"
CHECKSUMS = "checksums.json"
PART_RESULTS = "results.parquet"
PART_DRAWS = "draws.parquet"
PART_TABLE_PREFIX = "table-"

#: the simulated claims kept by ``--save-claims`` (raw, as in the ledger; sim.claims_saving):
#: ``claims/<scenario>/rep_<k>/<table>.parquet`` + ``checksums.json``, one folder per
#: replication, written as it finishes; exported by ``vbcsim claims`` (sim.claims_export)
CLAIMS_DIR = "claims"

#: sensitivity outputs: (kind, file name); the report also looks in SENSITIVITY_DIR
SENSITIVITY_FILES = (("tornado", "tornado.csv"), ("sobol", "sobol.csv"))
TORNADO_FIGURE = "tornado.png"
#: what a sensitivity output was run on (scenario, metric, command), beside its table
SENSITIVITY_JSON = "sensitivity.json"
SENSITIVITY_DIR = "sensitivity"

#: names a side table or report may not take (they would clash with the files above)
RESERVED_NAMES = frozenset({"results", "summary", "scenario", "manifest", "draws", "run",
                            "scenarios", "parts", "UNFINISHED"})
_TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
#: what a run's working directory holds, when its run.json does not list it (older runs);
#: a trailing '/' marks a folder vbcsim owns with all its content
WORKDIR_FILES = (STATE, UNFINISHED_NOTE, PARTS + "/", CLAIMS_DIR + "/")
#: the temporary file of an atomic write of run.json (left by a kill at the wrong moment)
_STATE_TMP = re.compile(r"^\." + re.escape(STATE) + r"\.tmp-[0-9a-f]+$")


def side_table_file(name: str) -> str:
    """The file of side table ``name`` in a results directory."""
    return f"{name}.parquet"


def report_file(name: str) -> str:
    """The file of report table ``name`` in a results directory."""
    return f"{name}.csv"


def scenario_file(name: str) -> str:
    """The resolved scenario ``name`` of several run together (relative path)."""
    return f"{SCENARIOS_DIR}/{name}.yaml"


def check_table_name(name: str) -> None:
    """Refuse a side-table or report name that cannot be a file name of the layout."""
    if not _TABLE_NAME.match(name) or name in RESERVED_NAMES:
        raise ValueError(
            f"side table name {name!r} cannot be a file name: expected letters, digits, "
            f"'_' or '-', and none of {sorted(RESERVED_NAMES)}"
        )


def part_name(index: int) -> str:
    """The folder (in ``parts/``) of unit of work ``index``."""
    return f"task-{index:06d}"


def part_index(name: str) -> int | None:
    """The unit of work whose part folder is called ``name``, or None (``task-1`` next to
    ``task-000001`` is no part)."""
    if not name.startswith("task-"):
        return None
    try:
        index = int(name[5:])
    except ValueError:
        return None
    return index if part_name(index) == name else None


def part_table_file(name: str) -> str:
    """The file of side table ``name`` inside a part."""
    return f"{PART_TABLE_PREFIX}{name}.parquet"


def part_table_name(file: str) -> str | None:
    """The side table held by the part file ``file``, or None if it holds none."""
    if file.startswith(PART_TABLE_PREFIX) and file.endswith(".parquet"):
        return file[len(PART_TABLE_PREFIX):-len(".parquet")]
    return None


def claims_folder(scenario: str, replication: int) -> str:
    """The folder (relative path) of the kept claims of one replication of ``scenario``."""
    return f"{CLAIMS_DIR}/{scenario}/rep_{replication}"


def unfinished_note(workdir: Path, state: dict[str, Any]) -> str:
    """The text of ``UNFINISHED.txt`` in the working directory of a run."""
    target = state.get("target")
    where = ("here" if not target else f"to {target}")
    command = state.get("command") or "vbcsim run SCENARIO ..."
    return (
        f"This folder holds a vbcsim run that has not finished (started "
        f"{state.get('created_at') or 'at an unknown time'}); it holds no results yet.\n"
        f"Finished replications are kept in {PARTS}/. To complete the run, give the same "
        f"scenario file(s) and settings with --resume:\n\n"
        f"    {command} --resume {workdir}\n\n"
        f"(without its --out/--overwrite). The results are then written {where}.\n"
    )


def sibling(target: Path, tag: str, token: str) -> Path:
    """A hidden folder next to ``target``: ``.<name>.<tag>-<token>`` (tags: ``partial`` for a
    run's working directory, ``writing`` for a results directory being written, ``old`` for
    the directory it replaces)."""
    return target.parent / f".{target.name}.{tag}-{token}"


def lock_file(target: Path) -> Path:
    """The lock file of output folder ``target`` (next to it: ``.<name>.lock``)."""
    return target.parent / f".{target.name}.lock"


# --------------------------------------------------------------------------- reading


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_manifest_if_any(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``manifest.json`` of a results directory if vbcsim wrote it, else None."""
    data = _read_json(Path(path) / MANIFEST)
    return data if isinstance(data, dict) and "vbcsim_version" in data else None


def read_state(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``run.json`` of a run's working directory if vbcsim wrote it, else None."""
    data = _read_json(Path(path) / STATE)
    return data if isinstance(data, dict) and "vbcsim_version" in data else None


def results_file(path: str | os.PathLike[str]) -> Path | None:
    """The results table of a results directory: ``results.parquet``, else ``results.csv``,
    else None."""
    p = Path(path)
    return next((p / n for n in (RESULTS_PARQUET, RESULTS_CSV) if (p / n).is_file()), None)


def sensitivity_files(path: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """The sensitivity outputs (kind, file) in ``path`` and its ``sensitivity/`` folder."""
    p = Path(path)
    return [(kind, where / name) for where in (p, p / SENSITIVITY_DIR)
            for kind, name in SENSITIVITY_FILES if (where / name).is_file()]


# --------------------------------------------------------------------------- ownership


def owned_files(path: str | os.PathLike[str]) -> list[str] | None:
    """What vbcsim wrote in ``path`` by its own record: the files its ``manifest.json``
    lists (and the manifest), else those its ``run.json`` lists; None if neither was
    written by vbcsim. Entries are relative paths; one ending in ``/`` is a folder vbcsim
    owns with all its content."""
    p = Path(path)
    manifest = read_manifest_if_any(p)
    if manifest is not None:
        files = manifest.get("files")
        if isinstance(files, list) and all(isinstance(f, str) for f in files):
            return [MANIFEST, *files]
        return None
    state = read_state(p)
    if state is not None:
        files = state.get("files", list(WORKDIR_FILES))
        if isinstance(files, list) and all(isinstance(f, str) for f in files):
            return [STATE, *files]
    return None


def _entries(folder: Path) -> Iterable[Path]:
    """Every file, link and folder below ``folder`` (links are not followed)."""
    for root, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            yield Path(root) / name


def unexpected_files(path: str | os.PathLike[str], owned: Iterable[str]) -> list[str]:
    """The entries of ``path`` that are not in ``owned`` (see :func:`owned_files`), as
    relative paths: what vbcsim did not write and must not delete."""
    root = Path(path)
    files = {o for o in owned if not o.endswith("/")}
    folders = {o.rstrip("/") for o in owned if o.endswith("/")}
    parents = {p.as_posix() for f in files for p in Path(f).parents if str(p) != "."}
    out: list[str] = []
    for entry in _entries(root):
        rel = entry.relative_to(root).as_posix()
        if rel in files or rel in folders or _STATE_TMP.match(rel):
            continue
        if any(rel.startswith(f + "/") for f in folders):
            continue
        if rel in parents and entry.is_dir() and not entry.is_symlink():
            continue
        out.append(rel)
    return sorted(out)


def remove_owned(path: Path, owned: Iterable[str]) -> list[str]:
    """Delete from ``path`` only what ``owned`` lists (and the folders holding it, once
    empty, ``path`` too); return what is left (relative paths), which is never touched."""
    import shutil

    owned = list(owned)
    if path.is_dir() and not path.is_symlink():
        owned += [e.name for e in path.iterdir() if _STATE_TMP.match(e.name)]
    folders: set[Path] = set()
    for entry in owned:
        target = path / entry.rstrip("/")
        folders.update(p for p in target.parents if path in p.parents)
        if entry.endswith("/") and target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        elif target.is_symlink() or target.is_file():
            target.unlink(missing_ok=True)
    for folder in sorted(folders, key=lambda f: -len(f.parts)):
        try:
            folder.rmdir()
        except OSError:  # not empty: something not ours is in it
            pass
    if not path.is_dir() or path.is_symlink():
        return []
    left = sorted(e.relative_to(path).as_posix() for e in _entries(path))
    if not left:
        path.rmdir()
    return left


__all__ = [
    "CASH_FLOWS_PARQUET",
    "CHECKSUMS",
    "CLAIMS_DIR",
    "DRAWS_PARQUET",
    "MANIFEST",
    "NPV_CSV",
    "PARTS",
    "RESERVED_NAMES",
    "RESULTS_CSV",
    "ResultsDirError",
    "ResultsWarning",
    "RESULTS_PARQUET",
    "SCENARIOS_DIR",
    "SCENARIO_YAML",
    "SENSITIVITY_DIR",
    "SENSITIVITY_JSON",
    "SENSITIVITY_FILES",
    "SETTLEMENTS_PARQUET",
    "STATE",
    "SUMMARY_CSV",
    "TORNADO_FIGURE",
    "UNFINISHED_NOTE",
    "WORKDIR_FILES",
    "check_table_name",
    "claims_folder",
    "lock_file",
    "owned_files",
    "part_index",
    "part_name",
    "part_table_file",
    "part_table_name",
    "read_manifest_if_any",
    "read_state",
    "remove_owned",
    "report_file",
    "results_file",
    "scenario_file",
    "sensitivity_files",
    "sibling",
    "side_table_file",
    "unexpected_files",
    "unfinished_note",
]
