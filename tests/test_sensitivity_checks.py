"""Sensitivity analyses check their ranges, metric and entity before anything runs
(issue 18, item 5)."""

from __future__ import annotations

import numpy as np
import pytest

import sim.runner
from sim.cli import main
from sim.replication import simulate_replication
from sim.scenario import scenario_from_dict
from sim.sensitivity import SensitivityError, known_outputs, sobol, tornado

SMALL = {"name": "s", "population": {"size": 300}, "horizon_years": 1, "warmup_years": 0,
         "replications": 1}


@pytest.fixture
def nothing_runs(monkeypatch):
    """Fail the test if any task is executed."""
    def refuse(*args, **kwargs):
        raise AssertionError("a simulation ran before the check")

    monkeypatch.setattr(sim.runner, "execute_tasks", refuse)


@pytest.fixture
def scenario():
    return scenario_from_dict(dict(SMALL))


@pytest.mark.parametrize(("metric", "entity", "message"), [
    ("spend_totl_usd", "population", "--metric 'spend_totl_usd': not a metric of entity "
                                     "'population'; expected one of person_years"),
    ("margin_usd", "population", "'margin_usd' is written for primary_care_group, "),
    ("margin_usd", "primary_care_grp", "--entity 'primary_care_grp': not an entity of scenario "
                                       "'s'; expected one of population, primary_care_group"),
    ("spend_total_usd", "medicare", "not a metric of entity 'medicare' ('spend_total_usd' is "
                                    "written for population: set --entity); expected one of "
                                    "payer_spend_usd"),
])
def test_unknown_metric_or_entity_is_refused_before_running(scenario, nothing_runs, metric,
                                                            entity, message):
    with pytest.raises(SensitivityError) as info:
        tornado(scenario, ["prices.pcp_visit_usd=100:150"], metric, entity=entity)
    assert message in str(info.value)


def test_sobol_checks_the_metric_first(scenario, nothing_runs):
    with pytest.raises(SensitivityError, match="--metric 'nope'"):
        sobol(scenario, 8, "nope")


@pytest.mark.parametrize(("item", "message"), [
    ("prices.pcp_visit_usd=nan:150", "must be two finite numbers"),
    ("prices.pcp_visit_usd=100:inf", "must be two finite numbers"),
    ("prices.pcp_visit_usd=150:100", "expected LOW < HIGH, got 150:100"),
    ("prices.pcp_visit_usd=100:100", "expected LOW < HIGH, got 100:100"),
    ("lever_effects.prevention_acsc_rr=0.5:2", "HIGH = 2 gives an invalid scenario"),
    ("prices.pcp_visit_usd=-5:100", "LOW = -5 gives an invalid scenario"),
    ("prices.no_such_price=1:2", "no field 'no_such_price'"),
])
def test_bad_ranges_are_refused_before_running(scenario, nothing_runs, item, message):
    with pytest.raises(SensitivityError, match=message.replace("(", r"\(")):
        tornado(scenario, [item], "spend_total_usd")


def test_every_output_of_a_replication_is_known():
    """The static list of outputs covers what a replication writes (providers with levers,
    two payers, a value-based contract)."""
    sc = scenario_from_dict({
        **SMALL, "population": {"size": 400}, "warmup_years": 5,
        "payers": [{"name": "medicare", "share": 0.7}, {"name": "commercial", "share": 0.3,
                                                         "price_factor": 1.5}],
        "plan": [{"contracts": [{"type": "ffs", "payer": "medicare"},
                                {"type": "ffs", "payer": "commercial"},
                                {"type": "mssp", "payer": "medicare",
                                 "aco": "primary_care_group", "track": "ENHANCED"}]}]})
    res = simulate_replication(sc, 0, np.random.SeedSequence(3)).results
    known = known_outputs(sc)
    written = set(zip(res["entity"].astype(str), res["metric"].astype(str), strict=True))
    assert any(m.startswith("lever_") for _, m in written)  # the providers decided
    missing = sorted((e, m) for e, m in written if m not in known.get(e, ()))
    assert not missing


def test_implicit_and_outside_providers_are_known_outputs():
    """Providers of kinds nobody listed (unlisted_*) and, with attribution on, the outside
    providers (outside_*) write metrics too: every entity of a replication is known."""
    sc = scenario_from_dict({
        "name": "t", "population": {"size": 300}, "horizon_years": 1, "warmup_years": 0,
        "providers": [{"name": "pc", "kind": "primary_care", "panel_share": 1.0}],
        "payers": [{"name": "medicare", "share": 1.0}],
        "attribution": {"enabled": True},
        "plan": [{"contracts": [{"type": "ffs", "payer": "medicare"}]}]})
    res = simulate_replication(sc, 0, np.random.SeedSequence(1)).results
    known = known_outputs(sc)
    written = set(zip(res["entity"].astype(str), res["metric"].astype(str), strict=True))
    assert {"unlisted_hospital", "outside_hospital"} <= {e for e, _ in written}
    assert not sorted((e, m) for e, m in written if m not in known.get(e, ()))


def test_cli_refuses_unknown_metric_and_writes_nothing(tmp_path, capsys, nothing_runs):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\npopulation: {size: 300}\nhorizon_years: 1\nwarmup_years: 0\n",
                    encoding="utf-8")
    code = main(["sensitivity", str(path), "--metric", "spend", "-w", "1", "-q",
                 "--tornado", "prices.pcp_visit_usd=100:150", "--out", str(tmp_path / "t")])
    assert code == 2
    assert "vbcsim: error: --metric 'spend': not a metric" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()
    code = main(["sensitivity", str(path), "--metric", "spend_total_usd", "-w", "1", "-q",
                 "--tornado", "prices.pcp_visit_usd=100:50"])
    assert code == 2 and "expected LOW < HIGH" in capsys.readouterr().err
