"""Overrides: ``PATH=VALUE`` changes applied to a scenario's data before it is validated.

``vbcsim run ffs_baseline --set population.size=2000 --set behavior=fixed`` and
``sim.run(path, overrides={"population.size": 2000})`` change a scenario without editing its
file. An override is applied to the scenario's data after ``extends:`` is resolved and
before validation, so the value is checked exactly as if it had been written in the file;
an error names the override (``--set population.size=abc: population.size: expected a whole
number ...``). The resolved scenario written next to the results holds the overridden values
(re-running it reproduces the run) and the manifest lists the overrides.

* ``PATH`` is a dotted field path; list items are named by their ``name`` or their index
  (``providers.primary_care_group.behavior.pass_through``, ``plan.0.contracts.0.type``), as
  in sensitivity analyses. A field must exist in the schema (an unknown one is refused with
  the nearest valid names); a section not written in the file is created, a list not written
  in the file starts from its default.
* ``VALUE`` is read as YAML, on one line, with the loader's rules: a number (``2000``,
  ``1e4``), ``true``/``false``, text, ``null``, or a flow list or mapping (``[2, 3]``,
  ``{dist: normal, mean: 0.3, sd: 0.05}``).

:data:`QUICK` is the small size of ``--quick`` (a first look, never a result).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter

from sim.scenario.errors import ScenarioError
from sim.scenario.messages import describe, did_you_mean, is_model
from sim.scenario.provenance import FieldPath, Provenance, mark
from sim.scenario.reading import read_mapping
from sim.uncertainty import DIST_KEY

#: ``--quick``: a first look in seconds rather than minutes. 1,000 patients (a tenth of the
#: shipped scenarios' 10,000) and 2 replications; warm-up years are kept, because the first
#: two remove the start-up transient and the last three are the baseline history that
#: MSSP/REACH benchmarks and bundle target prices need. Results are marked as quick.
QUICK: dict[str, Any] = {"population.size": 1000, "replications": 2,
                         # 1,000 patients is below an ACO's 5,000-beneficiary floor: a
                         # quick look warns instead of refusing (sim.scenario.attribution)
                         "attribution.enforce_minimum": False}
#: Characters of one ``PATH=VALUE`` (a scenario value is short; a flow list of a plan fits).
MAX_OVERRIDE_CHARS = 10_000


@dataclass(frozen=True)
class Override:
    """One override: the dotted ``path``, the ``value`` and how it was written (``shown``,
    e.g. ``--set population.size=2000``), which names it in error messages."""

    path: str
    value: Any
    shown: str

    @property
    def text(self) -> str:
        """``PATH=VALUE`` as written (the value as YAML when it was given in Python)."""
        return self.shown.removeprefix("--set ")


def parse_override(text: str) -> Override:
    """``PATH=VALUE`` (as given to ``--set``) as an :class:`Override`; the value read as YAML.

    Raises :class:`ScenarioError` naming the override if it is malformed.
    """
    shown = f"--set {text}"
    if len(text) > MAX_OVERRIDE_CHARS:
        raise ScenarioError(shown[:60] + "...", "", f"longer than {MAX_OVERRIDE_CHARS:,} "
                            "characters")
    path, eq, raw = text.partition("=")
    path = path.strip()
    if not eq or not path:
        raise ScenarioError(shown, "", "expected PATH=VALUE, e.g. population.size=2000")
    _check_path(path, shown)
    if "\n" in raw or "\r" in raw:
        raise ScenarioError(shown, path, "expected a value on one line (a flow list [a, b] "
                            "or mapping {k: v} for several values)")
    try:
        value = read_mapping(shown, "value: " + raw)["value"] if raw.strip() else None
    except ScenarioError as exc:
        raise ScenarioError(shown, path, exc.expected.replace(" at line 1", "")) from None
    if not raw.strip():
        raise ScenarioError(shown, path, "expected a value after '=' (write null to unset)")
    return Override(path, value, shown)


def as_overrides(
    overrides: Mapping[str, Any] | Iterable[str | Override] | None,
) -> list[Override]:
    """Overrides given in any accepted form: a mapping ``{path: value}`` (the API: values are
    taken as given), ``PATH=VALUE`` texts (``--set``: values read as YAML) or
    :class:`Override` objects."""
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        out = []
        for path, value in overrides.items():
            if not isinstance(path, str):
                raise ScenarioError("overrides", "", f"expected text paths such as "
                                    f"'population.size', got {describe(path)}")
            _check_path(path, f"overrides[{path!r}]")
            out.append(Override(path, value, f"overrides[{path!r}]"))
        return out
    if isinstance(overrides, str):
        raise ScenarioError("overrides", "", "expected a mapping {path: value} or a list of "
                            "'PATH=VALUE' texts, got a single text")
    return [o if isinstance(o, Override) else parse_override(o) for o in overrides]


def override_texts(overrides: Sequence[Override]) -> list[str]:
    """How each override was written (``PATH=VALUE``), for the manifest."""
    return [o.text if o.shown.startswith("--set ") else f"{o.path}={o.value!r}"
            for o in overrides]


def _check_path(path: str, shown: str) -> None:
    parts = path.split(".")
    if any(not p for p in parts):
        raise ScenarioError(shown, path, "expected a dotted field path such as "
                            "population.size (no empty parts)")


def apply_overrides(
    data: dict[str, Any], prov: Provenance, overrides: Sequence[Override], root: type[BaseModel]
) -> None:
    """Put each override into ``data`` (in place, in order; a later one wins) and record in
    ``prov`` that its value came from the override, so validation errors name it.

    Raises :class:`ScenarioError` naming the override when its path is not a field of
    ``root`` (with the nearest valid names) or leads through a value.
    """
    for o in overrides:
        keys = _keys(data, o, root)
        parent = data
        for key in keys[:-1]:
            parent = parent[int(key)] if isinstance(parent, list) else parent[key]
        if isinstance(parent, list):
            parent[int(keys[-1])] = o.value
        else:
            parent[keys[-1]] = o.value
        for q in [q for q in prov if q[:len(keys)] == keys]:
            del prov[q]
        prov[keys] = (o.shown, None)
        mark(o.value, keys, o.shown, prov)


def _keys(data: dict[str, Any], o: Override, root: type[BaseModel]) -> FieldPath:
    """The data keys of ``o.path`` (list items by name or index), creating the sections on
    the way that the data does not hold yet."""
    parts = o.path.split(".")
    keys: list[str] = []
    cur: Any = data
    tp: Any = root
    i = 0
    while i < len(parts):
        last = i == len(parts) - 1
        here = ".".join(parts[:i]) or "the scenario"
        if isinstance(cur, dict) and DIST_KEY in cur:  # inside a distribution: any key
            tp = None
        tp = _concrete(tp, cur)
        if isinstance(cur, list):
            j, index = _item(cur, parts, i, o, here)
            keys.append(str(index))
            cur, tp, i = cur[index], _item_type(tp), j
            continue
        if not isinstance(cur, dict):
            raise ScenarioError(o.shown, o.path, f"{here} is a value ({describe(cur)}), not a "
                                "section")
        part = parts[i]
        if is_model(tp):
            fields = tp.model_fields
            if part not in fields:
                hint = did_you_mean(part, list(fields))
                raise ScenarioError(o.shown, o.path, f"unknown field '{part}' in {here}{hint}; "
                                    f"valid names here: {', '.join(fields)}")
            field = fields[part]
            child_tp = field.annotation
            if part not in cur and not last:
                cur[part] = _default(field) if _is_list(child_tp) else {}
        elif get_origin(tp) is dict or tp is None:
            child_tp = get_args(tp)[1] if get_origin(tp) is dict and get_args(tp) else None
            if part not in cur and not last:
                cur[part] = {}
        else:
            raise ScenarioError(o.shown, o.path, f"{here} is a value, not a section")
        keys.append(part)
        if not last:
            cur = cur[part]
        tp = child_tp
        i += 1
    return tuple(keys)


def _item(cur: list, parts: list[str], i: int, o: Override, here: str) -> tuple[int, int]:
    """The list item named (by ``name``, which may contain dots) or numbered at
    ``parts[i]``: (index of the next part, item index)."""
    for j in range(len(parts), i, -1):
        name = ".".join(parts[i:j])
        hits = [k for k, item in enumerate(cur) if isinstance(item, dict) and item.get("name") == name]
        if hits:
            return j, hits[0]
    part = parts[i]
    if part.isdigit() and int(part) < len(cur):
        return i + 1, int(part)
    names = [item["name"] for item in cur if isinstance(item, dict)
             and isinstance(item.get("name"), str)]
    hint = did_you_mean(part, names)
    if not cur:
        valid = "none (the list is empty)"
    else:
        valid = ", ".join([*names, f"an index 0 to {len(cur) - 1}"])
    raise ScenarioError(o.shown, o.path, f"no item named or numbered '{part}' in {here}"
                        f"{hint}; valid here: {valid}")


def _concrete(tp: Any, cur: Any) -> Any:
    """``tp`` without Annotated/Optional; of a union, the member model that ``cur`` is (by
    its literal tag such as ``type:``), else ``None`` (then any key is let through and
    validation decides)."""
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (typing.Union, types.UnionType):
        members = [m for m in get_args(tp) if m is not type(None)]
        if len(members) == 1:
            return _concrete(members[0], cur)
        models = [m for m in members if is_model(m)]
        for model in models:
            for name, field in model.model_fields.items():
                if get_origin(field.annotation) is typing.Literal and isinstance(cur, dict) \
                        and cur.get(name) in get_args(field.annotation):
                    return model
        return models[0] if len(models) == 1 else None
    return tp


def _is_list(tp: Any) -> bool:
    tp = _concrete(tp, None)
    return get_origin(tp) in (list, tuple)


def _item_type(tp: Any) -> Any:
    return get_args(tp)[0] if get_origin(tp) in (list, tuple) and get_args(tp) else None


def _default(field: Any) -> Any:
    """A list field's default as plain data (so an override can change one of its items)."""
    value = field.get_default(call_default_factory=True)
    return TypeAdapter(field.annotation).dump_python(value, mode="json")


__all__ = [
    "MAX_OVERRIDE_CHARS",
    "QUICK",
    "Override",
    "apply_overrides",
    "as_overrides",
    "override_texts",
    "parse_override",
]
