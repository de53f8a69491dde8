"""Nothing lost: every finished unit of work is written at once, so a run can resume.

A run with a results directory keeps, while it runs, in its working directory:

* ``run.json`` — what is being run: vbcsim version, the name and SHA-256 of every resolved
  scenario (uncertain parameters included), seed, replications, common random numbers,
  number of units of work, and the final results directory;
* ``parts/task-NNNNNN/`` — one directory per finished unit of work (one replication of one
  scenario): ``results.parquet``, ``draws.parquet`` and one ``table-<name>.parquet`` per
  side table. Each part is written under a temporary name and renamed into place with
  ``os.replace``, so a part either exists whole or not at all, whenever the run is killed.

``--resume DIR`` reopens the working directory, refuses it if it was made from other
scenarios, settings or another vbcsim version, runs only the missing parts and assembles the
final files from all parts (see :mod:`sim.runner`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

STATE_FILE = "run.json"
PARTS_DIR = "parts"
STATE_FORMAT = 1


class ResumeError(ValueError):
    """A directory cannot be resumed (not a partial run, or made from something else)."""


@dataclass
class PartOutput:
    """What one unit of work produced."""

    results: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    draws: pd.DataFrame | None = None


@dataclass(frozen=True)
class PartialRun:
    """Where an unfinished run keeps its parts, and how far it got."""

    path: Path
    done: int
    total: int


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(data, indent=2) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_state(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``run.json`` of a working directory, or None."""
    try:
        data = json.loads((Path(path) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "vbcsim_version" in data else None


class PartStore:
    """The parts of one run in its working directory."""

    def __init__(self, path: Path, state: dict[str, Any]) -> None:
        self.path = path
        self.state = state
        self.parts = path / PARTS_DIR

    @classmethod
    def create(cls, path: str | os.PathLike[str], state: dict[str, Any]) -> PartStore:
        """Start a new working directory (created if needed; must hold no other run)."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        (p / PARTS_DIR).mkdir(exist_ok=True)
        _write_json_atomic(p / STATE_FILE, {"format": STATE_FORMAT, **state})
        return cls(p, read_state(p) or state)

    @classmethod
    def resume(cls, path: str | os.PathLike[str], state: dict[str, Any]) -> PartStore:
        """Reopen the working directory of an interrupted run made from the same ``state``."""
        p = Path(path)
        if not p.is_dir():
            raise ResumeError(f"cannot resume {p}: no such directory")
        old = read_state(p)
        if old is None:
            if (p / "manifest.json").is_file():
                raise ResumeError(f"cannot resume {p}: it holds a finished run (nothing to "
                                  "resume)")
            raise ResumeError(f"cannot resume {p}: not the directory of an interrupted vbcsim "
                              f"run (no {STATE_FILE})")
        problem = _difference(old, state)
        if problem:
            raise ResumeError(f"cannot resume {p}: {problem}")
        return cls(p, old)

    @property
    def total(self) -> int:
        return int(self.state["tasks"])

    def done(self) -> set[int]:
        """Indices of the finished parts."""
        out = set()
        if not self.parts.is_dir():
            return out
        for entry in self.parts.iterdir():
            name = entry.name
            if name.startswith("task-") and entry.is_dir():
                try:
                    out.add(int(name[5:]))
                except ValueError:
                    continue
        return out

    def write(self, index: int, output: PartOutput) -> None:
        """Write part ``index`` atomically (temporary directory, then ``os.replace``)."""
        final = self.parts / f"task-{index:06d}"
        tmp = self.parts / f".tmp-task-{index:06d}-{secrets.token_hex(4)}"
        tmp.mkdir()
        try:
            files = [("results.parquet", output.results)]
            if output.draws is not None and len(output.draws):
                files.append(("draws.parquet", output.draws))
            files += [(f"table-{name}.parquet", t) for name, t in output.tables.items()]
            for fname, frame in files:
                with open(tmp / fname, "wb") as fh:
                    frame.to_parquet(fh, index=False)
                    fh.flush()
                    os.fsync(fh.fileno())
            _fsync_dir(tmp)
            os.replace(tmp, final)
            _fsync_dir(self.parts)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def read(self, index: int) -> PartOutput:
        """Read part ``index``."""
        folder = self.parts / f"task-{index:06d}"
        results = pd.read_parquet(folder / "results.parquet")
        draws_file = folder / "draws.parquet"
        draws = pd.read_parquet(draws_file) if draws_file.exists() else None
        tables = {
            f.name[len("table-"):-len(".parquet")]: pd.read_parquet(f)
            for f in sorted(folder.glob("table-*.parquet"))
        }
        return PartOutput(results=results, tables=tables, draws=draws)

    def partial(self) -> PartialRun:
        return PartialRun(self.path, len(self.done()), self.total)


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Why a run described by ``new`` may not resume one described by ``old``."""
    if old.get("vbcsim_version") != new.get("vbcsim_version"):
        return (f"it was made by vbcsim {old.get('vbcsim_version')}, this is vbcsim "
                f"{new.get('vbcsim_version')}; results of different versions are not mixed "
                "(start a new run)")
    old_sc = [(s.get("name"), s.get("sha256")) for s in old.get("scenarios", [])]
    new_sc = [(s.get("name"), s.get("sha256")) for s in new.get("scenarios", [])]
    if [n for n, _ in old_sc] != [n for n, _ in new_sc]:
        return (f"it was made from scenario(s) {', '.join(str(n) for n, _ in old_sc)}, not "
                f"{', '.join(str(n) for n, _ in new_sc)}")
    for key, what in (("seed", "seed"), ("replications", "replications"),
                      ("common_random_numbers", "common random numbers"), ("tasks", "tasks")):
        if old.get(key) != new.get(key):
            return f"it was made with {what} {old.get(key)!r}, not {new.get(key)!r}"
    for (name, a), (_, b) in zip(old_sc, new_sc, strict=True):
        if a != b:
            return (f"it was made from a different scenario '{name}' (resolved scenario "
                    f"SHA-256 {str(a)[:12]}..., now {str(b)[:12]}...); resume with the same "
                    "scenario file(s) and settings")
    return None


__all__ = [
    "PARTS_DIR",
    "STATE_FILE",
    "PartOutput",
    "PartStore",
    "PartialRun",
    "ResumeError",
    "read_state",
]
