"""Post-acute care after lower-extremity joint replacement: destinations with the configured
shares, the practice levers moving institutional discharges home with home health, and a
stream of its own (changing it changes LEJR post-acute care only)."""

import numpy as np
import pytest

from sim.care.claims import joint_post_acute
from sim.care.engine import simulate_population
from sim.care.model import LeverArrays, year_rates
from sim.scenario import Scenario, scenario_from_dict
from sim.scenario.errors import ScenarioError
from sim.stay_groups import StayGroup

SC = Scenario()
CFG = SC.clinical.post_acute.after_joint_replacement
N = 200_000  # binomial SE of a 30% share: 0.001; checks at 5 SE


def _shares(factor: float, seed: int = 0) -> dict[str, float]:
    snf, irf, hh = joint_post_acute(CFG, np.full(N, factor), np.random.default_rng(seed))
    s, i = snf > 0, irf
    return {"snf": s.mean(), "irf": i.mean(), "home_hh": (hh > 0)[~s & ~i].sum() / N,
            "days": snf[s].mean(), "hh_after_inst": (hh > 0)[s | i].mean(),
            "periods": set(np.unique(hh).tolist())}


def test_destinations_have_the_configured_shares_at_ffs_practice():
    r = _shares(1.0)
    assert r["snf"] == pytest.approx(CFG.snf_share, abs=0.005)
    assert r["irf"] == pytest.approx(CFG.irf_share, abs=0.003)
    assert r["home_hh"] == pytest.approx(CFG.home_health_share, abs=0.006)
    assert r["hh_after_inst"] == pytest.approx(CFG.home_health_after_institutional, abs=0.01)
    # gamma shape 2: SD of the mean = 24 / sqrt(2 * 54,000) ~ 0.07 days
    assert r["days"] == pytest.approx(CFG.snf_los_mean_days, abs=0.4)
    assert r["periods"] == {0, CFG.home_health_periods}


@pytest.mark.parametrize("factor", [0.5, 0.85])
def test_levers_send_institutional_discharges_home_with_home_health(factor):
    """A factor below 1 (less discretionary intensity, more transitional care) scales SNF
    and IRF discharge by it; the share they lose goes home with home health."""
    r = _shares(factor)
    lost = (CFG.snf_share + CFG.irf_share) * (1 - factor)
    assert r["snf"] == pytest.approx(CFG.snf_share * factor, abs=0.005)
    assert r["irf"] == pytest.approx(CFG.irf_share * factor, abs=0.003)
    assert r["home_hh"] == pytest.approx(CFG.home_health_share + lost, abs=0.006)


def test_more_institutional_care_comes_out_of_home_health_first():
    r = _shares(2.0)  # institutional 0.34 x 2 = 0.68: home health 0.43 - 0.34 = 0.09,
    assert r["snf"] + r["irf"] == pytest.approx(0.68, abs=0.006)
    assert r["home_hh"] == pytest.approx(0.09, abs=0.004)  # home unchanged (0.23)
    r = _shares(2.5)  # 0.85: home health gone, home without services 0.15
    assert r["snf"] + r["irf"] == pytest.approx(0.85, abs=0.006)
    assert r["home_hh"] == 0.0
    r = _shares(4.0)  # capped at every discharge
    assert r["snf"] + r["irf"] == 1.0 and r["home_hh"] == 0.0


def test_the_factor_is_the_levers_on_snf_discharge():
    """year_rates' institutional factor is the one the generic SNF probability uses."""
    le = SC.lever_effects
    n = 4
    d, t = np.array([1.0, 0.8, 1.2, 1.0]), np.array([0.0, 0.0, 0.5, 1.0])
    r = year_rates(SC, np.full(n, 70.0), np.ones(n), np.zeros((n, 5), bool),
                   LeverArrays(d, np.zeros(n), t, np.zeros(n)))
    want = d**le.elasticity_post_acute * (1 - (1 - le.transitional_snf_rr) * t)
    np.testing.assert_allclose(r.institutional_pac_factor, want)
    assert r.institutional_pac_factor[0] == 1.0
    np.testing.assert_allclose(r.p_snf, SC.clinical.post_acute.snf_probability * want)


def _small(**post):
    return scenario_from_dict({
        "name": "lejr", "horizon_years": 1, "warmup_years": 2, "replications": 1,
        "behavior": "fixed", "population": {"size": 1500},
        "clinical": {"post_acute": {"after_joint_replacement": post}}}, "<test>")


def test_the_new_stream_changes_lejr_post_acute_care_only():
    a = simulate_population(_small(), np.random.SeedSequence(5)).ledger
    b = simulate_population(_small(snf_share=0.4, irf_share=0.1, home_health_share=0.3),
                            np.random.SeedSequence(5)).ledger
    aa, ba = a.admissions, b.admissions
    assert np.array_equal(aa["discharge"], ba["discharge"])
    joint = aa["group"] == StayGroup.MAJOR_JOINT
    assert joint.sum() > 10
    for col in ("snf_days", "home_health", "irf"):
        assert np.array_equal(aa[col][~joint], ba[col][~joint])
    assert not np.array_equal(aa["snf_days"][joint] > 0, ba["snf_days"][joint] > 0)
    assert not aa["irf"][~joint].any()


def test_destination_shares_over_one_are_refused():
    with pytest.raises(ScenarioError, match="after_joint_replacement"):
        _small(snf_share=0.5, irf_share=0.2, home_health_share=0.4)
