"""Medicare Shared Savings Program (MSSP): settlement of one performance year.

Pure rules on aggregates, faithful to 42 CFR part 425 subpart G:

* :func:`minimum_savings_rate` — the MSR size table of 42 CFR 425.604(b) /
  425.605(b)(1), linear within each band, extended below 5,000 beneficiaries
  (42 CFR 425.110(b)(3): "set at a level consistent with the number of assigned
  beneficiaries") with the small-ACO bands that reproduce every such ACO in CMS's
  PY2023/PY2024 public use files.
* :data:`TRACKS` — sharing rates, loss rates, savings caps and loss limits of every
  track (BASIC A–E and ENHANCED under 425.605 / 425.610; legacy Track 1, 1+, 2, 3
  under 425.604 / 425.606 / 425.610 and the Track 1+ model).
* :func:`settle_performance_year` — gross savings, MSR/MLR test, quality, sharing or
  loss rate, low-revenue half rate (425.605(h), agreement periods from 2024),
  sequestration, performance payment limit or loss limit; an itemised
  :class:`~sim.contracts.statement.Statement`.

The benchmark rules (truncation, weights, trend, regional and prior-savings
adjustments, ACPT, risk ratio cap, rebasing) live in
:mod:`sim.contracts.mssp.benchmark` and are re-exported here.

Amounts are US dollars, rates are fractions (0.039 = 3.9%), quality scores are
0–100. Nothing is rounded: CMS reports whole dollars, so compare to ~$1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np

from sim.contracts.mssp.benchmark import (
    AgreementPeriod,
    acpt_weight,
    agreement_period,
    baseline_weights,
    benchmark_adjustment,
    blended_update_factor,
    capped_risk_ratio,
    capped_risk_ratios,
    historical_benchmark,
    prior_savings_adjustment,
    regional_adjustment,
    truncate_spending,
    updated_benchmark,
)
from sim.contracts.statement import Statement, StatementBuilder

__all__ = [
    "MSR_TABLE",
    "SMALL_ACO_MSR_TABLE",
    "TRACKS",
    "AgreementPeriod",
    "QualityStandard",
    "Track",
    "TrackRules",
    "acpt_weight",
    "agreement_period",
    "baseline_weights",
    "benchmark_adjustment",
    "blended_update_factor",
    "capped_risk_ratios",
    "earned_by_expenditure",
    "prior_savings_adjustment",
    "regional_adjustment",
    "capped_risk_ratio",
    "historical_benchmark",
    "minimum_savings_rate",
    "sequestration_rate",
    "settle_performance_year",
    "truncate_spending",
    "updated_benchmark",
]

QualityStandard = Literal["met", "alternative", "failed"]

#: First performance year with the alternative quality performance standard
#: (42 CFR 425.512(a)(4)(ii)).
ALTERNATIVE_STANDARD_FROM = 2023


class Track(StrEnum):
    """MSSP tracks (``Track("BASIC_E")``; CMS public use files write A–E and EN)."""

    BASIC_A = "BASIC_A"
    BASIC_B = "BASIC_B"
    BASIC_C = "BASIC_C"
    BASIC_D = "BASIC_D"
    BASIC_E = "BASIC_E"
    ENHANCED = "ENHANCED"
    TRACK_1 = "TRACK_1"
    TRACK_1_PLUS = "TRACK_1_PLUS"
    TRACK_2 = "TRACK_2"
    TRACK_3 = "TRACK_3"


@dataclass(frozen=True)
class TrackRules:
    """The financial parameters of one track.

    Attributes:
        two_sided: the ACO shares losses.
        max_sharing_rate: final sharing rate when the quality standard is met
            (legacy tracks and all tracks before PY2021: times the quality score).
        legacy: a pre-Pathways track (agreement periods starting before July 2019),
            whose sharing rate is always the maximum times the quality score.
        savings_cap: performance payment limit, share of the updated benchmark.
        loss_rate_fixed: loss sharing rate that does not depend on quality.
        loss_rate_bounds: ``(min, max)`` for a quality-based loss rate
            ``1 - max_sharing_rate * quality / 100`` (ENHANCED, Track 2, Track 3);
            the max is also the rate when the quality standard is failed.
        loss_limit_revenue: loss limit as a share of ACO participants' Medicare
            Parts A and B FFS revenue (BASIC C–E, Track 1+), or None.
        loss_limit_benchmark: loss limit as a share of the updated benchmark, by
            year of the agreement period (the last value repeats), or None.
        source: the regulation.
    """

    track: Track
    two_sided: bool
    max_sharing_rate: float
    legacy: bool
    savings_cap: float
    loss_rate_fixed: float | None = None
    loss_rate_bounds: tuple[float, float] | None = None
    loss_limit_revenue: float | None = None
    loss_limit_benchmark: tuple[float, ...] | None = None
    source: str = ""

    @property
    def basic(self) -> bool:
        return self.track.value.startswith("BASIC")

    @property
    def max_loss_rate(self) -> float:
        """Loss rate applied when the quality standard is failed."""
        if self.loss_rate_fixed is not None:
            return self.loss_rate_fixed
        if self.loss_rate_bounds is not None:
            return self.loss_rate_bounds[1]
        return 0.0


TRACKS: dict[Track, TrackRules] = {
    Track.BASIC_A: TrackRules(Track.BASIC_A, False, 0.40, False, 0.10,
                              source="42 CFR 425.605(d)(1)(i)"),
    Track.BASIC_B: TrackRules(Track.BASIC_B, False, 0.40, False, 0.10,
                              source="42 CFR 425.605(d)(1)(ii)"),
    Track.BASIC_C: TrackRules(Track.BASIC_C, True, 0.50, False, 0.10, loss_rate_fixed=0.30,
                              loss_limit_revenue=0.02, loss_limit_benchmark=(0.01,),
                              source="42 CFR 425.605(d)(1)(iii)"),
    Track.BASIC_D: TrackRules(Track.BASIC_D, True, 0.50, False, 0.10, loss_rate_fixed=0.30,
                              loss_limit_revenue=0.04, loss_limit_benchmark=(0.02,),
                              source="42 CFR 425.605(d)(1)(iv)"),
    Track.BASIC_E: TrackRules(Track.BASIC_E, True, 0.50, False, 0.10, loss_rate_fixed=0.30,
                              loss_limit_revenue=0.08, loss_limit_benchmark=(0.04,),
                              source="42 CFR 425.605(d)(1)(v); 414.1415(c)(3)(i)"),
    Track.ENHANCED: TrackRules(Track.ENHANCED, True, 0.75, False, 0.20,
                               loss_rate_bounds=(0.40, 0.75), loss_limit_benchmark=(0.15,),
                               source="42 CFR 425.610(d)-(f)"),
    Track.TRACK_1: TrackRules(Track.TRACK_1, False, 0.50, True, 0.10,
                              source="42 CFR 425.604(d)-(e)"),
    Track.TRACK_1_PLUS: TrackRules(Track.TRACK_1_PLUS, True, 0.50, True, 0.10,
                                   loss_rate_fixed=0.30, loss_limit_revenue=0.08,
                                   loss_limit_benchmark=(0.04,),
                                   source="Track 1+ ACO Model (CMMI, 2018) participation "
                                   "agreement; 42 CFR 414.1415(c)(3)"),
    Track.TRACK_2: TrackRules(Track.TRACK_2, True, 0.60, True, 0.15,
                              loss_rate_bounds=(0.40, 0.60),
                              loss_limit_benchmark=(0.05, 0.075, 0.10),
                              source="42 CFR 425.606(d)-(g)"),
    Track.TRACK_3: TrackRules(Track.TRACK_3, True, 0.75, True, 0.20,
                              loss_rate_bounds=(0.40, 0.75), loss_limit_benchmark=(0.15,),
                              source="42 CFR 425.610 (Track 3, agreement periods before "
                              "July 2019)"),
}

#: MSR bands ``(low n, high n, MSR at low n, MSR at high n)``, 42 CFR 425.604(b) and
#: 425.605(b)(1); linear within a band; 60,000 and more: 2.0%.
MSR_TABLE: tuple[tuple[int, int, float, float], ...] = (
    (5_000, 5_999, 0.039, 0.036),
    (6_000, 6_999, 0.036, 0.034),
    (7_000, 7_999, 0.034, 0.032),
    (8_000, 8_999, 0.032, 0.031),
    (9_000, 9_999, 0.031, 0.030),
    (10_000, 14_999, 0.030, 0.027),
    (15_000, 19_999, 0.027, 0.025),
    (20_000, 49_999, 0.025, 0.022),
    (50_000, 59_999, 0.022, 0.020),
)
MSR_FLOOR = 0.020

#: MSR bands below 5,000 assigned beneficiaries (42 CFR 425.110(b)(3)). The two
#: upper bands reproduce, to CMS's two published decimals, the MSR of all 35 ACOs
#: below 5,000 in the PY2023/PY2024 public use files; the 500–999 band is
#: consistent with the one such ACO (640 beneficiaries, 11.22%). The endpoints
#: follow the 90% confidence-interval shape MSR ∝ 1/√n that underlies the table
#: (3.9% × √(5000/n) = 5.0% at 3,000, 8.7% at 1,000, 12.3% at 500).
SMALL_ACO_MSR_TABLE: tuple[tuple[int, int, float, float], ...] = (
    (500, 999, 0.122, 0.087),
    (1_000, 2_999, 0.087, 0.050),
    (3_000, 4_999, 0.050, 0.039),
)
#: Below 500 beneficiaries (no CMS value known): 12.2% × √(500 / n), capped at 100%.
SMALLEST_BAND_ANCHOR = (500, 0.122)

#: Two-sided ACOs may instead choose a fixed symmetric MSR/MLR (425.605(b)(2)(i)).
FIXED_MSR_CHOICES: tuple[float, ...] = (0.0, 0.005, 0.01, 0.015, 0.02)


def minimum_savings_rate(assigned_beneficiaries: int) -> float:
    """The one-sided minimum savings rate (a fraction) for an ACO of this size.

    Rule (42 CFR 425.604(b), 425.605(b)(1)): a sliding scale by number of assigned
    beneficiaries, linear within each band from its low end to its high end, e.g.
    5,451 beneficiaries: 3.9% − (5,451 − 5,000)/(5,999 − 5,000) × 0.3% = 3.7646%;
    60,000 and more: 2.0%.

    Below 5,000 (42 CFR 425.110(b)(3)(i), "a level consistent with the number of
    assigned beneficiaries") the bands of :data:`SMALL_ACO_MSR_TABLE` apply, which
    reproduce CMS's published MSRs of small ACOs (see the constant's note); below 500,
    where CMS publishes nothing, the documented extrapolation 12.2% × √(500/n)
    (the 90% confidence-interval shape) is used.
    """
    n = int(assigned_beneficiaries)
    if n != assigned_beneficiaries or n < 1:
        raise ValueError(f"assigned_beneficiaries must be a positive integer, got "
                         f"{assigned_beneficiaries!r}")
    if n >= 60_000:
        return MSR_FLOOR
    for lo, hi, r_lo, r_hi in SMALL_ACO_MSR_TABLE + MSR_TABLE:
        if lo <= n <= hi:
            return r_lo + (n - lo) / (hi - lo) * (r_hi - r_lo)
    anchor_n, anchor_rate = SMALLEST_BAND_ANCHOR
    return min(1.0, anchor_rate * math.sqrt(anchor_n / n))


def sequestration_rate(performance_year: int) -> float:
    """The share by which earned shared savings are reduced (never losses).

    Rule: the 2% Medicare sequestration (Budget Control Act of 2011, from April 2013)
    applies to shared savings payments; it was suspended from 1 May 2020 to
    31 March 2022 (CARES Act s. 3709 and later extensions), 1% April–June 2022,
    2% from July 2022. Shared savings are paid in the year after the performance
    year (around August–October), so PY2019 and PY2020 payments (made in 2020 and
    2021) were not reduced; PY2021 (paid in autumn 2022) and later ones, and PY2013–
    PY2018, were reduced by 2%. The PY2023 and PY2024 public use files confirm 2%
    on every ACO with earned savings.
    """
    return 0.0 if performance_year in (2019, 2020) else 0.02


def _check_fraction(name: str, value: float | None, upper: float = 1.0) -> None:
    if value is not None and not (0.0 <= value < upper):
        raise ValueError(f"{name} must be a fraction in [0, {upper}), got {value!r} "
                         f"(write 2% as 0.02)")


def settle_performance_year(
    track: str | Track,
    assigned_beneficiaries: int,
    benchmark_usd: float,
    expenditure_usd: float,
    quality_score: float,
    quality_standard: QualityStandard = "met",
    msr: float | None = None,
    mlr: float | None = None,
    low_revenue: bool = False,
    participant_revenue_usd: float | None = None,
    performance_year: int = 2024,
    agreement_start_year: int | None = None,
) -> Statement:
    """Settle one MSSP performance year from aggregates.

    Steps (42 CFR 425.604–425.610, 425.512, 425.605(h)):

    1. Gross savings = benchmark − expenditure (totals); savings rate = gross /
       benchmark.
    2. MSR: given, or the size table (:func:`minimum_savings_rate`; two-sided tracks:
       the symmetric size-based option). MLR (two-sided only): given, or = MSR.
       Two-sided ACOs below 5,000 beneficiaries get the size-based MSR/MLR whatever
       they chose (425.110(b)(3)(iii), PY2019 on).
    3. Savings (rate ≥ MSR): shared from the first dollar at the final sharing rate —
       the track's rate if the quality standard is met, that rate × quality score /
       100 under the alternative standard (PY2023+), nothing if failed. Legacy tracks
       and every track before PY2021: rate × quality score / 100.
       Low-revenue BASIC ACOs in agreement periods starting 2024 or later that meet
       the quality standard, have at least 5,000 beneficiaries and positive savings
       below the MSR share at half the track's rate (425.605(h)).
    4. Sequestration: earned savings × (1 − :func:`sequestration_rate`).
    5. Performance payment limit: earned savings ≤ cap × benchmark (BASIC and Track 1/
       1+ 10%, Track 2 15%, ENHANCED/Track 3 20%). The limit is applied to the
       sequestered amount: this is what reproduces CMS's published result for the
       PY2018 Track 1 ACO whose payment equals exactly 10% of its benchmark.
    6. Losses (two-sided, loss rate ≥ MLR): shared from the first dollar at the loss
       rate (BASIC C–E and Track 1+ 30%; ENHANCED/Track 3 1 − 0.75 × quality/100 within
       40–75%; Track 2 1 − 0.60 × quality/100 within 40–60%; the maximum when the
       quality standard is failed), limited by the loss limit (BASIC C/D/E: 2/4/8% of
       participant revenue but at most 1/2/4% of the benchmark — the benchmark limit
       alone when revenue is not given; Track 1+ 8%/4%; Track 2 5/7.5/10% of the
       benchmark by agreement year; ENHANCED/Track 3 15%). Losses are not sequestered.

    Args:
        track: one of :class:`Track` (``"BASIC_A"``…``"BASIC_E"``, ``"ENHANCED"``,
            ``"TRACK_1"``, ``"TRACK_1_PLUS"``, ``"TRACK_2"``, ``"TRACK_3"``).
        assigned_beneficiaries: number of assigned beneficiaries (for the MSR).
        benchmark_usd: total updated benchmark expenditure.
        expenditure_usd: total assigned-beneficiary expenditure.
        quality_score: ACO quality performance score, 0–100.
        quality_standard: ``"met"``, ``"alternative"`` (PY2023+) or ``"failed"``.
        msr, mlr: fractions; None: the programme default for the track and size.
        low_revenue: the ACO is low revenue (425.20).
        participant_revenue_usd: ACO participants' Medicare A+B FFS revenue (for the
            revenue-based loss limits of BASIC C–E and Track 1+).
        performance_year: calendar year settled.
        agreement_start_year: start of the agreement period (None: the performance
            year).

    Returns:
        A ``"mssp"`` statement with values ``gross_savings_usd``, ``savings_rate``,
        ``msr``, ``mlr`` (NaN for one-sided tracks), ``sharing_rate``, ``loss_rate``,
        ``shareable_usd`` (CMS's GenSaveLoss: gross savings or losses when they are
        shared, else 0), ``earned_usd`` (positive: paid to the ACO; negative: owed),
        and facts ``track``, ``limit_applied`` and ``msr_basis``.
    """
    rules, n, start = _checked_inputs(track, assigned_beneficiaries, benchmark_usd,
                                      quality_score, quality_standard, msr, mlr,
                                      participant_revenue_usd, performance_year,
                                      agreement_start_year)
    if not (math.isfinite(expenditure_usd) and expenditure_usd >= 0):
        raise ValueError(f"expenditure_usd must be >= 0, got {expenditure_usd!r}")

    st = StatementBuilder("mssp")
    st.fact("track", rules.track.value)
    st.fact("quality_standard", quality_standard)
    st.fact("source", rules.source)
    st.value("performance_year", performance_year)
    st.value("agreement_start_year", start)
    st.value("assigned_beneficiaries", n)
    st.value("quality_score", quality_score)

    bench = st.line("updated benchmark", benchmark_usd, "total, assigned beneficiaries")
    exp = st.line("expenditure", expenditure_usd, "total, assigned beneficiaries")
    gross = st.line("gross savings (losses if negative)", bench - exp, "benchmark − expenditure")
    savings_rate = gross / bench
    st.value("benchmark_usd", bench)
    st.value("expenditure_usd", exp)
    st.value("gross_savings_usd", gross)
    st.value("savings_rate", savings_rate)

    # 2. MSR / MLR
    msr_v, mlr_v, basis = _msr_mlr(rules, n, msr, mlr, performance_year)
    st.fact("msr_basis", basis)
    st.value("msr", msr_v)
    st.value("mlr", mlr_v)
    st.line("minimum savings rate × benchmark", msr_v * bench, f"MSR {msr_v:.4%} ({basis})")
    if rules.two_sided:
        st.line("minimum loss rate × benchmark", mlr_v * bench, f"MLR {mlr_v:.4%}")

    msr_met = gross > 0 and savings_rate >= msr_v
    mlr_met = rules.two_sided and gross < 0 and -savings_rate >= mlr_v
    st.value("msr_met", msr_met)
    st.value("mlr_met", mlr_met)

    seq = sequestration_rate(performance_year)
    st.value("sequestration_rate", seq)
    cap = rules.savings_cap * bench
    st.value("savings_cap_usd", cap)
    st.value("loss_limit_usd", math.nan)

    # 3. The final sharing rate (CMS's FinalShareRate: set whether or not there are
    # savings) and whether the savings are shared.
    sharing_rate, why = _sharing_rate(rules, quality_standard, quality_score,
                                      performance_year)
    reduced = (gross > 0 and not msr_met and rules.basic and start >= 2024 and low_revenue
               and quality_standard == "met" and n >= 5_000)
    if reduced:
        sharing_rate = rules.max_sharing_rate / 2.0
        why = (f"half of {rules.max_sharing_rate:.0%}: low-revenue BASIC ACO, agreement from "
               f"{start}, positive savings below the MSR (425.605(h))")

    # 6. The final loss rate (two-sided tracks).
    loss_rate, why_loss = _loss_rate(rules, quality_standard, quality_score)

    shareable = 0.0
    earned = 0.0
    limit_applied = "none"
    if gross > 0:
        if (msr_met or reduced) and sharing_rate > 0:
            shareable = gross
            note = "from the first dollar"
        else:
            note = ("quality standard failed" if quality_standard == "failed"
                    else "savings below the MSR: not shared")
        st.line("shareable savings", shareable, note)
        shared = st.line("shared savings", shareable * sharing_rate,
                         f"final sharing rate {sharing_rate:.4%}: {why}")
        after_seq = shared * (1.0 - seq)
        st.line("sequestration", after_seq - shared, f"{seq:.0%} of earned savings")
        st.line("performance payment limit", cap,
                f"{rules.savings_cap:.0%} of the updated benchmark")
        earned = min(after_seq, cap)
        if after_seq > cap:
            limit_applied = "savings_cap"
        st.value("shared_before_sequestration_usd", shared)
        st.value("sequestration_usd", shared - after_seq)
    elif gross < 0 and rules.two_sided:
        if mlr_met:
            shareable = gross
            note = "from the first dollar once the MLR is met"
        else:
            note = "losses below the MLR: not shared"
        st.line("shareable losses", shareable, note)
        shared_loss = st.line("shared losses", shareable * loss_rate,
                              f"loss rate {loss_rate:.4%}: {why_loss}")
        limit, basis_l = _loss_limit(rules, bench, participant_revenue_usd,
                                     performance_year - start + 1)
        st.value("loss_limit_usd", limit)
        st.line("loss limit", -limit, basis_l)
        earned = max(shared_loss, -limit)
        if shared_loss < -limit:
            limit_applied = ("loss_limit_revenue" if basis_l.startswith("revenue")
                             else "loss_limit_benchmark")
    else:
        st.line("shareable savings", 0.0,
                "no savings" if rules.two_sided else "no savings (one-sided: losses not shared)")

    st.value("sharing_rate", sharing_rate)
    st.value("loss_rate", loss_rate)
    st.value("reduced_sharing_rate_applied", reduced)
    st.value("shareable_usd", shareable)
    st.fact("limit_applied", limit_applied)
    st.value("earned_usd", earned)
    st.line("earned shared savings (owed losses if negative)", earned,
            f"limit applied: {limit_applied}")
    return st.build(payer_paid_usd=earned, provider_received_usd=earned)


def _checked_inputs(track: str | Track, assigned_beneficiaries: int, benchmark_usd: float,
                    quality_score: float, quality_standard: str, msr: float | None,
                    mlr: float | None, participant_revenue_usd: float | None,
                    performance_year: int, agreement_start_year: int | None
                    ) -> tuple[TrackRules, int, int]:
    """The checks of :func:`settle_performance_year` and :func:`earned_by_expenditure`
    (all but the expenditure's, scalar in one, an array in the other): the track's rules,
    the beneficiaries and the agreement's start year."""
    try:
        rules = TRACKS[Track(track)]
    except ValueError:
        raise ValueError(f"unknown track {track!r}; valid tracks: "
                         f"{[t.value for t in Track]}") from None
    n = int(assigned_beneficiaries)
    if n != assigned_beneficiaries or n < 1:
        raise ValueError(f"assigned_beneficiaries must be a positive integer, got "
                         f"{assigned_beneficiaries!r}")
    if not (math.isfinite(benchmark_usd) and benchmark_usd > 0):
        raise ValueError(f"benchmark_usd must be positive, got {benchmark_usd!r}")
    if not (0.0 <= quality_score <= 100.0):
        raise ValueError(f"quality_score must be in [0, 100], got {quality_score!r}")
    if quality_standard not in ("met", "alternative", "failed"):
        raise ValueError(f"quality_standard must be 'met', 'alternative' or 'failed', got "
                         f"{quality_standard!r}")
    if quality_standard == "alternative" and performance_year < ALTERNATIVE_STANDARD_FROM:
        raise ValueError("the alternative quality performance standard exists from "
                         f"PY{ALTERNATIVE_STANDARD_FROM} (42 CFR 425.512(a)(4)(ii)); use 'met' "
                         "or 'failed'")
    _check_fraction("msr", msr, 0.5)
    _check_fraction("mlr", mlr, 0.5)
    if mlr is not None and not rules.two_sided:
        raise ValueError(f"{rules.track} is one-sided: it has no minimum loss rate")
    if participant_revenue_usd is not None and participant_revenue_usd < 0:
        raise ValueError("participant_revenue_usd must be >= 0")
    start = performance_year if agreement_start_year is None else int(agreement_start_year)
    if start > performance_year:
        raise ValueError(f"agreement_start_year {start} is after performance_year "
                         f"{performance_year}")
    return rules, n, start


def _msr_mlr(rules: TrackRules, n: int, msr: float | None, mlr: float | None,
             performance_year: int) -> tuple[float, float, str]:
    """(MSR, MLR (NaN one-sided), how the MSR was set) of step 2."""
    if msr is None:
        msr_v = minimum_savings_rate(n)
        basis = "size table" if n >= 5_000 else "size table, small-ACO extension (<5,000)"
    elif rules.two_sided and n < 5_000 and performance_year >= 2019:
        # 425.110(b)(3)(iii): below 5,000 a chosen fixed MSR/MLR gives way to the
        # size-based one (and reverts once the ACO is back to 5,000 or more).
        msr_v = minimum_savings_rate(n)
        mlr = None
        basis = (f"size table below 5,000 beneficiaries replaces the chosen {msr:.2%} "
                 f"(425.110(b)(3)(iii))")
    else:
        msr_v, basis = float(msr), "given"
    if rules.two_sided:
        mlr_v = msr_v if mlr is None else float(mlr)
    else:
        mlr_v = math.nan
    return msr_v, mlr_v, basis


def _sharing_rate(rules: TrackRules, quality_standard: str, quality_score: float,
                  performance_year: int) -> tuple[float, str]:
    """Step 3's final sharing rate (CMS's FinalShareRate, before the low-revenue
    reduction) and why."""
    if quality_standard == "failed":
        return 0.0, "quality standard failed: no shared savings"
    if rules.legacy or performance_year <= 2020 or quality_standard == "alternative":
        return (rules.max_sharing_rate * quality_score / 100.0,
                f"{rules.max_sharing_rate:.0%} × quality score {quality_score:g}/100"
                + (" (alternative quality standard)" if quality_standard == "alternative"
                   else ""))
    return rules.max_sharing_rate, "quality standard met"


def _loss_rate(rules: TrackRules, quality_standard: str, quality_score: float
               ) -> tuple[float, str]:
    """Step 6's final loss rate (NaN on a one-sided track) and why."""
    if not rules.two_sided:
        return math.nan, "one-sided track"
    if quality_standard == "failed":
        return rules.max_loss_rate, "quality standard failed: maximum loss rate"
    if rules.loss_rate_fixed is not None:
        return rules.loss_rate_fixed, "fixed loss rate"
    lo, hi = rules.loss_rate_bounds  # type: ignore[misc]
    return (min(hi, max(lo, 1.0 - rules.max_sharing_rate * quality_score / 100.0)),
            f"1 − {rules.max_sharing_rate:.0%} × quality {quality_score:g}/100, "
            f"within {lo:.0%}–{hi:.0%}")


def _loss_limit(rules: TrackRules, benchmark_usd: float, revenue_usd: float | None,
                agreement_year: int) -> tuple[float, str]:
    """The loss recoupment limit (USD, positive) and how it was set."""
    bench_pct = None
    if rules.loss_limit_benchmark is not None:
        sched: Sequence[float] = rules.loss_limit_benchmark
        bench_pct = sched[min(agreement_year, len(sched)) - 1]
    bench_limit = math.inf if bench_pct is None else bench_pct * benchmark_usd
    if rules.loss_limit_revenue is not None:
        if revenue_usd is None:
            return bench_limit, (f"benchmark: {bench_pct:.1%} of the benchmark "
                                 f"(participant revenue not given)")
        rev_limit = rules.loss_limit_revenue * revenue_usd
        if rev_limit <= bench_limit:
            return rev_limit, (f"revenue: {rules.loss_limit_revenue:.0%} of participant "
                               f"revenue (≤ {bench_pct:.1%} of the benchmark)")
        return bench_limit, (f"benchmark: {bench_pct:.1%} of the benchmark (< "
                             f"{rules.loss_limit_revenue:.0%} of participant revenue)")
    return bench_limit, f"benchmark: {bench_pct:.1%} of the benchmark"


def earned_by_expenditure(
    track: str | Track,
    assigned_beneficiaries: int,
    benchmark_usd: float,
    expenditure_usd: np.ndarray,
    quality_score: float,
    quality_standard: QualityStandard = "met",
    msr: float | None = None,
    mlr: float | None = None,
    low_revenue: bool | np.ndarray = False,
    participant_revenue_usd: float | None = None,
    performance_year: int = 2024,
    agreement_start_year: int | None = None,
) -> np.ndarray:
    """``settle_performance_year(...)["earned_usd"]`` for an array of expenditures at once
    (and, if an array, a ``low_revenue`` flag per expenditure); everything else as there.

    The same operations element by element, so the same floats (tested knot by knot on
    every track): the expected payoffs (:mod:`sim.contracts.expectation`) tabulate the
    rule on a grid of savings rates with it instead of one statement per grid point.
    """
    rules, n, start = _checked_inputs(track, assigned_beneficiaries, benchmark_usd,
                                      quality_score, quality_standard, msr, mlr,
                                      participant_revenue_usd, performance_year,
                                      agreement_start_year)
    exp = np.asarray(expenditure_usd, dtype=float)
    if not (np.all(np.isfinite(exp)) and np.all(exp >= 0)):
        raise ValueError("expenditure_usd must be finite and >= 0")
    # 2. MSR / MLR (as settle_performance_year)
    msr_v, mlr_v, _ = _msr_mlr(rules, n, msr, mlr, performance_year)
    bench = benchmark_usd
    gross = bench - exp
    savings_rate = gross / bench
    msr_met = (gross > 0) & (savings_rate >= msr_v)
    seq = sequestration_rate(performance_year)
    cap = rules.savings_cap * bench
    # 3. the final sharing rate
    sharing_rate, _ = _sharing_rate(rules, quality_standard, quality_score, performance_year)
    rate = np.full(exp.shape, sharing_rate)
    reduced = np.zeros(exp.shape, dtype=bool)
    if rules.basic and start >= 2024 and quality_standard == "met" and n >= 5_000:
        reduced = (gross > 0) & ~msr_met & np.asarray(low_revenue, dtype=bool)
        rate[reduced] = rules.max_sharing_rate / 2.0
    shareable = np.where((msr_met | reduced) & (rate > 0), gross, 0.0)
    after_seq = (shareable * rate) * (1.0 - seq)
    earned = np.where(gross > 0, np.minimum(after_seq, cap), 0.0)
    if rules.two_sided:
        # 6. the final loss rate and the loss limit
        loss_rate, _ = _loss_rate(rules, quality_standard, quality_score)
        mlr_met = (gross < 0) & (-savings_rate >= mlr_v)
        shared_loss = np.where(mlr_met, gross, 0.0) * loss_rate
        limit, _ = _loss_limit(rules, bench, participant_revenue_usd,
                               performance_year - start + 1)
        earned = np.where(gross < 0, np.maximum(shared_loss, -limit), earned)
    return earned
