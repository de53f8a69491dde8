"""Provenance: where each value of scenario (or experiment) data was written.

A provenance map goes from a field path (a tuple of ``str``, list indices included) to
``(file as shown to the user, 1-based line or None)``. The YAML reader fills it
(:mod:`sim.scenario.reading`), ``extends:`` merging carries it along
(:mod:`sim.scenario.extends`) and every error message reads it.
"""

from __future__ import annotations

from typing import Any

FieldPath = tuple[str, ...]
Origin = tuple[str, int | None]  # (file as shown to the user, 1-based line or None)
Provenance = dict[FieldPath, Origin]


def where(prov: Provenance, keys: FieldPath, top: str) -> Origin:
    """Where the value at ``keys`` (or its nearest written parent) came from; ``(top, None)``
    when nothing on its path was written in a file."""
    for n in range(len(keys), 0, -1):
        if keys[:n] in prov:
            return prov[keys[:n]]
    return top, None


def mark(value: Any, path: FieldPath, source: str, prov: Provenance) -> None:
    """Provenance for data given in Python: every path comes from ``source``, no line."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        prov[(*path, str(key))] = (source, None)
        mark(item, (*path, str(key)), source, prov)


__all__ = ["FieldPath", "Origin", "Provenance", "mark", "where"]
