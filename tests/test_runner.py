"""The runner: seeds, executors, ordering, determinism across workers."""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import pandas as pd
import pytest
from conftest import (
    TINY,
    fake_replicate,
    fake_replicate_failing,
    fake_replicate_reversed,
)

from sim.replication import ReplicationOutput
from sim.results import RESULT_COLUMNS, RESULT_DTYPES, PartOutput, combine_parts
from sim.rng import replication_seeds
from sim.run_result import RunResult
from sim.run_setup import OverrideError, apply_overrides, resolve_workers
from sim.runner import ReplicationError, run
from sim.scenario import scenario_from_dict


def assert_same_run(a: RunResult, b: RunResult) -> None:
    pd.testing.assert_frame_equal(a.results, b.results)
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])


def test_defaults_come_from_the_scenario(tiny_scenario):
    result = run(tiny_scenario, replicate=fake_replicate, workers=1, progress=False)
    assert result.seed == 7
    assert result.replications == 2
    assert list(result.results.columns) == RESULT_COLUMNS
    assert sorted(result.results["replication"].unique()) == [0, 1]
    assert sorted(result.results["year"].unique()) == [0, 1]
    assert result.results["value"].dtype == np.float64
    assert list(result.tables) == ["settlements"]
    assert result.started_at <= result.finished_at


def test_overrides_are_recorded_in_the_scenario(tiny_scenario):
    result = run(tiny_scenario, replications=3, seed=11, replicate=fake_replicate, workers=1)
    assert (result.replications, result.seed) == (3, 11)
    assert (result.scenario.replications, result.scenario.seed) == (3, 11)
    assert tiny_scenario.replications == 2  # the input is not changed


def test_each_replication_gets_its_spawned_child_seed(tiny_scenario):
    seen = []

    def spy(scenario, replication, seed_seq):
        seen.append((replication, seed_seq.entropy, seed_seq.spawn_key))
        return fake_replicate(scenario, replication, seed_seq)

    run(tiny_scenario, replications=3, seed=5, replicate=spy, workers=1)
    expected = [(i, s.entropy, s.spawn_key) for i, s in enumerate(replication_seeds(5, 3))]
    assert seen == expected


def test_same_seed_same_results_different_seed_different(tiny_scenario):
    a = run(tiny_scenario, replicate=fake_replicate, workers=1)
    b = run(tiny_scenario, replicate=fake_replicate, workers=1)
    c = run(tiny_scenario, seed=8, replicate=fake_replicate, workers=1)
    assert_same_run(a, b)
    assert not np.allclose(a.results["value"], c.results["value"])


def test_first_replications_do_not_depend_on_how_many_are_run(tiny_scenario):
    two = run(tiny_scenario, replications=2, replicate=fake_replicate, workers=1)
    four = run(tiny_scenario, replications=4, replicate=fake_replicate, workers=1)
    head = four.results[four.results["replication"] < 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(two.results, head)


def test_workers_1_and_2_give_identical_tables_whatever_the_completion_order(tiny_scenario):
    # The fake is pickled by reference for the worker processes.
    assert pickle.loads(pickle.dumps(fake_replicate_reversed)) is fake_replicate_reversed
    serial = run(tiny_scenario, replications=4, replicate=fake_replicate_reversed, workers=1)
    parallel = run(tiny_scenario, replications=4, replicate=fake_replicate_reversed, workers=2)
    assert parallel.workers == 2
    assert_same_run(serial, parallel)
    assert list(parallel.results["replication"].unique()) == [0, 1, 2, 3]


def test_a_failing_replication_names_itself(tiny_scenario):
    with pytest.raises(ReplicationError, match="replication 1 failed: ValueError: boom"):
        run(tiny_scenario, replications=3, replicate=fake_replicate_failing, workers=1)


def test_a_failing_replication_in_a_worker_process_names_itself(tiny_scenario):
    with pytest.raises(ReplicationError, match="replication 1 failed: ValueError: boom"):
        run(tiny_scenario, replications=3, replicate=fake_replicate_failing, workers=2)


def test_unpicklable_replicate_with_workers_is_refused_clearly(tiny_scenario):
    with pytest.raises(TypeError, match="picklable"):
        run(tiny_scenario, replicate=lambda s, i, q: fake_replicate(s, i, q), workers=2)


def test_output_without_result_columns_is_refused(tiny_scenario):
    def bad(scenario, replication, seed_seq):
        return ReplicationOutput(results=pd.DataFrame({"value": [1.0]}))

    with pytest.raises(ReplicationError, match=r"replication 0 failed: results lack"):
        run(tiny_scenario, replicate=bad, workers=1)


def test_run_accepts_a_scenario_path_and_records_it(tiny_yaml):
    result = run(tiny_yaml, replicate=fake_replicate, workers=1)
    assert result.source == str(tiny_yaml)
    assert result.scenario.name == "tiny"


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"replications": 0}, "replications"),
        ({"replications": -1}, "replications"),
        ({"replications": 2.5}, "replications"),
        ({"replications": 10**9}, "replications"),  # above the schema's bound
        ({"seed": -1}, "seed"),
        ({"workers": 0}, "workers"),
        ({"workers": True}, "workers"),
    ],
)
def test_bad_run_settings_are_refused_before_anything_runs(tiny_scenario, kwargs, name):
    calls = []

    def spy(*args):
        calls.append(args)
        return fake_replicate(*args)

    with pytest.raises(OverrideError) as info:
        run(tiny_scenario, replicate=spy, **kwargs)
    assert info.value.name == name
    assert calls == []


def test_apply_overrides_without_changes_returns_the_same_scenario(tiny_scenario):
    assert apply_overrides(tiny_scenario) is tiny_scenario


def test_workers_default_to_cpus_but_never_more_than_replications(monkeypatch):
    import sim.run_setup

    monkeypatch.setattr(sim.run_setup, "available_cpus", lambda: 8)
    assert resolve_workers(None, 3) == 3
    assert resolve_workers(None, 20) == 8
    assert resolve_workers(16, 4) == 4


def test_combine_adds_replication_and_scenario_columns_to_side_tables_without_them():
    def out(i, name):
        res = pd.DataFrame([(i, name, 1, "population", "m", 1.0)], columns=RESULT_COLUMNS)
        return PartOutput(res, {"claims": pd.DataFrame({"amount_usd": [10.0 * i]})})

    parts = [(0, "a", out(0, "a")), (3, "b", out(3, "b"))]
    results, tables, draws = combine_parts(parts, several=True)
    assert list(tables["claims"].columns) == ["replication", "scenario", "amount_usd"]
    assert list(tables["claims"]["replication"]) == [0, 3]
    assert list(tables["claims"]["scenario"]) == ["a", "b"]
    assert list(results["replication"]) == [0, 3]
    assert dict(results.dtypes.astype(str)) == RESULT_DTYPES and len(draws) == 0
    _, one, _ = combine_parts(parts[:1])  # one scenario: no scenario column is added
    assert list(one["claims"].columns) == ["replication", "amount_usd"]


def test_combine_in_chunks_gives_the_tables_of_one_concatenation(monkeypatch):
    """Parts are concatenated CHUNK_PARTS at a time (a results directory is combined without
    holding every part): the same tables as one concatenation, for any chunk size, with a
    side table in some parts only, a column whose type differs between parts (integers in
    some, floats in others) and parts given as an iterator."""
    import sim.results.combine as combine

    def out(i: int) -> PartOutput:
        res = pd.DataFrame([(i, "s", y, "population", "m", float(i * 10 + y)) for y in range(3)],
                           columns=RESULT_COLUMNS)
        tables = {"flows": pd.DataFrame({"amount": [i] if i % 3 else [i + 0.5]})}
        if i % 2:
            tables["odd"] = pd.DataFrame({"replication": [i], "note": [f"part {i}"]})
        return PartOutput(res, tables)

    parts = [(i, "s", out(i)) for i in range(7)]
    monkeypatch.setattr(combine, "CHUNK_PARTS", 10**6)
    want = combine_parts(parts)
    for chunk in (1, 2, 3):
        monkeypatch.setattr(combine, "CHUNK_PARTS", chunk)
        got = combine_parts(iter(parts))
        pd.testing.assert_frame_equal(got[0], want[0])
        assert list(got[1]) == list(want[1]) == ["flows", "odd"]
        for name in want[1]:
            pd.testing.assert_frame_equal(got[1][name], want[1][name])
        pd.testing.assert_frame_equal(got[2], want[2])
    assert list(want[1]["flows"]["amount"]) == [0.5, 1, 2, 3.5, 4, 5, 6.5]


def test_a_run_with_a_results_directory_keeps_no_replication_in_memory(tiny_scenario,
                                                                       tmp_path, monkeypatch):
    """With out=, each finished replication goes to its part on disk and none is kept while
    the run goes on (memory flat in the replications); the result, read back part by part,
    equals the run kept in memory."""
    import sim.runner

    held = []
    execute = sim.runner._execute

    def spy(*args, **kwargs):
        outputs = execute(*args, **kwargs)
        held.append(sum(o is not None for o in outputs))
        return outputs

    monkeypatch.setattr(sim.runner, "_execute", spy)
    on_disk = run(tiny_scenario, replicate=fake_replicate, replications=5, workers=1,
                  progress=False, out=tmp_path / "r")
    assert held == [0]
    in_memory = run(tiny_scenario, replicate=fake_replicate, replications=5, workers=1,
                    progress=False)
    assert held == [0, 5]
    assert_same_run(on_disk, in_memory)


def test_summary_and_repr(tiny_scenario):
    result = run(tiny_scenario, replicate=fake_replicate, workers=1)
    summary = result.summary()
    assert len(summary) == 5 and set(summary["n"]) == {2}
    assert "tiny" in repr(result) and "rows=20" in repr(result)
    assert "payer_spending_usd" in result.format_summary()


def test_progress_bar_is_off_when_not_on_a_terminal(tiny_scenario, capsys):
    run(tiny_scenario, replicate=fake_replicate, workers=1)  # stderr is captured: no TTY
    assert capsys.readouterr().err == ""


def test_progress_bar_forced_on_counts_replications(tiny_scenario, monkeypatch):
    import sim.runner

    updates = []

    class Bar:
        def finished(self, n=1):
            updates.append(n)

        def year_closed(self, closed, of):  # the fake replication reports no years
            updates.append((closed, of))

        def tick(self):
            pass

        def close(self):
            updates.append("closed")

    def fake_bar(total, *, desc, enabled, done, lanes):
        assert (total, desc, enabled, done, lanes) == (3, "tiny", True, 0, 1)
        return Bar()

    monkeypatch.setattr(sim.runner, "progress_bar", fake_bar)
    run(tiny_scenario, replications=3, replicate=fake_replicate, workers=1, progress=True)
    assert updates == [1, 1, 1, "closed"]


def test_one_worker_reports_the_simulated_years_to_the_bar(monkeypatch):
    """In this process the bar hears each closed year of the running replication; the
    results are those of a run without a bar."""
    import sim.runner

    heard = []

    class Bar:
        def finished(self, n=1):
            heard.append("finished")

        def year_closed(self, closed, of):
            heard.append((closed, of))

        def tick(self):
            pass

        def close(self):
            pass

    monkeypatch.setattr(sim.runner, "progress_bar", lambda *a, **k: Bar())
    scenario = scenario_from_dict(dict(TINY), "<tiny>")
    with_bar = run(scenario, replications=1, workers=1, progress=True)
    years = scenario.warmup_years + scenario.horizon_years
    assert heard == [(k, years) for k in range(1, years + 1)] + ["finished"]
    monkeypatch.undo()
    assert_same_run(with_bar, run(scenario, replications=1, workers=1, progress=False))


# --------------------------------------------------------------------------- real model


def test_real_model_identical_with_one_and_two_workers():
    scenario = scenario_from_dict(dict(TINY), "<tiny>")
    serial = run(scenario, workers=1, progress=False)
    parallel = run(scenario, workers=2, progress=False)
    assert_same_run(serial, parallel)
    assert list(serial.results.columns[:6]) == RESULT_COLUMNS
    assert set(serial.results["replication"]) == {0, 1}
    assert serial.results["year"].nunique() == 2  # horizon_years
    assert "population" in set(serial.results["entity"])
    assert serial.results["value"].notna().any()


def test_progress_bar_in_a_notebook_is_a_widget_only_with_ipywidgets(monkeypatch):
    """In a Jupyter kernel the bar is a widget when ipywidgets is there, else tqdm's text bar
    (``tqdm.auto`` would pick the widget bar and warn "IProgress not found")."""
    import io

    from tqdm.notebook import tqdm as notebook_bar
    from tqdm.std import tqdm as text_bar

    import sim.progress

    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert sim.progress.progress_enabled(None, io.StringIO())
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # importing it fails
    assert sim.progress._bar_class() is text_bar
    monkeypatch.setitem(sys.modules, "ipywidgets", types.ModuleType("ipywidgets"))
    assert sim.progress._bar_class() is notebook_bar
