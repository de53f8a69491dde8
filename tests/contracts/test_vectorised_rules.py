"""The vectorised settlement rules the expected payoffs tabulate with equal the scalar rules
knot by knot (issue 16 item 4): MSSP ``earned_by_expenditure`` vs
``settle_performance_year`` on every track, quality standard, MSR/MLR choice, size band,
revenue and year; REACH ``paid_by_expenditure`` vs ``settle_reach``."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.contracts.mssp.rules import Track, earned_by_expenditure, settle_performance_year
from sim.contracts.reach.rules import paid_by_expenditure, settle_reach

B = 12_345_678.9
# savings rates from -40% to +40% in 0.5% steps (the expected payoffs' grid), plus points
# on and around the MSR bands and limits
RATES = np.unique(np.concatenate([np.linspace(-0.4, 0.4, 161),
                                  [0.0, 1e-9, -1e-9, 0.0283, -0.0283, 0.2, -0.2, 0.1001]]))
EXP = B * (1 - RATES)


def _scalar(track, n, q, std, msr, mlr, low, rev, py, start):
    return np.array([settle_performance_year(
        track=track, assigned_beneficiaries=n, benchmark_usd=B, expenditure_usd=float(e),
        quality_score=q, quality_standard=std, msr=msr, mlr=mlr, low_revenue=bool(lo),
        participant_revenue_usd=rev, performance_year=py,
        agreement_start_year=start)["earned_usd"] for e, lo in zip(EXP, low, strict=True)])


CASES = [
    # (n, quality, standard, msr, mlr, revenue, performance year, agreement start)
    (12_000, 85.0, "met", None, None, None, 2024, 2024),
    (12_000, 60.0, "alternative", None, None, 0.3 * B, 2024, 2022),
    (4_200, 70.0, "failed", None, None, 0.01 * B, 2025, 2024),
    (7_500, 90.0, "met", 0.01, 0.02, 0.9 * B, 2026, 2024),
    (3_000, 90.0, "met", 0.02, None, 0.1 * B, 2024, 2024),  # chosen MSR below 5,000
    (80_000, 45.0, "met", 0.0, 0.0, None, 2020, 2018),  # scaled by quality before 2021
    (700, 95.0, "alternative", None, None, 0.02 * B, 2023, 2021),
]


@pytest.mark.parametrize("track", list(Track))
def test_mssp_earned_by_expenditure_equals_the_scalar_rule(track: Track) -> None:
    rng = np.random.default_rng(7)
    two_sided = track in (Track.BASIC_C, Track.BASIC_D, Track.BASIC_E, Track.ENHANCED,
                          Track.TRACK_1_PLUS, Track.TRACK_2, Track.TRACK_3)
    for n, q, std, msr, mlr, rev, py, start in CASES:
        if not two_sided:
            mlr = None
        for low in (np.ones(len(EXP), bool), rng.random(len(EXP)) < 0.5):
            want = _scalar(track, n, q, std, msr, mlr, low, rev, py, start)
            got = earned_by_expenditure(track, n, B, EXP, q, std, msr, mlr, low, rev, py,
                                        start)
            assert np.array_equal(got, want), (track, n, q, std, msr, mlr, rev, py, start)


def test_mssp_earned_by_expenditure_agreement_years_and_scalar_flag() -> None:
    """Track 2's loss limit by agreement year; a scalar low-revenue flag broadcasts."""
    for start, (py, low) in itertools.product((2019, 2020, 2021),
                                              ((2021, True), (2022, False))):
        want = _scalar(Track.TRACK_2, 9_000, 80.0, "met", None, None,
                       np.full(len(EXP), low), None, py, start)
        got = earned_by_expenditure(Track.TRACK_2, 9_000, B, EXP, 80.0, "met",
                                    low_revenue=low, performance_year=py,
                                    agreement_start_year=start)
        assert np.array_equal(got, want)
    with pytest.raises(ValueError, match="expenditure_usd"):
        earned_by_expenditure(Track.BASIC_E, 9_000, B, np.array([-1.0]), 80.0)


REACH_EXP = B * (1 - np.unique(np.concatenate([np.linspace(-0.6, 0.6, 241),
                                               [0.25, 0.35, 0.5, -0.25, 0.05, 0.6]])))


@pytest.mark.parametrize("option", ["global", "professional"])
def test_reach_paid_by_expenditure_equals_the_scalar_rule(option: str) -> None:
    for q, disc, pcc, mm, seq, charge, payout, corr in [
        (80.0, None, 0.0, 0.0, 0.02, 0.0, 0.0, None),
        (55.5, 0.035, 31.7, 12_000.0, 0.0, 0.004 * B, 0.0, None),
        (100.0, 0.0, 12.0, 9_000.5, 0.02, 0.0, 0.01 * B, [(0.03, 1.0), (0.08, 0.5)]),
    ]:
        want = np.array([settle_reach(option, B, float(e), q, 2025, disc, 0.02, pcc, mm,
                                      corr, seq, charge, payout).payer_paid_usd
                         for e in REACH_EXP])
        got = paid_by_expenditure(option, B, REACH_EXP, q, 2025, disc, 0.02, pcc, mm, corr,
                                  seq, charge, payout)
        assert np.array_equal(got, want), (option, q, disc, pcc, mm, seq, charge, corr)


@pytest.mark.parametrize("track", [Track.BASIC_E, Track.ENHANCED, Track.TRACK_2,
                                   Track.TRACK_1])
def test_mssp_earned_by_expenditure_over_quality_scores(track: Track) -> None:
    """Quality-dependent sharing and loss rates (floors and caps of the loss rate) across
    the score range; the largest difference is far below the 1e-6 USD required."""
    two = track != Track.TRACK_1
    for q in (0.0, 12.5, 40.0, 77.03, 99.9, 100.0):
        for std in ("met", "alternative", "failed"):
            want = _scalar(track, 20_000, q, std, None, None, np.zeros(len(EXP), bool),
                           0.4 * B if two else None, 2024, 2024)
            got = earned_by_expenditure(track, 20_000, B, EXP, q, std, None, None, False,
                                        0.4 * B if two else None, 2024, 2024)
            assert np.max(np.abs(got - want)) < 1e-6
            assert np.array_equal(got, want)


def test_statement_free_helpers_equal_their_statements() -> None:
    """The benchmark, risk ratio and quality score the expected payoffs compute without a
    statement equal the statements' values exactly."""
    from sim.contracts.mssp.benchmark import updated_benchmark, updated_benchmark_usd
    from sim.contracts.quality import (
        DEFAULT_SCALE,
        DecileBenchmark,
        score_measures,
        score_value,
    )
    from sim.contracts.reach.rules import normalised_risk_ratio, normalised_risk_ratio_value

    rng = np.random.default_rng(3)
    for _ in range(50):
        hb, r0, r1, u, n, adj = (rng.uniform(8_000, 14_000), rng.uniform(0.8, 1.3),
                                 rng.uniform(0.8, 1.4), rng.uniform(0.9, 1.2),
                                 rng.uniform(100, 30_000), rng.uniform(-300, 300))
        assert updated_benchmark_usd(hb, r0, r1, u, n, adjustment_pc_usd=adj) == \
            updated_benchmark(hb, r0, r1, u, n, adjustment_pc_usd=adj)["benchmark_usd"]
        cap, cif = rng.uniform(0, 0.05), rng.uniform(0, 0.05)
        a, b, c, d = rng.uniform(0.7, 1.5, 4)
        assert normalised_risk_ratio_value(a, b, c, d, cap, cif) == \
            normalised_risk_ratio(a, b, c, d, cap, cif)["risk_ratio"]
    names = list(DEFAULT_SCALE)
    deciles = {nm: DecileBenchmark(nm, tuple(np.sort(rng.uniform(0, 1, 9))[::k]), w, w > 1)
               for nm, w, k in zip(names, (1.0, 2.0, 0.5, 3.0), (1, -1, 1, -1), strict=True)}
    for _ in range(50):
        measures = {nm: float(rng.uniform(-0.1, 1.1)) for nm in names if rng.random() < 0.8}
        measures["not_scored"] = 0.5
        for scale in (DEFAULT_SCALE, deciles):
            if not any(nm in measures for nm in scale):
                continue
            assert score_value(measures, scale) == score_measures(measures, scale)["score"]


def test_expected_payoff_table_fill_vectorised_equals_one_call_per_rate() -> None:
    """``expected_by_savings_rate`` with the vectorised rule gives the same mean and variance
    as one scalar ``settle_performance_year`` per table entry (as before)."""
    from sim.contracts.expectation import expected_by_savings_rate

    class Memo:
        def __init__(self) -> None:
            self.cache: dict = {}

        def memo(self, key, compute):  # noqa: ANN001, ANN201
            if key not in self.cache:
                self.cache[key] = compute()
            return self.cache[key]

    rates = np.linspace(-0.4, 0.4, 161)

    def scalar(e: float, q: float, rev: float) -> float:
        return float(settle_performance_year(
            track="BASIC_E", assigned_beneficiaries=9_000, benchmark_usd=B,
            expenditure_usd=max(e, 0.0), quality_score=q, participant_revenue_usd=rev * B,
            low_revenue=rev * B < 0.35 * e, performance_year=2025,
            agreement_start_year=2024)["earned_usd"])

    def vector(e: np.ndarray, q: float, rev: float) -> np.ndarray:
        e = np.maximum(e, 0.0)
        return earned_by_expenditure("BASIC_E", 9_000, B, e, q, "met", None, None,
                                     rev * B < 0.35 * e, rev * B, 2025, 2024)

    for mean, sd, q, rev in [(0.97 * B, 0.02 * B, 81.3, 0.33), (1.01 * B, 0.004 * B, 90.0, 0.2),
                             (0.9 * B, 0.15 * B, 78.9, 0.051)]:
        coords = ((q, 2.0), (rev, 0.05))
        a = expected_by_savings_rate(Memo(), ("k",), rates, scalar, B, mean, sd, coords)
        b = expected_by_savings_rate(Memo(), ("k",), rates, vector, B, mean, sd, coords,
                                     vectorised=True)
        assert abs(a[0] - b[0]) < 1e-6 and abs(a[1] - b[1]) <= 1e-9 * a[1]
