"""Load scenario files: YAML with line numbers, ``extends:`` merging, strict validation.

A file is read in three steps, and refused at the first step that fails:

1. **Parse** one YAML file into plain dicts and lists, recording for every mapping key and
   list item where it was written: a *provenance* map from field path (a tuple of ``str``,
   list indices included) to ``(file, line)``. Duplicate keys and broken YAML are refused.
2. **Resolve** ``extends:`` (a path relative to the extending file, or a list of them applied
   in order): each base is resolved recursively and deep-merged — mappings merge key by key,
   lists and scalars replace wholesale — and the provenance follows the merge, so a value
   taken from a base file is reported with the base file's name and line. ``name`` is never
   inherited: it defaults to the stem of the file being loaded. Each base file is read and
   resolved once per load (reused as a deep copy), at most :data:`MAX_BASES` bases in all
   and :data:`MAX_EXTENDS_DEPTH` files in a chain.

Every file is bounded before and while it is parsed (:data:`MAX_BYTES`, no NUL byte,
:data:`MAX_NODES` values once aliases expand, :data:`MAX_DEPTH` levels, :data:`MAX_DIGITS`
digits in a number), so a small hostile file is refused with a :class:`ScenarioError`
naming it instead of hanging or filling memory.
3. **Validate** with the pydantic schema in strict mode (no numeric strings, no booleans for
   numbers; whole numbers are accepted for real-valued fields) and turn *every* validation
   error into a :class:`~sim.scenario.errors.Problem` naming file, line, dotted field path
   and what was expected, with the field's unit for range errors.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import os
import re
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sim import __version__
from sim.fields import unit_of
from sim.scenario import distributions as dists
from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.schema import Scenario

__all__ = [
    "load_scenario",
    "read_mapping",
    "read_text",
    "resolve_scenario_dict",
    "resolved_yaml",
    "scenario_from_dict",
]

FieldPath = tuple[str, ...]
Origin = tuple[str, int | None]  # (file as shown to the user, 1-based line or None)
Provenance = dict[FieldPath, Origin]

SUFFIXES = (".yaml", ".yml")
#: Values one file may hold once YAML aliases are expanded: the shipped scenarios hold a few
#: hundred, so 100,000 leaves room for big hand-written files and stops an alias bomb early.
MAX_NODES = 100_000
#: Nesting levels of a scenario (the schema needs about 8).
MAX_DEPTH = 64
#: Bytes in one scenario file, checked before reading: the shipped scenarios are a few KB.
MAX_BYTES = 1024 * 1024
#: Digits of a number written in exponent notation (``1e999999999`` would need a billion).
MAX_DIGITS = 4300
#: ``extends:`` bases one scenario may name in all (every file's list counted, a base named
#: twice counted twice): the shipped scenarios use a few; this stops doubling diamonds.
MAX_BASES = 256
#: Files in one ``extends:`` chain (a file, its base, the base's base, ...).
MAX_EXTENDS_DEPTH = 32
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


# --------------------------------------------------------------------------- public API


def load_scenario(path: str | os.PathLike[str], *, allow_code: bool = False) -> Scenario:
    """Load, resolve (``extends:``) and validate a scenario YAML file.

    A custom contract's ``kind: package.module:Class`` is imported only with
    ``allow_code=True`` (see :func:`sim.settlement.registry.resolve_custom`); without it
    such a file is refused before anything is imported.

    Raises :class:`ScenarioError` naming the file, line, field path and what was expected.
    """
    data, prov, shown = _resolve_file(path)
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
) -> Scenario:
    """Validate a mapping into a :class:`Scenario`, with the same rules as a file.

    ``source`` names the mapping in error messages. An ``extends:`` entry is resolved
    relative to ``base_dir`` (default: the working directory); as with files, ``name`` is
    not inherited from a base (the schema default applies). NumPy scalars are accepted as
    the Python numbers they hold. ``allow_code`` as for :func:`load_scenario`.
    """
    plain = _plain(data)
    if not isinstance(plain, dict):
        raise ScenarioError(source, "", f"expected a mapping of scenario fields, got "
                            f"{_describe(plain)}")
    prov: Provenance = {}
    _mark(plain, (), source, prov)
    folder = Path(base_dir) if base_dir is not None else Path()
    shown_dir = os.fspath(base_dir) if base_dir is not None else ""
    merged, mprov = _apply_extends(plain, prov, source, shown_dir, folder, ())
    if "name" not in plain:
        merged.pop("name", None)
    return _check_code(_validate(merged, mprov, source), mprov, source, allow_code)


def resolved_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario (every default filled in) as YAML.

    Loading the text back (as a file or through :func:`scenario_from_dict`) gives a
    scenario equal to ``scenario``; ``vbcsim run`` writes it next to the results.
    """
    header = (f"# Resolved scenario '{scenario.name}' (vbcsim {__version__}): every field, "
              "defaults filled in.\n")
    data = scenario.model_dump(mode="json")
    uncertainty = dists.uncertainty_of(scenario)
    for p in uncertainty.parameters:  # put the distributions back where they were written
        dists.set_at(data, p.keys, p.dist.spec())
    if uncertainty.groups:
        data[dists.GROUPS_KEY] = {g.name: g.spec() for g in uncertainty.groups}
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return header + body


# --------------------------------------------------------------------------- files


def _file_problem(path: Path) -> str | None:
    if path.is_dir():
        return "is a directory, expected a .yaml or .yml file"
    if not path.exists():
        return "file not found"
    if not path.is_file():  # a FIFO, socket or device: reading it could block forever
        return "not a regular file (a pipe, socket or device); expected a .yaml or .yml file"
    if path.suffix.lower() not in SUFFIXES:
        return f"expected a .yaml or .yml file, got '{path.suffix or 'no extension'}'"
    return None


def _resolve_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], Provenance, str]:
    real = Path(path).expanduser()
    shown = os.fspath(path)
    problem = _file_problem(real)
    if problem:
        raise ScenarioError(shown, "", problem)
    raw, prov = _read_mapping(real, shown)
    own_name = "name" in raw
    data, prov = _apply_extends(raw, prov, shown, os.path.dirname(shown), real.parent,
                                ((real.resolve(), shown),))
    if not own_name:
        data["name"] = _NAME_CHARS.sub("_", real.stem).lstrip(".")[:100] or "scenario"
        prov[("name",)] = (shown, None)
    return data, prov, shown


def read_text(path: str | os.PathLike[str]) -> str:
    """The text of a YAML file read with the loader's bounds: a regular file (not a pipe) of
    at most :data:`MAX_BYTES`, UTF-8, no NUL byte. Raises :class:`ScenarioError` naming it."""
    real, shown = Path(path).expanduser(), os.fspath(path)
    if real.exists() and not real.is_file():
        raise ScenarioError(shown, "", "not a regular file; expected a .yaml or .yml file")
    return _read_text(real, shown)


def read_mapping(path: str | os.PathLike[str], text: str | None = None) -> dict[str, Any]:
    """One YAML file (``text``, if already read with :func:`read_text`) parsed as the loader
    does, with the same bounds, into a mapping; ``extends:`` is not resolved.
    Raises :class:`ScenarioError` naming the file."""
    shown = os.fspath(path)
    return _parse_mapping(read_text(path) if text is None else text, shown)[0]


def _read_mapping(real: Path, shown: str) -> tuple[dict[str, Any], Provenance]:
    """Parse one file (no ``extends:``) into a mapping and its provenance."""
    return _parse_mapping(_read_text(real, shown), shown)


def _read_text(real: Path, shown: str) -> str:
    try:
        too_big = f"file larger than {MAX_BYTES // 1024 ** 2} MiB; a scenario holds a few KB"
        if real.stat().st_size > MAX_BYTES:
            raise ScenarioError(shown, "", too_big)
        with real.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)  # a file that grew since stat() is refused too
        if len(raw) > MAX_BYTES:
            raise ScenarioError(shown, "", too_big)
        nul = raw.find(b"\0")
        if nul >= 0:
            raise ScenarioError(shown, "", f"expected YAML text, found a NUL byte at offset "
                                f"{nul} (a binary file?)")
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        raise ScenarioError(shown, "", f"expected UTF-8 text, found byte 0x{byte:02x} at "
                            f"offset {exc.start}") from None
    except OSError as exc:
        raise ScenarioError(shown, "", f"cannot read the file: {exc.strerror}") from None
    return text


def _parse_mapping(text: str, shown: str) -> tuple[dict[str, Any], Provenance]:
    prov: Provenance = {}
    try:  # the reader refuses other non-printable characters as it is built
        loader = _LineLoader(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(shown, "", f"invalid YAML: {exc}") from None
    try:
        node = loader.get_single_node()
        data = None if node is None else _Builder(loader, shown, prov).build(node, ())
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, shown) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(shown, "", f"invalid YAML: {exc}") from None
    except RecursionError:
        raise ScenarioError(shown, "", f"nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        if isinstance(exc, ScenarioError):
            raise
        raise ScenarioError(shown, "", f"invalid value: {exc}") from None
    finally:
        loader.dispose()
    if data is None:  # an empty file (or only comments): every default
        return {}, prov
    if not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else None
        raise ScenarioError(shown, "", "expected a mapping of scenario fields (key: value "
                            f"lines) at the top level, got {_describe(data)}", line)
    return data, prov


def _yaml_error(exc: yaml.MarkedYAMLError, shown: str) -> ScenarioError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    text = exc.problem or "cannot parse"
    if exc.context:
        context = exc.context
        if exc.context_mark is not None and exc.context_mark is not mark:
            context += f" at line {exc.context_mark.line + 1}"
        text = f"{text} ({context})"
    problem = exc.problem or ""
    if "\t" in problem:
        text += "; indent with spaces, not tabs"
    elif "block" in problem or "mapping values are not allowed" in problem:
        text += "; check the indentation"
    return ScenarioError(shown, "", f"invalid YAML: {text}", line)


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that also reads exponent notation as numbers (YAML 1.1 needs ``1.0e+3``).

    Exponent notation that denotes a whole number (``1e4``, ``1.2e4``) is read as an integer,
    so it is accepted for integer fields such as ``population.size``; ``2e-3`` is a real.
    """


_SCI_TAG = "tag:vbcsim,2024:scientific"
_LineLoader.add_implicit_resolver(
    _SCI_TAG,
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _construct_scientific(loader: yaml.SafeLoader, node: ScalarNode) -> int | float:
    value = Decimal(str(loader.construct_scalar(node)).replace("_", ""))
    if value.adjusted() >= MAX_DIGITS:  # 1e999999999 as an int would take a billion digits
        raise ValueError(f"the number {node.value[:40]!r} has more than {MAX_DIGITS:,} digits; "
                         "write a smaller number")
    return int(value) if value == value.to_integral_value() else float(value)


_LineLoader.add_constructor(_SCI_TAG, _construct_scientific)
for _resolvers in _LineLoader.yaml_implicit_resolvers.values():  # ours before YAML 1.1 floats
    _resolvers.sort(key=lambda resolver: resolver[0] != _SCI_TAG)


class _Builder:
    """Turn a composed YAML node tree into dicts/lists, recording provenance."""

    def __init__(self, loader: _LineLoader, shown: str, prov: Provenance) -> None:
        self.loader = loader
        self.shown = shown
        self.prov = prov
        self.active: set[int] = set()  # nodes on the current path (recursive aliases)
        self.count = 0  # values built so far (aliases counted each time they are expanded)

    def build(self, node: Node, path: FieldPath) -> Any:
        self.count += 1
        if self.count > MAX_NODES:  # YAML aliases expand: a "billion laughs" stops here
            raise ScenarioError(self.shown, "", f"more than {MAX_NODES:,} values once YAML "
                                "aliases are expanded; write the scenario without such "
                                "repetition", node.start_mark.line + 1)
        if len(path) > MAX_DEPTH:
            raise ScenarioError(self.shown, ".".join(path[:5]) + "...", f"nested too deeply "
                                f"(at most {MAX_DEPTH} levels)", node.start_mark.line + 1)
        if isinstance(node, ScalarNode):
            return self.loader.construct_object(node, deep=True)
        if id(node) in self.active:
            raise ScenarioError(self.shown, ".".join(path), "an alias that contains itself",
                                node.start_mark.line + 1)
        if node.tag not in (_SEQ_TAG, _MAP_TAG):
            raise ScenarioError(self.shown, ".".join(path), f"unsupported YAML tag "
                                f"'{node.tag}'; write plain mappings and lists",
                                node.start_mark.line + 1)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                items = []
                for i, item in enumerate(node.value):
                    self.prov[(*path, str(i))] = (self.shown, item.start_mark.line + 1)
                    items.append(self.build(item, (*path, str(i))))
                return items
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            raise TypeError(f"unexpected YAML node {node!r}")
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: MappingNode, path: FieldPath) -> dict[Any, Any]:
        merged: dict[Any, Any] = {}  # from YAML merge keys (<<: *anchor); own keys win
        own: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in reversed(sources):  # earlier sources take precedence
                    value = self.build(source, path)
                    if not isinstance(value, dict):
                        raise ScenarioError(self.shown, ".".join(path), "expected a mapping "
                                            "after '<<:'", line)
                    merged.update(value)
                continue
            if not isinstance(key_node, ScalarNode):
                raise ScenarioError(self.shown, ".".join(path), "expected a plain key, got a "
                                    "list or mapping used as a key", line)
            key = self.loader.construct_object(key_node)
            field = ".".join((*path, str(key)))
            if key in first_line:
                raise ScenarioError(self.shown, field, f"duplicate key '{key}' (first given at "
                                    f"line {first_line[key]}); give each key once", line)
            first_line[key] = line
            self.prov[(*path, str(key))] = (self.shown, line)
            own[key] = self.build(value_node, (*path, str(key)))
        if merged:
            return {**merged, **own}
        return own


# --------------------------------------------------------------------------- extends


class _Bases:
    """What one load has resolved: each base file once (reused as a deep copy), and a count
    of the bases named so far, so diamonds and long chains of ``extends:`` stay bounded."""

    def __init__(self) -> None:
        self.named = 0
        self.resolved: dict[tuple[Path, str], tuple[dict[str, Any], Provenance]] = {}


def _apply_extends(
    data: dict[str, Any],
    prov: Provenance,
    shown: str,
    shown_dir: str,
    folder: Path,
    chain: tuple[tuple[Path, str], ...],
    bases_seen: _Bases | None = None,
) -> tuple[dict[str, Any], Provenance]:
    """Resolve the ``extends:`` of ``data`` (written in ``shown``) and merge ``data`` on top.

    Base paths are relative to ``folder`` (``shown_dir`` as shown to the user); ``chain``
    holds the (resolved path, shown name) of the files being resolved, to refuse cycles.
    """
    if "extends" not in data:
        return data, prov
    seen = bases_seen if bases_seen is not None else _Bases()
    ext = data.pop("extends")
    bases = _extends_paths(ext, shown, prov)
    merged: dict[str, Any] = {}
    mprov: Provenance = {}
    for i, base in enumerate(bases):
        origin = prov.get(("extends", str(i)) if isinstance(ext, list) else ("extends",))
        line = origin[1] if origin else None
        seen.named += 1
        if seen.named > MAX_BASES:
            raise ScenarioError(shown, "extends", f"more than {MAX_BASES} base files in all "
                                "(counting every extends: entry of every base)", line)
        if len(chain) >= MAX_EXTENDS_DEPTH:
            raise ScenarioError(shown, "extends", f"extends chain longer than "
                                f"{MAX_EXTENDS_DEPTH} files (from {chain[0][1]})", line)
        base_real = folder / Path(base).expanduser()
        base_shown = os.path.normpath(os.path.join(shown_dir, base))
        problem = _file_problem(base_real)
        if problem:
            looked = f" (looked for {base_shown})" if base_shown != base else ""
            raise ScenarioError(shown, "extends", f"base file '{base}': {problem}{looked}", line)
        key = base_real.resolve()
        resolved = [k for k, _ in chain]
        if key in resolved:
            names = [name for _, name in chain[resolved.index(key):]] + [base_shown]
            raise ScenarioError(shown, "extends", "extends cycle: " + " -> ".join(names), line)
        if (key, base_shown) not in seen.resolved:
            raw, bprov = _read_mapping(base_real, base_shown)
            seen.resolved[key, base_shown] = _apply_extends(
                raw, bprov, base_shown, os.path.dirname(base_shown), base_real.parent,
                (*chain, (key, base_shown)), seen)
        raw, bprov = seen.resolved[key, base_shown]
        _merge_into(merged, mprov, copy.deepcopy(raw), bprov, ())
    own_prov = {p: o for p, o in prov.items() if p[:1] != ("extends",)}
    _merge_into(merged, mprov, data, own_prov, ())
    return merged, mprov


def _extends_paths(ext: Any, shown: str, prov: Provenance) -> list[str]:
    origin = prov.get(("extends",))
    line = origin[1] if origin else None
    items = ext if isinstance(ext, list) else [ext]
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ScenarioError(shown, "extends", "expected a file path or a list of file "
                                f"paths, got {_describe(ext)}", line)
    return items


def _merge_into(
    target: dict[Any, Any], tprov: Provenance, over: dict[Any, Any], oprov: Provenance,
    path: FieldPath,
) -> None:
    """Deep-merge ``over`` into ``target``: mappings key by key, anything else replaced.

    The provenance follows: under a replaced value it comes from ``oprov`` only. Linear in
    the sizes of both provenance maps (each is scanned once, not once per replaced key).
    """
    replaced: set[FieldPath] = set()
    kept: list[FieldPath] = []  # merged mappings: their own line comes from ``over``
    _merge_values(target, over, path, replaced, kept)
    if replaced:
        def under(q: FieldPath) -> bool:
            return any(q[:n] in replaced for n in range(len(path) + 1, len(q) + 1))

        for q in [q for q in tprov if under(q)]:
            del tprov[q]
        tprov.update({q: o for q, o in oprov.items() if under(q)})
    for p in kept:
        if p in oprov:
            tprov[p] = oprov[p]


def _merge_values(
    target: dict[Any, Any], over: dict[Any, Any], path: FieldPath, replaced: set[FieldPath],
    kept: list[FieldPath],
) -> None:
    for key, value in over.items():
        p = (*path, str(key))
        old = target.get(key)
        # a distribution written over a base value (or another distribution) replaces it
        if isinstance(value, dict) and isinstance(old, dict) and dists.DIST_KEY not in value:
            _merge_values(old, value, p, replaced, kept)
            kept.append(p)
        else:
            replaced.add(p)
            target[key] = value


# --------------------------------------------------------------------------- custom code


def _check_code(scenario: Scenario, prov: Provenance, top: str, allow_code: bool) -> Scenario:
    """Refuse a custom contract naming Python code (``package.module:Class``) unless the user
    allowed code; with ``allow_code``, import it here, in this process, and check it is a
    settler class. Other kinds (registered, entry points) are resolved when the run starts.
    """
    from sim.settlement import registry

    for i, period in enumerate(scenario.plan):
        for j, contract in enumerate(period.contracts):
            if contract.type != "custom" or not registry.is_code_path(contract.kind):
                continue
            keys = ("plan", str(i), "contracts", str(j), "kind")
            file, line = _where(prov, keys, top)
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
    data, uncertainty = _extract_uncertainty(data, prov, top)
    scenario = _validate_means(data, prov, top)
    if not uncertainty:
        return scenario
    from sim.uncertainty import DrawError, apply_values, draw_parameters

    try:  # one sample draw must give a valid scenario too (cross-field rules, e.g. sums)
        apply_values(scenario, draw_parameters(uncertainty, np.random.SeedSequence(0)))
    except DrawError as exc:
        raise ScenarioError(top, "", f"a sample draw of the uncertain parameters is "
                            f"refused: {exc}") from None
    return dists.with_uncertainty(scenario, uncertainty)


def _validate_means(data: dict[str, Any], prov: Provenance, top: str) -> Scenario:
    try:
        return Scenario.model_validate(data, strict=True)
    except ValidationError as exc:
        problems = [_problem(err, data, prov, top) for err in exc.errors(include_url=False)]
        files = list(dict.fromkeys(p.file for p in problems))
        problems.sort(key=lambda p: (files.index(p.file), p.line is None, p.line or 0))
        raise ScenarioError.from_problems(problems) from None


def _problem(err: Any, data: dict[str, Any], prov: Provenance, top: str) -> Problem:
    kind = err["type"]
    path, labels = _data_path(err["loc"], data, keep_last=kind == "missing")
    file, line = top, None
    for n in range(len(path), 0, -1):
        if path[:n] in prov:
            file, line = prov[path[:n]]
            break
    return Problem(file, ".".join(path), line, _expected(err, path, labels, data))


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
        models = [m for m in members if _is_model(m)]
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


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _type_at(
    path: FieldPath, data: Any, labels: dict[int, str] | None = None
) -> tuple[Any, tuple[type[BaseModel], str] | None]:
    """The declared type at ``path`` and the (model, field name) of the nearest field."""
    labels = labels or {}
    tp: Any = Scenario
    owner: tuple[type[BaseModel], str] | None = None
    cur = data
    for depth, part in enumerate(path):
        tp = _concrete(tp, cur, labels.get(depth))
        if _is_model(tp):
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


def _keys_of(model: type[BaseModel]) -> list[str]:
    keys = list(model.model_fields)
    return [*keys, "extends"] if model is Scenario else keys


_RANGE = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">",
          "less_than": "<"}
_KIND_TEXT = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}


def _expected(err: Any, path: FieldPath, labels: dict[int, str], data: Any) -> str:
    kind, ctx, given = err["type"], err.get("ctx") or {}, err.get("input")
    got = f", got {_describe(given)}"
    if kind == "extra_forbidden":
        parent, _ = _type_at(path[:-1], data, labels)
        key = path[-1] if path else "?"
        if not _is_model(parent):
            return f"unknown key '{key}'"
        keys = _keys_of(parent)
        close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key '{key}'{hint}; valid keys here: {', '.join(keys)}"
    if kind == "missing":
        return "required field is missing"
    tp, owner = _type_at(path, data, labels)
    unit = unit_of(*owner) if owner else ""
    unit_text = f" ({unit})" if unit else ""
    what = _KIND_TEXT.get(tp, "a number") if isinstance(tp, type) else "a number"
    if kind in _RANGE:
        bound = next(iter(ctx.values()), "?")
        return f"expected {what} {_RANGE[kind]} {_number(bound)}{unit_text}{got}"
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
        if _is_model(tp):
            return f"expected a mapping with keys among: {', '.join(_keys_of(tp))}{got}"
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


def _looks_numeric(text: str) -> bool:
    try:
        float(text.replace("_", ""))
    except ValueError:
        return False
    return True


def _short(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _describe(value: Any) -> str:
    """A value as the YAML author wrote it."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, int | float):
        return _number(value) if isinstance(value, int) else repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    return f"{value!r} ({type(value).__name__})"


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


def _mark(value: Any, path: FieldPath, source: str, prov: Provenance) -> None:
    """Provenance for a mapping given in Python: every path comes from ``source``."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        prov[(*path, str(key))] = (source, None)
        _mark(item, (*path, str(key)), source, prov)


# --------------------------------------------------------------------------- distributions


def _where(prov: Provenance, keys: FieldPath, top: str) -> Origin:
    for n in range(len(keys), 0, -1):
        if keys[:n] in prov:
            return prov[keys[:n]]
    return top, None


def _find_specs(value: Any, keys: FieldPath, out: list[FieldPath]) -> None:
    if isinstance(value, dict):
        if dists.DIST_KEY in value:
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
                    f"field expects a number {op} {_number(bound)}{unit_text}; choose a "
                    f"distribution that stays within the bounds (e.g. give low/high)")
        if op in ("<=", "<") and hi > bound:
            above = f"{hi:.6g}"
            return (f"a {dist.kind} distribution can draw values up to {above}, but the "
                    f"field expects a number {op} {_number(bound)}{unit_text}; choose a "
                    f"distribution that stays within the bounds (e.g. a beta for shares)")
    return None


def _extract_uncertainty(
    data: dict[str, Any], prov: Provenance, top: str
) -> tuple[dict[str, Any], dists.Uncertainty]:
    """Replace every ``{dist: ...}`` by its mean; return the data and the uncertainty."""
    groups_raw = data.pop(dists.GROUPS_KEY, None)
    found: list[FieldPath] = []
    _find_specs(data, (), found)
    if not found and groups_raw is None:
        return data, dists.Uncertainty()
    params: list[dists.UncertainParameter] = []
    for keys in found:
        file, line = _where(prov, keys, top)
        field = ".".join(keys)
        spec = dists.get_at(data, keys)
        try:
            dist = dists.parse_distribution(spec)
        except dists.SpecError as exc:
            raise ScenarioError(file, field, str(exc), line) from None
        tp, owner = _type_at(keys, data)
        if isinstance(dist, dists.Dirichlet):
            fields = list(tp.model_fields) if _is_model(tp) else None
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
                what = _KIND_TEXT.get(tp, "a section") if isinstance(tp, type) else "a section"
                if tp is None:
                    what = "not a scenario parameter"
                raise ScenarioError(file, field, f"a distribution can stand only for a "
                                    f"real-valued parameter; this field is {what}", line)
            problem = _check_support(dist, owner)
            if problem:
                raise ScenarioError(file, field, problem, line)
            mean = dist.mean()
        params.append(dists.UncertainParameter(dists.data_path(data, keys), keys, dist))
        dists.set_at(data, keys, mean)
    groups = _groups(groups_raw, params, data, prov, top)
    return data, dists.Uncertainty(tuple(params), groups)


class _UnitInterval:
    kind = "dirichlet"

    @staticmethod
    def draw_range() -> tuple[float, float]:
        return 0.0, 1.0


_UNIT_INTERVAL = _UnitInterval()


def _groups(
    raw: Any, params: list[dists.UncertainParameter], data: dict[str, Any], prov: Provenance,
    top: str,
) -> tuple[dists.CorrelationGroup, ...]:
    if raw is None:
        return ()
    file, line = _where(prov, (dists.GROUPS_KEY,), top)
    if not isinstance(raw, dict):
        raise ScenarioError(file, dists.GROUPS_KEY, "expected a mapping of group name to "
                            f"{{parameters, correlation}}, got {_describe(raw)}", line)
    scalar = {p.path: p for p in params if not isinstance(p.dist, dists.Dirichlet)}
    taken: dict[str, str] = {}
    groups = []
    for name, spec in raw.items():
        keys = (dists.GROUPS_KEY, str(name))
        file, line = _where(prov, keys, top)
        field = ".".join(keys)
        try:
            group = dists.CorrelationGroup.parse(str(name), spec)
        except dists.SpecError as exc:
            raise ScenarioError(file, field, str(exc), line) from None
        members = []
        for path in group.parameters:
            try:
                shown = dists.data_path(data, dists.locate(data, path))
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
        groups.append(dists.CorrelationGroup(group.name, tuple(members), group.correlation))
    return tuple(groups)
