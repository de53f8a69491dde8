"""The ``uncertainty:`` block of a scenario file: distributions by parameter path.

A scenario may write a distribution in place of a number (``{dist: ...}``) or list them in a
top-level block, which keeps a file's point values readable and lets a base file declare
the uncertainty every scenario extending it inherits (``extends:`` merges the block by
path)::

    uncertainty:
      providers.primary_care_group.behavior.pass_through: {dist: beta, mean: 0.55, sd: 0.1}
      lever_effects.transitional_readmission_rr: {dist: beta, mean: 0.7, sd: 0.07}

An entry set to ``null`` withdraws one inherited from the base file. Each entry is put at
its path (list items by name or index, sections created as an
override would) before ``--set`` overrides, so an override still wins; then the entries
are read like any ``{dist: ...}`` (:mod:`sim.scenario.extraction`). Errors name the file,
the line and ``uncertainty.<path>``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from sim.scenario.errors import ScenarioError
from sim.scenario.overrides import Override, apply_overrides
from sim.scenario.provenance import Provenance, where

BLOCK_KEY = "uncertainty"


def place_uncertainty_block(data: dict[str, Any], prov: Provenance, top: str,
                            root: type[BaseModel]) -> None:
    """Move the entries of ``data['uncertainty']`` (if any) to their paths, in place."""
    if BLOCK_KEY not in data:
        return
    block = data.pop(BLOCK_KEY)
    file, line = where(prov, (BLOCK_KEY,), top)
    if block is None:
        return
    if not isinstance(block, dict):
        raise ScenarioError(file, BLOCK_KEY, "expected a mapping of parameter path to "
                            "distribution, e.g. {providers.primary_care_group.behavior."
                            "pass_through: {dist: beta, mean: 0.55, sd: 0.1}}", line)
    for path, spec in block.items():
        origin = where(prov, (BLOCK_KEY, str(path)), top)
        field = f"{BLOCK_KEY}.{path}"
        if spec is None:  # an entry inherited through extends:, withdrawn
            continue
        if not isinstance(spec, dict) or "dist" not in spec:
            raise ScenarioError(origin[0], field, "expected a distribution, e.g. {dist: "
                                "beta, mean: 0.5, sd: 0.1}", origin[1])
        shown = f"{origin[0]}: {field}"
        try:
            apply_overrides(data, prov, [Override(str(path), spec, shown)], root)
        except ScenarioError as exc:
            raise ScenarioError(origin[0], field, exc.expected, origin[1]) from None
        for keys, value in list(prov.items()):  # errors point at the block's line
            if value == (shown, None):
                prov[keys] = origin


__all__ = ["BLOCK_KEY", "place_uncertainty_block"]
