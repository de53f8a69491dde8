"""Clinical episodes of bundles: stay groups as configured, episode spending under FFS
practice against published Medicare episode spending, and a bundle reconciling five
clinical episodes, each with its own target price, recomputed from the ledger.

One care run (behaviour fixed, 6,000 patients, 2 plan years after the 3 history years)
serves every test of the module.
"""

from __future__ import annotations

import numpy as np
import pytest
from settle_support import close, run, scenario

from sim.constants import AdmissionKind
from sim.contracts.bundled.rules import (
    case_mix_adjustment,
    episode_spending,
    open_episodes,
    winsorize,
)
from sim.scenario.errors import ScenarioError
from sim.services import Service
from sim.stay_groups import CLINICAL_EPISODES, StayGroup

EPISODES = ["major_joint_lower_extremity", "sepsis", "heart_failure", "copd",
            "spinal_fusion"]
PROVIDERS = [{"name": "pc", "kind": "primary_care", "panel_share": 1.0},
             {"name": "specialists", "kind": "specialist"},
             {"name": "hospital", "kind": "hospital"},
             {"name": "post_acute", "kind": "post_acute"},
             {"name": "other_suppliers", "kind": "other"}]


def _bundle(**over):
    return {"type": "bundled", "payer": "medicare", "provider": "hospital",
            "episodes": EPISODES, **over}


def _scenario(size: int = 6000, **over):
    return scenario(size=size, horizon=2, behavior="fixed", providers=PROVIDERS,
                    plan=[{"years": "all", "contracts": [
                        {"type": "ffs", "payer": "medicare"}, _bundle()]}], **over)


@pytest.fixture(scope="module")
def r():
    return run(_scenario(), seed=11)


def _binomial_ok(k: int, n: int, p: float) -> bool:
    """k successes in n within 4 binomial standard errors of p (false-alarm chance
    ~6e-5 per check)."""
    return abs(k / n - p) <= 4.0 * np.sqrt(p * (1 - p) / n) + 1e-12


def test_stay_groups_have_the_configured_frequencies(r):
    adm = r.run.ledger.admissions
    g = r.sc.clinical.stay_groups
    group, mcc, kind = adm["group"], adm["mcc"], adm["kind"]
    elective = kind == AdmissionKind.ELECTIVE
    assert np.all(group[elective & adm["joint_replacement"]] == StayGroup.MAJOR_JOINT)
    other_el = elective & ~adm["joint_replacement"]
    share = g.spinal_fusion_share / (1 - r.sc.clinical.electives.joint_replacement_share)
    assert _binomial_ok(int(np.sum(group[other_el] == StayGroup.SPINAL_FUSION)),
                        int(other_el.sum()), share)
    unpl = ~elective
    assert _binomial_ok(int(np.sum(group[unpl] == StayGroup.SEPSIS)), int(unpl.sum()),
                        g.sepsis_share)
    hf = r.run.population.conditions[adm["patient"], 1]
    copd = r.run.population.conditions[adm["patient"], 2]
    assert not np.any(group[unpl & ~hf] == StayGroup.HEART_FAILURE)
    assert not np.any(group[unpl & ~copd] == StayGroup.COPD)
    assert _binomial_ok(int(np.sum(group[unpl & hf] == StayGroup.HEART_FAILURE)),
                        int(np.sum(unpl & hf)), (1 - g.sepsis_share) * g.heart_failure_share)
    for fam, p in ((StayGroup.SEPSIS, g.mcc_share_sepsis),
                   (StayGroup.HEART_FAILURE, g.mcc_share_heart_failure),
                   (StayGroup.OTHER_MEDICAL, g.mcc_share_other_medical),
                   (StayGroup.MAJOR_JOINT, g.mcc_share_major_joint)):
        m = group == fam
        assert m.sum() > 100
        assert _binomial_ok(int(mcc[m].sum()), int(m.sum()), p), fam


def test_with_mcc_stays_are_the_costlier_ones(r):
    """The MCC flag follows the stay's DRG-like payment (copula correlation 0.7): the
    anchor payment of with-MCC sepsis stays is well above the others'."""
    adm, c = r.run.ledger.admissions, r.run.ledger.claims
    fac = c["service"] == 7  # INPATIENT_FACILITY, dated at discharge
    key = {(int(p), float(d)): a for p, d, a in
           zip(c["patient"][fac], c["day"][fac], c["amount"][fac], strict=True)}
    sep = adm["group"] == StayGroup.SEPSIS
    day = adm["discharge"][sep].astype(c["day"].dtype)  # claims' days are stored as float32
    pay = np.array([key[(int(p), float(d))] for p, d in
                    zip(adm["patient"][sep], day, strict=True)])
    with_mcc, without = pay[adm["mcc"][sep]], pay[~adm["mcc"][sep]]
    assert np.median(with_mcc) > 1.3 * np.median(without)


def test_the_new_stream_leaves_every_other_draw_unchanged():
    """Changing the stay-group shares changes the groups only: same claims, same stays."""
    a = run(_scenario(size=1500), seed=3)
    b = run(_scenario(size=1500, clinical={"stay_groups": {"sepsis_share": 0.3,
                                                           "mcc_share_sepsis": 0.1}}), seed=3)
    for col in ("patient", "day", "amount", "service"):
        assert np.array_equal(a.run.ledger.claims[col], b.run.ledger.claims[col])
    assert np.array_equal(a.run.ledger.admissions["discharge"],
                          b.run.ledger.admissions["discharge"])
    assert not np.array_equal(a.run.ledger.admissions["group"],
                              b.run.ledger.admissions["group"])


@pytest.fixture(scope="module")
def lejr_spend(r) -> np.ndarray:
    """Spending of every LEJR episode of the run (all payers: one payer here)."""
    adm, c = r.run.ledger.admissions, r.run.ledger.claims
    m = adm["group"] == StayGroup.MAJOR_JOINT
    return episode_spending(c["patient"], c["day"], c["amount"], adm["patient"][m],
                            adm["admit"][m], adm["discharge"][m], 90)


def test_lejr_episode_spending_under_ffs_practice_is_medicares(lejr_spend):
    """Medicare LEJR episodes (anchor stay + 90 days, all Part A/B) under FFS practice:
    CJR evaluation (Lewin Group, PY1-2 report, 2019): CJR saved $997 per episode, 3.7% of
    episode payments -> ~$26,900 in 2016-17; BPCI Advanced LEJR targets $25-30k. The
    tolerance, $24,000 to $30,000, spans that evidence (regions and years differ more
    than the model's Monte Carlo error: ~350 episodes, SE ~$700)."""
    spend = lejr_spend
    assert spend.size > 200
    assert 24_000 <= spend.mean() <= 30_000


def test_lejr_post_acute_care_is_medicares_as_configured(r, lejr_spend):
    """What the model's FFS-practice LEJR episode is made of, checked from the ledger: the
    discharge destinations have the configured shares (SNF and IRF scaled by the FFS
    reference levers' factor, 0.985 at transitional-care effort 0.1), every SNF,
    IRF and home-health stay of an LEJR discharge is billed at the fee schedule, and the
    episode is the anchor stay (MS-DRG 470 $14,500 + $1,450 professional) plus the
    post-acute care plus the rest of the 90 days (readmissions, visits), which the generic
    model makes (more than 5% and less than 40% of the anchor)."""
    adm, c = r.run.ledger.admissions, r.run.ledger.claims
    cfg = r.sc.clinical.post_acute.after_joint_replacement
    m = adm["group"] == StayGroup.MAJOR_JOINT
    n = int(m.sum())
    snf, irf, hh = adm["snf_days"][m] > 0, adm["irf"][m], adm["home_health"][m]
    assert not np.any(snf & irf)
    lv, le = r.sc.providers[0].levers, r.sc.lever_effects
    f = (lv.discretionary_intensity**le.elasticity_post_acute
         * (1 - (1 - le.transitional_snf_rr) * lv.transitional_care_effort))
    assert f == pytest.approx(0.985)
    assert _binomial_ok(int(snf.sum()), n, cfg.snf_share * f)
    assert _binomial_ok(int(irf.sum()), n, cfg.irf_share * f)
    assert _binomial_ok(int((hh & ~snf & ~irf).sum()), n,
                        cfg.home_health_share + (cfg.snf_share + cfg.irf_share) * (1 - f))
    inst = snf | irf
    assert _binomial_ok(int((hh & inst).sum()), int(inst.sum()),
                        cfg.home_health_after_institutional)
    days = adm["snf_days"][m][snf]  # gamma, shape 2: SD = mean / sqrt(2)
    assert abs(days.mean() - cfg.snf_los_mean_days) < 4 * cfg.snf_los_mean_days / np.sqrt(
        2 * days.size)
    # Post-acute claims of the LEJR discharges, dated at discharge.
    pr = r.sc.prices
    pat, disch = adm["patient"][m], adm["discharge"][m].astype(c["day"].dtype)
    post = np.flatnonzero(np.isin(c["service"], [Service.SNF, Service.IRF,
                                                 Service.HOME_HEALTH]))
    keys = set(zip(pat.tolist(), disch.tolist(), strict=True))
    sel = post[[(int(p), float(d)) in keys for p, d in
                zip(c["patient"][post], c["day"][post], strict=True)]]
    amount, service = c["amount"][sel], c["service"][sel]
    assert np.all(amount[service == Service.IRF] == pr.irf_stay_usd)
    assert np.all(amount[service == Service.HOME_HEALTH] == pr.home_health_period_usd)
    assert int((service == Service.IRF).sum()) == int(irf.sum())
    assert int((service == Service.HOME_HEALTH).sum()) == int(hh.sum()) * cfg.home_health_periods
    assert close(float(amount[service == Service.SNF].sum()),
                 float(days.sum()) * pr.snf_per_day_usd)
    # The rest of the 90 days (not the anchor, not this post-acute care).
    other = np.ones(len(c["amount"]), bool)
    other[sel] = False
    other &= ~np.isin(c["service"], [Service.ELECTIVE_FACILITY,
                                     Service.ELECTIVE_PROFESSIONAL])
    rest = episode_spending(c["patient"][other], c["day"][other], c["amount"][other], pat,
                            adm["admit"][m], adm["discharge"][m], 90)
    anchor = pr.elective_admission_usd + pr.elective_professional_usd
    se = rest.std() / np.sqrt(rest.size)
    assert 0.05 * anchor + 4 * se < rest.mean() < 0.4 * anchor - 4 * se
    anchor_claims = np.isin(c["service"], [Service.ELECTIVE_FACILITY,
                                           Service.ELECTIVE_PROFESSIONAL])
    anchors = episode_spending(c["patient"][anchor_claims], c["day"][anchor_claims],
                               c["amount"][anchor_claims], pat, adm["admit"][m],
                               adm["discharge"][m], 90)
    assert close(lejr_spend.sum(), rest.sum() + amount.sum() + anchors.sum())


def _episodes(r) -> dict[str, np.ndarray]:
    """The hospital's Medicare episodes of the five clinical episodes, by hand."""
    adm, c = r.run.ledger.admissions, r.run.ledger.claims
    codes = [CLINICAL_EPISODES[e] for e in EPISODES]
    trig = np.isin(adm["group"], codes)
    pat, start, disch = adm["patient"][trig], adm["admit"][trig], adm["discharge"][trig]
    opened = open_episodes(pat, start, disch, 90)
    group, mcc = adm["group"][trig][opened], adm["mcc"][trig][opened]
    pat, start, disch = pat[opened], start[opened], disch[opened]
    spend = episode_spending(c["patient"], c["day"], c["amount"], pat, start, disch, 90)
    end_year = np.floor((disch + 90) / 365.0).astype(int)
    risk = np.array([r.pyear("risk_score", y)[p] if y < 2 else np.nan
                     for y, p in zip(end_year, pat, strict=True)])
    return {"group": group, "mcc": mcc, "spend": spend, "end_year": end_year, "risk": risk}


def test_each_clinical_episode_has_its_own_target_and_cap(r):
    ep = _episodes(r)
    base = np.isin(ep["end_year"], [-3, -2, -1])
    for year in range(2):
        now = ep["end_year"] == year
        targets = {st.facts["clinical_episode"]: st for st in
                   r.statements_of(year, "bundled_target")}
        assert set(targets) == set(EPISODES)
        want_target = np.zeros(int(now.sum()))
        capped = np.zeros(int(now.sum()))
        for name in EPISODES:
            b = base & (ep["group"] == CLINICAL_EPISODES[name])
            w = now & (ep["group"] == CLINICAL_EPISODES[name])
            win = winsorize(ep["spend"][b], 1, 99)
            cm = case_mix_adjustment(win.spending_usd, ep["mcc"][b], ep["risk"][b],
                                     ep["mcc"][w], ep["risk"][w]).factor
            tp = win.mean_usd * cm * 0.97
            assert close(targets[name]["target_price_usd"], tp), name
            sel = w[now]
            want_target[sel] = tp
            capped[sel] = np.minimum(ep["spend"][w], win.cap_usd)
        st = r.statements_of(year, "bundled")[0]
        assert st["episodes"] == now.sum()
        assert close(st["target_amount_usd"], want_target.sum())
        assert close(st["actual_spending_usd"], capped.sum())
        assert st["actual_spending_usd"] < ep["spend"][now].sum()  # the cap bites
        assert close(r.metric("hospital", "settlement_usd", year), st["net_payment_usd"])


@pytest.mark.parametrize(("bundle", "message"), [
    (_bundle(triggers=["acsc"]), "either `episodes`"),
    (_bundle(episodes=["sepsis", "sepsis"]), "twice"),
    (_bundle(episodes=["hip_fracture"]), "major_joint_lower_extremity"),
    (_bundle(provider="specialists"), "initiator must be a hospital or primary_care"),
])
def test_bad_bundles_are_refused(bundle, message):
    with pytest.raises(ScenarioError, match=message):
        scenario(size=8000, horizon=2, providers=PROVIDERS,
                 plan=[{"years": "all", "contracts": [{"type": "ffs"}, bundle]}])


def test_a_rare_clinical_episode_needs_a_larger_population():
    """Each selected clinical episode needs its own baseline episodes: COPD episodes
    (COPD patients' unplanned stays x copd_share) are refused at 500 patients, where
    joint replacement alone is accepted."""
    joint = _bundle(episodes=["major_joint_lower_extremity"])
    scenario(size=500, horizon=2, providers=PROVIDERS,
             plan=[{"years": "all", "contracts": [{"type": "ffs"}, joint]}])
    with pytest.raises(ScenarioError, match="clinical episode copd"):
        scenario(size=500, horizon=2, providers=PROVIDERS,
                 plan=[{"years": "all", "contracts": [
                     {"type": "ffs"}, _bundle(episodes=["major_joint_lower_extremity",
                                                        "copd"])]}])
