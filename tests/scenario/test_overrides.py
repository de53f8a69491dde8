"""Overrides (``--set PATH=VALUE``, ``overrides=``): applied before validation, checked as
the file is, errors naming the override."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.run_setup import run_overrides, scenario_for_run
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict
from sim.scenario.overrides import QUICK, as_overrides, override_texts, parse_override
from sim.scenario.uncertain import uncertainty_of

REPO = Path(__file__).resolve().parents[2]
ACO = REPO / "scenarios" / "aco_enhanced.yaml"


def _refused(path, overrides) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=overrides)
    return info.value


@pytest.mark.parametrize(("text", "path", "value"), [
    ("population.size=2000", "population.size", 2000),
    ("population.size=1e3", "population.size", 1000),  # the loader's exponent rule
    ("behavior=fixed", "behavior", "fixed"),
    ("population.replace_deaths=false", "population.replace_deaths", False),
    ("x.y=[1, 2.5]", "x.y", [1, 2.5]),
    ("a={dist: normal, mean: 1, sd: 0.1}", "a", {"dist": "normal", "mean": 1, "sd": 0.1}),
    ("description=a = b", "description", "a = b"),  # split at the first '='
    ("n=null", "n", None),
])
def test_values_are_read_as_yaml(text, path, value):
    o = parse_override(text)
    assert (o.path, o.value, o.shown) == (path, value, f"--set {text}")


@pytest.mark.parametrize(("text", "expected"), [
    ("population.size", "expected PATH=VALUE"),
    ("=3", "expected PATH=VALUE"),
    ("population..size=3", "no empty parts"),
    ("population.size=", "expected a value after '='"),
    ("population.size=[1", "invalid YAML"),
    ("population.size=a: b", "invalid YAML"),
])
def test_malformed_overrides_are_refused_naming_them(text, expected):
    with pytest.raises(ScenarioError) as info:
        parse_override(text)
    assert str(info.value).startswith(f"--set {text}") and expected in str(info.value)
    assert "line 1" not in str(info.value)


def test_an_override_equals_writing_the_value_in_the_file(tmp_path):
    edited = tmp_path / "aco_enhanced.yaml"
    text = ACO.read_text()
    assert "extends:" in text  # the override applies after extends: is resolved
    edited.write_text(text + "\npopulation:\n  size: 6000\nbehavior: fixed\n")
    for base in ACO.parent.glob("*.yaml"):
        if base.name != edited.name:
            (tmp_path / base.name).write_text(base.read_text())
    from_file = load_scenario(edited)
    overridden = load_scenario(ACO, overrides=["population.size=6000", "behavior=fixed"])
    assert overridden == from_file
    assert overridden.population.size == 6000 and overridden.behavior == "fixed"
    # the other fields of the overridden section keep their (inherited) values
    plain = load_scenario(ACO)
    assert overridden.population.conditions == plain.population.conditions


def test_invalid_values_are_refused_as_in_the_file_naming_the_override():
    err = _refused(ACO, ["population.size=abc"])
    assert str(err) == ("--set population.size=abc: population.size: expected a whole number "
                        "(patients), got the text 'abc'")
    assert (err.file, err.field, err.line) == ("--set population.size=abc", "population.size",
                                               None)
    err = _refused(ACO, {"population.size": 5})
    assert str(err).startswith("overrides['population.size']: population.size: expected a "
                               "whole number >= 10")


def test_several_problems_are_all_reported():
    err = _refused(ACO, ["population.size=abc", "horizon_years=0"])
    assert len(err.errors) == 2
    assert {p.file for p in err.errors} == {"--set population.size=abc", "--set horizon_years=0"}


def test_unknown_fields_are_refused_with_the_nearest_names():
    err = _refused(ACO, ["population.sise=3"])
    assert "unknown field 'sise' in population (did you mean 'size'?)" in str(err)
    assert "valid names here: size, " in str(err)
    err = _refused(ACO, ["replicatons=2"])
    assert "did you mean 'replications'?" in str(err)
    err = _refused(ACO, ["extends=other.yaml"])  # resolved before overrides: not a field
    assert "unknown field 'extends'" in str(err)
    err = _refused(ACO, ["population.size.x=1"])
    assert "population.size is a value (10000), not a section" in str(err)


def test_list_items_by_name_or_index():
    s = load_scenario(ACO, overrides=[
        "providers.primary_care_group.behavior.pass_through=0.3",
        "providers.1.behavior.pass_through=0.25"])
    by_name = {p.name: p for p in s.providers}
    assert by_name["primary_care_group"].behavior.pass_through == 0.3
    assert s.providers[1].behavior.pass_through == 0.25
    err = _refused(ACO, ["providers.primary_care_grp.behavior.pass_through=0.3"])
    assert "no item named or numbered 'primary_care_grp' in providers" in str(err)
    assert "did you mean 'primary_care_group'?" in str(err)
    assert "an index 0 to 4" in str(err)


def test_a_list_not_written_in_the_file_starts_from_its_default(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text("population: {size: 500}\n")
    default = load_scenario(path)
    name = default.providers[0].name
    s = load_scenario(path, overrides=[f"providers.{name}.behavior.pass_through=0.4"])
    assert s.providers[0].behavior.pass_through == 0.4
    assert [p.name for p in s.providers] == [p.name for p in default.providers]
    assert s.providers[1:] == default.providers[1:]


def test_a_distribution_can_be_set_and_is_extracted():
    s = load_scenario(ACO, overrides=[
        "prices.admission_mean_usd={dist: normal, mean: 13000, sd: 500}"])
    params = {p.path: p for p in uncertainty_of(s).parameters}
    assert "prices.admission_mean_usd" in params
    assert s.prices.admission_mean_usd == 13000


def test_dict_input_and_numpy_values():
    s = scenario_from_dict({"population": {"size": 500}},
                           overrides={"population.size": np.int64(700)})
    assert s.population.size == 700 and type(s.population.size) is int
    with pytest.raises(ScenarioError, match="a single text"):
        as_overrides("population.size=3")


def test_quick_comes_first_and_later_overrides_win():
    ovs = run_overrides(["replications=3"], quick=True)
    assert [o.path for o in ovs] == [*QUICK, "replications"]
    s = load_scenario(ACO, overrides=ovs)
    assert (s.population.size, s.replications) == (1000, 3)
    assert override_texts(ovs) == ["population.size=1000", "replications=2",
                                   "attribution.enforce_minimum=False", "replications=3"]


def test_a_scenario_object_is_revalidated_with_its_uncertainty():
    s = load_scenario(ACO, overrides=[
        "prices.admission_mean_usd={dist: gamma, mean: 13000, sd: 900}"])
    before = uncertainty_of(s)
    assert before.parameters
    out = scenario_for_run(s, run_overrides({"population.size": 5500}))
    assert out.population.size == 5500
    assert uncertainty_of(out).parameters == before.parameters
    assert scenario_for_run(s, []) is s
    with pytest.raises(ScenarioError, match=r"overrides\['seed'\]: seed: expected"):
        scenario_for_run(s, run_overrides({"seed": -1}))
