"""Every numeric scenario parameter states its unit, its source (or "assumption") and bounds."""

import typing

from pydantic import BaseModel

from sim.scenario import Scenario


def _models(model: type[BaseModel], seen: set) -> list[type[BaseModel]]:
    out = [model]
    seen.add(model)
    for f in model.model_fields.values():
        for arg in [f.annotation, *typing.get_args(f.annotation)]:
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in seen:
                out += _models(arg, seen)
    return out


def numeric_fields():
    for model in _models(Scenario, set()):
        for name, f in model.model_fields.items():
            if f.annotation in (int, float):
                yield model, name, f


def test_every_numeric_field_has_unit_source_and_description():
    missing = []
    for model, name, f in numeric_fields():
        extra = f.json_schema_extra or {}
        if not extra.get("unit") or not extra.get("source") or not f.description:
            missing.append(f"{model.__name__}.{name}")
    assert not missing, f"undocumented parameters: {missing}"


def test_every_numeric_field_is_bounded_below():
    unbounded = []
    for model, name, f in numeric_fields():
        bounds = {type(m).__name__ for m in f.metadata}
        if not bounds & {"Ge", "Gt"}:
            unbounded.append(f"{model.__name__}.{name}")
    assert not unbounded, f"no lower bound: {unbounded}"


def test_there_are_many_documented_parameters():
    assert sum(1 for _ in numeric_fields()) > 100
