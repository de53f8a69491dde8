"""Uncertain parameters: distributions in scenario files, drawing, substitution, records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import fake_replicate

from sim.results import read_manifest
from sim.runner import run
from sim.scenario import Scenario, ScenarioError, load_scenario, resolved_yaml, scenario_from_dict
from sim.scenario.uncertain import DrawError, UncertainScenario, apply_values, uncertainty_of
from sim.uncertainty import (
    Beta,
    Dirichlet,
    Gamma,
    LogNormal,
    Normal,
    SpecError,
    Triangular,
    Uniform,
    describe,
    draw_parameters,
    mean_values,
    parse_distribution,
)

PSA = """\
name: psa
population:
  size: 300
  age_bands: {dist: dirichlet, mean: {age_65_74: .512, age_75_84: .361, age_85_plus: .127},
              concentration: 400}
horizon_years: 2
replications: 3
seed: 5
clinical:
  admissions:
    rate_per_year: {dist: gamma, mean: 0.15, sd: 0.02}
    los_mean_days: {dist: lognormal, mean: 5, sd: 0.5}
lever_effects:
  prevention_acsc_rr: {dist: beta, mean: 0.6, sd: 0.08}
prices:
  admission_mean_usd: {dist: normal, mean: 13000, sd: 1500, low: 8000}
providers:
  - name: primary_care_group
    kind: primary_care
    panel_share: 1.0
    levers: {prevention_effort: {dist: uniform, low: 0.1, high: 0.3}}
correlation_groups:
  hospital_use:
    parameters: [clinical.admissions.rate_per_year, clinical.admissions.los_mean_days]
    correlation: 0.6
"""


@pytest.fixture
def psa_yaml(tmp_path):
    path = tmp_path / "psa.yaml"
    path.write_text(PSA)
    return path


@pytest.fixture
def psa(psa_yaml) -> Scenario:
    return load_scenario(psa_yaml)


# --------------------------------------------------------------------------- distributions


@pytest.mark.parametrize(
    ("spec", "mean", "sd"),
    [
        ({"dist": "beta", "mean": 0.3, "sd": 0.05}, 0.3, 0.05),
        ({"dist": "gamma", "mean": 2.0, "sd": 0.5}, 2.0, 0.5),
        ({"dist": "lognormal", "mean": 100.0, "sd": 20.0}, 100.0, 20.0),
        ({"dist": "normal", "mean": 5.0, "sd": 1.0}, 5.0, 1.0),
        ({"dist": "uniform", "low": 1.0, "high": 3.0}, 2.0, 2 / np.sqrt(12)),
        ({"dist": "triangular", "low": 0.0, "mode": 1.0, "high": 2.0}, 1.0, np.sqrt(1 / 6)),
    ],
)
def test_mean_sd_parametrisations_have_the_stated_moments(spec, mean, sd):
    dist = parse_distribution(spec)
    frozen = dist._frozen()
    assert frozen.mean() == pytest.approx(mean)
    assert frozen.std() == pytest.approx(sd)
    assert dist.spec()["dist"] == spec["dist"]


def test_native_parametrisations_and_truncated_normal():
    assert parse_distribution({"dist": "beta", "alpha": 2, "beta": 8}) == Beta(2.0, 8.0)
    assert parse_distribution({"dist": "gamma", "shape": 4, "scale": 0.5}).mean() == 2.0
    assert isinstance(parse_distribution({"dist": "lognormal", "meanlog": 0, "sdlog": 1}),
                      LogNormal)
    trunc = parse_distribution({"dist": "normal", "mean": 1, "sd": 1, "low": 0})
    assert isinstance(trunc, Normal) and trunc.support() == (0.0, np.inf)
    assert trunc.mean() > 1  # the mean of the truncated distribution
    assert trunc.draw_range()[0] >= 0
    assert isinstance(parse_distribution({"dist": "uniform", "low": 0, "high": 1}), Uniform)
    assert isinstance(parse_distribution({"dist": "triangular", "low": 0, "mode": 0,
                                          "high": 1}), Triangular)
    d = parse_distribution({"dist": "dirichlet", "alpha": {"a": 1, "b": 3}})
    assert isinstance(d, Dirichlet) and d.mean_shares() == {"a": 0.25, "b": 0.75}
    assert isinstance(parse_distribution({"dist": "gamma", "mean": 1, "sd": 1}), Gamma)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"dist": "beta", "mean": 0.2, "sd": 0.45}, "too large for a beta with mean 0.2"),
        ({"dist": "beta", "mean": 1.2, "sd": 0.1}, "0 < mean < 1"),
        ({"dist": "gamma", "mean": -1, "sd": 1}, "mean > 0"),
        ({"dist": "normal", "mean": 1, "sd": 1, "low": 2, "high": 1}, "low < high"),
        ({"dist": "uniform", "low": 2, "high": 2}, "low < high"),
        ({"dist": "triangular", "low": 0, "mode": 3, "high": 2}, "low <= mode <= high"),
        ({"dist": "dirichlet", "mean": {"a": 0.5, "b": 0.6}, "concentration": 10}, "sum to 1"),
        ({"dist": "gamma", "mean": "1", "sd": 1}, "'mean' must be a number"),
        ({"dist": "normal", "mean": 1}, "takes {mean, sd, low?, high?}"),
    ],
)
def test_bad_specifications_are_refused_with_a_reason(spec, message):
    with pytest.raises(SpecError, match=None) as info:
        parse_distribution(spec)
    assert message in str(info.value)


# --------------------------------------------------------------------------- loading


def test_loader_substitutes_means_and_keeps_the_uncertainty(psa):
    assert isinstance(psa, UncertainScenario)
    assert psa.clinical.admissions.rate_per_year == pytest.approx(0.15)
    assert psa.lever_effects.prevention_acsc_rr == pytest.approx(0.6)
    assert psa.providers[0].levers.prevention_effort == pytest.approx(0.2)
    assert psa.population.age_bands.age_65_74 == pytest.approx(0.512)
    u = uncertainty_of(psa)
    assert u.paths() == [
        "population.age_bands.age_65_74", "population.age_bands.age_75_84",
        "population.age_bands.age_85_plus", "clinical.admissions.rate_per_year",
        "clinical.admissions.los_mean_days", "lever_effects.prevention_acsc_rr",
        "prices.admission_mean_usd", "providers.primary_care_group.levers.prevention_effort"]
    assert [g.name for g in u.groups] == ["hospital_use"]
    table = describe(u)
    assert list(table.columns) == ["parameter", "dist", "mean", "p2.5", "p97.5"]
    assert (table["p2.5"] < table["mean"]).all() and (table["mean"] < table["p97.5"]).all()


def test_plain_scenarios_carry_no_uncertainty(tiny_scenario):
    assert type(tiny_scenario) is Scenario
    assert not uncertainty_of(tiny_scenario)


def test_resolved_yaml_keeps_the_distributions_and_reloads_equal(psa, tmp_path):
    text = resolved_yaml(psa)
    assert "dist: gamma" in text and "correlation_groups:" in text
    path = tmp_path / "again.yaml"
    path.write_text(text)
    again = load_scenario(path)
    assert again == psa
    assert uncertainty_of(again) == uncertainty_of(psa)


def test_a_number_in_an_extending_file_replaces_a_distribution_and_vice_versa(psa_yaml, tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text("extends: psa.yaml\nclinical:\n  admissions:\n    los_mean_days: 4.0\n"
                     "    rate_per_year: {dist: uniform, low: 0.1, high: 0.2}\n"
                     "correlation_groups: {hospital_use: null}\n")
    with pytest.raises(ScenarioError):  # the group names a parameter that is now fixed
        load_scenario(child)
    child.write_text("extends: psa.yaml\nclinical:\n  admissions:\n"
                     "    rate_per_year: {dist: uniform, low: 0.1, high: 0.2}\n")
    sc = load_scenario(child)
    u = uncertainty_of(sc)
    assert isinstance(u.get("clinical.admissions.rate_per_year").dist, Uniform)
    child.write_text("extends: psa.yaml\nlever_effects: {prevention_acsc_rr: {sd: 0.01}}\n")
    overridden = uncertainty_of(load_scenario(child)).get("lever_effects.prevention_acsc_rr")
    assert overridden.dist.spec() == {"dist": "beta", "mean": 0.6, "sd": 0.01}


def test_distributions_in_a_dict_scenario():
    sc = scenario_from_dict({"prices": {"imaging_usd": {"dist": "gamma", "mean": 300, "sd": 30}}})
    assert sc.prices.imaging_usd == pytest.approx(300)
    assert uncertainty_of(sc).paths() == ["prices.imaging_usd"]


# --------------------------------------------------------------------------- drawing


def test_draws_are_reproducible_and_differ_between_replications(psa):
    u = uncertainty_of(psa)
    a = draw_parameters(u, np.random.SeedSequence(1, spawn_key=(0,)))
    b = draw_parameters(u, np.random.SeedSequence(1, spawn_key=(0,)))
    c = draw_parameters(u, np.random.SeedSequence(1, spawn_key=(1,)))
    assert a == b and a != c
    shares = [v for k, v in a.items() if k.startswith("population.age_bands.")]
    assert sum(shares) == pytest.approx(1.0)
    assert 0.1 <= a["providers.primary_care_group.levers.prevention_effort"] <= 0.3
    assert a["prices.admission_mean_usd"] >= 8000


@pytest.mark.slow
def test_draws_follow_their_distributions_and_the_correlation(psa):
    u = uncertainty_of(psa)
    draws = pd.DataFrame([draw_parameters(u, s) for s in np.random.SeedSequence(3).spawn(1500)])
    assert draws["lever_effects.prevention_acsc_rr"].mean() == pytest.approx(0.6, abs=0.01)
    assert draws["lever_effects.prevention_acsc_rr"].std() == pytest.approx(0.08, rel=0.08)
    assert draws["clinical.admissions.rate_per_year"].mean() == pytest.approx(0.15, rel=0.02)
    assert draws["population.age_bands.age_85_plus"].mean() == pytest.approx(0.127, rel=0.03)
    rank = draws[["clinical.admissions.rate_per_year", "clinical.admissions.los_mean_days"]] \
        .corr(method="spearman").iloc[0, 1]
    assert rank == pytest.approx(0.6 * 6 / np.pi * np.arcsin(0.5), abs=0.07)  # copula rho 0.6
    other = draws[["clinical.admissions.rate_per_year", "prices.admission_mean_usd"]].corr()
    assert abs(other.iloc[0, 1]) < 0.08


def test_same_path_same_value_whatever_else_is_declared(psa):
    u = uncertainty_of(psa)
    fewer = scenario_from_dict({"lever_effects": {"prevention_acsc_rr": {
        "dist": "beta", "mean": 0.6, "sd": 0.08}}})
    seed = np.random.SeedSequence(9, spawn_key=(4,))
    full = draw_parameters(u, seed)
    alone = draw_parameters(uncertainty_of(fewer), seed)
    assert alone["lever_effects.prevention_acsc_rr"] == full["lever_effects.prevention_acsc_rr"]


def test_apply_values_builds_a_new_validated_plain_scenario(psa):
    sc = apply_values(psa, {"clinical.admissions.rate_per_year": 0.2,
                            "providers.primary_care_group.levers.prevention_effort": 0.9})
    assert type(sc) is Scenario
    assert sc.clinical.admissions.rate_per_year == 0.2
    assert sc.providers[0].levers.prevention_effort == 0.9
    assert psa.clinical.admissions.rate_per_year == pytest.approx(0.15)  # unchanged
    with pytest.raises(DrawError, match="clinical.admissions.rate_per_year"):
        apply_values(psa, {"clinical.admissions.rate_per_year": -1.0})
    with pytest.raises(DrawError, match="no field 'nope'"):
        apply_values(psa, {"clinical.nope": 1.0})
    means = apply_values(psa, mean_values(uncertainty_of(psa)))
    assert means.model_dump() == psa.model_dump()


# --------------------------------------------------------------------------- in a run


def test_each_replication_simulates_its_own_drawn_scenario_and_records_the_draw(psa):
    seen = []

    def spy(scenario, replication, seed_seq):
        seen.append((type(scenario), scenario.clinical.admissions.rate_per_year))
        return fake_replicate(scenario, replication, seed_seq)

    result = run(psa, replicate=spy, workers=1)
    assert all(t is Scenario for t, _ in seen)
    assert len({v for _, v in seen}) == 3
    draws = result.draws
    assert list(draws.columns) == ["replication", "scenario", "parameter", "value"]
    assert len(draws) == 3 * 8 and set(draws["scenario"]) == {"psa"}
    rates = draws[draws["parameter"] == "clinical.admissions.rate_per_year"]
    assert list(rates["value"]) == [v for _, v in seen]


def test_draws_parquet_is_written_and_the_scenario_keeps_its_distributions(psa_yaml, tmp_path):
    out = tmp_path / "r"
    result = run(psa_yaml, replicate=fake_replicate, workers=1, out=out)
    draws = pd.read_parquet(out / "draws.parquet")
    pd.testing.assert_frame_equal(draws, result.draws)
    assert "dist: beta" in (out / "scenario.yaml").read_text()
    assert "draws.parquet" in read_manifest(out)["files"]
