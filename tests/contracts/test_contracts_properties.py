"""Property tests (hypothesis): monotone in spending, caps and limits hold, money adds up."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sim.contracts import quality
from sim.contracts.bundled import rules as bundled
from sim.contracts.capitation import rules as capitation
from sim.contracts.ffs import rules as ffs
from sim.contracts.mssp import rules as mssp
from sim.contracts.reach import rules as reach
from sim.contracts.statement import Statement

FAST = settings(max_examples=150, deadline=None)

tracks = st.sampled_from(list(mssp.Track))
standards = st.sampled_from(["met", "alternative", "failed"])
money = st.floats(min_value=1e5, max_value=5e9, allow_nan=False)
share = st.floats(min_value=0.0, max_value=0.6)


def _conserved(s: Statement) -> None:
    assert s.payer_paid_usd == pytest.approx(s.provider_received_usd, rel=1e-9, abs=1e-6)


@st.composite
def mssp_inputs(draw: st.DrawFn) -> dict:
    track = draw(tracks)
    year = draw(st.integers(2016, 2030))
    legacy = mssp.TRACKS[track].legacy
    if legacy:
        year = min(year, 2021)
    standard = draw(standards)
    if standard == "alternative" and year < 2023:
        standard = "met"
    two_sided = mssp.TRACKS[track].two_sided
    return dict(
        track=track,
        assigned_beneficiaries=draw(st.integers(1, 200_000)),
        benchmark_usd=draw(money),
        quality_score=draw(st.floats(0, 100)),
        quality_standard=standard,
        msr=draw(st.one_of(st.none(), st.sampled_from(mssp.FIXED_MSR_CHOICES)))
        if two_sided else None,
        low_revenue=draw(st.booleans()),
        participant_revenue_usd=draw(st.one_of(st.none(), money)),
        performance_year=year,
        agreement_start_year=year - draw(st.integers(0, 4)),
    )


@FAST
@given(mssp_inputs(), share, share)
def test_mssp_more_spending_never_raises_payment(kw: dict, r1: float, r2: float) -> None:
    lo, hi = sorted((r1, r2))
    b = kw["benchmark_usd"]
    cheaper = mssp.settle_performance_year(expenditure_usd=b * (0.7 + lo), **kw)
    dearer = mssp.settle_performance_year(expenditure_usd=b * (0.7 + hi), **kw)
    assert dearer.earned_usd <= cheaper.earned_usd + 1e-6


@FAST
@given(mssp_inputs(), st.floats(0.0, 2.0))
def test_mssp_caps_and_limits_hold(kw: dict, spend_ratio: float) -> None:
    s = mssp.settle_performance_year(expenditure_usd=kw["benchmark_usd"] * spend_ratio, **kw)
    rules = mssp.TRACKS[mssp.Track(kw["track"])]
    b = kw["benchmark_usd"]
    _conserved(s)
    assert s.earned_usd <= rules.savings_cap * b + 1e-6
    if s.earned_usd > 0:
        assert s.earned_usd <= s.gross_savings_usd * rules.max_sharing_rate + 1e-6
        assert kw["quality_standard"] != "failed"
    if not rules.two_sided:
        assert s.earned_usd >= 0
    else:
        assert -s.earned_usd <= s.loss_limit_usd + 1e-6 if s.earned_usd < 0 else True
        assert -s.earned_usd <= max(0.0, -s.gross_savings_usd) + 1e-6
    if s.earned_usd < 0:
        assert s.gross_savings_usd < 0 and s.mlr_met == 1
    if rules.loss_rate_bounds is not None and kw["quality_standard"] != "failed":
        lo, hi = rules.loss_rate_bounds
        assert lo - 1e-12 <= s.loss_rate <= hi + 1e-12


@FAST
@given(st.integers(1, 500_000), st.integers(1, 500_000))
def test_msr_decreases_with_size(n1: int, n2: int) -> None:
    lo, hi = sorted((n1, n2))
    assert mssp.minimum_savings_rate(hi) <= mssp.minimum_savings_rate(lo)
    assert 0.02 <= mssp.minimum_savings_rate(hi) <= 1.0


@FAST
@given(st.floats(1, 1000), st.lists(st.floats(0, 200_000), min_size=1, max_size=30),
       st.floats(0, 100_000), st.floats(0, 1), st.floats(0, 60_000))
def test_capitation_money_adds_up_and_stop_loss_limits_loss(
        pmpm: float, costs: list[float], attach: float, coins: float, extra: float) -> None:
    mm = np.full(len(costs), 12.0)
    bands = [(0.05, 1.0), (0.10, 0.5), (math.inf, 0.2)]
    s = capitation.settle_capitation(pmpm, mm, costs, stop_loss_attachment_usd=attach,
                                     stop_loss_coinsurance=coins, corridors=bands,
                                     scope="total_cost_of_care")
    _conserved(s)
    # Provider received = capitation + stop-loss + corridor; margin = received - cost.
    assert s.provider_margin_usd == pytest.approx(
        s.payer_paid_usd - s.in_scope_cost_usd, rel=1e-9, abs=1e-6)
    # Corridors keep a part of the result, with its sign.
    r = s.result_before_corridors_usd
    assert abs(s.provider_margin_usd) <= abs(r) + 1e-6
    assert s.provider_margin_usd * r >= -1e-6
    # Per-patient exposure beyond the attachment is at most the coinsurance share.
    recovery = capitation.stop_loss_recovery(costs, attach, coins)
    kept_cost = np.asarray(costs) - recovery
    assert np.all(kept_cost <= attach + coins * np.maximum(np.asarray(costs) - attach, 0) + 1e-6)
    # More cost never raises the margin.
    dearer = capitation.settle_capitation(pmpm, mm, [c + extra for c in costs],
                                          stop_loss_attachment_usd=attach,
                                          stop_loss_coinsurance=coins, corridors=bands)
    assert dearer.provider_margin_usd <= s.provider_margin_usd + 1e-6


@FAST
@given(st.floats(1000, 100_000), st.integers(1, 200), st.floats(0, 3), st.floats(0, 3),
       st.one_of(st.none(), st.floats(0, 100)))
def test_bundled_limits_and_monotone(price: float, n: int, a1: float, a2: float,
                                     q: float | None) -> None:
    lo, hi = sorted((a1, a2))
    target = price * n
    s1 = bundled.settle_bundled(price, target * lo, episodes=n, quality_score=q)
    s2 = bundled.settle_bundled(price, target * hi, episodes=n, quality_score=q)
    for s in (s1, s2):
        _conserved(s)
        assert abs(s.net_payment_usd) <= 0.20 * target + 1e-6
        assert abs(s.quality_adjustment_usd) <= 0.10 * abs(s.limited_reconciliation_usd) + 1e-6
    assert s2.net_payment_usd <= s1.net_payment_usd + 1e-6


@FAST
@given(st.sampled_from(["global", "professional"]), money, st.floats(0.3, 2.0),
       st.floats(0.3, 2.0), st.floats(0, 100), st.floats(0, 50), st.floats(0, 1e6))
def test_reach_corridors_and_monotone(option: str, b: float, r1: float, r2: float, q: float,
                                      pcc: float, mm: float) -> None:
    lo, hi = sorted((r1, r2))
    s1 = reach.settle_reach(option, b, b * lo, q, pcc_pmpm_usd=pcc, member_months=mm)
    s2 = reach.settle_reach(option, b, b * hi, q, pcc_pmpm_usd=pcc, member_months=mm)
    for s in (s1, s2):
        _conserved(s)
        assert abs(s.shared_savings_usd) <= abs(s.gross_savings_usd) + 1e-6
        assert s.shared_savings_usd * s.gross_savings_usd >= 0
        if option == "professional":
            assert abs(s.shared_savings_usd) <= 0.5 * abs(s.gross_savings_usd) + 1e-6
        assert s.payer_paid_usd == pytest.approx(s.pcc_usd + s.shared_savings_usd)
    assert s2.shared_savings_usd <= s1.shared_savings_usd + 1e-6


@FAST
@given(st.lists(st.floats(0, 100), min_size=2, max_size=50))
def test_mips_budget_neutral_and_bounded(scores: list[float]) -> None:
    scaling = ffs.budget_neutral_scaling(scores)
    adj = np.asarray(ffs.mips_adjustment(scores, scaling_factor=scaling))
    assert np.all(adj >= -0.09 - 1e-12) and np.all(adj <= 0.09 * scaling + 1e-12)
    assume(any(s > 75 for s in scores))
    if scaling < ffs.MIPS_MAX_SCALING:
        assert adj.sum() == pytest.approx(0.0, abs=1e-9)
    else:
        assert adj.sum() <= 1e-9  # capped: the payer keeps the difference
    order = np.argsort(scores)
    assert np.all(np.diff(adj[order]) >= -1e-12)


@FAST
@given(st.floats(0, 1e7), st.floats(0, 100))
def test_ffs_money_adds_up(allowed: float, score: float) -> None:
    s = ffs.settle_ffs(allowed, score, pay_for_performance=True)
    _conserved(s)
    assert s.paid_usd == pytest.approx(allowed * (1 + s.adjustment_rate))


@FAST
@given(st.floats(0, 0.5), st.floats(0, 1), st.floats(0, 1), st.floats(0, 3000), st.floats(0, 0.1))
def test_quality_score_bounded_and_monotone(readm: float, a1c: float, visit: float, ed: float,
                                            better: float) -> None:
    m = {"readmission_rate_30d": readm, "hba1c_control_share": a1c,
         "annual_visit_share": visit, "ed_visits_per_1000": ed}
    s = quality.quality_score(m).score
    assert 0.0 <= s <= 100.0
    improved = dict(m, readmission_rate_30d=max(0.0, readm - better),
                    hba1c_control_share=min(1.0, a1c + better))
    assert quality.quality_score(improved).score >= s - 1e-9
