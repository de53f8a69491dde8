"""The scenario library: where the shipped scenario files are and what each one is for.

``vbcsim scenarios`` lists a folder of scenario files with the one-line purpose each file
states in its header line (``# name — purpose``); without ``--dir`` it takes the first
folder of :func:`scenario_dirs` that holds scenario files.
"""

from __future__ import annotations

import re
import site
import sys
from pathlib import Path

from sim.scenario.errors import ScenarioError
from sim.scenario.reading import read_mapping, read_text

#: ``# name — purpose`` (an en dash or a hyphen is accepted too)
HEADER = re.compile(r"^#\s*(?P<name>[A-Za-z0-9_.\-]+)\s+(?:—|–|--?)\s+(?P<purpose>\S.*?)\s*$")


def scenario_dirs() -> list[Path]:
    """Where ``vbcsim scenarios`` looks, in order: ./scenarios, the source checkout's
    scenarios/ folder, the installed copy (``<prefix>/share/vbcsim/scenarios``)."""
    found = [Path("scenarios"), Path(__file__).resolve().parents[2] / "scenarios"]
    for prefix in (sys.prefix, site.getuserbase()):
        found.append(Path(prefix) / "share" / "vbcsim" / "scenarios")
    unique: dict[Path, Path] = {}
    for d in found:
        unique.setdefault(_resolved(d), d)
    return list(unique.values())


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def scenario_files(folder: Path) -> list[Path]:
    """The scenario files (``*.yaml``) of ``folder``, sorted: regular files only (reading a
    FIFO would block)."""
    return sorted(f for f in folder.glob("*.yaml") if f.is_file())


def library_dir(looked: list[Path] | None = None) -> Path | None:
    """The first folder of ``looked`` (default: :func:`scenario_dirs`) holding scenario
    files, or ``None``."""
    folders = scenario_dirs() if looked is None else looked
    return next((d for d in folders if d.is_dir() and scenario_files(d)), None)


def scenario_purpose(path: Path) -> str:
    """The one-line purpose of a scenario file: its header line ``# name — purpose``,
    else the first sentence of its ``description:``, else ``""``. Read with the scenario
    loader's bounds (size, NUL bytes, aliases, nesting)."""
    try:
        text = read_text(path)
    except ScenarioError:
        return ""
    first = text.splitlines()[0] if text else ""
    match = HEADER.match(first)
    if match:
        return match["purpose"]
    try:
        data = read_mapping(path, text)
    except ScenarioError:
        return ""
    description = data.get("description")
    if not isinstance(description, str):
        return ""
    return " ".join(description.split()).split(". ")[0].rstrip(".") + "."


__all__ = ["HEADER", "library_dir", "scenario_dirs", "scenario_files", "scenario_purpose"]
