"""The metric catalogue: every metric a real run produces is declared once, and the readers
(comparison, results formatting, plots, report) take directions, money and labels from it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim import catalogue
from sim.catalogue import CATALOGUE, describe, metric_names
from sim.comparison import probability_best
from sim.metrics import POPULATION_METRICS
from sim.plots._common import axis_label
from sim.replication import simulate_replication
from sim.report.numbers import fmt_delta, fmt_value
from sim.results import format_summary, is_money, summarise
from sim.scenario import scenario_from_dict
from sim.settlement.engine import PAYER_METRICS, PROVIDER_METRICS

ENTITIES = ("primary_care_group", "specialists", "community_hospital", "post_acute",
            "other_suppliers")


@pytest.fixture(scope="module")
def real_results() -> pd.DataFrame:
    """One replication of a small MSSP scenario with incentive behaviour (levers and
    incentives are reported), two plan years."""
    sc = scenario_from_dict({
        "name": "catalogue_check", "horizon_years": 2, "warmup_years": 5,
        "population": {"size": 300},
        "plan": [{"years": "all", "contracts": [
            {"type": "ffs", "payer": "medicare"},
            {"type": "mssp", "payer": "medicare", "aco": "primary_care_group",
             "track": "BASIC_A"}]}],
    }, "<catalogue test>")
    return simulate_replication(sc, 0, np.random.SeedSequence(5)).results


def test_every_metric_of_a_real_run_is_declared_with_its_stage(real_results):
    res = real_results
    metrics = set(res["metric"])
    undeclared = sorted(m for m in metrics if not catalogue.is_known(m))
    assert not undeclared, f"metrics missing from sim.catalogue: {undeclared}"
    # every family is exercised: the run reports levers and incentives
    assert any(m.startswith("lever_") for m in metrics)
    assert any(m.startswith("incentive_") for m in metrics)
    stage_of = {m: describe(m).stage for m in metrics}
    pop = res[res["entity"] == "population"]
    assert set(pop["metric"]) == set(POPULATION_METRICS) | {"payer_spend_usd",
                                                            "payer_spend_per_capita_usd",
                                                            "health_sector_cost_usd"}
    pcp = set(res.loc[res["entity"] == "primary_care_group", "metric"])
    assert {m for m in pcp if stage_of[m] == "provider_economics"} == set(PROVIDER_METRICS)
    assert {stage_of[m] for m in pcp} == {"provider_economics", "behaviour"}
    assert set(res.loc[res["entity"] == "medicare", "metric"]) == set(PAYER_METRICS)
    # the stages' lists are the catalogue's, in its order
    assert POPULATION_METRICS == metric_names("population")
    assert PROVIDER_METRICS == metric_names("provider_economics")
    # money and units follow the declarations, not the names
    assert is_money("incentive_prevention_effort_usd")
    assert describe("lever_prevention_effort").label == "Lever: prevention effort"
    assert not describe("quality_score").money and describe("quality_score").unit


def test_catalogue_declarations_are_complete_and_consistent():
    for name, m in CATALOGUE.items():
        assert m.name == name and m.label and m.sentence and m.unit, name
        assert m.better in ("lower", "higher", "neither"), name
        assert m.money == m.unit.startswith("USD"), name  # money is stated in its unit
    assert describe("made_up_thing_usd").known is False
    assert describe("made_up_thing_usd").money


def _table(metric: str, ref: list[float], alt: list[float]) -> pd.DataFrame:
    rows = [(r, s, 0, "population", metric, v) for s, values in (("ref", ref), ("alt", alt))
            for r, v in enumerate(values)]
    return pd.DataFrame(rows, columns=["replication", "scenario", "year", "entity", "metric",
                                       "value"])


def test_comparison_follows_the_declared_direction():
    # readmissions up is worse: the scenario with fewer readmissions is best
    table = _table("readmission_rate_30d", [0.15, 0.16, 0.15], [0.17, 0.18, 0.19])
    best = probability_best(table, [("population", "readmission_rate_30d")])
    best = best.set_index("scenario")
    assert (best["best_is"] == "lowest").all()
    assert best.loc["ref", "probability"] == 1.0 and best.loc["alt", "probability"] == 0.0
    # diabetic control up is better
    table = _table("diabetes_controlled_share", [0.6, 0.6, 0.6], [0.7, 0.7, 0.5])
    best = probability_best(table, [("population", "diabetes_controlled_share")])
    assert best.set_index("scenario").loc["alt", "probability"] == pytest.approx(2 / 3)
    # a metric with no better direction (elective admissions: the old substring guess
    # called it lower-is-better) has no "best"
    table = _table("elective_admissions_per_1000", [10.0, 11.0, 12.0], [9.0, 9.0, 9.0])
    assert probability_best(table, [("population", "elective_admissions_per_1000")]).empty


def test_formatting_and_labels_come_from_the_catalogue():
    # money by declaration: an incentive is dollars although it is no spending
    assert fmt_value("incentive_prevention_effort_usd", 1234.4) == "$1,234"
    assert fmt_value("readmission_rate_30d", 0.1534) == "15.3%"
    assert fmt_delta("readmission_rate_30d", 0.01, 0.15) == "+1.0 pts"
    assert fmt_value("spend_top5pct_share", 0.5) == "50.0%"
    assert axis_label("payer_spend_per_capita_usd") == \
        "Payer spending per capita (USD per person-year)"
    assert axis_label("diabetes_controlled_share") == \
        "Diabetics in control (HbA1c) (share of living diabetics at year end)"
    table = _table("margin_usd", [1234567.8, 1234567.8, 1234567.8], [1.0, 1.0, 1.0])
    assert "1,234,568" in format_summary(summarise(table))


def test_catalogue_imports_nothing_of_the_simulator():
    code = ("import sys, sim.catalogue, sim.constants; "
            "assert not [m for m in sys.modules if m.startswith('sim.') "
            "and m not in ('sim.catalogue', 'sim.constants', 'sim._version')], sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
