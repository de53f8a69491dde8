"""Loading scenario files: extends, defaults, strict values, errors and the resolved dump."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml

from sim.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    resolve_scenario_dict,
    resolved_yaml,
    scenario_from_dict,
)

GOOD = Path(__file__).parent / "good"
BROKEN = Path(__file__).parent / "broken"


# --------------------------------------------------------------------------- defaults


@pytest.mark.parametrize("name", ["empty.yaml", "comments_only.yaml"])
def test_empty_file_is_the_all_default_scenario(name: str) -> None:
    scenario = load_scenario(GOOD / name)
    assert scenario == Scenario(name=Path(name).stem)


def test_name_defaults_to_file_stem(tmp_path: Path) -> None:
    (tmp_path / "ffs to aco.yml").write_text("horizon_years: 2\n")
    assert load_scenario(tmp_path / "ffs to aco.yml").name == "ffs_to_aco"
    assert load_scenario(GOOD / "base.yaml").name == "base_plan"


# --------------------------------------------------------------------------- extends


def test_extends_overrides_only_the_nested_fields_given() -> None:
    base = load_scenario(GOOD / "base.yaml")
    child = load_scenario(GOOD / "override_nested.yaml")
    assert child.population.conditions.diabetes.prevalence == 0.35
    assert child.population.conditions.diabetes.morbidity_loading == 0.5  # from base
    assert child.population.conditions.copd == base.population.conditions.copd
    assert child.population.size == 2000
    assert child.prices == base.prices
    assert child.providers == base.providers
    assert child.name == "override_nested"  # the name is not inherited
    assert child.description == base.description


def test_extends_replaces_lists_wholesale() -> None:
    child = load_scenario(GOOD / "replace_list.yaml")
    assert [p.name for p in child.providers] == ["single_group"]
    assert child.population.size == 2000


def test_three_level_chain() -> None:
    s = load_scenario(GOOD / "level3.yaml")
    assert (s.horizon_years, s.replications) == (4, 7)
    assert s.prices.pcp_visit_usd == 130  # level2
    assert s.prices.imaging_usd == 350  # level3 over base
    assert s.population.conditions.diabetes.prevalence == 0.30  # base


def test_list_of_bases_applied_in_order() -> None:
    s = load_scenario(GOOD / "multi_extends.yaml")
    assert s.prices.pcp_visit_usd == 200  # second base over the first
    assert s.prices.lab_test_usd == 25  # own value over both
    assert s.prices.imaging_usd == 300  # first base
    assert s.horizon_years == 6


def test_relative_base_path_from_the_extending_files_directory(monkeypatch) -> None:
    monkeypatch.chdir(BROKEN)  # a directory without base.yaml
    s = load_scenario(GOOD / "sub" / "relative.yaml")
    assert s.seed == 42
    assert s.population.size == 2000


def test_resolve_scenario_dict_shows_the_merge() -> None:
    data = resolve_scenario_dict(GOOD / "level3.yaml")
    assert "extends" not in data
    assert data["prices"] == {"pcp_visit_usd": 130, "imaging_usd": 350}
    assert data["name"] == "level3"


def test_error_in_base_value_overridden_elsewhere_keeps_base_line(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("prices:\n  lab_test_usd: -3\n  imaging_usd: 300\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nprices:\n  imaging_usd: -1\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "child.yaml")
    where = {(Path(p.file).name, p.field, p.line) for p in info.value.errors}
    assert where == {("base.yaml", "prices.lab_test_usd", 2),
                     ("child.yaml", "prices.imaging_usd", 3)}


def test_overriding_a_bad_base_value_fixes_it(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("prices:\n  lab_test_usd: -3\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nprices:\n  lab_test_usd: 3\n")
    assert load_scenario(tmp_path / "child.yaml").prices.lab_test_usd == 3


def test_replaced_list_reports_the_overriding_file(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "providers:\n  - {name: a, kind: primary_care, panel_share: 1.0}\n")
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\nproviders:\n  - {name: a, kind: primary_care, panel_share: 1.0}\n"
        "  - {name: b, kind: hospital, panel_share: 2}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "child.yaml")
    assert (Path(info.value.file).name, info.value.field, info.value.line) == (
        "child.yaml", "providers.1.panel_share", 4)


def test_diamond_extends_is_not_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "root.yaml").write_text("seed: 1\n")
    (tmp_path / "a.yaml").write_text("extends: root.yaml\nhorizon_years: 2\n")
    (tmp_path / "b.yaml").write_text("extends: root.yaml\nreplications: 3\n")
    (tmp_path / "top.yaml").write_text("extends: [a.yaml, b.yaml]\n")
    s = load_scenario(tmp_path / "top.yaml")
    assert (s.seed, s.horizon_years, s.replications) == (1, 2, 3)


def test_self_extends_is_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "me.yaml").write_text("extends: me.yaml\n")
    with pytest.raises(ScenarioError, match="extends cycle"):
        load_scenario(tmp_path / "me.yaml")


def test_base_must_be_a_yaml_file(tmp_path: Path) -> None:
    (tmp_path / "base.json").write_text("{}")
    (tmp_path / "child.yaml").write_text("extends: base.json\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "child.yaml")
    assert (info.value.field, info.value.line) == ("extends", 1)
    assert ".yaml or .yml" in str(info.value)


# --------------------------------------------------------------------------- files


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "nope.yaml")
    assert info.value.file.endswith("nope.yaml")
    assert "file not found" in str(info.value)


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)


@pytest.mark.parametrize("name", ["scenario.json", "scenario.txt", "scenario"])
def test_other_suffixes_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("horizon_years: 2\n")
    with pytest.raises(ScenarioError, match=r"expected a \.yaml or \.yml file"):
        load_scenario(tmp_path / name)


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes("description: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match="expected UTF-8 text"):
        load_scenario(tmp_path / "latin1.yaml")


def test_unsafe_yaml_tags_are_refused(tmp_path: Path) -> None:
    (tmp_path / "evil.yaml").write_text("description: !!python/object/apply:os.system [ls]\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "evil.yaml")
    assert (info.value.line, info.value.field) == (1, "description")
    assert "unsupported YAML tag" in str(info.value)
    (tmp_path / "evil2.yaml").write_text("seed: !!python/name:os.system\n")
    with pytest.raises(ScenarioError, match="invalid YAML.*python/name"):
        load_scenario(tmp_path / "evil2.yaml")


# --------------------------------------------------------------------------- values


def test_exponent_notation_and_anchors() -> None:
    s = load_scenario(GOOD / "anchors.yaml")
    assert s.population.size == 12_000
    assert s.prices.admission_mean_usd == 13_500.0
    assert s.providers[1].levers.prevention_effort == 0.6
    assert s.providers[1].levers.coding_intensity == 0.3


def test_whole_numbers_are_accepted_for_real_fields() -> None:
    s = scenario_from_dict({"prices": {"pcp_visit_usd": 100}})
    assert s.prices.pcp_visit_usd == 100.0
    assert isinstance(s.prices.pcp_visit_usd, float)


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"prices": {"pcp_visit_usd": "100"}}, "prices.pcp_visit_usd", "write numbers without"),
        ({"prices": {"pcp_visit_usd": True}}, "prices.pcp_visit_usd", "got true"),
        ({"horizon_years": 2.0}, "horizon_years", "without a decimal point"),
        ({"horizon_years": "5"}, "horizon_years", "expected a whole number"),
        ({"population": {"replace_deaths": "yes please"}}, "population.replace_deaths",
         "expected true or false"),
        ({"description": 12}, "description", "expected text, got 12 (put it in quotes"),
        ({"name": False}, "name", "expected text, got false"),
        ({"prices": {"imaging_usd": float("inf")}}, "prices.imaging_usd", "finite"),
        ({"providers": []}, "providers", "at least 1 item"),
    ],
)
def test_strict_values(data: dict, field: str, text: str) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, source="inline")
    assert info.value.field == field
    assert info.value.file == "inline"
    assert text in str(info.value)


def test_all_errors_are_reported_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("prices:\n  lab_test_usd: -1\nhorizon_years: 0\nbogus: 1\n"
                    "population:\n  female_share: 2\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    assert [(p.field, p.line) for p in err.errors] == [
        ("prices.lab_test_usd", 2), ("horizon_years", 3), ("bogus", 4),
        ("population.female_share", 6)]
    assert (err.field, err.line, err.file) == ("prices.lab_test_usd", 2, str(path))
    assert len(str(err).splitlines()) == 5


def test_scenario_error_pickles() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"seed": -1, "horizon_years": 0})
    copy = pickle.loads(pickle.dumps(info.value))
    assert str(copy) == str(info.value)
    assert copy.errors == info.value.errors
    single = pickle.loads(pickle.dumps(ScenarioError("f.yaml", "seed", "bad", 3)))
    assert (single.file, single.field, single.expected, single.line) == ("f.yaml", "seed",
                                                                         "bad", 3)


# --------------------------------------------------------------------------- dict input


def test_scenario_from_dict_accepts_numpy_scalars() -> None:
    np = pytest.importorskip("numpy")
    s = scenario_from_dict({"population": {"size": np.int64(500),
                                           "female_share": np.float64(0.5)}})
    assert s.population.size == 500
    assert type(s.population.size) is int


def test_scenario_from_dict_extends_relative_to_base_dir() -> None:
    s = scenario_from_dict({"extends": "base.yaml", "seed": 3}, base_dir=GOOD)
    assert (s.seed, s.population.size, s.name) == (3, 2000, Scenario().name)


def test_scenario_from_dict_refuses_non_mapping() -> None:
    with pytest.raises(ScenarioError, match="expected a mapping"):
        scenario_from_dict([1, 2])  # type: ignore[arg-type]


def test_scenario_from_dict_does_not_mutate_its_input() -> None:
    data = {"extends": "base.yaml", "prices": {"lab_test_usd": 1}}
    scenario_from_dict(data, base_dir=GOOD)
    assert data == {"extends": "base.yaml", "prices": {"lab_test_usd": 1}}


# --------------------------------------------------------------------------- resolved dump


@pytest.mark.parametrize("name", ["empty.yaml", "level3.yaml", "anchors.yaml"])
def test_resolved_yaml_round_trips(tmp_path: Path, name: str) -> None:
    scenario = load_scenario(GOOD / name)
    text = resolved_yaml(scenario)
    assert text.startswith("#")
    out = tmp_path / "resolved.yaml"
    out.write_text(text, encoding="utf-8")
    assert load_scenario(out) == scenario
    assert scenario_from_dict(yaml.safe_load(text)) == scenario


def test_resolved_yaml_lists_every_field() -> None:
    data = yaml.safe_load(resolved_yaml(Scenario()))
    assert set(data) == set(Scenario.model_fields)
    assert set(data["prices"]) == set(type(Scenario().prices).model_fields)


# --------------------------------------------------------------------------- schema shapes


def test_errors_inside_unions_name_the_data_path(monkeypatch) -> None:
    # Contracts will be unions selected by `type:`; union labels must not leak into paths.
    from typing import Annotated, Literal

    from pydantic import Field

    from sim.fields import StrictModel, param
    from sim.scenario import loader

    class Ffs(StrictModel):
        type: Literal["ffs"]
        bonus_pct: float = param(0.0, unit="percent", source="x", description="d", ge=0, le=9)

    class Aco(StrictModel):
        type: Literal["aco"]
        sharing_rate: float = param(0.5, unit="share 0-1", source="x", description="d", ge=0,
                                    le=1)

    class Top(StrictModel):
        plan: list[Annotated[Ffs | Aco, Field(discriminator="type")]] = []

    monkeypatch.setattr(loader, "Scenario", Top)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"plan": [{"type": "ffs"}, {"type": "aco", "sharing_rate": 2,
                                                       "sharing": 1}]})
    assert [(p.field, p.expected) for p in info.value.errors] == [
        ("plan.1.sharing_rate", "expected a number <= 1 (share 0-1), got 2"),
        ("plan.1.sharing", "unknown key 'sharing' (did you mean 'sharing_rate'?); valid keys "
                           "here: type, sharing_rate"),
    ]
