"""Building blocks for the scenario schema: strict models and documented parameters.

Every numeric scenario parameter is declared with :func:`param`, which records its
unit and its source (or the word "assumption") next to its bounds, so that the
schema itself is the documentation (``docs/scenario-reference.md`` is generated
from it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """Base of every scenario section: unknown keys are refused, values are immutable."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )


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


def source_of(model: type[BaseModel], name: str) -> str:
    """The source declared for field ``name`` of ``model``."""
    extra = model.model_fields[name].json_schema_extra or {}
    return str(extra.get("source", ""))
