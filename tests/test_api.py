"""The notebook API: sim.load_scenario, sim.run, sim.compare and the results object."""

from __future__ import annotations

import pandas as pd
from conftest import TINY_YAML, fake_replicate

import sim


def test_public_names_are_functions_even_after_submodules_are_imported():
    import sim.comparison  # noqa: F401
    import sim.risk  # noqa: F401

    assert callable(sim.compare) and sim.compare.__module__ == "sim.runner"
    assert callable(sim.run) and callable(sim.load_scenario)
    for name in sim.__all__:
        assert getattr(sim, name) is not None


def test_run_and_compare_return_results_objects(tmp_path):
    (tmp_path / "a.yaml").write_text(TINY_YAML.replace("name: tiny", "name: a"))
    (tmp_path / "b.yaml").write_text(TINY_YAML.replace("name: tiny", "name: b"))
    scenario = sim.load_scenario(tmp_path / "a.yaml")
    one = sim.run(scenario, replicate=fake_replicate, workers=1)
    assert list(one.summary(percentiles=(50,)).columns)[-1] == "p50"
    assert set(one.risk()["entity"]) == {"primary_care_group"}
    both = sim.compare([tmp_path / "a.yaml", tmp_path / "b.yaml"], replicate=fake_replicate,
                       workers=1, replications=3)
    assert repr(both).startswith("RunResult(scenarios=['a', 'b']")
    comparison = both.compare()
    inc = comparison.incremental
    assert set(inc["scenario"]) == {"b"} and set(inc["reference"]) == {"a"}
    assert len(both.precision()) == 10
    path = both.to_parquet(tmp_path / "results.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), both.results)


def test_overrides_and_quick_in_the_api(tmp_path):
    import json

    import pytest

    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML)
    r = sim.run(path, overrides={"population.size": 400, "horizon_years": 3},
                replicate=fake_replicate, workers=1)
    assert (r.scenario.population.size, r.scenario.horizon_years) == (400, 3)
    assert r.overrides == ("population.size=400", "horizon_years=3") and not r.quick
    assert sorted(r.results["year"].unique()) == [0, 1, 2]
    # a Scenario object takes overrides too; quick=True is --quick, marked in the title
    scenario = sim.load_scenario(path)
    q = sim.run(scenario, quick=True, replicate=fake_replicate, workers=1)
    assert (q.scenario.population.size, q.replications) == (1000, 2) and q.quick
    assert q.title().startswith("QUICK LOOK")
    manifest = json.loads((q.to_dir(tmp_path / "q") / "manifest.json").read_text())
    assert manifest["quick"] is True
    assert manifest["overrides"] == ["population.size=1000", "replications=2",
                                     "attribution.enforce_minimum=False"]
    both = sim.compare([path, scenario.model_copy(update={"name": "other"})],
                       overrides=["population.size=500"], replicate=fake_replicate, workers=1)
    assert {s.population.size for s in both.scenarios} == {500}
    with pytest.raises(sim.ScenarioError, match=r"overrides\['population.size'\]: "
                       r"population.size: expected a whole number"):
        sim.run(path, overrides={"population.size": "many"}, replicate=fake_replicate)
    # no overrides: the scenario object itself runs (results unchanged)
    plain = sim.run(scenario, replicate=fake_replicate, workers=1)
    pd.testing.assert_frame_equal(plain.results,
                                  sim.run(path, replicate=fake_replicate, workers=1).results)


def test_a_shipped_scenario_by_name_from_anywhere(tmp_path, monkeypatch):
    import pytest

    monkeypatch.chdir(tmp_path)  # not the checkout: found in the scenario library
    scenario = sim.load_scenario("ffs_baseline")
    assert scenario.name == "ffs_baseline" and scenario.plan  # extends resolved there
    result = sim.run("ffs_baseline", replications=1, workers=1, progress=False,
                     overrides={"population.size": 300, "horizon_years": 1},
                     replicate=fake_replicate)
    assert set(result.results["scenario"]) == {"ffs_baseline"}
    with pytest.raises(sim.ScenarioError, match=r"file not found \(looked for .*did you mean "
                       "'ffs_baseline'"):
        sim.load_scenario("ffs_basline")
