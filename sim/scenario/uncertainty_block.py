"""The ``uncertainty:`` block of a scenario file: distributions by parameter path.

A scenario may write a distribution in place of a number (``{dist: ...}``) or list them in a
top-level block, which keeps a file's point values readable and lets a base file declare
the uncertainty every scenario extending it inherits::

    uncertainty:
      providers.primary_care_group.behavior.pass_through: {dist: beta, mean: 0.55, sd: 0.1}
      lever_effects.transitional_readmission_rr: {dist: beta, mean: 0.7, sd: 0.07}

Each file's block is put in place at its own level of the ``extends:`` chain
(:func:`sim.scenario.extends.apply_extends`), as if its entries were written in place: a
value an extending file writes at the same path wins over a base's entry, a file's own
entry wins over the values of its bases and its own, and ``--set`` overrides win over all.
An entry set to ``null`` fixes an inherited uncertain parameter at its mean. Entries are
put at their paths as an override would (list items by name or index, sections created),
then read like any ``{dist: ...}`` (:mod:`sim.scenario.extraction`). Errors name the file,
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
        if spec is None:  # an inherited uncertain parameter, fixed at its mean
            _fix_at_mean(data, str(path))
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
    _in_schema_order(data, _reference(root))


def _reference(root: type[BaseModel]) -> dict[str, Any]:
    """A default instance of ``root`` as data: the schema's field order."""
    return root().model_dump()


def _in_schema_order(data: Any, ref: Any) -> None:
    """Reorder the keys of ``data``'s mappings (in place) as in ``ref``: the uncertain
    parameters are then found, and drawn, in the order a resolved scenario lists them, so a
    scenario keeps its parameter order through a round trip (:func:`resolved_yaml`)."""
    if isinstance(data, dict) and isinstance(ref, dict):
        order = [k for k in ref if k in data] + [k for k in data if k not in ref]
        items = [(k, data.pop(k)) for k in order]
        data.update(items)
        for k, v in data.items():
            _in_schema_order(v, ref.get(k))
    elif isinstance(data, list) and isinstance(ref, list) and ref:
        for item in data:
            _in_schema_order(item, ref[0])


def _fix_at_mean(data: dict[str, Any], path: str) -> None:
    """Replace the distribution at ``path`` (if there is one) by its mean."""
    from sim.uncertainty import get_at, locate, parse_distribution, set_at

    try:
        keys = locate(data, path)
    except KeyError:
        return
    spec = get_at(data, keys)
    if isinstance(spec, dict) and "dist" in spec:
        dist = parse_distribution(spec)
        mean = dist.mean_shares() if hasattr(dist, "mean_shares") else dist.mean()
        set_at(data, keys, mean)


__all__ = ["BLOCK_KEY", "place_uncertainty_block"]
