"""MSSP benchmark rules: truncation, baseline weights, trend, risk cap, rebasing.

42 CFR 425.601 (agreement periods from July 2019) and 425.602/425.603 (earlier):

* Each assigned beneficiary's annual Parts A+B spending is truncated at the 99th
  percentile of national FFS spending (425.601(a)(4); 425.605(a)(3)).
* Historical benchmark: per-capita spending of the assigned population in three
  benchmark years BY1–BY3, each restated in BY3 dollars (trend) and BY3 risk
  (risk ratio), weighted 10/30/60% in an ACO's first agreement period and equally
  (1/3 each) in later ones (425.601(a)(7); 425.603(d)).
* Updated benchmark for a performance year: historical × update factor (growth from
  BY3 to the performance year) × the ratio of performance-year to BY3 risk scores,
  positive growth capped at +3% over the agreement period (425.605(a)(1),
  425.610(a)(2)).
* Rebasing: each new agreement period (five years from July 2019; 425.200(b)) resets
  the benchmark on the three years before it, so spending reductions that earned
  savings lower later benchmarks (the ratchet).

* Regional adjustment (425.601(a)(8), 425.656): a share of the difference between
  the region's risk-adjusted FFS spending and the ACO's historical benchmark, per
  enrolment type, capped at ±5% of national per-capita FFS spending; agreement
  periods from 2024: negative adjustments capped at −1.5% and reduced by the offset
  factor (CY2023 PFS), and an overall negative adjustment is not applied (CY2024
  PFS, 425.656(c)).
* Prior-savings adjustment (425.658, agreement periods from 2024): 50% of the
  positive average per-capita savings of the benchmark years that were performance
  years, capped at 5% of national per-capita spending; the ACO receives the larger
  of it and a positive regional adjustment (reproduces ``FinalAdjCat`` of every
  PY2024 PUF row starting in 2024).
* Update factor: national-regional blended growth (national weight = the ACO's
  share of its region's assignable beneficiaries, 425.601(b)); agreement periods from
  2024 blend in the accountable care prospective trend (ACPT, 425.652(b), 425.660)
  with weight 1/3 (1/6 for PY2024, as CMS applied it).
* Risk ratio per enrolment type, positive growth capped at +3%; agreement periods
  from 2024: the cap is on the aggregate over enrolment types and allows 3 points
  beyond the aggregate demographic risk-score growth (:func:`capped_risk_ratios`,
  CY2023 PFS, 425.652(a)(9); checked against the PY2024 PUF).

Not modelled: the regional service area as a county mix, regional risk-score growth
cap (CY2024 PFS; give regional growth risk-adjusted), the Medicare Advantage
"prior-year" guardrail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.contracts.statement import Statement, StatementBuilder

__all__ = [
    "updated_benchmark_usd",
    "AgreementPeriod",
    "acpt_weight",
    "benchmark_adjustment",
    "blended_update_factor",
    "capped_risk_ratios",
    "prior_savings_adjustment",
    "regional_adjustment",
    "regional_share",
    "agreement_period",
    "baseline_weights",
    "capped_risk_ratio",
    "historical_benchmark",
    "truncate_spending",
    "updated_benchmark",
]

FIRST_AGREEMENT_WEIGHTS = (0.10, 0.30, 0.60)
LATER_AGREEMENT_WEIGHTS = (1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0)
RISK_GROWTH_CAP = 0.03
AGREEMENT_LENGTH_YEARS = 5
#: Agreement periods from here use 10/30/60% in every agreement period (425.601(a)(7)).
PATHWAYS_FROM = 2019
#: Agreement periods from here: CY2023/CY2024 PFS benchmark rules (425.652-425.660).
RULES_2024_FROM = 2024
#: Regional adjustment shares ``(ACO below region, ACO above region)`` by the number
#: of the agreement period in which the adjustment applies (1st, 2nd, 3rd, 4th+),
#: 425.601(a)(8)(ii)(B), 425.656(c)(1).
REGIONAL_SHARES = ((0.35, 0.15), (0.50, 0.25), (0.50, 0.35), (0.50, 0.50))
#: Cap on the regional adjustment, share of national per-capita FFS spending
#: (425.601(a)(8)(ii)(C), 425.656(c)(2)); negative cap from 2024 (425.656(c)(3)).
REGIONAL_CAP = 0.05
NEGATIVE_REGIONAL_CAP_2024 = 0.015
#: Prior-savings adjustment: share of average savings and cap (425.658(b)).
PRIOR_SAVINGS_SHARE = 0.50
PRIOR_SAVINGS_CAP = 0.05
#: ACPT weight in the three-way blend (425.652(b)(2)(ii)); CMS used 1/6 for PY2024
#: (PY2024 settlement, "unusually large discrepancy"; Milliman, 2025).
ACPT_WEIGHT = 1.0 / 3.0
ACPT_WEIGHT_BY_YEAR = {2024: 1.0 / 6.0}


def truncate_spending(
    per_beneficiary_usd: Sequence[float] | np.ndarray,
    pct: float = 99.0,
    threshold_usd: float | None = None,
) -> np.ndarray:
    """Each beneficiary's annual spending, truncated at a catastrophic threshold.

    Rule (42 CFR 425.601(a)(4), 425.605(a)(3)): annual Parts A+B spending per
    beneficiary is truncated at the 99th percentile of national FFS spending. Pass
    ``threshold_usd`` when the national percentile is known; otherwise the ``pct``
    percentile of the given array (the simulated population standing for the
    nation) is used.
    """
    x = np.asarray(per_beneficiary_usd, dtype=float)
    if x.ndim != 1:
        raise ValueError("per_beneficiary_usd must be one-dimensional")
    if not 0.0 < pct <= 100.0:
        raise ValueError(f"pct must be in (0, 100], got {pct!r}")
    if threshold_usd is None:
        if x.size == 0:
            return x.copy()
        threshold_usd = float(np.percentile(x, pct))
    return np.minimum(x, threshold_usd)


def baseline_weights(agreement_number: int, agreement_start_year: int | None = None
                     ) -> tuple[float, float, float]:
    """Weights of BY1, BY2, BY3.

    Agreement periods starting in 2019 or later (``agreement_start_year``): 10/30/60%
    in every agreement period (42 CFR 425.601(a)(7), 425.652(a)(7)). Earlier ones
    (or no year given): 10/30/60% in a first agreement period, equal weights in
    renewals (425.602(a)(7), 425.603(d)).
    """
    if agreement_number < 1:
        raise ValueError(f"agreement_number must be >= 1, got {agreement_number!r}")
    if agreement_start_year is not None and agreement_start_year >= PATHWAYS_FROM:
        return FIRST_AGREEMENT_WEIGHTS
    return FIRST_AGREEMENT_WEIGHTS if agreement_number == 1 else LATER_AGREEMENT_WEIGHTS


def capped_risk_ratio(performance_year_risk: float, baseline_risk: float,
                      cap: float = RISK_GROWTH_CAP, demographic_ratio: float = 1.0) -> float:
    """Performance-year over BY3 risk score, positive growth capped (+3%).

    Rule (42 CFR 425.605(a)(1)(i)-(ii), 425.610(a)(2)): positive adjustments in
    prospective HCC risk scores between BY3 and any performance year of the
    agreement period are capped at 3%; decreases are not limited. Agreement periods
    from 2024 (CY2024 PFS, 425.652(a)(9)): the cap is 3 percentage points plus the
    growth of the demographic risk score (``demographic_ratio`` = PY over BY3
    demographic score), applied per enrolment type.
    """
    if performance_year_risk <= 0 or baseline_risk <= 0 or demographic_ratio <= 0:
        raise ValueError("risk scores must be positive")
    return min(performance_year_risk / baseline_risk, demographic_ratio + cap)


@dataclass(frozen=True)
class AgreementPeriod:
    """Agreement period ``number`` (1 = first) running ``start_year``..``end_year``,
    whose benchmark uses ``baseline_years`` (BY1, BY2, BY3)."""

    number: int
    start_year: int
    end_year: int
    baseline_years: tuple[int, int, int]


def agreement_period(performance_year: int, first_start_year: int,
                     length_years: int = AGREEMENT_LENGTH_YEARS) -> AgreementPeriod:
    """The agreement period containing ``performance_year``.

    Agreement periods follow each other without gaps from ``first_start_year``, each
    ``length_years`` long (5 since July 2019, 42 CFR 425.200(b)(3); 3 before). Its
    benchmark years are the three calendar years before it starts (425.601(a)(2)),
    which is how the benchmark is rebased on the latest spending.
    """
    if length_years < 1:
        raise ValueError("length_years must be >= 1")
    if performance_year < first_start_year:
        raise ValueError(f"performance_year {performance_year} precedes the first "
                         f"agreement period ({first_start_year})")
    k = (performance_year - first_start_year) // length_years
    start = first_start_year + k * length_years
    return AgreementPeriod(k + 1, start, start + length_years - 1,
                           (start - 3, start - 2, start - 1))


def historical_benchmark(
    per_capita_by_year: Sequence[float],
    risk_by_year: Sequence[float] | None = None,
    agreement_number: int = 1,
    trend_to_by3: Sequence[float] | None = None,
    agreement_start_year: int | None = None,
) -> Statement:
    """The historical benchmark (per capita, in BY3 dollars and BY3 risk).

    Steps (42 CFR 425.601(a)): for each benchmark year i = BY1, BY2, BY3, its
    per-capita (truncated) spending × trend factor to BY3 (``trend_to_by3[i]``, BY3
    itself 1.0) × BY3 risk / risk of year i (restates every year in BY3 risk); then
    the weighted mean with :func:`baseline_weights`.

    Args:
        per_capita_by_year: per-capita spending of the assigned population in BY1,
            BY2, BY3 (USD).
        risk_by_year: mean risk scores in BY1..BY3 (None: no risk restatement).
        agreement_number: 1 for a first agreement period, 2+ afterwards.
        trend_to_by3: growth factors from BY1, BY2, BY3 to BY3 (None: all 1.0).
        agreement_start_year: calendar year the agreement period starts (selects the
            weights, :func:`baseline_weights`; None: the pre-2019 rule).

    Returns:
        A ``"mssp_benchmark"`` statement (no cash) with value
        ``historical_benchmark_pc_usd``.
    """
    pc = np.asarray(per_capita_by_year, dtype=float)
    if pc.shape != (3,):
        raise ValueError("per_capita_by_year needs exactly three values (BY1, BY2, BY3)")
    risk = np.ones(3) if risk_by_year is None else np.asarray(risk_by_year, dtype=float)
    trend = np.ones(3) if trend_to_by3 is None else np.asarray(trend_to_by3, dtype=float)
    if risk.shape != (3,) or trend.shape != (3,):
        raise ValueError("risk_by_year and trend_to_by3 need three values each")
    if np.any(risk <= 0) or np.any(trend <= 0) or np.any(pc < 0):
        raise ValueError("risk scores and trend factors must be positive, spending >= 0")
    weights = baseline_weights(agreement_number, agreement_start_year)
    st = StatementBuilder("mssp_benchmark")
    st.value("agreement_number", agreement_number)
    restated = pc * trend * (risk[2] / risk)
    total = 0.0
    for i in range(3):
        st.line(f"BY{i + 1} per-capita spending", pc[i], "truncated, assigned beneficiaries")
        st.line(f"BY{i + 1} restated to BY3", restated[i],
                f"× trend {trend[i]:.4f} × risk {risk[2]:.4f}/{risk[i]:.4f}")
        total += st.line(f"BY{i + 1} weighted", weights[i] * restated[i],
                         f"weight {weights[i]:.4f}")
        st.value(f"by{i + 1}_restated_pc_usd", restated[i])
    st.line("historical benchmark per capita", total,
            "equal weights" if weights == LATER_AGREEMENT_WEIGHTS else "10/30/60%")
    st.value("historical_benchmark_pc_usd", total)
    return st.build()


def updated_benchmark(
    historical_benchmark_pc_usd: float,
    baseline_risk: float,
    performance_year_risk: float,
    update_factor: float = 1.0,
    assigned_beneficiaries: float | None = None,
    risk_cap: float = RISK_GROWTH_CAP,
    demographic_ratio: float = 1.0,
    adjustment_pc_usd: float = 0.0,
) -> Statement:
    """The updated benchmark of a performance year.

    Rule (42 CFR 425.601(b)-(c), 425.605(a)(1)): historical benchmark × update factor
    (projected or actual growth from BY3 to the performance year) × risk ratio
    (performance-year over BY3 risk score, positive growth capped at ``risk_cap``
    plus demographic growth, :func:`capped_risk_ratio`). ``adjustment_pc_usd`` (the
    regional or prior-savings adjustment, :func:`benchmark_adjustment`, BY3 dollars)
    is added to the historical benchmark before the update. With
    ``assigned_beneficiaries`` (person-years) the total is reported too.
    """
    if historical_benchmark_pc_usd < 0 or update_factor <= 0:
        raise ValueError("historical benchmark must be >= 0 and update factor > 0")
    ratio = capped_risk_ratio(performance_year_risk, baseline_risk, risk_cap,
                              demographic_ratio)
    st = StatementBuilder("mssp_benchmark")
    st.line("historical benchmark per capita", historical_benchmark_pc_usd, "BY3 dollars")
    adjusted = historical_benchmark_pc_usd + adjustment_pc_usd
    if adjustment_pc_usd:
        st.line("regional / prior-savings adjustment", adjustment_pc_usd, "per capita")
        st.line("adjusted historical benchmark", adjusted, "BY3 dollars")
    st.value("adjusted_historical_pc_usd", adjusted)
    trended = st.line("trended to the performance year", adjusted * update_factor,
                      f"× update factor {update_factor:.4f}")
    raw = performance_year_risk / baseline_risk
    pc = st.line("risk adjusted", trended * ratio,
                 f"× risk ratio {ratio:.4f} (uncapped {raw:.4f}, cap +{risk_cap:.0%}"
                 + (f" + demographic {demographic_ratio - 1:+.2%})" if demographic_ratio != 1
                    else ")"))
    st.value("risk_ratio", ratio)
    st.value("risk_ratio_uncapped", raw)
    st.value("risk_cap_binding", raw > ratio)
    st.value("updated_benchmark_pc_usd", pc)
    if assigned_beneficiaries is not None:
        total = st.line("updated benchmark total", pc * assigned_beneficiaries,
                        f"× {assigned_beneficiaries:,.0f} assigned beneficiaries")
        st.value("benchmark_usd", total)
    return st.build()


def updated_benchmark_usd(historical_benchmark_pc_usd: float, baseline_risk: float,
                          performance_year_risk: float, update_factor: float,
                          assigned_beneficiaries: float, risk_cap: float = RISK_GROWTH_CAP,
                          demographic_ratio: float = 1.0, adjustment_pc_usd: float = 0.0
                          ) -> float:
    """``updated_benchmark(...)["benchmark_usd"]`` without the statement: the same
    arithmetic (tested equal), for the expected payoffs, which need the benchmark of every
    candidate lever setting (its risk score moves it)."""
    if historical_benchmark_pc_usd < 0 or update_factor <= 0:
        raise ValueError("historical benchmark must be >= 0 and update factor > 0")
    ratio = capped_risk_ratio(performance_year_risk, baseline_risk, risk_cap,
                              demographic_ratio)
    adjusted = historical_benchmark_pc_usd + adjustment_pc_usd
    return adjusted * update_factor * ratio * assigned_beneficiaries


def regional_share(agreement_number: int, aco_below_region: bool) -> float:
    """Share of the ACO-region difference applied as the regional adjustment.

    Rule (42 CFR 425.601(a)(8)(ii)(B), 425.656(c)(1)), by the agreement period in which
    the regional adjustment applies (1st, 2nd, 3rd, 4th and later): 35/50/50/50% when
    the ACO spends less than its region (positive adjustment), 15/25/35/50% when it
    spends more (negative adjustment).
    """
    if agreement_number < 1:
        raise ValueError(f"agreement_number must be >= 1, got {agreement_number!r}")
    below, above = REGIONAL_SHARES[min(agreement_number, len(REGIONAL_SHARES)) - 1]
    return below if aco_below_region else above


def regional_adjustment(
    historical_pc_usd: Sequence[float] | float,
    regional_pc_usd: Sequence[float] | float,
    national_pc_usd: Sequence[float] | float,
    agreement_number: int = 1,
    agreement_start_year: int = RULES_2024_FROM,
    person_years: Sequence[float] | None = None,
    negative_offset: float = 0.0,
) -> Statement:
    """The regional adjustment to the historical benchmark (per capita, BY3 dollars).

    Per enrolment type (ESRD, disabled, aged dual, aged non-dual; give one value for
    one type), 42 CFR 425.601(a)(8) and 425.656:

    1. difference = regional FFS spending (risk-adjusted to the ACO's population) −
       the ACO's historical benchmark;
    2. times :func:`regional_share` (positive difference: 35/50%, negative: 15–50%);
    3. capped at +5% of national per-capita FFS spending, and at −5% (agreement
       periods before 2024) or −1.5% after the negative adjustment is reduced by
       the ``negative_offset`` factor (share 0–1 from the ACO's proportion of dual
       eligibles or its risk score; agreement periods from 2024, CY2023 PFS);
    4. the types are combined weighted by ``person_years`` (BY3); agreement periods
       from 2024: an overall negative adjustment is set to zero (CY2024 PFS).

    Returns a ``"mssp_benchmark"`` statement with values ``regional_adjustment_pc_usd``
    (applied), ``regional_adjustment_computed_pc_usd`` (before step 4's zeroing, as
    CMS publishes ``RegAdj``) and ``regional_share``.
    """
    hist = np.atleast_1d(np.asarray(historical_pc_usd, dtype=float))
    reg = np.broadcast_to(np.asarray(regional_pc_usd, dtype=float), hist.shape)
    nat = np.broadcast_to(np.asarray(national_pc_usd, dtype=float), hist.shape)
    w = np.ones_like(hist) if person_years is None else np.asarray(person_years, dtype=float)
    if w.shape != hist.shape or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("person_years needs one non-negative value per enrolment type")
    if np.any(hist < 0) or np.any(reg < 0) or np.any(nat <= 0):
        raise ValueError("per-capita spending must be >= 0 (national > 0)")
    if not 0.0 <= negative_offset <= 1.0:
        raise ValueError(f"negative_offset must be in [0, 1], got {negative_offset!r}")
    from_2024 = agreement_start_year >= RULES_2024_FROM
    st = StatementBuilder("mssp_benchmark")
    adj = np.zeros_like(hist)
    shares = np.zeros_like(hist)
    for i in range(hist.size):
        diff = reg[i] - hist[i]
        share = regional_share(agreement_number, diff >= 0)
        raw = share * diff
        if raw >= 0:
            capped = min(raw, REGIONAL_CAP * nat[i])
        elif from_2024:
            capped = max(raw * (1.0 - negative_offset), -NEGATIVE_REGIONAL_CAP_2024 * nat[i])
        else:
            capped = max(raw, -REGIONAL_CAP * nat[i])
        adj[i], shares[i] = capped, share
        tag = f"type {i + 1}: " if hist.size > 1 else ""
        st.line(f"{tag}regional − ACO", diff, f"{reg[i]:,.2f} − {hist[i]:,.2f}")
        st.line(f"{tag}regional adjustment (computed)", capped,
                f"{share:.0%} share, cap {REGIONAL_CAP:.0%} of national {nat[i]:,.2f}")
    total = float(np.average(adj, weights=w))
    applied = max(total, 0.0) if from_2024 else total
    st.line("regional adjustment per capita", applied,
            "overall negative adjustment not applied (CY2024 PFS)"
            if from_2024 and total < 0 else "person-year weighted over enrolment types")
    st.value("regional_adjustment_computed_pc_usd", total)
    st.value("regional_adjustment_pc_usd", applied)
    st.value("regional_share", float(np.average(shares, weights=w)))
    return st.build()


def prior_savings_adjustment(
    savings_pc_by_year: Sequence[float | None],
    national_pc_usd: float,
) -> Statement:
    """The prior-savings adjustment of a renewing ACO (per capita, BY3 dollars).

    Rule (42 CFR 425.658, agreement periods from 2024): the average per-capita savings
    (losses negative) of the benchmark years that were performance years of a prior
    agreement period (``None``: not a performance year, left out of the average); if
    positive, 50% of it, capped at 5% of national per-capita FFS spending; else 0.
    """
    vals = [float(v) for v in savings_pc_by_year if v is not None]
    if national_pc_usd <= 0:
        raise ValueError("national_pc_usd must be > 0")
    st = StatementBuilder("mssp_benchmark")
    avg = float(np.mean(vals)) if vals else 0.0
    st.line("average per-capita savings of the benchmark years", avg,
            f"{len(vals)} performance year(s)")
    psa = min(PRIOR_SAVINGS_SHARE * avg, PRIOR_SAVINGS_CAP * national_pc_usd) if avg > 0 \
        else 0.0
    st.line("prior-savings adjustment", psa,
            f"{PRIOR_SAVINGS_SHARE:.0%}, cap {PRIOR_SAVINGS_CAP:.0%} of national "
            f"{national_pc_usd:,.2f}")
    st.value("average_savings_pc_usd", avg)
    st.value("prior_savings_adjustment_pc_usd", psa)
    return st.build()


def benchmark_adjustment(regional_pc_usd: float, prior_savings_pc_usd: float = 0.0,
                         agreement_start_year: int = RULES_2024_FROM) -> Statement:
    """The adjustment added to the historical benchmark, and its category.

    Agreement periods from 2024 (425.652(a)(8), 425.658(c), CY2024 PFS): the larger of
    a positive regional adjustment and the prior-savings adjustment; a negative
    regional adjustment is not applied (the prior-savings adjustment, if any,
    replaces it). Earlier agreement periods: the regional adjustment as computed.
    ``regional_pc_usd`` is the computed (signed) regional adjustment. Categories as
    CMS's ``FinalAdjCat``: "Regional Adjustment", "Prior Savings Adjustment",
    "No Adjustment".
    """
    st = StatementBuilder("mssp_benchmark")
    if agreement_start_year < RULES_2024_FROM:
        adj = regional_pc_usd
        cat = "Regional Adjustment" if adj != 0 else "No Adjustment"
    elif regional_pc_usd > 0 and regional_pc_usd >= prior_savings_pc_usd:
        adj, cat = regional_pc_usd, "Regional Adjustment"
    elif prior_savings_pc_usd > max(regional_pc_usd, 0.0):
        adj, cat = prior_savings_pc_usd, "Prior Savings Adjustment"
    else:
        adj, cat = 0.0, "No Adjustment"
    st.line("benchmark adjustment per capita", adj, cat)
    st.fact("category", cat)
    st.value("adjustment_pc_usd", adj)
    return st.build()


def acpt_weight(performance_year: int, agreement_start_year: int) -> float:
    """Weight of the ACPT in the update factor: 0 before agreement periods starting in
    2024; then 1/3 (425.652(b)(2)(ii)), except 1/6 for PY2024, the weight CMS applied in
    the PY2024 settlement."""
    if agreement_start_year < RULES_2024_FROM:
        return 0.0
    return ACPT_WEIGHT_BY_YEAR.get(performance_year, ACPT_WEIGHT)


def blended_update_factor(national_growth: float, regional_growth: float,
                          national_weight: float, acpt_growth: float = 1.0,
                          acpt_weight_: float = 0.0) -> Statement:
    """Update factor from BY3 to a performance year (growth factors, 1.0 = none).

    Rule (42 CFR 425.601(b), 425.652(b)): national and regional risk-adjusted FFS
    growth blended with the national weight = the ACO's share of the assignable
    beneficiaries in its regional service area; from 2024 the three-way blend
    ``acpt_weight × ACPT + (1 − acpt_weight) × two-way blend``.
    """
    if min(national_growth, regional_growth, acpt_growth) <= 0:
        raise ValueError("growth factors must be positive")
    if not (0.0 <= national_weight <= 1.0 and 0.0 <= acpt_weight_ <= 1.0):
        raise ValueError("weights must be in [0, 1]")
    st = StatementBuilder("mssp_benchmark")
    two = st.line("national-regional blend",
                  national_weight * national_growth + (1 - national_weight) * regional_growth,
                  f"national {national_growth:.4f} × {national_weight:.3f} + regional "
                  f"{regional_growth:.4f} × {1 - national_weight:.3f}")
    u = st.line("update factor", acpt_weight_ * acpt_growth + (1 - acpt_weight_) * two,
                f"ACPT {acpt_growth:.4f} × {acpt_weight_:.3f} + blend × "
                f"{1 - acpt_weight_:.3f}")
    st.value("two_way_blend", two)
    st.value("update_factor", u)
    return st.build()


def capped_risk_ratios(
    hcc_py: Sequence[float],
    hcc_by3: Sequence[float],
    weights: Sequence[float],
    demographic_py: Sequence[float] | None = None,
    demographic_by3: Sequence[float] | None = None,
    cap: float = RISK_GROWTH_CAP,
) -> Statement:
    """Risk ratios of the enrolment types with the cap applied in aggregate.

    Rule for agreement periods from 2024 (CY2023 PFS, 42 CFR 425.652(a)(9)): the
    aggregate growth of prospective HCC risk scores from BY3 (enrolment types weighted
    by ``weights`` — CMS's ``RR_weight_*_PY``: performance-year person-years × historical
    benchmark expenditure, as shares) may exceed the aggregate growth of demographic risk
    scores by at most ``cap`` (3 percentage points); if it does, every type's ratio is
    scaled by cap / aggregate. Without demographic scores the cap is +3% on the aggregate.
    In the PY2024 PUF the 6 ACOs (of 140 starting in 2024) whose aggregate growth exceeds
    this cap have an implied update factor equal to the others' only with the cap applied
    (``tests/contracts/test_mssp_puf_benchmark.py``).

    Returns values ``aggregate_ratio``, ``aggregate_demographic_ratio``,
    ``cap_limit``, ``cap_factor`` and ``ratio_1`` … ``ratio_n``.
    """
    hp, hb = np.asarray(hcc_py, dtype=float), np.asarray(hcc_by3, dtype=float)
    w = np.asarray(weights, dtype=float)
    dp = np.ones_like(hp) if demographic_py is None else np.asarray(demographic_py, dtype=float)
    db = np.ones_like(hp) if demographic_by3 is None else np.asarray(demographic_by3, dtype=float)
    if not (hp.shape == hb.shape == w.shape == dp.shape == db.shape) or hp.ndim != 1:
        raise ValueError("one value per enrolment type in every argument")
    if np.any(hp <= 0) or np.any(hb <= 0) or np.any(dp <= 0) or np.any(db <= 0):
        raise ValueError("risk scores must be positive")
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be >= 0 with a positive sum")
    ratios = hp / hb
    agg = float(np.average(ratios, weights=w))
    agg_d = float(np.average(dp / db, weights=w))
    limit = agg_d + cap
    factor = min(1.0, limit / agg)
    st = StatementBuilder("mssp_benchmark")
    st.line("aggregate HCC risk ratio", agg, "weighted over enrolment types")
    st.line("cap", limit, f"aggregate demographic ratio {agg_d:.4f} + {cap:.0%}")
    st.value("aggregate_ratio", agg)
    st.value("aggregate_demographic_ratio", agg_d)
    st.value("cap_limit", limit)
    st.value("cap_factor", factor)
    for i, r in enumerate(ratios * factor, start=1):
        st.value(f"ratio_{i}", float(r))
    return st.build()
