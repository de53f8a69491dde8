"""The scenario library: where the shipped scenario files are and what each one is for.

``vbcsim scenarios`` lists a folder of scenario files with the one-line purpose each file
states in its header line (``# name — purpose``); without ``--dir`` it takes the first
folder of :func:`scenario_dirs` that holds scenario files. :func:`find_scenario` finds a
scenario given by name (``vbcsim run ffs_baseline``) from any working directory, and
:func:`copy_scenario` copies a shipped scenario with the bases it ``extends:`` into a folder
(``vbcsim scenarios --copy NAME DIR``).

The library ships with the package: a wheel installs ``scenarios/*.yaml`` as data files to
``<prefix>/share/vbcsim/scenarios`` (``pyproject.toml``), a source checkout (or an editable
install) reads the checkout's ``scenarios/``.
"""

from __future__ import annotations

import os
import re
import shutil
import site
import sys
from dataclasses import dataclass
from pathlib import Path

from sim.scenario.errors import ScenarioError
from sim.scenario.messages import did_you_mean
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


# --------------------------------------------------------------------------- by name


@dataclass(frozen=True)
class Found:
    """Where a scenario given on the command line is: ``path`` (``None``: nowhere),
    ``looked`` (every place tried, in order) and ``note`` (a file in the working directory
    hides a shipped scenario of the same name: say so)."""

    path: Path | None
    looked: tuple[Path, ...]
    note: str | None = None


def is_bare_name(text: str) -> bool:
    """Whether ``text`` names a scenario rather than a path: no folder part, and no suffix
    or a YAML one (``ffs_baseline``, ``ffs_baseline.yaml``)."""
    if not text or "/" in text or os.sep in text or (os.altsep and os.altsep in text):
        return False
    if text.startswith((".", "~")):
        return False
    return Path(text).suffix.lower() in ("", ".yaml", ".yml")


def _file_name(name: str) -> str:
    return name if Path(name).suffix.lower() in (".yaml", ".yml") else f"{name}.yaml"


def find_scenario(text: str, looked_dirs: list[Path] | None = None) -> Found:
    """The scenario file ``text`` names: the file itself if it exists; else, for a bare name
    (:func:`is_bare_name`), ``NAME.yaml`` in the working directory, then in the scenario
    library folders (``looked_dirs``, default :func:`scenario_dirs`), first found wins. A
    file in the working directory wins over a shipped scenario of that name, with a note."""
    path = Path(text).expanduser()
    if path.exists() or not is_bare_name(text):  # a folder of that name: "not a file"
        return Found(path if path.exists() else None, (path.absolute(),))
    file = _file_name(text)
    local = list(dict.fromkeys([Path(text), Path(file)]))
    folders = scenario_dirs() if looked_dirs is None else looked_dirs
    shipped = [d / file for d in folders]
    looked = tuple(p.absolute() for p in [*local, *shipped])
    hit = next((p for p in [*local, *shipped] if p.is_file()), None)
    note = None
    if hit is not None and hit in local:
        other = next((p for p in shipped if p.is_file() and not same_file(p, hit)), None)
        if other is not None:
            note = (f"using {hit} from the working directory, not the shipped scenario "
                    f"{other} (a file of that name in the working directory wins)")
    return Found(hit, looked, note)


def not_found_message(text: str, found: Found) -> str:
    """"no such file" with where it looked and, for a bare name, the nearest shipped names."""
    places = ", ".join(str(p) for p in found.looked)
    message = f"no such file: {text!r} (looked for {places})"
    if is_bare_name(text):
        folder = library_dir()
        names = [f.stem for f in scenario_files(folder)] if folder else []
        message += did_you_mean(Path(text).stem, names)
        message += "; `vbcsim scenarios` lists the shipped scenarios"
    return message


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are the same file (``False`` if either cannot be resolved)."""
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


# --------------------------------------------------------------------------- copy


class CopyError(ValueError):
    """A scenario could not be copied (not found, a base outside its folder, a file that
    would be overwritten)."""


def copy_scenario(name: str, folder: Path, source_dir: Path | None = None) -> list[Path]:
    """Copy the shipped scenario ``name`` (from ``source_dir``, default the library: the
    first of :func:`scenario_dirs` holding it) and every base it ``extends:`` (recursively)
    into ``folder``, keeping their relative places so ``extends:`` resolves there. Returns
    the files written, the scenario first. Nothing is written if any target exists."""
    file = _file_name(name)
    dirs = [source_dir] if source_dir is not None else scenario_dirs()
    source = next((d / file for d in dirs if (d / file).is_file()), None)
    if source is None or not is_bare_name(name):
        folder_ = library_dir(dirs)
        names = [f.stem for f in scenario_files(folder_)] if folder_ else []
        raise CopyError(f"no shipped scenario {name!r}{did_you_mean(Path(name).stem, names)}; "
                        f"looked for {', '.join(str((d / file).absolute()) for d in dirs)}")
    root = source.parent.resolve()
    pending, files = [source.resolve()], []
    while pending:
        current = pending.pop(0)
        if current in files:
            continue
        files.append(current)
        ext = read_mapping(current).get("extends")
        for base in ext if isinstance(ext, list) else [ext] if ext else []:
            if not isinstance(base, str):
                continue
            target = (current.parent / Path(base).expanduser()).resolve()
            if not target.is_relative_to(root):
                raise CopyError(f"{current.name} extends {base!r}, outside {root}: copy it "
                                "by hand")
            if not target.is_file():
                raise CopyError(f"{current.name} extends {base!r}: file not found (looked "
                                f"for {target})")
            pending.append(target)
    targets = [folder / f.relative_to(root) for f in files]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        raise CopyError(f"{', '.join(existing)} already exist(s); nothing was copied "
                        "(choose another folder or move them)")
    for f, t in zip(files, targets, strict=True):
        t.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, t)
    return targets


__all__ = [
    "HEADER",
    "CopyError",
    "Found",
    "copy_scenario",
    "find_scenario",
    "is_bare_name",
    "library_dir",
    "not_found_message",
    "same_file",
    "scenario_dirs",
    "scenario_files",
    "scenario_purpose",
]
