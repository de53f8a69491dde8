"""Dynamics of the decision (issue 14 item 3) and the hospital's own decision (item 2):
capability from experience, the anticipated MSSP ratchet, the estimation error, and a
hospital-initiated bundle moving the hospital's transitional-care effort."""

import math

import numpy as np
import pytest

from sim.behaviour import dynamics
from sim.contracts.resolve import settler_for
from sim.replication import simulate_replication
from sim.scenario import scenario_from_dict
from sim.settlement.engine import active_contracts

MSSP = {"plan": [{"years": "all", "contracts": [
    {"type": "ffs", "payer": "medicare"},
    {"type": "mssp", "payer": "medicare", "aco": "primary_care_group", "track": "BASIC_B"}]}],
    "population": {"size": 200}}


def test_capability_starts_at_the_start_up_share_and_approaches_one():
    assert dynamics.capability(0.4, 2.0, 0) == pytest.approx(0.4)
    # 1 - exp(-1) of the gap closed after one time constant.
    assert dynamics.capability(0.4, 2.0, 2) == pytest.approx(0.4 + 0.6 * (1 - math.exp(-1)))
    seq = [dynamics.capability(0.4, 2.0, y) for y in range(10)]
    assert all(b > a for a, b in zip(seq, seq[1:], strict=False)) and seq[-1] > 0.99


def test_experience_counts_years_in_a_value_based_contract_the_provider_holds():
    sc = scenario_from_dict(MSSP)
    assert [dynamics.experience_years(sc, y, "primary_care_group") for y in range(4)] == \
        [0, 1, 2, 3]
    assert dynamics.experience_years(sc, 3, "community_hospital") == 0
    ffs = scenario_from_dict({"population": {"size": 200}})
    assert dynamics.experience_years(ffs, 3, "primary_care_group") == 0


def test_ratchet_bites_in_the_next_agreements_benchmark_years_only():
    sc = scenario_from_dict({**MSSP, "horizon_years": 7})
    shares = []
    for year in range(7):
        s = next(settler_for(cfg, label) for label, cfg in active_contracts(sc, year)
                 if cfg.type == "mssp")
        shares.append(dynamics.ratchet_share(sc, s, year, "primary_care_group", 0.85, 0.5))
    # A 5-year agreement from plan year 0: years 2-4 are the next agreement's benchmark
    # years; year 4, one year before it, gives back 0.5 / 3 x sum_k 0.85^(1+k), k = 0..4.
    assert shares[0] == shares[1] == 0.0 and shares[5] == shares[6] == 0.0
    assert shares[4] == pytest.approx(0.5 / 3 * sum(0.85 ** (1 + k) for k in range(5)))
    assert 0 < shares[2] < shares[3] < shares[4] < 1
    s4 = next(settler_for(cfg, label) for label, cfg in active_contracts(sc, 4)
              if cfg.type == "mssp")
    assert dynamics.ratchet_share(sc, s4, 4, "primary_care_group", 0.0, 0.5) == 0.0  # myopic
    assert dynamics.ratchet_share(sc, s4, 4, "community_hospital", 0.85, 0.5) == 0.0


def test_estimation_error_is_a_reproducible_mean_one_draw():
    seeds = [np.random.SeedSequence(i) for i in range(2000)]
    draws = np.array([dynamics.estimate_error(s, 0, 1, 0.05) for s in seeds])
    assert draws.mean() == pytest.approx(1.0, abs=0.005)  # SE ~0.0011
    assert np.log(draws).std() == pytest.approx(0.05, rel=0.08)
    assert dynamics.estimate_error(seeds[0], 0, 1, 0.05) == draws[0]
    assert dynamics.estimate_error(seeds[0], 0, 2, 0.05) != draws[0]
    assert dynamics.estimate_error(None, 0, 1, 0.05) == 1.0
    assert dynamics.estimate_error(seeds[0], 0, 1, 0.0) == 1.0


def _levers(df, entity):
    rows = df[(df.entity == entity) & df.metric.str.startswith("lever_")]
    return rows.pivot_table(index="year", columns="metric", values="value")


def test_a_hospital_initiated_bundle_moves_the_hospitals_own_levers_only():
    bundle = {"population": {"size": 1500}, "horizon_years": 2,
              "plan": [{"years": "all", "contracts": [
                  {"type": "ffs", "payer": "medicare"},
                  {"type": "bundled", "payer": "medicare", "provider": "community_hospital",
                   "triggers": ["joint_replacement"]}]}]}
    df = simulate_replication(scenario_from_dict(bundle), 0, np.random.SeedSequence(5)).results
    hosp = _levers(df, "community_hospital")
    # The hospital decides its own levers: it raises transitional care and lowers post-acute
    # intensity (the bundle pays for fewer readmissions, SNF/IRF discharges and SNF days
    # within its episodes); elective volume barely moves (a small price elasticity, and the
    # reconciliation per extra episode is small).
    assert sorted(hosp.columns) == ["lever_cdi_effort", "lever_elective_volume",
                                    "lever_post_acute_intensity",
                                    "lever_transitional_care_effort"]
    # Its CDI effort (issue 13): the bundle's case-mix adjustment raises an episode's target
    # with its anchor stay's MCC and leaves the other stays to FFS, so documentation is
    # worth what it is under FFS and stays at the reference effort (0).
    assert hosp["lever_cdi_effort"].to_numpy() == pytest.approx([0.0, 0.0])
    # (Above its reference 0.1; less than before issue 14's fixed costs: at its variable
    # cost a readmission avoided loses the hospital more margin.)
    assert (hosp["lever_transitional_care_effort"] > 0.12).all()
    assert (hosp["lever_post_acute_intensity"] < 0.98).all()
    assert hosp["lever_elective_volume"].to_numpy() == pytest.approx(1.0, abs=0.02)
    group = _levers(df, "primary_care_group")
    # The group holds no contract of its own: it keeps its reference practice; the effort
    # in force on its panel is the hospital's.
    assert group["lever_discretionary_intensity"].to_numpy() == pytest.approx(1.0, abs=1e-3)
    assert group["lever_transitional_care_effort"].to_numpy() == pytest.approx(
        hosp["lever_transitional_care_effort"].to_numpy())
    fixed = simulate_replication(scenario_from_dict({**bundle, "behavior": "fixed"}), 0,
                                 np.random.SeedSequence(5)).results
    assert _levers(fixed, "community_hospital").empty
