"""Error messages for refused input: each pydantic validation error as a
:class:`~sim.scenario.errors.Problem` naming file, line, dotted field path and what was
expected (with the field's unit for range errors), values shown as the YAML author wrote
them.

Used for scenario files (:mod:`sim.scenario.loader`) and experiment files
(:mod:`sim.experiment`): the root model says which schema the data was validated against.
"""

from __future__ import annotations

import datetime
import difflib
import types
import typing
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sim.fields import unit_of
from sim.scenario.errors import Problem
from sim.scenario.provenance import FieldPath, Provenance, where


def validation_problems(
    exc: ValidationError, data: dict[str, Any], prov: Provenance, top: str,
    root: type[BaseModel], root_keys: tuple[str, ...] = (),
) -> list[Problem]:
    """Every error of ``exc`` (``data`` validated against ``root``) as a :class:`Problem`,
    in the order of the files, then of the lines, they were written at. ``root_keys`` are
    keys also valid at the top (read before validation, e.g. ``extends``)."""
    problems = [_problem(err, data, prov, top, root, root_keys)
                for err in exc.errors(include_url=False)]
    files = list(dict.fromkeys(p.file for p in problems))
    problems.sort(key=lambda p: (files.index(p.file), p.line is None, p.line or 0))
    return problems


def _problem(
    err: Any, data: dict[str, Any], prov: Provenance, top: str, root: type[BaseModel],
    root_keys: tuple[str, ...],
) -> Problem:
    kind = err["type"]
    path, labels = _data_path(err["loc"], data, keep_last=kind == "missing")
    file, line = where(prov, path, top)
    return Problem(file, ".".join(path), line, _expected(err, path, labels, data, root, root_keys))


def _data_path(
    loc: tuple[Any, ...], data: Any, keep_last: bool
) -> tuple[FieldPath, dict[int, str]]:
    """Pydantic's error location as a path through the data.

    Union member labels (a class name or a discriminator tag) are not part of the data;
    they are returned apart, keyed by the depth of the path where they occurred.
    """
    out: list[str] = []
    labels: dict[int, str] = {}
    cur = data
    for i, part in enumerate(loc):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            cur = cur[part]
        elif not (keep_last and i == len(loc) - 1):
            labels[len(out)] = str(part)
            continue
        out.append(str(part))
    return tuple(out), labels


def _child(cur: Any, part: str) -> Any:
    if isinstance(cur, dict):
        for key, value in cur.items():
            if str(key) == part:
                return value
        return None
    if isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
        return cur[int(part)]
    return None


def _concrete(tp: Any, cur: Any, label: str | None = None) -> Any:
    """Strip Annotated/Optional; pick the union member model named by ``label`` or that
    fits ``cur``."""
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (typing.Union, types.UnionType):
        members = [m for m in get_args(tp) if m is not type(None)]
        models = [m for m in members if is_model(m)]
        if len(members) == 1:
            return _concrete(members[0], cur, label)
        if len(models) == 1:
            return models[0]
        for model in models:
            if model.__name__ == label:
                return model
        for model in models:
            for name, field in model.model_fields.items():
                ann = field.annotation
                if get_origin(ann) is Literal and (
                        label in get_args(ann)
                        or isinstance(cur, dict) and cur.get(name) in get_args(ann)):
                    return model
    return tp


def is_model(tp: Any) -> bool:
    """Whether ``tp`` is a pydantic model class."""
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def type_at(
    path: FieldPath, data: Any, labels: dict[int, str] | None, root: type[BaseModel]
) -> tuple[Any, tuple[type[BaseModel], str] | None]:
    """The declared type at ``path`` of ``data`` (validated against ``root``) and the
    (model, field name) of the nearest field."""
    labels = labels or {}
    tp: Any = root
    owner: tuple[type[BaseModel], str] | None = None
    cur = data
    for depth, part in enumerate(path):
        tp = _concrete(tp, cur, labels.get(depth))
        if is_model(tp):
            field = tp.model_fields.get(part)
            if field is None:
                return None, owner
            owner, tp = (tp, part), field.annotation
        elif get_origin(tp) in (list, tuple, set, frozenset) and get_args(tp):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict and get_args(tp):
            tp = get_args(tp)[1]
        else:
            return None, owner
        cur = _child(cur, part)
    return _concrete(tp, cur, labels.get(len(path))), owner


def _keys_of(
    model: type[BaseModel], root: type[BaseModel], root_keys: tuple[str, ...]
) -> list[str]:
    keys = list(model.model_fields)
    return [*keys, *root_keys] if model is root else keys


_RANGE = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">",
          "less_than": "<"}
KIND_TEXT = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}


def _expected(
    err: Any, path: FieldPath, labels: dict[int, str], data: Any, root: type[BaseModel],
    root_keys: tuple[str, ...],
) -> str:
    kind, ctx, given = err["type"], err.get("ctx") or {}, err.get("input")
    got = f", got {describe(given)}"
    if kind == "extra_forbidden":
        parent, _ = type_at(path[:-1], data, labels, root)
        key = path[-1] if path else "?"
        if not is_model(parent):
            return f"unknown key '{key}'"
        keys = _keys_of(parent, root, root_keys)
        close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key '{key}'{hint}; valid keys here: {', '.join(keys)}"
    if kind == "missing":
        return "required field is missing"
    tp, owner = type_at(path, data, labels, root)
    unit = unit_of(*owner) if owner else ""
    unit_text = f" ({unit})" if unit else ""
    what = KIND_TEXT.get(tp, "a number") if isinstance(tp, type) else "a number"
    if kind in _RANGE:
        bound = next(iter(ctx.values()), "?")
        return f"expected {what} {_RANGE[kind]} {number(bound)}{unit_text}{got}"
    if kind == "finite_number":
        return f"expected a finite number{unit_text}{got}"
    if kind in ("float_type", "float_parsing", "int_type", "int_parsing", "int_from_float",
                "bool_type", "bool_parsing", "string_type"):
        base = {"float": "a number", "int": "a whole number", "bool": "true or false",
                "string": "text"}[kind.split("_")[0]]
        hint = ""
        if isinstance(given, str) and base != "text" and _looks_numeric(given):
            hint = " (write numbers without quotes)"
        if isinstance(given, float) and base == "a whole number" and given.is_integer():
            hint = " (write it without a decimal point)"
        if base == "text" and given is not None and not isinstance(given, dict | list):
            hint = " (put it in quotes to make it text)"
        return f"expected {base}{unit_text if base != 'text' else ''}{got}{hint}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if is_model(tp):
            return f"expected a mapping with keys among: {', '.join(_keys_of(tp, root, root_keys))}{got}"
        return f"expected a mapping{got}"
    if kind in ("list_type", "tuple_type", "set_type"):
        return f"expected a list{got}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected', '?')}{got}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == r"^[A-Za-z0-9_.\-]+$":
        return f"expected letters, digits, '_', '.' or '-' only (no spaces){got}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == (
            r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,99}$"):
        return (f"expected a safe file name: 1 to 100 letters, digits, '_', '.' or '-' (no "
                f"spaces), not starting with '.' (it names the output folder){got}")
    if kind == "too_short":
        return (f"expected at least {ctx.get('min_length')} item(s), got "
                f"{ctx.get('actual_length')}")
    if kind == "too_long":
        return (f"expected at most {ctx.get('max_length')} item(s), got "
                f"{ctx.get('actual_length')}")
    if kind == "string_too_short":
        return f"expected non-empty text{got}"
    if kind == "invalid_key":
        return f"expected a text key{got}"
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        return str(error) if error is not None else err["msg"]
    message = err["msg"]
    return message[:1].lower() + message[1:] + (got if _short(given) else "")


def did_you_mean(word: str, names: list[str]) -> str:
    """`` (did you mean 'a' or 'b'?)`` for the names nearest ``word``, else ``""``."""
    close = difflib.get_close_matches(word, names, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _looks_numeric(text: str) -> bool:
    try:
        float(text.replace("_", ""))
    except ValueError:
        return False
    return True


def _short(value: Any) -> bool:
    return not isinstance(value, dict | list)


def number(value: Any) -> str:
    """A number as written: whole floats without a decimal point."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def describe(value: Any) -> str:
    """A value as the YAML author wrote it."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, int | float):
        return number(value) if isinstance(value, int) else repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    return f"{value!r} ({type(value).__name__})"


# --------------------------------------------------------------------------- dict input


# --------------------------------------------------------------------------- one-section files


def problem_at(prov: Provenance, keys: tuple[str, ...], shown: str, expected: str) -> Problem:
    """A problem at field path ``keys`` of file ``shown``, with its line."""
    file, line = where(prov, keys, shown)
    return Problem(file, ".".join(keys), line, expected)


def validate_section(raw: dict[str, Any], prov: Provenance, shown: str, key: str,
                     file_model: type[BaseModel], kind: str
                     ) -> tuple[Any | None, dict[str, Any], list[Problem]]:
    """Validate a file that holds one mapping, ``key:`` (an experiment or a calibration
    file, described as ``kind``, e.g. "an experiment file"), against ``file_model``
    (strict): its settings (None when refused), the mapping kept (``{key: ...}`` or empty)
    and every problem, each with its file, line and field path."""
    settings_model = file_model.model_fields[key].annotation
    what = (f"{kind} holds one mapping, '{key}:', with keys among: "
            + ", ".join(settings_model.model_fields))
    problems = [problem_at(prov, (str(k),), shown, what) for k in raw if k != key]
    if key not in raw:
        problems.append(Problem(shown, key, None, what))
    data = {k: v for k, v in raw.items() if k == key}
    settings = None
    try:
        settings = getattr(file_model.model_validate(data, strict=True), key)
    except ValidationError as exc:
        problems += [p for p in validation_problems(exc, data, prov, shown, file_model)
                     if not (p.field == key and key not in data)]
    return settings, data, problems
