"""Extract the parameter distributions written in a scenario in place of numbers.

Every ``{dist: ...}`` mapping is parsed (:func:`sim.uncertainty.parse_distribution`),
checked against the field it stands for (a real-valued parameter whose bounds every draw
respects; a Dirichlet for a whole mapping of shares) and replaced by its mean; the
``correlation_groups:`` section is checked against the parameters found. Problems are
reported with the file, line and field path the distribution was written at.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from sim.fields import unit_of
from sim.scenario.errors import ScenarioError
from sim.scenario.messages import KIND_TEXT, describe, is_model, number, type_at
from sim.scenario.provenance import FieldPath, Provenance, where
from sim.uncertainty import (
    DIST_KEY,
    GROUPS_KEY,
    CorrelationGroup,
    Dirichlet,
    SpecError,
    UncertainParameter,
    Uncertainty,
    data_path,
    get_at,
    locate,
    parse_distribution,
    set_at,
)


def _find_specs(value: Any, keys: FieldPath, out: list[FieldPath]) -> None:
    if isinstance(value, dict):
        if DIST_KEY in value:
            out.append(keys)
            return
        for key, item in value.items():
            _find_specs(item, (*keys, str(key)), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _find_specs(item, (*keys, str(i)), out)


def _bounds(owner: tuple[type[BaseModel], str]) -> list[tuple[str, float]]:
    model, name = owner
    out = []
    for meta in model.model_fields[name].metadata:
        for attr, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            bound = getattr(meta, attr, None)
            if bound is not None:
                out.append((op, float(bound)))
    return out


def _check_support(dist: Any, owner: tuple[type[BaseModel], str]) -> str | None:
    lo, hi = dist.draw_range()
    unit = unit_of(*owner)
    unit_text = f" ({unit})" if unit else ""
    for op, bound in _bounds(owner):
        if op in (">=", ">") and lo < bound:
            below = f"{lo:.6g}"
            return (f"a {dist.kind} distribution can draw values down to {below}, but the "
                    f"field expects a number {op} {number(bound)}{unit_text}; choose a "
                    f"distribution that stays within the bounds (e.g. give low/high)")
        if op in ("<=", "<") and hi > bound:
            above = f"{hi:.6g}"
            return (f"a {dist.kind} distribution can draw values up to {above}, but the "
                    f"field expects a number {op} {number(bound)}{unit_text}; choose a "
                    f"distribution that stays within the bounds (e.g. a beta for shares)")
    return None


def extract_uncertainty(
    data: dict[str, Any], prov: Provenance, top: str, root: type[BaseModel]
) -> tuple[dict[str, Any], Uncertainty]:
    """Replace every ``{dist: ...}`` in ``data`` (to be validated against ``root``) by its
    mean; return the data and the uncertainty. ``prov`` says where each value was written
    (``top`` names data given without a file)."""
    groups_raw = data.pop(GROUPS_KEY, None)
    found: list[FieldPath] = []
    _find_specs(data, (), found)
    if not found and groups_raw is None:
        return data, Uncertainty()
    params: list[UncertainParameter] = []
    for keys in found:
        file, line = where(prov, keys, top)
        field = ".".join(keys)
        spec = get_at(data, keys)
        try:
            dist = parse_distribution(spec)
        except SpecError as exc:
            raise ScenarioError(file, field, str(exc), line) from None
        tp, owner = type_at(keys, data, None, root)
        if isinstance(dist, Dirichlet):
            fields = list(tp.model_fields) if is_model(tp) else None
            if fields is None or not all(tp.model_fields[f].annotation is float for f in fields):
                raise ScenarioError(file, field, "a dirichlet can stand only for a mapping of "
                                    "shares (e.g. population.age_bands)", line)
            if set(dist.keys) != set(fields):
                raise ScenarioError(file, field, f"a dirichlet here needs exactly the shares "
                                    f"{', '.join(fields)}; got {', '.join(dist.keys)}", line)
            for k in fields:
                problem = _check_support(_UNIT_INTERVAL, (tp, k))
                if problem:
                    raise ScenarioError(file, f"{field}.{k}", problem, line)
            mean: Any = dist.mean_shares()
        else:
            if tp is not float or owner is None:
                what = KIND_TEXT.get(tp, "a section") if isinstance(tp, type) else "a section"
                if tp is None:
                    what = "not a scenario parameter"
                raise ScenarioError(file, field, f"a distribution can stand only for a "
                                    f"real-valued parameter; this field is {what}", line)
            problem = _check_support(dist, owner)
            if problem:
                raise ScenarioError(file, field, problem, line)
            mean = dist.mean()
        params.append(UncertainParameter(data_path(data, keys), keys, dist))
        set_at(data, keys, mean)
    groups = _groups(groups_raw, params, data, prov, top)
    return data, Uncertainty(tuple(params), groups)


class _UnitInterval:
    kind = "dirichlet"

    @staticmethod
    def draw_range() -> tuple[float, float]:
        return 0.0, 1.0


_UNIT_INTERVAL = _UnitInterval()


def _groups(
    raw: Any, params: list[UncertainParameter], data: dict[str, Any], prov: Provenance,
    top: str,
) -> tuple[CorrelationGroup, ...]:
    if raw is None:
        return ()
    file, line = where(prov, (GROUPS_KEY,), top)
    if not isinstance(raw, dict):
        raise ScenarioError(file, GROUPS_KEY, "expected a mapping of group name to "
                            f"{{parameters, correlation}}, got {describe(raw)}", line)
    scalar = {p.path: p for p in params if not isinstance(p.dist, Dirichlet)}
    taken: dict[str, str] = {}
    groups = []
    for name, spec in raw.items():
        keys = (GROUPS_KEY, str(name))
        file, line = where(prov, keys, top)
        field = ".".join(keys)
        try:
            group = CorrelationGroup.parse(str(name), spec)
        except SpecError as exc:
            raise ScenarioError(file, field, str(exc), line) from None
        members = []
        for path in group.parameters:
            try:
                shown = data_path(data, locate(data, path))
            except KeyError:
                shown = path
            if shown not in scalar:
                valid = ", ".join(scalar) or "none"
                raise ScenarioError(file, f"{field}.parameters", f"'{path}' is not an uncertain "
                                    f"(non-dirichlet) parameter of this scenario; uncertain "
                                    f"parameters: {valid}", line)
            if shown in taken:
                raise ScenarioError(file, f"{field}.parameters", f"'{path}' is already in "
                                    f"correlation group '{taken[shown]}'", line)
            taken[shown] = str(name)
            members.append(shown)
        groups.append(CorrelationGroup(group.name, tuple(members), group.correlation))
    return tuple(groups)


__all__ = ["extract_uncertainty"]
