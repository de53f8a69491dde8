"""Load scenario files: YAML with line numbers, ``extends:`` merging, strict validation.

A file is read in three steps, and refused at the first step that fails:

1. **Parse** one YAML file into plain dicts and lists with the provenance (file, line) of
   every value, within bounded cost (:mod:`sim.scenario.reading`).
2. **Resolve** ``extends:``, deep-merging the file onto its base files, the provenance
   following the merge (:mod:`sim.scenario.extends`). ``name`` is never inherited: it
   defaults to the stem of the file being loaded.
3. **Validate**: the parameter distributions written in place of numbers are extracted
   (:mod:`sim.scenario.extraction`), then the pydantic schema validates in strict mode (no
   numeric strings, no booleans for numbers; whole numbers are accepted for real-valued
   fields) and *every* validation error becomes a :class:`~sim.scenario.errors.Problem`
   naming file, line, dotted field path and what was expected
   (:mod:`sim.scenario.messages`).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from sim._version import __version__
from sim.scenario.errors import ScenarioError
from sim.scenario.extends import apply_extends
from sim.scenario.extraction import extract_uncertainty
from sim.scenario.messages import describe, validation_problems
from sim.scenario.overrides import Override, apply_overrides, as_overrides
from sim.scenario.provenance import Provenance, mark, where
from sim.scenario.reading import file_problem, read_with_provenance
from sim.scenario.schema import Scenario
from sim.scenario.uncertain import (
    DrawError,
    apply_values,
    uncertainty_of,
    with_uncertainty,
)
from sim.scenario.uncertainty_block import place_uncertainty_block
from sim.uncertainty import GROUPS_KEY, draw_parameters, set_at

__all__ = [
    "load_scenario",
    "resolve_scenario_dict",
    "resolved_yaml",
    "scenario_from_dict",
]

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


#: Overrides as the loading functions accept them (see :mod:`sim.scenario.overrides`).
Overrides = Mapping[str, Any] | Iterable[str | Override] | None


def load_scenario(
    path: str | os.PathLike[str], *, allow_code: bool = False, overrides: Overrides = None
) -> Scenario:
    """Load, resolve (``extends:``) and validate a scenario YAML file (or a shipped scenario
    by name, ``load_scenario("ffs_baseline")``, found as ``vbcsim run NAME`` finds it:
    :func:`sim.scenario.library.find_scenario`).

    ``overrides`` (``{"population.size": 2000}``, or ``PATH=VALUE`` texts read as YAML) are
    applied after ``extends:`` and before validation, so they are checked as if written in
    the file, and errors name them (:mod:`sim.scenario.overrides`).

    A custom contract's ``kind: package.module:Class`` is imported only with
    ``allow_code=True`` (see :func:`sim.contracts.resolve.resolve_custom`); without it
    such a file is refused before anything is imported.

    Raises :class:`ScenarioError` naming the file, line, field path and what was expected.
    """
    data, prov, shown = _resolve_file(path)
    _override(data, prov, overrides, shown)
    return _check_code(_validate(data, prov, shown), prov, shown, allow_code)


def resolve_scenario_dict(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The merged mapping of a scenario file after ``extends:``, before validation."""
    return _resolve_file(path)[0]


def scenario_from_dict(
    data: Mapping[str, Any],
    source: str = "<dict>",
    base_dir: str | os.PathLike[str] | None = None,
    *,
    allow_code: bool = False,
    overrides: Overrides = None,
) -> Scenario:
    """Validate a mapping into a :class:`Scenario`, with the same rules as a file.

    ``source`` names the mapping in error messages. An ``extends:`` entry is resolved
    relative to ``base_dir`` (default: the working directory); as with files, ``name`` is
    not inherited from a base (the schema default applies). NumPy scalars are accepted as
    the Python numbers they hold. ``allow_code`` and ``overrides`` as for
    :func:`load_scenario`.
    """
    plain = _plain(data)
    if not isinstance(plain, dict):
        raise ScenarioError(source, "", f"expected a mapping of scenario fields, got "
                            f"{describe(plain)}")
    prov: Provenance = {}
    mark(plain, (), source, prov)
    folder = Path(base_dir) if base_dir is not None else Path()
    shown_dir = os.fspath(base_dir) if base_dir is not None else ""
    merged, mprov = apply_extends(plain, prov, source, shown_dir, folder, ())
    if "name" not in plain:
        merged.pop("name", None)
    _override(merged, mprov, overrides, source)
    return _check_code(_validate(merged, mprov, source), mprov, source, allow_code)


def resolved_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario (every default filled in) as YAML.

    Loading the text back (as a file or through :func:`scenario_from_dict`) gives a
    scenario equal to ``scenario``; ``vbcsim run`` writes it next to the results.
    """
    header = (f"# Resolved scenario '{scenario.name}' (vbcsim {__version__}): every field, "
              "defaults filled in.\n")
    data = scenario.model_dump(mode="json")
    uncertainty = uncertainty_of(scenario)
    for p in uncertainty.parameters:  # put the distributions back where they were written
        set_at(data, p.keys, p.dist.spec())
    if uncertainty.groups:
        data[GROUPS_KEY] = {g.name: g.spec() for g in uncertainty.groups}
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def _resolve_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], Provenance, str]:
    real = Path(path).expanduser()
    shown = os.fspath(path)
    problem = file_problem(real)
    if problem == "file not found" and isinstance(path, str):
        from sim.scenario import library  # a shipped scenario by name: load_scenario("ffs_baseline")

        if library.is_bare_name(path):
            found = library.find_scenario(path)
            if found.path is not None:
                return _resolve_file(str(found.path))
            problem = library.not_found_message(path, found).replace(
                f"no such file: {path!r}", "file not found", 1)
    if problem == "file not found":
        problem += f" (looked for {os.path.abspath(real)})"
    if problem:
        raise ScenarioError(shown, "", problem)
    raw, prov = read_with_provenance(real, shown)
    own_name = "name" in raw
    data, prov = apply_extends(raw, prov, shown, os.path.dirname(shown), real.parent,
                               ((real.resolve(), shown),))
    if not own_name:
        data["name"] = _NAME_CHARS.sub("_", real.stem).lstrip(".")[:100] or "scenario"
        prov[("name",)] = (shown, None)
    return data, prov, shown


def _override(data: dict[str, Any], prov: Provenance, overrides: Overrides,
              top: str = "<dict>") -> None:
    place_uncertainty_block(data, prov, top, Scenario)  # before --set, so an override wins
    given = as_overrides(overrides)
    if given:
        plain = [Override(o.path, copy.deepcopy(_plain(o.value)), o.shown) for o in given]
        apply_overrides(data, prov, plain, Scenario)


# --------------------------------------------------------------------------- custom code


def _check_code(scenario: Scenario, prov: Provenance, top: str, allow_code: bool) -> Scenario:
    """Refuse a custom contract naming Python code (``package.module:Class``) unless the user
    allowed code; with ``allow_code``, import it here, in this process, and check it is a
    settler class. Other kinds (registered, entry points) are resolved when the run starts.
    """
    from sim.contracts import resolve as registry

    for i, period in enumerate(scenario.plan):
        for j, contract in enumerate(period.contracts):
            if contract.type != "custom" or not registry.is_code_path(contract.kind):
                continue
            keys = ("plan", str(i), "contracts", str(j), "kind")
            file, line = where(prov, keys, top)
            if not allow_code:
                raise ScenarioError(file, ".".join(keys), "custom contract not allowed: "
                                    + registry.allow_code_hint(contract.kind), line)
            try:
                registry.resolve_custom(contract.kind, allow_code=True)
            except registry.CustomCodeError as exc:
                raise ScenarioError(file, ".".join(keys), str(exc), line) from None
    return scenario


# --------------------------------------------------------------------------- validation


def _validate(data: dict[str, Any], prov: Provenance, top: str) -> Scenario:
    data, uncertainty = extract_uncertainty(data, prov, top, Scenario)
    scenario = _validate_means(data, prov, top)
    if not uncertainty:
        return scenario
    try:  # one sample draw must give a valid scenario too (cross-field rules, e.g. sums)
        apply_values(scenario, draw_parameters(uncertainty, np.random.SeedSequence(0)))
    except DrawError as exc:
        raise ScenarioError(top, "", f"a sample draw of the uncertain parameters is "
                            f"refused: {exc}") from None
    return with_uncertainty(scenario, uncertainty)


def _validate_means(data: dict[str, Any], prov: Provenance, top: str) -> Scenario:
    try:
        return Scenario.model_validate(data, strict=True)
    except ValidationError as exc:
        raise ScenarioError.from_problems(
            validation_problems(exc, data, prov, top, Scenario, ("extends",))) from None


# --------------------------------------------------------------------------- dict input


def _plain(value: Any) -> Any:
    """Copy nested mappings/sequences into dicts/lists; NumPy scalars into Python numbers."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value
