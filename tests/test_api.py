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
