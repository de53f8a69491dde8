"""Resolve ``extends:`` and deep-merge a scenario onto its base files.

``extends:`` is a path relative to the extending file, or a list of them applied in order.
Each base is resolved recursively and deep-merged: mappings merge key by key, lists and
scalars (and a distribution written over a number) replace wholesale; the provenance
follows the merge, so a value taken from a base file is reported with the base file's name
and line. Each base file is read and resolved once per load (reused as a deep copy), at
most :data:`MAX_BASES` bases in all and :data:`MAX_EXTENDS_DEPTH` files in a chain.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from sim.scenario.errors import ScenarioError
from sim.scenario.messages import describe
from sim.scenario.provenance import FieldPath, Provenance
from sim.scenario.reading import file_problem, read_with_provenance
from sim.uncertainty import DIST_KEY

#: ``extends:`` bases one scenario may name in all (every file's list counted, a base named
#: twice counted twice): the shipped scenarios use a few; this stops doubling diamonds.
MAX_BASES = 256
#: Files in one ``extends:`` chain (a file, its base, the base's base, ...).
MAX_EXTENDS_DEPTH = 32


class _Bases:
    """What one load has resolved: each base file once (reused as a deep copy), and a count
    of the bases named so far, so diamonds and long chains of ``extends:`` stay bounded."""

    def __init__(self) -> None:
        self.named = 0
        self.resolved: dict[tuple[Path, str], tuple[dict[str, Any], Provenance]] = {}


def apply_extends(
    data: dict[str, Any],
    prov: Provenance,
    shown: str,
    shown_dir: str,
    folder: Path,
    chain: tuple[tuple[Path, str], ...],
    bases_seen: _Bases | None = None,
) -> tuple[dict[str, Any], Provenance]:
    """Resolve the ``extends:`` of ``data`` (written in ``shown``) and merge ``data`` on top.

    Base paths are relative to ``folder`` (``shown_dir`` as shown to the user); ``chain``
    holds the (resolved path, shown name) of the files being resolved, to refuse cycles.
    """
    if "extends" not in data:
        return _placed(data, prov, shown), prov
    seen = bases_seen if bases_seen is not None else _Bases()
    ext = data.pop("extends")
    bases = _extends_paths(ext, shown, prov)
    merged: dict[str, Any] = {}
    mprov: Provenance = {}
    for i, base in enumerate(bases):
        origin = prov.get(("extends", str(i)) if isinstance(ext, list) else ("extends",))
        line = origin[1] if origin else None
        seen.named += 1
        if seen.named > MAX_BASES:
            raise ScenarioError(shown, "extends", f"more than {MAX_BASES} base files in all "
                                "(counting every extends: entry of every base)", line)
        if len(chain) >= MAX_EXTENDS_DEPTH:
            raise ScenarioError(shown, "extends", f"extends chain longer than "
                                f"{MAX_EXTENDS_DEPTH} files (from {chain[0][1]})", line)
        base_real = folder / Path(base).expanduser()
        base_shown = os.path.normpath(os.path.join(shown_dir, base))
        problem = file_problem(base_real)
        if problem:
            raise ScenarioError(shown, "extends", f"base file '{base}': {problem}"
                                f"{_looked(base, base_real, problem)}", line)
        key = base_real.resolve()
        resolved = [k for k, _ in chain]
        if key in resolved:
            names = [name for _, name in chain[resolved.index(key):]] + [base_shown]
            raise ScenarioError(shown, "extends", "extends cycle: " + " -> ".join(names), line)
        if (key, base_shown) not in seen.resolved:
            raw, bprov = read_with_provenance(base_real, base_shown)
            seen.resolved[key, base_shown] = apply_extends(
                raw, bprov, base_shown, os.path.dirname(base_shown), base_real.parent,
                (*chain, (key, base_shown)), seen)
        raw, bprov = seen.resolved[key, base_shown]
        _merge_into(merged, mprov, copy.deepcopy(raw), bprov, ())
    own_prov = {p: o for p, o in prov.items() if p[:1] != ("extends",)}
    _merge_into(merged, mprov, data, own_prov, ())
    return _placed(merged, mprov, shown), mprov


def _placed(data: dict[str, Any], prov: Provenance, shown: str) -> dict[str, Any]:
    """``data`` with its file's ``uncertainty:`` block put at the block's paths, at this
    level of the extends chain: a base's block under the values its extending files write,
    a file's own block over them (:mod:`sim.scenario.uncertainty_block`)."""
    from sim.scenario.schema import Scenario
    from sim.scenario.uncertainty_block import place_uncertainty_block

    place_uncertainty_block(data, prov, shown, Scenario)
    return data


def _looked(base: str, real: Path, problem: str) -> str:
    """Where a missing base was looked for (an absolute path: bases are relative to the
    extending file, not to the working directory) and, when it is a shipped scenario, how
    to copy it."""
    if problem != "file not found":
        return ""
    from sim.scenario.library import is_bare_name, library_dir

    text = f" (looked for {os.path.abspath(real)}: bases are relative to the extending file)"
    folder = library_dir()
    if is_bare_name(base) and folder is not None and (folder / base).is_file():
        text += (f"; '{base}' is a shipped scenario: `vbcsim scenarios --copy NAME DIR` copies "
                 "a scenario with the bases it extends")
    return text


def _extends_paths(ext: Any, shown: str, prov: Provenance) -> list[str]:
    origin = prov.get(("extends",))
    line = origin[1] if origin else None
    items = ext if isinstance(ext, list) else [ext]
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ScenarioError(shown, "extends", "expected a file path or a list of file "
                                f"paths, got {describe(ext)}", line)
    return items


def _merge_into(
    target: dict[Any, Any], tprov: Provenance, over: dict[Any, Any], oprov: Provenance,
    path: FieldPath,
) -> None:
    """Deep-merge ``over`` into ``target``: mappings key by key, anything else replaced.

    The provenance follows: under a replaced value it comes from ``oprov`` only. Linear in
    the sizes of both provenance maps (each is scanned once, not once per replaced key).
    """
    replaced: set[FieldPath] = set()
    kept: list[FieldPath] = []  # merged mappings: their own line comes from ``over``
    _merge_values(target, over, path, replaced, kept)
    if replaced:
        def under(q: FieldPath) -> bool:
            return any(q[:n] in replaced for n in range(len(path) + 1, len(q) + 1))

        for q in [q for q in tprov if under(q)]:
            del tprov[q]
        tprov.update({q: o for q, o in oprov.items() if under(q)})
    for p in kept:
        if p in oprov:
            tprov[p] = oprov[p]


def _merge_values(
    target: dict[Any, Any], over: dict[Any, Any], path: FieldPath, replaced: set[FieldPath],
    kept: list[FieldPath],
) -> None:
    for key, value in over.items():
        p = (*path, str(key))
        old = target.get(key)
        # a distribution written over a base value (or another distribution) replaces it
        if isinstance(value, dict) and isinstance(old, dict) and DIST_KEY not in value:
            _merge_values(old, value, p, replaced, kept)
            kept.append(p)
        else:
            replaced.add(p)
            target[key] = value


__all__ = ["MAX_BASES", "MAX_EXTENDS_DEPTH", "apply_extends"]
