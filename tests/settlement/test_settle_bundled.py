"""Bundled payments in a run: episodes, target price and reconciliation, from the ledger.

Medicare's joint-replacement bundle held by the hospital, with a commercial payer
beside it (its patients' stays open no Medicare episode). Episodes run from admission
to 90 days after discharge and are reconciled in the plan year in which they end.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from settle_support import DAYS, FFS_ALL, PROVIDERS_2PC, TWO_PAYERS, close, run, scenario

from sim.contracts.bundled.rules import (
    case_mix_adjustment,
    claims_of,
    episode_spending,
    open_episodes,
)
from sim.contracts.expectation import PayoffInputs
from sim.contracts.resolve import settler_for
from sim.settlement import active_contracts
from sim.settlement.context import SettlementContext


@pytest.fixture(scope="module")
def bundle():
    sc = scenario(size=3000, horizon=3, providers=PROVIDERS_2PC, payers=TWO_PAYERS,
                  plan=[{"years": "all", "contracts": [
                      FFS_ALL, {"type": "ffs", "payer": "commercial"},
                      {"type": "bundled", "payer": "medicare", "provider": "hospital"}]}])
    return run(sc, seed=8)


def _episodes(r) -> dict[str, np.ndarray]:
    """Medicare's joint-replacement episodes, their spending and the year they end."""
    adm = r.run.ledger.admissions
    trig = adm["joint_replacement"] & (r.payer_of[adm["patient"]] == r.payer_index("medicare"))
    pat, start, disch = adm["patient"][trig], adm["admit"][trig], adm["discharge"][trig]
    opened = open_episodes(pat, start, disch, 90)  # a stay inside an open episode opens none
    pat, start, end = pat[opened], start[opened], disch[opened] + 90.0
    c = r.run.ledger.claims
    factors = np.array([p.price_factor for p in r.sc.payers])
    paid = c["amount"] * factors[r.payer_of[c["patient"]]]
    day = c["day"].astype(float)
    spend = np.array([paid[(c["patient"] == p) & (day >= s) & (day <= e)].sum()
                      for p, s, e in zip(pat, start, end, strict=True)])
    return {"patient": pat, "spend": spend, "end_year": np.floor(end / DAYS).astype(int),
            "start_year": np.floor(start / DAYS).astype(int),
            "mcc": adm["mcc"][trig][opened]}


def _risk(r, ep, mask) -> np.ndarray:
    return np.array([r.pyear("risk_score", y)[p] for y, p in
                     zip(ep["end_year"][mask], ep["patient"][mask], strict=True)])


def test_episodes_target_and_reconciliation_recomputed(bundle):
    """Target = winsorised baseline mean x case mix (log-linear on MCC and risk score,
    fitted on the baseline) x (1 - 3%); this year's episodes capped at the baseline's 99th
    percentile; reconciliation limited to +-20%, then the quality adjustment."""
    r = bundle
    ep = _episodes(r)
    ctx = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    base = np.isin(ep["end_year"], [-3, -2, -1])
    assert base.sum() >= 30  # enough baseline episodes for a target price
    lo, hi = np.percentile(ep["spend"][base], [1, 99])
    win = np.clip(ep["spend"][base], lo, hi)
    for year in range(r.sc.horizon_years):
        now = ep["end_year"] == year
        target_st, st = r.statements_of(year, "bundled_target") + r.statements_of(year, "bundled")
        n = int(now.sum())
        assert st["episodes"] == n > 0
        cm = case_mix_adjustment(win, ep["mcc"][base], _risk(r, ep, base), ep["mcc"][now],
                                 _risk(r, ep, now))
        assert cm.fitted_on == base.sum() and cm.coef_log_risk != 0.0
        target = float(win.mean()) * cm.factor * (1 - 0.03)
        assert close(target_st["target_price_usd"], target)
        actual = float(np.minimum(ep["spend"][now], hi).sum())
        assert close(st["actual_spending_usd"], actual)
        amount = target * n
        assert close(st["target_amount_usd"], amount)
        limited = min(max(amount - actual, -0.2 * amount), 0.2 * amount)
        assert close(st["limited_reconciliation_usd"], limited)
        assert abs(st["limited_reconciliation_usd"]) <= 0.2 * amount * (1 + 1e-12)
        # quality of the contract's patients: all Medicare members (the hospital's own
        # quality_score row covers both payers); the measures are not under test here
        q = ctx.quality(year, r.members(year, "medicare"), "test:medicare")[0]
        pct = 0.1 * ((100 - q) if limited > 0 else q) / 100
        assert close(st["net_payment_usd"], limited * (1 - pct))
        assert close(r.metric("hospital", "settlement_usd", year), st["net_payment_usd"])
        for other in ("pc_a", "pc_b", "specialists"):
            assert r.metric(other, "settlement_usd", year) == 0.0


def test_episodes_are_the_payers_stays_ending_in_the_year(bundle):
    r = bundle
    ep = _episodes(r)
    adm = r.run.ledger.admissions
    joint = adm["joint_replacement"]
    commercial = r.payer_of[adm["patient"]] == r.payer_index("commercial")
    assert (joint & commercial).sum() > 0  # commercial stays exist and are left out
    # an episode ending in year y may have started in y-1 (discharged in its last 90 days)
    started_before = 0
    for year in range(r.sc.horizon_years):
        now = ep["end_year"] == year
        started_before += int(np.sum(now & (ep["start_year"] < year)))
        assert r.statements_of(year, "bundled")[0]["episodes"] == int(now.sum())
    assert started_before > 0
    # bundles carry every claim in the window: more than the anchor stay (~$16,000)
    assert np.median(ep["spend"]) > 16_000


def test_expected_payoff_prices_episodes_at_the_settled_target_with_a_trend():
    """With a price trend, the behaviour model's expected reconciliation uses the target
    price that settlement pays (trended from the middle baseline year to the performance
    year), not the untrended baseline mean it used before."""
    trend = 0.05
    sc = scenario(size=4000, horizon=2, providers=PROVIDERS_2PC, behavior="fixed",
                  plan=[{"years": "all", "contracts": [
                      FFS_ALL, {"type": "bundled", "provider": "pc_a", "trend_per_year": trend}]}])
    r = run(sc, seed=8)
    ctx = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    settlers = [settler_for(cfg, label) for label, cfg in active_contracts(sc, 0)]
    bundle = next(s for s in settlers if s.config.provider == "pc_a")
    for year in range(sc.horizon_years):
        target_st = r.statements_of(year, "bundled_target")[0]
        lines = {line.label: line.amount_usd for line in target_st.lines}
        case_mix = lines["benchmark price"] / lines["trended"]
        settled = target_st["target_price_usd"] / case_mix  # at the baseline's case mix
        # by hand: baseline mean x (1 + trend)^(year - middle baseline year -2) x (1 - 3%)
        untrended = lines["historical episode spending (mean)"] * (1 - 0.03)
        assert settled == pytest.approx(untrended * (1 + trend) ** (year + 2), rel=1e-12)
        assert settled > 1.10 * untrended  # the trend matters: the old target was off
        # a panel expecting 12 episodes at 99% of the target: reconciliation inside limits
        spend = 0.99 * settled
        inp = PayoffInputs(provider=r.pindex("pc_a"),
                           exp=SimpleNamespace(episodes=np.array([12.0]),
                                               episode_spend=np.array([spend])),
                           sd_per_patient=np.zeros(1), truncation=np.ones(1),
                           ffs_revenue=np.zeros(1), scope_cost=lambda p, scope: (0.0, 0.0, 0.0))
        mean, var = bundle.expected_payoff(ctx, year, inp)
        assert mean / 12.0 + spend == pytest.approx(settled, rel=1e-12)
        assert var == 0.0


def test_episode_spending_is_its_patients_claims_in_the_window_whatever_other_claims():
    """Each episode's spending is the sum of its patient's claims from the stay's start to
    discharge + window (to rounding; a hand sum here), and other patients' claims do not
    enter it at all: the same doubles with or without them (they are dropped before the
    claims are sorted; issue 16)."""
    rng = np.random.default_rng(11)
    n_claims, n_patients = 20_000, 400
    cp = rng.integers(0, n_patients, n_claims)
    cd = rng.random(n_claims) * 730.0
    ca = rng.lognormal(5.0, 1.0, n_claims)
    ep = np.array([3, 3, 17, 250, 399])
    es = np.array([10.0, 400.0, 0.0, 700.0, 365.0])
    ed = es + np.array([4.0, 2.0, 6.0, 3.0, 5.0])
    got = episode_spending(cp, cd, ca, ep, es, ed, 90)
    for k in range(len(ep)):
        m = (cp == ep[k]) & (cd >= es[k]) & (cd <= ed[k] + 90)
        assert got[k] == pytest.approx(ca[m].sum(), rel=1e-12), k
    mine = claims_of(cp, ep)
    assert np.array_equal(mine, np.flatnonzero(np.isin(cp, ep)))
    only = episode_spending(cp[mine], cd[mine], ca[mine], ep, es, ed, 90)
    assert np.array_equal(only, got)  # bit for bit
    # a day on the window's edge counts; one just after does not
    edge = episode_spending(np.array([5, 5]), np.array([ed[0] + 90, ed[0] + 90.5]),
                            np.array([1.0, 2.0]), np.array([5]), es[:1], ed[:1], 90)
    assert edge.tolist() == [1.0]
