"""Sensitivity analysis: tornado and Sobol indices, on a model with a known answer."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import TINY

from sim.cli import main
from sim.replication import ReplicationOutput
from sim.results import RESULT_COLUMNS
from sim.scenario import scenario_from_dict
from sim.sensitivity import SensitivityError, parse_range, sobol, tornado, tornado_figure


def linear_model(scenario, replication, seed_seq):
    """metric = 1000 x admission rate + 10 x mean length of stay (+ no noise)."""
    adm = scenario.clinical.admissions
    value = 1000.0 * adm.rate_per_year + 10.0 * adm.los_mean_days
    rows = [(replication, scenario.name, year, "population", "y", value)
            for year in range(scenario.horizon_years)]
    return ReplicationOutput(pd.DataFrame(rows, columns=RESULT_COLUMNS))


@pytest.fixture
def uncertain():
    return scenario_from_dict({**TINY, "clinical": {"admissions": {
        "rate_per_year": {"dist": "uniform", "low": 0.1, "high": 0.2},
        "los_mean_days": {"dist": "uniform", "low": 4.0, "high": 6.0}}}})


def test_parse_range():
    assert parse_range("a.b") == ("a.b", None, None)
    assert parse_range("a.b=1:2.5") == ("a.b", 1.0, 2.5)
    with pytest.raises(SensitivityError, match="PATH=LOW:HIGH"):
        parse_range("a.b=1")


def test_tornado_by_hand(uncertain):
    table = tornado(uncertain, ["clinical.admissions.rate_per_year",
                                "clinical.admissions.los_mean_days=3:8",
                                "prices.imaging_usd=100:500"],
                    "y", replicate=linear_model, replications=2)
    t = table.set_index("parameter")
    base = 1000 * 0.15 + 10 * 5.0
    assert t["metric_base"].tolist() == pytest.approx([base] * 3)
    rate = t.loc["clinical.admissions.rate_per_year"]
    assert (rate["low_value"], rate["high_value"]) == pytest.approx((0.1025, 0.1975))
    assert rate["swing"] == pytest.approx(1000 * 0.095)
    los = t.loc["clinical.admissions.los_mean_days"]
    assert (los["metric_low"], los["metric_high"]) == pytest.approx((base - 20, base + 30))
    assert t.loc["prices.imaging_usd", "swing"] == 0
    assert list(table["parameter"])[0] == "clinical.admissions.rate_per_year"  # largest first
    fig = tornado_figure(table)
    assert fig.axes[0].get_yticklabels()


def test_tornado_refusals(uncertain):
    with pytest.raises(SensitivityError, match="give a range"):
        tornado(uncertain, ["prices.imaging_usd"], "y", replicate=linear_model)
    with pytest.raises(SensitivityError, match="no field 'nope'"):
        tornado(uncertain, ["prices.nope=1:2"], "y", replicate=linear_model)
    with pytest.raises(SensitivityError, match="no metric 'z'"):
        tornado(uncertain, ["prices.imaging_usd=1:2"], "z", replicate=linear_model,
                replications=1)


def test_sobol_indices_of_a_linear_model(uncertain):
    # Var(1000 x U(.1,.2)) = 100^2/12 ; Var(10 x U(4,6)) = 20^2/12 -> S1 = 100/104, 4/104
    table = sobol(uncertain, 128, "y", replicate=linear_model).set_index("parameter")
    rate, los = table.loc["clinical.admissions.rate_per_year"], table.loc[
        "clinical.admissions.los_mean_days"]
    assert rate["S1"] == pytest.approx(100 / 104, abs=0.05)
    assert rate["ST"] == pytest.approx(100 / 104, abs=0.05)
    assert los["S1"] == pytest.approx(4 / 104, abs=0.03)
    assert list(table.index) == ["clinical.admissions.rate_per_year",
                                 "clinical.admissions.los_mean_days"]
    assert set(table["points"]) == {128 * 4}
    with pytest.raises(SensitivityError, match="power of 2"):
        sobol(uncertain, 100, "y", replicate=linear_model)
    with pytest.raises(SensitivityError, match="none"):
        sobol(scenario_from_dict(dict(TINY)), 8, "y", replicate=linear_model)


def test_sobol_points_run_side_by_side_on_workers(uncertain, monkeypatch):
    """workers=2 runs a one-replication Sobol design on two processes (the cap is one per
    task, not one per replication: that cap made every Sobol serial) with the same indices
    as a serial run; the command passes --workers, else one per CPU."""
    import sim.run_setup
    from sim.executors import available_cpus

    made = []
    choose = sim.run_setup.choose_executor
    monkeypatch.setattr(sim.run_setup, "choose_executor",
                        lambda *a, **k: made.append(choose(*a, **k)) or made[-1])
    serial = sobol(uncertain, 8, "y", replicate=linear_model)
    assert made == []  # no workers, no executor: serial in this process, as before
    parallel = sobol(uncertain, 8, "y", replicate=linear_model, workers=2)
    assert [e.workers for e in made] == [2]
    pd.testing.assert_frame_equal(parallel, serial)

    seen = []
    monkeypatch.setattr("sim.sensitivity.sobol",
                        lambda *a, **k: seen.append(k["workers"]) or serial)
    for extra, want in (([], available_cpus()), (["--workers", "2"], 2)):
        assert main(["sensitivity", "--quiet", "--sobol", "8", "--metric", "spend_total_usd",
                     "ffs_baseline", *extra]) == 0
        assert seen.pop() == want


@pytest.mark.slow
def test_cli_sensitivity(tmp_path, capsys):
    scen = tmp_path / "s.yaml"
    # behaviour fixed: the command's plumbing is under test, not the optimiser
    scen.write_text("name: s\npopulation: {size: 300}\nhorizon_years: 1\nwarmup_years: 0\n"
                    "behavior: fixed\n"
                    "replications: 2\nclinical:\n  admissions:\n"
                    "    rate_per_year: {dist: gamma, mean: 0.15, sd: 0.03}\n"
                    "    los_mean_days: {dist: uniform, low: 4, high: 6}\n")
    code = main(["sensitivity", str(scen), "--metric", "spend_total_usd", "-w", "1", "-q",
                 "--tornado", "clinical.admissions.rate_per_year", "prices.pcp_visit_usd=100:150",
                 "--out", str(tmp_path / "t")])
    out = capsys.readouterr().out
    assert code == 0 and "One-way sensitivity of spend_total_usd" in out
    assert "e+0" not in out and re.search(r"\d,\d{3}", out)  # one number format
    assert {p.name for p in (tmp_path / "t").iterdir()} == {"tornado.csv", "tornado.png",
                                                          "sensitivity.json"}
    code = main(["sensitivity", str(scen), "--metric", "spend_total_usd", "--sobol", "4", "-q",
                 "-w", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "Sobol indices" in out and "ST" in out
    code = main(["sensitivity", str(scen), "--metric", "spend_total_usd", "-q",
                 "--tornado", "prices.pcp_visit_usd"])
    assert code == 2 and "give a range" in capsys.readouterr().err
