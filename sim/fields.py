"""Building blocks for the scenario schema: strict models and documented parameters.

Every numeric scenario parameter is declared with :func:`param`, which records its
unit and its source (or the word "assumption") next to its bounds, so that the
schema itself is the documentation (``docs/scenario-reference.md`` is generated
from it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The source of a default that no publication gives.
ASSUMPTION = "assumption"

#: Largest allowed amount of one service, per-patient rate or per-patient cost: far above
#: any real fee (the costliest DRG payments and outlier stays are under $2 million), small
#: enough that yearly totals over 100,000 patients cannot overflow a float or lose cents.
MAX_FEE_USD = 10_000_000.0
BOUND_NOTE = "At most $10 million (the bound keeps money totals from overflowing)."


class StrictModel(BaseModel):
    """Base of every scenario section: unknown keys are refused, values are immutable.

    A section given in part is completed from the section's *own* default, not from the
    class defaults of its type: ``conditions: {diabetes: {prevalence: 0.3}}`` keeps the
    documented ``morbidity_loading`` and ``age_gradient`` of diabetes (which differ from
    those of a bare :class:`~sim.scenario.schema.Condition`). This holds at every depth,
    so the resolved scenario equals what ``docs/scenario-reference.md`` documents for every
    field left out.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _complete_partial_sections(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        defaults = section_defaults(cls)
        merged: dict[str, Any] | None = None
        for name, default in defaults.items():
            given = data.get(name)
            if isinstance(given, Mapping):
                if merged is None:
                    merged = dict(data)
                merged[name] = merge_onto(default, given)
        return data if merged is None else merged


_SECTION_DEFAULTS: dict[type[BaseModel], dict[str, dict[str, Any]]] = {}


def section_defaults(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """The default of every field of ``model`` that is itself a section (a model), as plain
    data: what a partial mapping given for that field is merged onto. Cached per class."""
    cached = _SECTION_DEFAULTS.get(model)
    if cached is None:
        cached = {}
        for name, f in model.model_fields.items():
            if f.is_required() or (f.default_factory is None
                                   and not isinstance(f.default, BaseModel)):
                continue
            default = f.get_default(call_default_factory=True)
            if isinstance(default, BaseModel):
                cached[name] = default.model_dump(mode="python")
        _SECTION_DEFAULTS[model] = cached
    return cached


def merge_onto(base: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` merged key by key onto ``base``: mappings merge recursively, anything else
    (numbers, lists, distribution specs given for a number) replaces the base value."""
    out = dict(base)
    for key, value in given.items():
        old = out.get(key)
        out[key] = (merge_onto(old, value) if isinstance(old, Mapping)
                    and isinstance(value, Mapping) else value)
    return out


def param(
    default: Any,
    *,
    unit: str,
    source: str,
    description: str,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
) -> Any:
    """A documented scenario parameter.

    ``unit`` is the physical unit ("USD", "per patient-year", "share 0-1", "days", ...);
    ``source`` cites where the default comes from, or says "assumption".
    """
    return Field(
        default,
        ge=ge,
        le=le,
        gt=gt,
        lt=lt,
        description=description,
        json_schema_extra={"unit": unit, "source": source},
    )


def unit_of(model: type[BaseModel], name: str) -> str:
    """The unit declared for field ``name`` of ``model``."""
    extra = model.model_fields[name].json_schema_extra or {}
    return str(extra.get("unit", ""))
