"""Fuzz the scenario loader (issue 18): whatever bytes a scenario file holds, loading it either
gives a validated Scenario or a ScenarioError that names the file — never another exception.

Two layers are fuzzed with hypothesis, each bounded in examples and time so the suite stays
fast: raw text (YAML syntax, tags, anchors, control characters) and mutations of a shipped
scenario's mapping (values of the wrong type, out-of-range numbers, unknown keys, deleted keys),
which reach the schema's validators rather than stopping at the YAML parser.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.scenario import ScenarioError, load_scenario
from sim.scenario.schema import Scenario

REPO = Path(__file__).resolve().parents[2]
BASE = yaml.safe_load((REPO / "scenarios" / "ffs_baseline.yaml").read_text())
BASE.pop("extends", None)

FUZZ = settings(max_examples=250, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

_YAML_BITS = st.sampled_from([
    "a: 1\n", "- x\n", "&a [1, 2]\n", "*a\n", "!!python/object:os.system 'id'\n", "{", "}",
    "[", "]", ": ", "? ", "extends: nowhere.yaml\n", "name: '..'\n", "population:\n  size: ",
    "1e999999\n", "-1\n", "nan\n", ".inf\n", "\x00", "\t", "%YAML 1.1\n", "--- \n", "<<: *a\n",
    "population: {size: 100}\n", "plan: []\n", "'unterminated\n",
])

_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.lists(st.integers(min_value=-3, max_value=3), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(value, prefix=()):
    """Every key path of a nested mapping/list (the places a mutation can hit)."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (i,))
    return out


PATHS = _paths(BASE)


def _load_or_error(path: Path) -> None:
    try:
        result = load_scenario(path)
    except ScenarioError as exc:
        assert path.name in str(exc), f"error does not name the file: {exc}"
    else:
        assert isinstance(result, Scenario)


@FUZZ
@given(text=st.lists(st.one_of(_YAML_BITS, st.text(max_size=20)), max_size=12).map("".join))
def test_any_text_loads_or_gives_a_scenario_error_naming_the_file(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _load_or_error(path)


@FUZZ
@given(data=st.data())
def test_mutated_scenarios_load_or_give_a_scenario_error_naming_the_file(tmp_path_factory, data):
    doc = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        where = data.draw(st.sampled_from(PATHS))
        parent = doc
        try:
            for key in where[:-1]:
                parent = parent[key]
            action = data.draw(st.sampled_from(["replace", "delete", "unknown"]))
            if action == "replace":
                parent[where[-1]] = data.draw(_VALUES)
            elif action == "delete" and isinstance(parent, dict):
                del parent[where[-1]]
            elif isinstance(parent, dict):
                parent["fuzz_unknown_key"] = data.draw(_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    path = tmp_path_factory.mktemp("fuzz") / "mutated.yaml"
    try:
        text = yaml.safe_dump(doc, allow_unicode=True)
    except yaml.YAMLError:
        pytest.skip("not representable as YAML")
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _load_or_error(path)


def test_the_unmutated_base_loads():
    """The fuzz base is a valid scenario (so mutations start from a real one)."""
    path = REPO / "scenarios" / "ffs_baseline.yaml"
    assert isinstance(load_scenario(path), Scenario)
