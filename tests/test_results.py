"""Summaries, the readable table and the results directory."""

from __future__ import annotations

import hashlib
import json
import math
import os
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.results import (
    RESULT_COLUMNS,
    ResultsDirError,
    check_results_dir,
    format_number,
    format_summary,
    is_money,
    read_manifest,
    summarise,
    write_results_dir,
)
from sim.scenario import load_scenario


def table(rows):
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


# Two replications, two years, one metric per entity; values chosen to check by hand.
KNOWN = table([
    (0, "s", 1, "population", "payer_spending_usd", 1000.0),
    (0, "s", 2, "population", "payer_spending_usd", 3000.0),   # rep 0 mean over years 2000
    (1, "s", 1, "population", "payer_spending_usd", 5000.0),
    (1, "s", 2, "population", "payer_spending_usd", 7000.0),   # rep 1 mean over years 6000
    (0, "s", 1, "pcg", "margin_usd", 10.0),
    (0, "s", 2, "pcg", "margin_usd", 10.0),
    (1, "s", 1, "pcg", "margin_usd", 20.0),
    (1, "s", 2, "pcg", "margin_usd", 20.0),
])


def test_summarise_mean_over_years_by_hand():
    s = summarise(KNOWN).set_index("metric")
    row = s.loc["payer_spending_usd"]
    assert row["mean"] == 4000.0
    assert row["sd"] == pytest.approx(math.sqrt(2 * 2000.0**2))  # ddof 1 of (2000, 6000)
    assert row["se"] == pytest.approx(row["sd"] / math.sqrt(2))
    assert row["p2.5"] == pytest.approx(2000 + 0.025 * 4000)
    assert row["p97.5"] == pytest.approx(2000 + 0.975 * 4000)
    assert row["n"] == 2
    assert s.loc["margin_usd", "mean"] == 15.0
    assert list(summarise(KNOWN).columns) == [
        "scenario", "entity", "metric", "mean", "sd", "se", "p2.5", "p97.5", "n"]


def test_summarise_by_year():
    s = summarise(KNOWN, over_years="by_year")
    pop = s[s["entity"] == "population"].set_index("year")
    assert list(pop.index) == [1, 2]
    assert pop.loc[1, "mean"] == 3000.0 and pop.loc[2, "mean"] == 5000.0
    assert pop.loc[1, "sd"] == pytest.approx(math.sqrt(2) * 2000)


def test_summarise_keeps_first_appearance_order():
    s = summarise(KNOWN)
    assert list(s["metric"]) == ["payer_spending_usd", "margin_usd"]


def test_summarise_refuses_bad_arguments():
    with pytest.raises(ValueError, match="over_years"):
        summarise(KNOWN, over_years="sum")
    with pytest.raises(ValueError, match="lack column"):
        summarise(KNOWN.drop(columns="entity"))
    with pytest.raises(ValueError, match="by_year"):
        summarise(KNOWN, by=("metric", "year"))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=2, max_size=30))
def test_summarise_matches_numpy(values):
    rows = [(i, "s", 1, "population", "m", v) for i, v in enumerate(values)]
    s = summarise(table(rows)).iloc[0]
    arr = np.array(values)
    assert s["mean"] == pytest.approx(arr.mean(), rel=1e-9, abs=1e-3)
    assert s["sd"] == pytest.approx(arr.std(ddof=1), rel=1e-9, abs=1e-3)
    assert s["p2.5"] == pytest.approx(np.percentile(arr, 2.5), rel=1e-9, abs=1e-3)
    assert s["p97.5"] == pytest.approx(np.percentile(arr, 97.5), rel=1e-9, abs=1e-3)
    assert s["n"] == len(values)


def test_money_and_number_formatting():
    assert is_money("payer_spending_usd") and is_money("spending_pmpm")
    assert not is_money("admissions_per_1000")
    assert format_number(12_345_678.4, money=True) == "12,345,678"
    assert format_number(95.6, money=True) == "96"
    assert format_number(258.33) == "258.3"
    assert format_number(4.1234) == "4.12"
    assert format_number(0.04567) == "0.0457"
    assert format_number(0.0412, like=0.04567) == "0.0412"
    assert format_number(float("nan")) == "n/a"


def test_format_summary_population_first_grouped_with_separators():
    rows = [
        (r, "s", 1, e, m, v + r)
        for r in range(3)
        for e, m, v in [("pcg", "margin_usd", 1_234_567.0),
                        ("population", "payer_spending_usd", 98_765_432.0),
                        ("population", "admissions_per_1000", 258.0)]
    ]
    text = format_summary(summarise(table(rows)), title="Title line")
    lines = text.splitlines()
    assert lines[0] == "Title line"
    assert lines.index("population") < lines.index("pcg")
    pop = text[text.index("population"):text.index("pcg")]
    assert "payer_spending_usd" in pop and "admissions_per_1000" in pop
    assert "98,765,433" in text and "1,234,568" in text
    assert "to" in text and "95% interval" in text


def test_format_summary_by_year_and_empty():
    text = format_summary(summarise(KNOWN, over_years="by_year"))
    assert "year 1" in text and "year 2" in text
    assert format_summary(summarise(KNOWN.iloc[:0])) == "(no results)"


# --------------------------------------------------------------------------- results directory


@pytest.fixture
def written(tmp_path, tiny_scenario):
    out = tmp_path / "out" / "tiny"
    side = {"settlements": pd.DataFrame({"replication": [0, 1], "payment_usd": [1.0, 2.0]})}
    t0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    t1 = datetime(2024, 1, 2, 3, 4, 9, tzinfo=UTC)
    path = write_results_dir(
        out, KNOWN, scenario=tiny_scenario, tables=side, seed=7, workers=2,
        command="vbcsim run tiny.yaml", started_at=t0, finished_at=t1, source="tiny.yaml",
    )
    return path


def test_write_results_dir_writes_every_file(written, tiny_scenario):
    names = sorted(p.name for p in written.iterdir())
    assert names == sorted(["results.parquet", "results.csv", "summary.csv", "scenario.yaml",
                            "settlements.parquet", "manifest.json"])
    pd.testing.assert_frame_equal(pd.read_parquet(written / "results.parquet"), KNOWN,
                                  check_dtype=False)
    csv = pd.read_csv(written / "results.csv")
    assert list(csv.columns) == RESULT_COLUMNS and len(csv) == len(KNOWN)
    assert load_scenario(written / "scenario.yaml") == tiny_scenario
    assert not [p for p in written.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def test_manifest_fields(written):
    m = read_manifest(written)
    for key in ["vbcsim_version", "seed", "replications", "workers", "command", "started_at",
                "finished_at", "python_version", "numpy_version", "simpy_version",
                "scenario_name", "scenario_source", "scenario_sha256"]:
        assert m[key] is not None, key
    assert (m["seed"], m["replications"], m["workers"]) == (7, 2, 2)
    assert m["command"] == "vbcsim run tiny.yaml"
    assert m["started_at"] == "2024-01-02T03:04:05Z"
    assert m["finished_at"] == "2024-01-02T03:04:09Z"
    assert m["duration_seconds"] == 4.0
    assert (m["scenario_name"], m["scenario_source"]) == ("tiny", "tiny.yaml")
    digest = hashlib.sha256((written / "scenario.yaml").read_bytes()).hexdigest()
    assert m["scenario_sha256"] == digest
    assert json.loads((written / "manifest.json").read_text())["format"] == 1


def test_results_dir_gets_ordinary_permissions(written, tmp_path):
    (tmp_path / "plain").mkdir()
    assert written.stat().st_mode == (tmp_path / "plain").stat().st_mode


def test_existing_dir_is_refused_and_left_untouched(written, tiny_scenario):
    before = {p.name: p.read_bytes() for p in written.iterdir()}
    with pytest.raises(ResultsDirError, match="already exists; pass --overwrite"):
        write_results_dir(written, KNOWN.iloc[:2], scenario=tiny_scenario)
    assert {p.name: p.read_bytes() for p in written.iterdir()} == before
    assert sorted(p.name for p in written.parent.iterdir()) == [written.name]


def test_overwrite_replaces_a_results_dir(written, tiny_scenario):
    assert (written / "settlements.parquet").is_file()  # written by the old run only
    write_results_dir(written, KNOWN.iloc[:2], scenario=tiny_scenario, overwrite=True)
    assert len(pd.read_parquet(written / "results.parquet")) == 2
    assert not (written / "settlements.parquet").exists()
    assert sorted(p.name for p in written.parent.iterdir()) == [written.name]


def test_overwrite_refuses_a_results_dir_holding_a_users_files(written, tiny_scenario):
    (written / "notes.txt").write_text("my notes")
    (written / "analysis").mkdir()
    (written / "analysis" / "look.ipynb").write_text("{}")
    before = {p.relative_to(written): p.read_bytes() for p in written.rglob("*") if p.is_file()}
    with pytest.raises(ResultsDirError, match=r"holds files vbcsim did not write \(not listed "
                       r"in its manifest.json\): analysis, analysis/look.ipynb, notes.txt"):
        write_results_dir(written, KNOWN.iloc[:2], scenario=tiny_scenario, overwrite=True)
    after = {p.relative_to(written): p.read_bytes() for p in written.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in written.parent.iterdir()) == [written.name]


def test_overwrite_refuses_a_directory_that_is_not_a_results_dir(tmp_path, tiny_scenario):
    precious = tmp_path / "project"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(ResultsDirError, match="not a vbcsim results directory"):
        write_results_dir(precious, KNOWN, scenario=tiny_scenario, overwrite=True)
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_a_file_in_the_way_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ResultsDirError, match="not a directory"):
        check_results_dir(tmp_path / "f", overwrite=True)
    with pytest.raises(ResultsDirError, match="not a directory"):
        check_results_dir(tmp_path / "f" / "sub")


def test_failed_write_leaves_no_partial_directory(tmp_path, tiny_scenario, monkeypatch):
    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_results_dir(tmp_path / "r", KNOWN, scenario=tiny_scenario)
    assert os.listdir(tmp_path) == []


def test_failed_overwrite_keeps_the_old_results(written, tiny_scenario, monkeypatch):
    before = {p.name: p.read_bytes() for p in written.iterdir()}

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError):
        write_results_dir(written, KNOWN.iloc[:1], scenario=tiny_scenario, overwrite=True)
    assert {p.name: p.read_bytes() for p in written.iterdir()} == before
    assert sorted(p.name for p in written.parent.iterdir()) == [written.name]


@pytest.mark.parametrize("name", ["results", "../evil", "a b", ""])
def test_bad_side_table_names_are_refused(tmp_path, tiny_scenario, name):
    with pytest.raises(ValueError, match="side table name"):
        write_results_dir(tmp_path / "r", KNOWN, scenario=tiny_scenario,
                          tables={name: pd.DataFrame({"a": [1]})})
    assert os.listdir(tmp_path) == []
