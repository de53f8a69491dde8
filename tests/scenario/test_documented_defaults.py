"""Fields a scenario leaves out take the default ``docs/scenario-reference.md`` documents.

A section given in part (``diabetes: {prevalence: 0.27}``) is completed from that section's
own documented default, not from the class defaults of its type; every shipped scenario
is resolved and each field that neither the file nor its ``extends:`` chain sets is
compared with the reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from sim.scenario import load_scenario, scenario_from_dict
from sim.scenario import reference as ref
from sim.scenario.loader import resolve_scenario_dict

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "scenarios").glob("*.yaml"))
DOCUMENTED = {e.path: e.default for e in ref.entries()}


def _item_path(path: str, item: BaseModel) -> str:
    """``plan[].contracts[type=mssp]`` for an item of a union, ``providers[]`` otherwise."""
    typed = f"{path}[type={getattr(item, 'type', None)}]"
    return typed if f"{typed}.type" in DOCUMENTED else f"{path}[]"


def unset_fields(value: BaseModel, given: Any, path: str = "") -> list[tuple[str, str, str]]:
    """(path, resolved value as documented text, documented default) for every field of
    ``value`` that ``given`` (the raw merged mapping) does not set, at every depth."""
    out: list[tuple[str, str, str]] = []
    given = given if isinstance(given, dict) else {}
    for name in type(value).model_fields:
        fpath = f"{path}.{name}" if path else name
        v = getattr(value, name)
        if name not in given:
            if isinstance(v, BaseModel):
                out += unset_fields(v, {}, fpath)
            else:
                out.append((fpath, ref._default(v), DOCUMENTED[fpath]))
            continue
        if isinstance(v, BaseModel):
            out += unset_fields(v, given[name], fpath)
        elif isinstance(v, list) and v and isinstance(v[0], BaseModel):
            raw = given[name] if isinstance(given[name], list) else []
            for item, item_raw in zip(v, raw, strict=False):
                out += unset_fields(item, item_raw, _item_path(fpath, item))
    return out


def test_walk_finds_nested_and_list_fields():
    s = scenario_from_dict({"population": {"conditions": {"diabetes": {"prevalence": 0.3}}}})
    found = {p: (got, want) for p, got, want in unset_fields(
        s, {"population": {"conditions": {"diabetes": {"prevalence": 0.3}}}})}
    assert "population.conditions.diabetes.prevalence" not in found
    assert found["population.conditions.diabetes.morbidity_loading"] == ("0.45", "0.45")
    assert found["plan"] == ("`[{contracts: [{type: ffs}]}]`",) * 2


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_unset_fields_equal_the_reference(path):
    scenario = load_scenario(path)
    raw = resolve_scenario_dict(path)
    checked = unset_fields(scenario, raw)
    assert len(checked) > 100  # most fields are left to their defaults
    wrong = [f"{p}: resolved {got}, documented {want}" for p, got, want in checked if got != want]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("given", "field", "expected"), [
    # the cases of issue 18: a partial block used to fall back to the class defaults
    ({"population": {"conditions": {"diabetes": {"prevalence": 0.27}}}},
     ("population", "conditions", "diabetes"), (0.27, 0.45, 0.0)),
    ({"population": {"conditions": {"hypertension": {}}}},
     ("population", "conditions", "hypertension"), (0.58, 0.4, 0.25)),
    ({"quality": {"ed_visits_per_1000": {"weight": 0.5}}},
     ("quality", "ed_visits_per_1000"), (800.0, 450.0, 0.5, None, False)),
    ({"quality": {"acsc_admissions_per_1000": {"weight": 2}}},
     ("quality", "acsc_admissions_per_1000"),
     (45.0, 15.0, 2.0, [104.6, 86.82, 72.04, 59.77, 49.6, 41.15, 34.15, 28.33, 23.51], True)),
])
def test_partial_block_keeps_the_documented_rest(given, field, expected):
    value: Any = scenario_from_dict(given)
    for part in field:
        value = getattr(value, part)
    assert tuple(value.model_dump().values()) == expected


def test_every_section_default_is_documented_and_used():
    # Every field whose default is a section differing from its type's own defaults:
    # leaving out all of it or giving an empty mapping gives the same (documented) values.
    from sim.fields import section_defaults
    from sim.scenario.schema import Scenario

    full = Scenario()
    empty = scenario_from_dict({"population": {"conditions": {c: {} for c in (
        "diabetes", "heart_failure", "copd", "ckd", "hypertension")}},
        "quality": {m: {} for m in section_defaults(type(full.quality))}})
    assert empty == full
