"""The spellings the docs teach are the ones the schema accepts.

Every value the README, docs/*.md, the scenario files' comments and the notebooks give for a
field with a fixed set of values (``type``, ``scope``, ``track``, ``pricing``, ...) is one of
those values, whether written as ``key: value`` in code or in prose ("scope `primary_care`
or `total_cost`"), and every YAML example block that is a scenario or an experiment
validates (a scenario fragment on top of ``ffs_baseline``). docs/scenario-reference.md is
generated from the schema and checked by tests/test_scenario_reference.py.
"""

from __future__ import annotations

import json
import re
import types
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from sim.experiment import ExperimentSettings
from sim.scenario import Scenario, scenario_from_dict
from sim.uncertainty.parameters import GROUPS_KEY

REPO = Path(__file__).resolve().parents[1]
#: key: value in code (YAML needs the space after the colon)
PAIR = re.compile(r"\b([a-z_]+):\s+\[?([A-Za-z_][\w\-]*)")
CODE = re.compile(r"`([^`\n]+)`")
NOT_VALUES = {"null", "true", "false", "all", "none"}


def _members(tp: typing.Any) -> list[typing.Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin is typing.Literal:
        return [tp]
    if origin in (typing.Union, types.UnionType, list, dict, tuple, set):
        return [m for a in typing.get_args(tp) for m in _members(a)]
    return [tp]


def literal_fields(root: type[BaseModel]) -> dict[str, set[str]]:
    """Field name -> the values allowed, for every field of the schema whose values are a
    fixed set (and that takes no free text)."""
    found: dict[str, set[str]] = {}
    free: set[str] = set()
    seen: set[type] = set()
    todo = [root]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, f in model.model_fields.items():
            for t in _members(f.annotation):
                if typing.get_origin(t) is typing.Literal:
                    found.setdefault(name, set()).update(str(a) for a in typing.get_args(t))
                elif isinstance(t, type) and issubclass(t, BaseModel):
                    todo.append(t)
                elif t is str:
                    free.add(name)
    return {k: v for k, v in found.items() if k not in free}


FIELDS = literal_fields(Scenario)


def documents() -> list[tuple[str, str]]:
    """(name, text) of every document that teaches spellings; YAML files: their comments."""
    out = []
    for f in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        if f.name != "scenario-reference.md":
            out.append((str(f.relative_to(REPO)), f.read_text(encoding="utf-8")))
    for f in sorted((REPO / "scenarios").glob("*.yaml")):
        comments = [ln.split("#", 1)[1] for ln in f.read_text(encoding="utf-8").splitlines()
                    if "#" in ln]
        out.append((str(f.relative_to(REPO)), "\n".join(comments)))
    for f in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = json.loads(f.read_text(encoding="utf-8"))["cells"]
        out.append((str(f.relative_to(REPO)), "\n".join("".join(c["source"]) for c in cells)))
    return out


def wrong_spellings(text: str, yaml_comments: bool = False) -> list[str]:
    problems = []
    chunks = [text] if yaml_comments else CODE.findall(text)
    for chunk in chunks:
        if "=" in chunk or "Literal[" in chunk:  # Python, not a scenario value
            continue
        for name, value in PAIR.findall(chunk):
            if name in FIELDS and value not in FIELDS[name] and value.lower() not in NOT_VALUES:
                problems.append(f"{name}: {value} (in {chunk.strip()[:60]!r}; allowed: "
                                f"{', '.join(sorted(FIELDS[name]))})")
    names = "|".join(sorted(FIELDS, key=len, reverse=True))
    prose = re.compile(rf"\b({names})s?\b[ \t\n]*((?:`[\w\-]+`(?:,\s*|\s+or\s+|\s+and\s+)?)+)",
                       re.I)
    for m in prose.finditer(text):
        name = m.group(1).lower()
        for value in re.findall(r"`([\w\-]+)`", m.group(2)):
            if value not in FIELDS[name]:
                problems.append(f"{m.group(1)} `{value}` (allowed: "
                                f"{', '.join(sorted(FIELDS[name]))})")
    return problems


def test_the_schema_has_fixed_spellings_to_check():
    assert {"type", "scope", "track", "pricing"} <= set(FIELDS)
    assert "total_cost" in FIELDS["scope"] and "ffs" in FIELDS["type"]


def test_a_wrong_spelling_is_found():
    """The check finds the drift of issue 17 (scope written as the old name)."""
    assert wrong_spellings("Scope `primary_care` or\n`total_cost_of_care`.")
    assert wrong_spellings("use `{type: capitation, scope: total_cost_of_care}`")
    assert not wrong_spellings("Scope `primary_care` or `total_cost`; `{type: mssp, "
                               "track: BASIC_E}`")


@pytest.mark.parametrize(("name", "text"), [pytest.param(n, t, id=n) for n, t in documents()])
def test_documented_values_are_spelled_as_the_schema_spells_them(name, text):
    problems = wrong_spellings(text, yaml_comments=name.endswith(".yaml"))
    assert not problems, f"{name}: " + "; ".join(problems)


def yaml_blocks() -> list[tuple[str, str]]:
    out = []
    for f in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = f.read_text(encoding="utf-8")
        for i, block in enumerate(re.findall(r"^```yaml\n(.*?)^```$", text, flags=re.S | re.M)):
            out.append((f"{f.relative_to(REPO)}#{i}", block))
    return out


@pytest.mark.parametrize(("where", "block"), [pytest.param(w, b, id=w) for w, b in
                                               yaml_blocks()])
def test_yaml_examples_validate(where, block):
    data = yaml.safe_load(block)
    assert isinstance(data, dict), where
    if "experiment" in data:
        unknown = set(data["experiment"]) - set(ExperimentSettings.model_fields)
        assert not unknown, f"{where}: experiment keys not in the schema: {unknown}"
    elif set(data) <= set(Scenario.model_fields) | {GROUPS_KEY, "extends"}:
        base = {"extends": str(REPO / "scenarios" / "ffs_baseline.yaml")}
        scenario_from_dict({**base, **data}, where)  # raises naming what is wrong


def cli_examples() -> list[tuple[str, str]]:
    """Every ``vbcsim ...`` command of a bash block in the README and docs (continuation
    lines joined), except synopses with placeholders (``[--seed S]``, ``SCENARIO``)."""
    out = []
    for f in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = f.read_text(encoding="utf-8")
        for block in re.findall(r"^```(?:bash|console)\n(.*?)^```$", text, flags=re.S | re.M):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.removeprefix("$ ").split("  #")[0].strip()
                if not line.startswith("vbcsim ") or "[" in line or "..." in line:
                    continue
                words = line.split()
                if any(w.isupper() and len(w) > 1 and w.isalpha() for w in words):
                    continue
                out.append((str(f.relative_to(REPO)), line))
    return out


@pytest.mark.parametrize(("where", "command"), [pytest.param(w, c, id=f"{w}: {c[:50]}")
                                                 for w, c in cli_examples()])
def test_documented_commands_parse(where, command):
    """The options the docs show exist and take what the docs give them."""
    import shlex

    from sim.cli import build_parser

    try:
        build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit as exc:  # argparse's usage error
        pytest.fail(f"{where}: `{command}` does not parse ({exc})")
