"""Issue 14 item 2: the hospital's own levers (elective volume, post-acute intensity after
joint replacement), specialists' response to their fees, the leakage-aware expected panel
and the hospital's response to a global budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.behaviour import specialists
from sim.behaviour.leakage import leakage_aware, outside_shares
from sim.care.claims import joint_post_acute, joint_post_acute_usd
from sim.care.model import H_ELECTIVE, LeverArrays, year_rates
from sim.replication import simulate_replication
from sim.scenario import load_scenario, scenario_from_dict
from sim.scenario.schema import JointReplacementPostAcute, Prices, Scenario
from sim.services import Service

N = 50
GB = (Path(__file__).resolve().parents[2] / "benchmarks" / "validation_scenarios"
      / "hospital_global_budget.yaml")


def _rates(sc, **lv):
    base = dict(discretionary_intensity=1.0, prevention_effort=0.1,
                transitional_care_effort=0.1, coding_intensity=0.0)
    base.update(lv)
    arrays = {k: (None if v is None else np.full(N, float(v))) for k, v in base.items()}
    cond = np.zeros((N, 5), bool)
    return year_rates(sc, np.full(N, 75.0), np.ones(N), cond, LeverArrays(**arrays))


def test_elective_volume_is_the_hospitals_lever_not_the_groups():
    sc = Scenario()
    ref = _rates(sc)
    e = sc.lever_effects.elasticity_electives
    # The group's discretionary intensity no longer moves electives ...
    assert _rates(sc, discretionary_intensity=0.8).hazards[:, 0, H_ELECTIVE] == pytest.approx(
        ref.hazards[:, 0, H_ELECTIVE])
    # ... the hospital's elective volume does, with the elective elasticity.
    assert _rates(sc, elective_volume=0.9).hazards[:, 0, H_ELECTIVE] == pytest.approx(
        ref.hazards[:, 0, H_ELECTIVE] * 0.9**e)


def test_post_acute_intensity_scales_institutional_discharge_and_snf_days():
    sc = Scenario()
    ref, low = _rates(sc), _rates(sc, post_acute_intensity=0.8)
    assert ref.episode_snf_los_factor is None
    assert low.institutional_pac_factor == pytest.approx(ref.institutional_pac_factor * 0.8)
    k = sc.lever_effects.hospital_snf_los_elasticity
    assert low.episode_snf_los_factor == pytest.approx(0.8**k)


def test_the_expected_post_acute_spending_is_what_the_draws_average():
    cfg, pr, n = JointReplacementPostAcute(), Prices(), 40_000
    for factor, los in ((1.0, 1.0), (0.8, 0.85)):
        snf, irf, hh = joint_post_acute(cfg, np.full(n, factor), np.random.default_rng(3),
                                        np.full(n, los))
        drawn = (snf * pr.snf_per_day_usd + irf * pr.irf_stay_usd
                 + hh * pr.home_health_period_usd).mean()
        expected = joint_post_acute_usd(cfg, np.array([factor]), los, pr)[0]
        # SE of the mean ~ $4,600 / sqrt(40,000) = $23: 1% of ~$6,000 is > 2 SE
        assert drawn == pytest.approx(expected, rel=0.01)
    assert joint_post_acute_usd(cfg, np.array([0.8]), 0.8, pr)[0] < joint_post_acute_usd(
        cfg, np.array([1.0]), 1.0, pr)[0]


def _spec_scenario(weight: float, fee: float, behavior: str = "incentives") -> Scenario:
    p = Prices()
    return scenario_from_dict({
        "behavior": behavior,
        "prices": {f: getattr(p, f) * fee for f in specialists.FEES},
        "providers": [{"name": "primary_care_group", "kind": "primary_care",
                       "panel_share": 1.0, "behavior": {"specialist_margin_weight": weight}},
                      {"name": "specialists", "kind": "specialist"},
                      {"name": "community_hospital", "kind": "hospital"},
                      {"name": "post_acute", "kind": "post_acute"},
                      {"name": "other_suppliers", "kind": "other"}]})


def test_specialists_respond_to_their_fees_for_the_share_the_group_does_not_count():
    assert specialists.fee_index(Scenario()) == pytest.approx(1.0)
    independent = _spec_scenario(0.0, 1.02)
    assert specialists.fee_index(independent) == pytest.approx(1.02)
    eps = independent.providers[1].behavior.fee_elasticity
    assert specialists.target_volume(independent, eps, 0.0) == pytest.approx(1.02**eps)
    # Partial adjustment: half of the gap in the first year (adaptation 0.5).
    first = specialists.next_volume(independent, "primary_care_group", 1.0)
    assert first == pytest.approx(1 + 0.5 * (1.02**eps - 1))
    # A multispecialty group (weight 1) already moves its specialists through d.
    assert specialists.next_volume(_spec_scenario(1.0, 1.02), "primary_care_group",
                                   1.0) == 1.0
    assert specialists.next_volume(_spec_scenario(0.0, 1.02, "fixed"), "primary_care_group",
                                   1.0) == 1.0


class _Panel:
    def __init__(self, x: float) -> None:
        self.spend = np.full((1, len(Service)), x)
        self.count = np.full((1, len(Service)), x)
        self.qalys, self.deaths, self.death_qalys = x, x, x


def test_the_expected_panel_counts_leaked_care_at_reference_practice():
    off = scenario_from_dict({"attribution": {"enabled": False}})
    assert outside_shares(off, len(Service)) is None
    sc = scenario_from_dict({"attribution": {"enabled": True, "outside_share": 0.3,
                                             "primary_care_outside_share": 0.1}})
    w = outside_shares(sc, len(Service))
    assert w[Service.SNF] == 0.3 and w[Service.PCP_VISIT] == 0.1
    out = leakage_aware(_Panel(90.0), _Panel(100.0), w)
    # x_L + w (x_ref - x_L): the levers move 70% of the non-primary-care spending
    assert out.spend[0, Service.SNF] == pytest.approx(93.0)
    assert out.spend[0, Service.PCP_VISIT] == pytest.approx(91.0)
    assert out.qalys == pytest.approx(93.0)
    assert leakage_aware(_Panel(90.0), _Panel(100.0), None).spend[0, 0] == 90.0


@pytest.fixture(scope="module")
def global_budget_run():
    sc = load_scenario(GB, overrides={"population.size": 800, "horizon_years": 1})
    return simulate_replication(sc, 0, np.random.SeedSequence(11))


def test_a_global_budget_reconciles_the_hospitals_revenue_to_its_budget(global_budget_run):
    st = global_budget_run.tables["settlements"]
    gb = st[(st.contract == "global_budget") & (st.kind == "value")]
    assert sorted(gb["year"].unique()) == [0]
    for _, part in gb.groupby("year"):
        v = dict(zip(part["item"], part["value"], strict=True))
        assert v["reconciliation_usd"] == pytest.approx(
            v["adjusted_budget_usd"] - v["actual_revenue_usd"])
    df = global_budget_run.results
    hosp = df[(df.entity == "community_hospital") & df.metric.str.startswith("lever_")]
    lv = hosp.pivot_table(index="year", columns="metric", values="value")
    # Revenue is fixed: avoided readmissions and electives become margin.
    assert (lv["lever_transitional_care_effort"] > 0.1).all()
    assert (lv["lever_elective_volume"] < 1.0).all()


def test_the_hospital_re_chooses_under_ffs_only_when_its_facility_prices_change():
    from sim.behaviour.hospital import facility_prices_changed

    assert not facility_prices_changed(Scenario())
    assert not facility_prices_changed(_spec_scenario(0.0, 1.1))  # physician fees only
    up = scenario_from_dict({"prices": {"admission_mean_usd": Prices().admission_mean_usd
                                        * 1.1}})
    assert facility_prices_changed(up)
