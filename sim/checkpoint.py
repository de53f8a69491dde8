"""Nothing lost: every finished unit of work is written at once, so a run can resume.

A run with a results directory keeps, while it runs, in its working directory:

* ``run.json`` — what is being run: vbcsim version, the name and SHA-256 of every resolved
  scenario (uncertain parameters included), seed, replications, common random numbers,
  number of units of work, the final results directory, and the files vbcsim owns there;
* ``UNFINISHED.txt`` — says, for people, that the run did not finish and how to resume it;
* ``parts/task-NNNNNN/`` — one directory per finished unit of work (one replication of one
  scenario): ``results.parquet``, ``draws.parquet`` and one ``table-<name>.parquet`` per
  side table. Each part is written under a temporary name and renamed into place with
  ``os.replace``, so a part either exists whole or not at all, whenever the run is killed.
  Its ``checksums.json`` (written inside the part before the rename) names the unit of work
  it holds and the SHA-256 of every file. Before a part is used (on resume and when the final
  files are assembled) it is checked: a part whose files do not match (a flipped bit, a
  truncated file), that holds another unit of work (a copied part) or that has no checksums
  is reported with a :class:`PartWarning` naming it, moved aside and run again; it is never
  used and never blocks a later resume.

``--resume DIR`` reopens the working directory, refuses it if it was made from other
scenarios, settings or another vbcsim version, runs only the missing parts and assembles the
final files from all parts (see :mod:`sim.runner`). The file names are those of
:mod:`sim.results.layout`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.results import layout
from sim.results.layout import ResultsWarning, read_state
from sim.results.table import PartOutput

STATE_FORMAT = 1


class ResumeError(ValueError):
    """A directory cannot be resumed (not a partial run, or made from something else)."""


class PartWarning(ResultsWarning):
    """A part failed its check (corrupt, truncated, copied or unchecked) and is run again."""


class CorruptPart(ValueError):
    """A part whose files do not match its checksums (the message says why)."""


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


class PartStore:
    """The parts of one run in its working directory."""

    def __init__(self, path: Path, state: dict[str, Any]) -> None:
        self.path = path
        self.state = state
        self.parts = path / layout.PARTS

    @classmethod
    def create(cls, path: str | os.PathLike[str], state: dict[str, Any]) -> PartStore:
        """Start a new working directory (created if needed; must hold no other run)."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        (p / layout.PARTS).mkdir(exist_ok=True)
        state = {"format": STATE_FORMAT, **state, "files": list(layout.WORKDIR_FILES)}
        (p / layout.UNFINISHED_NOTE).write_text(layout.unfinished_note(p.absolute(), state),
                                                encoding="utf-8")
        _write_json_atomic(p / layout.STATE, state)
        return cls(p, read_state(p) or state)

    @classmethod
    def resume(cls, path: str | os.PathLike[str], state: dict[str, Any]) -> PartStore:
        """Reopen the working directory of an interrupted run made from the same ``state``."""
        p = Path(path)
        if not p.is_dir():
            raise ResumeError(f"cannot resume {p}: no such directory")
        old = read_state(p)
        if old is None:
            if (p / layout.MANIFEST).is_file():
                raise ResumeError(f"cannot resume {p}: it holds a finished run (nothing to "
                                  "resume)")
            raise ResumeError(f"cannot resume {p}: not the directory of an interrupted vbcsim "
                              f"run (no {layout.STATE})")
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
            index = layout.part_index(entry.name)  # 'task-1' next to 'task-000001' is none
            if index is not None and entry.is_dir():
                out.add(index)
        return out

    def checked_done(self) -> set[int]:
        """Indices of the finished parts that pass their check; the others are reported
        (:class:`PartWarning`) and moved aside, so they are run again."""
        good = set()
        for index in sorted(self.done()):
            try:
                self._load(index, parse=False)
            except CorruptPart as exc:
                self.discard(index, str(exc))
                continue
            good.add(index)
        return good

    def discard(self, index: int, why: str) -> None:
        """Report part ``index`` and move it out of the way (kept as ``parts/.bad-...``)."""
        folder = self.parts / layout.part_name(index)
        warnings.warn(f"part {folder} is not used and will be run again: {why}",
                      PartWarning, stacklevel=3)
        with contextlib.suppress(OSError):
            os.replace(folder, self.parts / f".bad-{folder.name}-{secrets.token_hex(4)}")
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)

    def write(self, index: int, output: PartOutput) -> None:
        """Write part ``index`` atomically (temporary directory, then ``os.replace``), with
        the SHA-256 of each file in its ``checksums.json``."""
        final = self.parts / layout.part_name(index)
        tmp = self.parts / f".tmp-task-{index:06d}-{secrets.token_hex(4)}"
        tmp.mkdir()
        try:
            files = [(layout.PART_RESULTS, output.results)]
            if output.draws is not None and len(output.draws):
                files.append((layout.PART_DRAWS, output.draws))
            files += [(layout.part_table_file(name), t) for name, t in output.tables.items()]
            sums: dict[str, str] = {}
            for fname, frame in files:
                buf = io.BytesIO()
                frame.to_parquet(buf, index=False)
                data = buf.getvalue()
                sums[fname] = hashlib.sha256(data).hexdigest()
                with open(tmp / fname, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            _write_json_atomic(tmp / layout.CHECKSUMS, {"task": index, "files": sums})
            _fsync_dir(tmp)
            os.replace(tmp, final)
            _fsync_dir(self.parts)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def read(self, index: int) -> PartOutput:
        """Read part ``index``, checked against its checksums (:class:`CorruptPart` if it
        does not match)."""
        out = self._load(index, parse=True)
        assert out is not None
        return out

    def _load(self, index: int, *, parse: bool) -> PartOutput | None:
        """Check part ``index`` (and parse it if ``parse``): the bytes parsed are the bytes
        checked."""
        folder = self.parts / layout.part_name(index)
        try:
            sums = json.loads((folder / layout.CHECKSUMS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise CorruptPart(f"no readable {layout.CHECKSUMS}") from None
        files = sums.get("files") if isinstance(sums, dict) else None
        if not isinstance(files, dict) or layout.PART_RESULTS not in files:
            raise CorruptPart(f"{layout.CHECKSUMS} lists no {layout.PART_RESULTS}")
        if sums.get("task") != index:
            raise CorruptPart(f"it holds unit of work {sums.get('task')!r}, not {index} "
                              "(a copied part)")
        present = {f.name for f in folder.iterdir() if f.suffix == ".parquet"}
        if present != set(files):
            raise CorruptPart(f"its files {sorted(present)} are not those listed in "
                              f"{layout.CHECKSUMS} {sorted(files)}")
        frames: dict[str, pd.DataFrame] = {}
        for fname, digest in sorted(files.items()):
            try:
                data = (folder / fname).read_bytes()
            except OSError as exc:
                raise CorruptPart(f"{fname} cannot be read ({exc})") from None
            if hashlib.sha256(data).hexdigest() != digest:
                raise CorruptPart(f"{fname} does not match its SHA-256 (corrupt or truncated)")
            if parse:
                frames[fname] = pd.read_parquet(io.BytesIO(data))
        if not parse:
            return None
        tables = {name: frames[f] for f in sorted(frames)
                  if (name := layout.part_table_name(f)) is not None}
        return PartOutput(results=frames[layout.PART_RESULTS], tables=tables,
                          draws=frames.get(layout.PART_DRAWS))

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
    "CorruptPart",
    "PartWarning",
    "PartStore",
    "PartialRun",
    "ResumeError",
]
