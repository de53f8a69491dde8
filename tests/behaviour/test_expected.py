"""The analytic expected year agrees with the discrete-event simulation it stands in for."""

import numpy as np
import pytest

from sim.behaviour import model as bmodel
from sim.behaviour.expected import expected_panel
from sim.replication import simulate_replication
from sim.scenario import scenario_from_dict


def test_expected_spending_matches_the_des_within_fifteen_percent(monkeypatch):
    # The behaviour model scales its analytic expectation by observed / expected spending
    # of the last year; that anchor measures how well the analytic model reproduces the
    # DES. It must stay near 1: the two share every rate and differ only in competing risks,
    # capacity, the chain of readmissions (approximated analytically), the year's morbidity
    # drift, and the noise of one observed year of 6,000 patients (SD ~3-4%): +-15%.
    anchors = []
    init = bmodel.ProviderProblem.__init__

    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        anchors.append(float(self.anchor[0]))

    monkeypatch.setattr(bmodel.ProviderProblem, "__init__", spy)
    sc = scenario_from_dict({"population": {"size": 6000}, "horizon_years": 3})
    simulate_replication(sc, 0, np.random.SeedSequence(3))
    observed = anchors[1:]  # the first decision precedes any recorded year
    assert observed and all(0.85 < a < 1.15 for a in observed), anchors


def test_levers_move_expected_quantities_as_the_care_model_says():
    sc = scenario_from_dict({"population": {"size": 100}})
    from sim.behaviour.expected import PanelSample

    n = 200
    rng = np.random.default_rng(0)
    sample = PanelSample(age=rng.uniform(65, 90, n), morb=rng.lognormal(0, 0.8, n),
                         conditions=rng.random((n, 5)) < 0.3, coding_u=rng.random((n, 5)),
                         payer=np.zeros(n, np.int64), weight=np.ones(n), risk_norm=1.0)
    ref = expected_panel(sc, sample, (1.0, 0.1, 0.1, 0.0))
    more = expected_panel(sc, sample, (1.1, 0.1, 0.1, 0.0))
    prev = expected_panel(sc, sample, (1.0, 1.0, 0.1, 0.0))
    coded = expected_panel(sc, sample, (1.0, 0.1, 0.1, 1.0))
    assert more.discretionary_volume() > ref.discretionary_volume() * 1.05
    assert prev.measures["acsc_admissions_per_1000"] < ref.measures["acsc_admissions_per_1000"]
    assert prev.measures["diabetes_controlled_share"] > ref.measures["diabetes_controlled_share"]
    assert coded.risk[0] / ref.risk[0] > 1.14
    assert ref.total(0) == pytest.approx(float(ref.spend.sum()))
