"""One implementation of the quality measures (sim.quality_measures), read by the population
metrics and by the contracts' quality scores; an empty denominator is not scored (NaN) and
the score is the weighted mean of the measures that are, as CMS reweights."""

from __future__ import annotations

import math

import numpy as np
import pytest
from settle_support import FFS_ALL, PROVIDERS_2PC, TWO_PAYERS, run, scenario

from sim.contracts.quality import score_measures
from sim.metrics import population_metrics
from sim.quality_measures import MEASURES, measure_counts, measure_values, readmitted_within_30d
from sim.settlement.context import SettlementContext

P4P = {"type": "ffs", "payer": "medicare", "pay_for_performance": True}


def _run(size: int, seed: int, **population):
    sc = scenario(size=size, horizon=2, providers=PROVIDERS_2PC, payers=TWO_PAYERS,
                  population={"size": size, **population},
                  plan=[{"years": "all", "contracts": [P4P, {**FFS_ALL, "payer": "commercial"}]}])
    return run(sc, seed=seed)


@pytest.fixture(scope="module")
def normal():
    return _run(1500, 2)


@pytest.fixture(scope="module")
def no_diabetics():
    return _run(400, 3, conditions={"diabetes": {"prevalence": 0.0}})


def test_population_metrics_and_settlement_measure_the_same_way(normal):
    r = normal
    led = r.run.ledger
    ctx = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    pop = population_metrics(led, r.sc.horizon_years)
    readmitted = readmitted_within_30d(led.admissions)
    for y in range(r.sc.horizon_years):
        everyone = measure_values(measure_counts(led, y))
        # the population row is the measure of everyone (the shares bit for bit; the
        # per-1,000 rates keep the table's count x (1000 / person-years) order)
        for k in ("readmission_rate_30d", "diabetes_controlled_share"):
            assert pop[y][k] == everyone[k]
        for k in ("ed_visits_per_1000", "acsc_admissions_per_1000"):
            assert pop[y][k] == pytest.approx(everyone[k], rel=1e-13)
        # and equal to the definitions recomputed from the ledger's own tables
        stays = led.admissions["year"] == y
        assert everyone["readmission_rate_30d"] == readmitted[stays].mean()
        ys = led.year_stats[y]
        assert everyone["diabetes_controlled_share"] == \
            ys["diabetics_controlled_end"] / ys["diabetics_end"]
        # the settlement scores the members of a group with the same function
        mask = ctx.members(y, 0, 0)
        assert ctx.measures(y, mask) == measure_values(measure_counts(led, y, mask))
        assert all(math.isfinite(v) for v in ctx.measures(y, mask).values())


def test_no_diabetics_is_not_scored_and_the_score_reweights(no_diabetics):
    r = no_diabetics
    ctx = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    pop = population_metrics(r.run.ledger, r.sc.horizon_years)
    scale = ctx.quality_scale
    others = {k: s for k, s in scale.items() if k != "diabetes_controlled_share"}
    for y in range(r.sc.horizon_years):
        assert math.isnan(pop[y]["diabetes_controlled_share"])  # was 0.0 in the metrics
        for provider in (0, 1):
            mask = ctx.members(y, provider=provider)
            score, measures = ctx.quality(y, mask, f"test:{y}:{provider}")
            assert math.isnan(measures["diabetes_controlled_share"])  # was 1.0 in settlement
            rest = {k: v for k, v in measures.items() if k != "diabetes_controlled_share"}
            assert all(math.isfinite(v) for v in rest.values())
            assert score == score_measures(rest, others)["score"]
            # the results table reports that score for the primary-care group
            assert r.metric(r.sc.providers[provider].name, "quality_score", y) == score


def test_empty_group_has_no_measure_and_no_score(normal):
    ctx = SettlementContext.of(normal.sc, normal.run.ledger, normal.run.population, normal.run.providers)
    nobody = np.zeros(len(ctx.patient_payer), bool)
    score, measures = ctx.quality(0, nobody, "nobody")
    assert set(measures) == set(MEASURES)
    assert all(math.isnan(v) for v in measures.values())
    assert math.isnan(score)
