"""Coding changes what fee-for-service pays (sim.coding.fees, issue 13 item 3).

Hand-computed E/M payment per level and its normalisation at the reference coding
intensity; the MCC upgrade ratio; then three small real runs (500 patients, 1 plan year,
behaviour fixed, same seed, so the care model's draws are common): coding intensity 0 and
1 and a full CDI programme. Checked: money conserved (payer paid = providers received),
the professional revenue gain equals the intended one, the CCLF E/M level is the level
paid, stays upgraded to MCC are paid the with-MCC weight and coded with MCC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.coding import fees
from sim.runner import run_scenarios
from sim.scenario import scenario_from_dict
from sim.scenario.schema import Prices
from sim.services import Service as S
from sim.stay_groups import StayGroup

PCP_SHARES = np.array([0.04, 0.38, 0.50, 0.08])  # hcpcs.csv, em_established_pcp
RVU = np.array([1.70, 2.75, 3.87, 5.43])  # CY2025 PFS non-facility (RVU25D), 99212-99215


def test_payment_per_level_is_the_rvu_over_the_reference_mean():
    mean = 0.04 * 1.70 + 0.38 * 2.75 + 0.50 * 3.87 + 0.08 * 5.43  # 3.4824 RVU
    assert mean == pytest.approx(3.4824)
    np.testing.assert_allclose(fees.em_reference_shares("pcp"), PCP_SHARES)
    np.testing.assert_allclose(fees.em_factors("pcp"), RVU / mean)
    # a level-4 PCP visit at a $100 visit price pays 100 x 3.87 / 3.4824
    levels = np.array([2])
    assert 100 * fees.em_factors("pcp")[levels][0] == pytest.approx(111.130, abs=1e-3)
    # normalisation: at coding intensity 0 the expected payment is the visit price, exactly
    for who in ("pcp", "specialist"):
        assert fees.em_price_factor(who, 0.0, 0.10) == 1.0
        assert float(fees.em_shares(who, 0.0, 0.10) @ fees.em_factors(who)) == \
            pytest.approx(1.0, abs=1e-12)


def test_coding_intensity_shifts_the_mix_by_the_stated_gain():
    for gain in (0.05, 0.10, 0.2):
        s = fees.em_shares("pcp", 1.0, gain)
        assert s.sum() == pytest.approx(1.0)
        assert s[2:].sum() == pytest.approx(0.58 + gain, abs=1e-12)
    f = fees.em_price_factor("pcp", np.array([0.0, 0.5, 1.0]), 0.10)
    assert f[0] == 1.0 and 1.02 < f[1] < 1.035 and 1.05 < f[2] < 1.07
    assert f[2] - f[1] == pytest.approx(f[1] - f[0], rel=0.05)  # about linear
    with pytest.raises(ValueError, match="em_high_level_gain"):
        fees.em_shift(0.5)


def test_drawn_levels_have_the_expected_mean_and_invert():
    """200,000 draws: at the reference the mean payment is the price exactly (the
    budget-neutral factor); at intensity 1 within 4 SE (SD of a factor ~0.3) of its
    expectation; every amount is its level's payment times one factor within 1% of 1."""
    rng = np.random.default_rng(1)
    n = 200_000
    score = rng.gamma(2.0, 0.5, n)
    for c in (0.0, 1.0):
        amount = fees.visit_amounts("pcp", 100.0, score, np.full(n, c),
                                    np.random.default_rng(2), 0.10, 0.5)
        assert amount.mean() / 100 == pytest.approx(
            float(fees.em_price_factor("pcp", c, 0.10)), abs=4 * 0.3 / np.sqrt(n))
        if c == 0.0:
            assert amount.mean() == pytest.approx(100.0, rel=1e-9)
        level = fees.em_level_of("pcp", amount, 100.0)
        scale = amount / (100 * fees.em_factors("pcp")[level - 2])
        np.testing.assert_allclose(scale, scale[0], rtol=1e-12)
        assert abs(scale[0] - 1) < 0.01
    # sicker patients get higher levels
    lv = fees.em_level_of("pcp", amount, 100.0)
    assert lv[score > np.quantile(score, 0.9)].mean() > lv[score < np.quantile(score, 0.1)].mean()


def test_visit_amounts_equal_their_plain_form():
    """visit_amounts ranks the scores once and numbers providers by a lookup (issue 16): the
    same doubles as em_levels twice and np.unique, for mixed providers and intensities."""
    gen = np.random.default_rng(5)
    n = 3_000
    score = gen.lognormal(0.0, 0.6, n)
    intensity = gen.uniform(0.0, 1.0, n)
    for provider in (gen.integers(0, 7, n) * 3, 2, gen.integers(-2, 3, n)):
        got = fees.visit_amounts("pcp", 110.0, score, intensity, np.random.default_rng(9),
                                 0.10, 0.35, provider)
        e = np.random.default_rng(9).standard_normal(n)
        f = fees.em_factors("pcp")
        paid = f[fees.em_levels("pcp", score, e, intensity, 0.10, 0.35)]
        ref = f[fees.em_levels("pcp", score, e, np.zeros(n), 0.10, 0.35)]
        _, inv = np.unique(np.broadcast_to(np.asarray(provider), (n,)), return_inverse=True)
        m = np.bincount(inv, weights=ref) / np.bincount(inv)
        np.testing.assert_array_equal(got, 110.0 * paid / m[inv])


def test_mcc_upgrade_ratio_and_draws():
    r = fees.mcc_upgrade_ratio()
    assert r[StayGroup.HEART_FAILURE] == pytest.approx(1.3049 / (0.7 * 0.8613 + 0.3 * 0.5490))
    assert r[StayGroup.SEPSIS] == pytest.approx(1.9623 / 1.0310)
    assert r[StayGroup.MAJOR_JOINT] == pytest.approx(3.2685 / 1.8855)
    group = np.full(100_000, int(StayGroup.SEPSIS))
    mcc = np.zeros(100_000, bool)
    mcc[:30_000] = True
    up0, f0 = fees.mcc_upgrade(group, mcc, 0.0, 0.08, np.random.default_rng(3))
    assert not up0.any() and (f0 == 1.0).all()
    up, f = fees.mcc_upgrade(group, mcc, 1.0, 0.08, np.random.default_rng(3))
    assert not up[:30_000].any()
    assert up[30_000:].mean() == pytest.approx(0.08, abs=0.005)  # SE 0.001
    np.testing.assert_allclose(f[up], 1.9623 / 1.0310)


# ----------------------------------------------------------------------------- runs

def _scenario(ci: float, cdi: float):
    return scenario_from_dict({
        "name": "fees", "population": {"size": 500}, "horizon_years": 1, "replications": 1,
        "seed": 3, "behavior": "fixed", "warmup_years": 2,
        "coding_fees": {"hospital_cdi_effort": cdi},
        "providers": [{"name": "primary_care_group", "kind": "primary_care",
                       "panel_share": 1.0, "levers": {"coding_intensity": ci}},
                      {"name": "specialists", "kind": "specialist"},
                      {"name": "community_hospital", "kind": "hospital"},
                      {"name": "post_acute", "kind": "post_acute"},
                      {"name": "other_suppliers", "kind": "other"}]}, "<fees>")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for key, ci, cdi in (("ref", 0.0, 0.0), ("coding", 1.0, 0.0), ("cdi", 0.0, 1.0)):
        path = tmp_path_factory.mktemp("fees") / key
        res = run_scenarios([_scenario(ci, cdi)], workers=1, progress=False, out=path,
                            save_claims="0")
        folder = path / "claims" / "fees" / "rep_0"
        out[key] = (res.results, pd.read_parquet(folder / "claims.parquet"),
                    pd.read_parquet(folder / "stays.parquet"))
    return out


def _metric(df: pd.DataFrame, entity: str, metric: str) -> float:
    return float(df[(df["entity"] == entity) & (df["metric"] == metric)]["value"].sum())


def test_reference_totals_do_not_move(runs):
    """At coding intensity 0 each provider's visits pay exactly the visit price on average
    (what the flat fee schedule paid): totals at the reference levers do not move."""
    p = Prices()
    claims = runs["ref"][1]
    for svc, price in ((S.PCP_VISIT, p.pcp_visit_usd),
                       (S.SPECIALIST_VISIT, p.specialist_visit_usd)):
        v = claims[claims["service"] == svc]
        assert v["amount"].sum() == pytest.approx(price * len(v), rel=1e-9)
        assert v["amount"].std() > 0.2 * price  # but each visit pays its level


def test_money_is_conserved(runs):
    """Under FFS the payer's spending is what the providers receive, claim by claim."""
    for df, claims, _ in runs.values():
        providers = ["primary_care_group", "specialists", "community_hospital", "post_acute",
                     "other_suppliers"]
        received = sum(_metric(df, p, "ffs_revenue_usd") for p in providers)
        assert received == pytest.approx(_metric(df, "population", "payer_spend_usd"), rel=1e-9)
        assert received == pytest.approx(claims["amount"].sum(), rel=1e-9)


def test_coding_intensity_raises_visit_revenue_by_the_intended_amount(runs):
    """Same visits (common random numbers); the visits' payment rises by
    em_price_factor(1) - 1 (PCP 5.9%, specialists 6.5%; tolerance 1.5 points: ~3 SE of the
    mean of ~2,500 per-visit level changes); nothing else of the run moves."""
    ref, hi = runs["ref"][1], runs["coding"][1]
    assert len(ref) == len(hi)
    for svc, who in ((S.PCP_VISIT, "pcp"), (S.SPECIALIST_VISIT, "specialist")):
        a = ref.loc[ref["service"] == svc, "amount"].to_numpy()
        b = hi.loc[hi["service"] == svc, "amount"].to_numpy()
        assert len(a) == len(b) > 1000
        gain = b.sum() / a.sum() - 1
        assert gain == pytest.approx(float(fees.em_price_factor(who, 1.0, 0.10)) - 1, abs=0.015)
        # more visits move up than down (the risk score's ranks move with coding, too)
        assert (b > a + 1e-9).mean() > 5 * (b < a - 1e-9).mean()
    other = ~ref["service"].isin([S.PCP_VISIT, S.SPECIALIST_VISIT])
    np.testing.assert_array_equal(ref.loc[other, "amount"], hi.loc[other, "amount"])
    df0, df1 = runs["ref"][0], runs["coding"][0]
    assert _metric(df1, "primary_care_group", "ffs_revenue_usd") > \
        _metric(df0, "primary_care_group", "ffs_revenue_usd")


def test_cclf_level_is_the_level_paid(runs):
    p = Prices()
    for _, claims, _ in runs.values():
        for svc, who, base in ((S.PCP_VISIT, "pcp", p.pcp_visit_usd),
                               (S.SPECIALIST_VISIT, "specialist", p.specialist_visit_usd)):
            v = claims[(claims["service"] == svc)
                       & claims["hcpcs"].str.fullmatch(r"992(0[2-5]|1[2-5])")]
            assert len(v) > 100
            level = v["hcpcs"].str[-1].astype(int).to_numpy()
            # the level's payment times the year's budget-neutral factor of the provider
            scale = v["amount"].to_numpy() / (base * fees.em_factors(who)[level - 2])
            for _, grp in pd.Series(scale).groupby([v["year"].to_numpy(),
                                                    v["provider"].to_numpy()]):
                np.testing.assert_allclose(grp, grp.iloc[0], rtol=1e-9)
                assert abs(grp.iloc[0] - 1) < 0.02


def test_cdi_captures_mccs_and_pays_the_with_mcc_weight(runs):
    _, c0, s0 = runs["ref"]
    _, c1, s1 = runs["cdi"]
    assert len(s0) == len(s1) > 30
    up = ~s0["mcc"].to_numpy() & s1["mcc"].to_numpy()
    assert not (s0["mcc"].to_numpy() & ~s1["mcc"].to_numpy()).any()
    assert up.any()
    fac = [S.INPATIENT_FACILITY, S.ELECTIVE_FACILITY]
    a = c0.loc[c0["service"].isin(fac), "amount"].to_numpy()
    b = c1.loc[c1["service"].isin(fac), "amount"].to_numpy()
    ratio = b / a
    changed = ~np.isclose(ratio, 1.0)
    assert changed.sum() == up.sum()
    assert set(np.round(ratio[changed], 6)) <= set(np.round(fees.mcc_upgrade_ratio(), 6))
    # the coder writes the with-MCC DRG of every upgraded stay
    assert (s1.loc[up, "code_severity"] == 2).all()
    assert (c0.loc[~c0["service"].isin(fac), "amount"].to_numpy()
            == c1.loc[~c1["service"].isin(fac), "amount"].to_numpy()).all()


def test_the_expected_panel_sees_the_coding_price_effect():
    """Behaviour's expected year (sim.behaviour.expected): office visits' spending moves by
    em_price_factor at the group's coding intensity (counts unchanged), facility stays by
    the CDI factor; exactly nothing at the reference."""
    from sim.behaviour.expected import PanelSample, expected_panel

    n = 200
    rng = np.random.default_rng(0)
    sample = PanelSample(age=rng.uniform(65, 90, n), morb=rng.lognormal(0, 0.8, n),
                         conditions=rng.random((n, 5)) < 0.3, coding_u=rng.random((n, 5)),
                         payer=np.zeros(n, np.int64), weight=np.ones(n), risk_norm=1.0)
    sc = scenario_from_dict({"population": {"size": 100}})
    off = scenario_from_dict({"population": {"size": 100},
                              "coding_fees": {"em_level_pricing": False}})
    ref = expected_panel(sc, sample, (1.0, 0.1, 0.1, 0.0))
    np.testing.assert_array_equal(ref.spend, expected_panel(off, sample,
                                                            (1.0, 0.1, 0.1, 0.0)).spend)
    coded = expected_panel(sc, sample, (1.0, 0.1, 0.1, 1.0))
    for svc, who in ((S.PCP_VISIT, "pcp"), (S.SPECIALIST_VISIT, "specialist")):
        np.testing.assert_allclose(coded.count[:, svc], ref.count[:, svc])
        assert coded.spend[:, svc].sum() / ref.spend[:, svc].sum() == pytest.approx(
            float(fees.em_price_factor(who, 1.0, 0.10)))
    cdi = scenario_from_dict({"population": {"size": 100},
                              "coding_fees": {"hospital_cdi_effort": 1.0}})
    st = expected_panel(cdi, sample, (1.0, 0.1, 0.1, 0.0))
    f = fees.expected_inpatient_factor(1.0, cdi.coding_fees.cdi_mcc_capture_at_full,
                                       cdi.clinical.stay_groups,
                                       cdi.clinical.electives.joint_replacement_share,
                                       sd_log=cdi.prices.admission_cost_sd_log)
    assert 1.02 < f < 1.04  # measured in the care model: +2.9% (docs/coding.md)
    assert st.spend[:, S.INPATIENT_FACILITY].sum() / ref.spend[:, S.INPATIENT_FACILITY].sum() \
        == pytest.approx(f)


def test_coding_raises_revenue_not_the_cost_of_care(runs):
    """What coding adds is revenue: the providers' cost of care is unchanged; the CDI
    programme costs $30 a discharge at full effort."""
    df0, _, s0 = runs["ref"]
    for key, prov in (("coding", "primary_care_group"), ("cdi", "community_hospital")):
        df1 = runs[key][0]
        assert _metric(df1, prov, "own_service_cost_usd") == pytest.approx(
            _metric(df0, prov, "own_service_cost_usd"), rel=1e-9)
        gain = _metric(df1, prov, "ffs_revenue_usd") - _metric(df0, prov, "ffs_revenue_usd")
        assert gain > 0
    df1 = runs["cdi"][0]
    effort = _metric(df1, "community_hospital", "effort_cost_usd")
    assert effort == pytest.approx(30.0 * len(s0))


def test_ms_drgs_are_current():
    """MS-DRG v41 (FY2024) deleted 453-455 and 459/460 (spinal fusion); the families list
    only current DRGs, the first of each the one the coder's tables use."""
    from sim.coding.codes import code_sets
    from sim.stay_groups import MS_DRGS

    listed = {d for pair in MS_DRGS.values() for codes in pair for d in codes}
    assert not listed & {453, 454, 455, 459, 460}
    shipped = code_sets()["msdrg"]
    for with_mcc, without in MS_DRGS.values():
        for codes in (with_mcc, without):
            assert not codes or f"{codes[0]:03d}" in shipped
