"""Read one YAML file with provenance and bounded cost.

A file is parsed into plain dicts and lists, recording for every mapping key and list item
where it was written: a *provenance* map from field path (a tuple of ``str``, list indices
included) to ``(file, line)``. Duplicate keys and broken YAML are refused.

Every file is bounded before and while it is parsed (:data:`MAX_BYTES`, no NUL byte,
:data:`MAX_NODES` values once aliases expand, :data:`MAX_DEPTH` levels, :data:`MAX_DIGITS`
digits in a number), so a small hostile file is refused with a :class:`ScenarioError`
naming it instead of hanging or filling memory.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sim.scenario.errors import ScenarioError
from sim.scenario.messages import describe
from sim.scenario.provenance import FieldPath, Provenance

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
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a scenario file (``None`` when it can)."""
    if path.is_dir():
        return "is a directory, expected a .yaml or .yml file"
    if not path.exists():
        return "file not found"
    if not path.is_file():  # a FIFO, socket or device: reading it could block forever
        return "not a regular file (a pipe, socket or device); expected a .yaml or .yml file"
    if path.suffix.lower() not in SUFFIXES:
        return f"expected a .yaml or .yml file, got '{path.suffix or 'no extension'}'"
    return None


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


def read_with_provenance(real: Path, shown: str) -> tuple[dict[str, Any], Provenance]:
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
                            f"lines) at the top level, got {describe(data)}", line)
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


__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_NODES",
    "SUFFIXES",
    "file_problem",
    "read_mapping",
    "read_text",
    "read_with_provenance",
]
