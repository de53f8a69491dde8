"""Population generation: prevalence, co-occurrence, morbidity and the risk score."""

import numpy as np
import pytest

from sim.population import (
    COND_INDEX,
    condition_intercepts,
    evolve_morbidity,
    generate_population,
    morbidity,
    raw_risk_score,
)
from sim.scenario import Scenario

N = 40_000


@pytest.fixture(scope="module")
def pop():
    sc = Scenario(population={"size": N})
    rng = np.random.default_rng(11)
    return sc, generate_population(sc.population, rng, n_entrants=5_000,
                                   dm_controlled_share=0.7, provider_shares=np.array([1.0]))


def test_prevalence_matches_scenario(pop):
    sc, p = pop
    start = p.conditions[: p.n_start]
    for name, i in COND_INDEX.items():
        target = getattr(sc.population.conditions, name).prevalence
        se = np.sqrt(target * (1 - target) / N)
        assert abs(start[:, i].mean() - target) < 4 * se + 1e-3, name


def test_conditions_co_occur(pop):
    _, p = pop
    c = p.conditions[: p.n_start].astype(float)
    hf, ckd, dm = c[:, COND_INDEX["heart_failure"]], c[:, COND_INDEX["ckd"]], c[:, 0]
    # Patients with heart failure are far more likely to have CKD than those without.
    assert ckd[hf == 1].mean() > 1.5 * ckd[hf == 0].mean()
    assert np.corrcoef(dm, ckd)[0, 1] > 0.05


def test_age_distribution_and_entrants(pop):
    sc, p = pop
    age = p.age0[: p.n_start]
    assert abs((age < 75).mean() - sc.population.age_bands.age_65_74) < 0.01
    assert abs((age >= 85).mean() - sc.population.age_bands.age_85_plus) < 0.01
    entrants = p.age0[p.n_start:]
    assert entrants.min() >= 65 and entrants.max() < 70


def test_morbidity_is_lognormal_with_mean_one():
    z = np.random.default_rng(1).standard_normal(400_000)
    m = morbidity(z, 1.1)
    assert m.mean() == pytest.approx(1.0, rel=0.02)
    z2 = evolve_morbidity(z, np.random.default_rng(2), 0.7)
    assert z2.std() == pytest.approx(1.0, rel=0.01)
    assert np.corrcoef(z, z2)[0, 1] == pytest.approx(0.7, abs=0.01)


def test_intercepts_reproduce_prevalence_zero_and_one():
    sc = Scenario(population={"conditions": {"copd": {"prevalence": 0.0},
                                             "hypertension": {"prevalence": 1.0}}})
    a = condition_intercepts(sc.population)
    assert a[COND_INDEX["copd"]] == -np.inf and a[COND_INDEX["hypertension"]] == np.inf


def test_coding_intensity_raises_risk_score_within_its_cap(pop):
    sc, p = pop
    age = p.age0
    m = morbidity(p.z, sc.population.morbidity_sd)
    base = raw_risk_score(p, age, m, sc.risk_score, np.zeros(len(p)))
    full = raw_risk_score(p, age, m, sc.risk_score, np.ones(len(p)))
    ratio = full.mean() / base.mean()
    rs = sc.risk_score
    # More complete coding of present conditions plus the uplift, never more than both.
    upper = (1.0 + rs.coding_intensity_uplift) / rs.coding_completeness
    assert 1.0 + rs.coding_intensity_uplift < ratio < upper
    assert np.all(full >= base)
