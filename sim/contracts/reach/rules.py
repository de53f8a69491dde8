"""ACO REACH-style risk sharing: Global and Professional options.

Benchmark (CMS Innovation Center, ACO REACH Model PY2023/PY2024 Financial Operating
Guide and financial methodology papers; :func:`reach_benchmark`):

* historical baseline: the aligned beneficiaries' per-capita spending in BY1–BY3,
  restated in BY3 risk and weighted 10/30/60%, trended to the performance year by the
  prospective trend;
* blended with the regional rate (the ACO REACH rate book: regional FFS spending at
  the ACO's risk), the regional share rising by year (:data:`REGIONAL_WEIGHT_BY_YEAR`),
  the blend's difference from the historical baseline capped at ±5% of the regional
  rate (assumption: MSSP's cap);
* risk: scores normalised by the reference population's mean (normalisation factor),
  the normalised score's growth from BY3 capped at ±3% (PY2023+), then reduced by the
  coding intensity factor (CIF);
* retrospective trend adjustment (RTA): the ratio of actual to prospective trend,
  applied when it differs from 1 by more than 1%, limited to ±``rta_cap``.

Reconciliation of one performance year (:func:`settle_reach`):

1. Performance-year benchmark (from :func:`reach_benchmark`).
2. Discount: Global benchmarks are reduced by the discount (default by performance
   year: 2% PY2021–2022, 3% PY2023–2024, 3.5% PY2025–2026 — the schedule
   summarised from the RFA; check the current year's methodology); Professional:
   none.
3. Optional stop-loss: the stop-loss charge (expected payouts, from the baseline
   years) is deducted from the benchmark and the payouts (a share of each aligned
   beneficiary's spending above the attachment point) from the expenditure.
4. Quality withhold: 2% of the (discounted) benchmark is withheld and earned back
   in proportion to the total quality score (0–100).
5. Expenditure: FFS claims for aligned beneficiaries plus, with primary-care
   capitation (PCC), the capitation payments that replace participants'
   primary-care claims; the PCC rate is a percentage of the benchmark
   (:func:`pcc_pmpm`: Base PCC = the ACO's own primary-care share, Enhanced PCC up to
   about 7%).
6. Gross savings (losses) = final benchmark − expenditure, shared through the risk
   corridors as a share of the final benchmark:
   Global (100% risk): up to 25% kept 100%, 25–35% 50%, 35–50% 25%, beyond 10%;
   Professional (50% risk): up to 5% 50%, 5–10% 35%, 10–15% 15%, beyond 5%.
7. Sequestration: the shared savings or losses are reduced by 2% (the Medicare
   sequestration; REACH applies it to shared savings and shared losses).

Cash in the statement: PCC paid during the year plus the reconciliation amount
(claims paid FFS are in the claims ledger, not here). Not modelled: total care
capitation, the health-equity benchmark adjustment, the new-entrant and high-needs
benchmark variants, tiered stop-loss attachment points (one tier here).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from sim.contracts.capitation.rules import Corridors, _check_corridors, apply_corridors
from sim.contracts.statement import Statement, StatementBuilder

__all__ = [
    "CORRIDORS",
    "GLOBAL_DISCOUNT_BY_YEAR",
    "QUALITY_WITHHOLD",
    "REGIONAL_WEIGHT_BY_YEAR",
    "default_discount",
    "normalised_risk_ratio",
    "normalised_risk_ratio_value",
    "paid_by_expenditure",
    "pcc_pmpm",
    "reach_benchmark",
    "regional_weight",
    "retrospective_trend_adjustment",
    "settle_reach",
    "stop_loss_payout",
]

Option = Literal["global", "professional"]

CORRIDORS: dict[str, list[tuple[float, float]]] = {
    "global": [(0.25, 1.00), (0.35, 0.50), (0.50, 0.25), (math.inf, 0.10)],
    "professional": [(0.05, 0.50), (0.10, 0.35), (0.15, 0.15), (math.inf, 0.05)],
}
GLOBAL_DISCOUNT_BY_YEAR = {2021: 0.02, 2022: 0.02, 2023: 0.03, 2024: 0.03, 2025: 0.035,
                           2026: 0.035}
QUALITY_WITHHOLD = 0.02
#: Weight of the regional rate in a Standard ACO's blended benchmark by performance
#: year (summarised from the ACO REACH RFA / financial methodology: rising to 50% by
#: PY2026; years outside the table keep the nearest value). Verify per year.
REGIONAL_WEIGHT_BY_YEAR = {2021: 0.35, 2022: 0.35, 2023: 0.35, 2024: 0.40, 2025: 0.45,
                           2026: 0.50}
#: Cap on the blend's difference from the historical baseline, share of the regional
#: rate (assumption: as MSSP's +5% regional adjustment cap).
REGIONAL_BLEND_CAP = 0.05
#: Symmetric cap on normalised risk-score growth from BY3 (PY2023+ methodology).
RISK_SCORE_CAP = 0.03
#: The RTA applies when actual and prospective trend differ by more than this.
RTA_CORRIDOR = 0.01
#: Limit of the RTA (assumption: PY2024 methodology limits it; verify).
RTA_CAP = 0.05


def default_discount(option: Option, performance_year: int) -> float:
    """Benchmark discount: Professional 0; Global by :data:`GLOBAL_DISCOUNT_BY_YEAR`
    (years after the table keep its last value, years before its first)."""
    if option == "professional":
        return 0.0
    years = sorted(GLOBAL_DISCOUNT_BY_YEAR)
    year = min(max(performance_year, years[0]), years[-1])
    return GLOBAL_DISCOUNT_BY_YEAR[year]


def regional_weight(performance_year: int) -> float:
    """Regional share of the blended benchmark (:data:`REGIONAL_WEIGHT_BY_YEAR`)."""
    years = sorted(REGIONAL_WEIGHT_BY_YEAR)
    return REGIONAL_WEIGHT_BY_YEAR[min(max(performance_year, years[0]), years[-1])]


def normalised_risk_ratio(aco_risk: float, reference_risk: float, aco_risk_by3: float,
                          reference_risk_by3: float, cap: float = RISK_SCORE_CAP,
                          coding_intensity_factor: float = 0.0) -> Statement:
    """Performance-year over BY3 normalised risk score, growth capped, times (1 − CIF).

    Normalisation divides each raw score by the reference population's mean raw score
    of the same year (the normalisation factor), so coding drift common to all
    beneficiaries cancels; the ratio of normalised scores is capped at ±``cap`` (PY2023+
    symmetric 3% cap) and reduced by the coding intensity factor.
    """
    if min(aco_risk, reference_risk, aco_risk_by3, reference_risk_by3) <= 0:
        raise ValueError("risk scores must be positive")
    if not 0.0 <= coding_intensity_factor < 1.0 or cap < 0:
        raise ValueError("coding_intensity_factor must be in [0, 1) and cap >= 0")
    st = StatementBuilder("reach_benchmark")
    norm_py = aco_risk / reference_risk
    norm_by3 = aco_risk_by3 / reference_risk_by3
    st.line("normalised risk score, performance year", norm_py,
            f"{aco_risk:.4f} / normalisation factor {reference_risk:.4f}")
    st.line("normalised risk score, BY3", norm_by3,
            f"{aco_risk_by3:.4f} / normalisation factor {reference_risk_by3:.4f}")
    raw = norm_py / norm_by3
    capped = min(max(raw, 1.0 - cap), 1.0 + cap)
    ratio = st.line("risk ratio", capped * (1.0 - coding_intensity_factor),
                    f"{raw:.4f} capped ±{cap:.0%}, × (1 − CIF {coding_intensity_factor:.2%})")
    st.value("risk_ratio_uncapped", raw)
    st.value("risk_ratio", ratio)
    return st.build()


def normalised_risk_ratio_value(aco_risk: float, reference_risk: float, aco_risk_by3: float,
                                reference_risk_by3: float, cap: float = RISK_SCORE_CAP,
                                coding_intensity_factor: float = 0.0) -> float:
    """``normalised_risk_ratio(...)["risk_ratio"]`` without the statement (the same
    arithmetic, tested equal)."""
    if min(aco_risk, reference_risk, aco_risk_by3, reference_risk_by3) <= 0:
        raise ValueError("risk scores must be positive")
    if not 0.0 <= coding_intensity_factor < 1.0 or cap < 0:
        raise ValueError("coding_intensity_factor must be in [0, 1) and cap >= 0")
    raw = (aco_risk / reference_risk) / (aco_risk_by3 / reference_risk_by3)
    return min(max(raw, 1.0 - cap), 1.0 + cap) * (1.0 - coding_intensity_factor)


def retrospective_trend_adjustment(prospective_growth: float, actual_growth: float,
                                   corridor: float = RTA_CORRIDOR,
                                   cap: float | None = RTA_CAP) -> float:
    """The RTA factor: actual over prospective trend (growth factors), 1.0 when within
    ±``corridor``, otherwise limited to ±``cap`` (None: no limit)."""
    if prospective_growth <= 0 or actual_growth <= 0:
        raise ValueError("growth factors must be positive")
    rta = actual_growth / prospective_growth
    if abs(rta - 1.0) <= corridor:
        return 1.0
    if cap is not None:
        rta = min(max(rta, 1.0 - cap), 1.0 + cap)
    return rta


def reach_benchmark(
    historical_pc_usd: float,
    regional_pc_usd: float,
    person_years: float,
    performance_year: int = 2024,
    trend_factor: float = 1.0,
    risk_ratio: float = 1.0,
    rta: float = 1.0,
    weight: float | None = None,
    blend_cap: float = REGIONAL_BLEND_CAP,
) -> Statement:
    """A Standard ACO's performance-year benchmark (total USD, before discount).

    ``historical_pc_usd`` (BY3 dollars and risk) and ``regional_pc_usd`` (the regional
    rate at the ACO's BY3 risk) are trended by ``trend_factor`` and blended with the
    regional ``weight`` (None: :func:`regional_weight`); the blend may differ from the
    trended historical baseline by at most ``blend_cap`` × the trended regional rate;
    then × ``risk_ratio`` (:func:`normalised_risk_ratio`) × ``rta``
    (:func:`retrospective_trend_adjustment`) × ``person_years``.
    """
    if historical_pc_usd < 0 or regional_pc_usd < 0 or person_years < 0:
        raise ValueError("per-capita amounts and person_years must be >= 0")
    if min(trend_factor, risk_ratio, rta) <= 0:
        raise ValueError("trend_factor, risk_ratio and rta must be positive")
    w = regional_weight(performance_year) if weight is None else weight
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {w!r}")
    st = StatementBuilder("reach_benchmark")
    hist = st.line("historical baseline, trended", historical_pc_usd * trend_factor,
                   f"{historical_pc_usd:,.2f} × prospective trend {trend_factor:.4f}")
    reg = st.line("regional rate, trended", regional_pc_usd * trend_factor)
    blend = (1.0 - w) * hist + w * reg
    limit = blend_cap * reg
    capped = min(max(blend, hist - limit), hist + limit)
    pc = st.line("blended benchmark per capita", capped,
                 f"{1 - w:.0%} historical + {w:.0%} regional, within ±{blend_cap:.0%} of "
                 f"the regional rate")
    pc = st.line("risk adjusted", pc * risk_ratio, f"× risk ratio {risk_ratio:.4f}")
    pc = st.line("after retrospective trend adjustment", pc * rta, f"× RTA {rta:.4f}")
    total = st.line("performance-year benchmark", pc * person_years,
                    f"× {person_years:,.1f} person-years")
    st.value("regional_weight", w)
    st.value("blended_pc_usd", capped)
    st.value("benchmark_pc_usd", pc)
    st.value("benchmark_usd", total)
    return st.build()


def pcc_pmpm(benchmark_pmpm_usd: float, percentage: float) -> float:
    """Primary-care capitation per member-month: the PCC percentage (Base PCC: the ACO's
    primary-care share of spending; Enhanced: an elected higher share, about 7% of the
    benchmark at most) × the benchmark per member-month."""
    if benchmark_pmpm_usd < 0 or not 0.0 <= percentage < 1.0:
        raise ValueError("benchmark_pmpm_usd must be >= 0 and percentage in [0, 1)")
    return percentage * benchmark_pmpm_usd


def stop_loss_payout(annual_spend_usd: object, person_years: object,
                     attachment_usd: float, share: float = 0.9) -> float:
    """Stop-loss payout: ``share`` of each beneficiary's annualised spending above
    ``attachment_usd``, times the beneficiary's person-years (USD)."""
    import numpy as np

    spend = np.asarray(annual_spend_usd, dtype=float)
    py = np.asarray(person_years, dtype=float)
    if attachment_usd < 0 or not 0.0 <= share <= 1.0:
        raise ValueError("attachment_usd must be >= 0 and share in [0, 1]")
    return float(share * (np.maximum(spend - attachment_usd, 0.0) * py).sum())


def settle_reach(
    option: Option,
    benchmark_usd: float,
    expenditure_usd: float,
    quality_score: float,
    performance_year: int = 2024,
    discount: float | None = None,
    quality_withhold: float = QUALITY_WITHHOLD,
    pcc_pmpm_usd: float = 0.0,
    member_months: float = 0.0,
    corridors: Corridors | None = None,
    sequestration: float = 0.0,
    stop_loss_charge_usd: float = 0.0,
    stop_loss_payout_usd: float = 0.0,
) -> Statement:
    """Reconcile one ACO REACH performance year.

    Args:
        option: ``"global"`` or ``"professional"``.
        benchmark_usd: performance-year benchmark (total, aligned beneficiaries).
        expenditure_usd: FFS claims of aligned beneficiaries paid by the payer (not
            including services covered by primary-care capitation).
        quality_score: total quality score 0–100 (earns back the withhold).
        performance_year: for the default discount.
        discount: benchmark discount (None: :func:`default_discount`).
        quality_withhold: share of the discounted benchmark withheld (2%).
        pcc_pmpm_usd, member_months: primary-care capitation paid during the year
            (0: no PCC); it counts as expenditure.
        corridors: ``(upper bound, share kept)`` bands (None: the option's).
        sequestration: share by which shared savings and losses are reduced (2%).
        stop_loss_charge_usd, stop_loss_payout_usd: the optional stop-loss
            arrangement's charge (deducted from the discounted benchmark) and payouts
            (deducted from the expenditure).

    Returns:
        A ``"reach"`` statement; values ``final_benchmark_usd``, ``total_expenditure_usd``,
        ``gross_savings_usd``, ``shared_savings_usd`` (reconciliation, negative =
        owed), ``pcc_usd``, ``payer_paid_usd``.
    """
    disc = _checked_discount(option, benchmark_usd, expenditure_usd, quality_score,
                             performance_year, discount, quality_withhold, pcc_pmpm_usd,
                             member_months, sequestration, stop_loss_charge_usd,
                             stop_loss_payout_usd)
    bands = CORRIDORS[option] if corridors is None else list(corridors)

    st = StatementBuilder("reach")
    st.fact("option", option)
    st.value("performance_year", performance_year)
    b = st.line("performance-year benchmark", benchmark_usd)
    b_d = st.line("after discount", b * (1 - disc), f"− {disc:.1%} ({option})")
    if stop_loss_charge_usd > 0:
        b_d = st.line("after stop-loss charge", b_d - stop_loss_charge_usd,
                      f"− {stop_loss_charge_usd:,.2f} expected payouts")
    withheld = st.line("quality withhold", -quality_withhold * b_d,
                       f"{quality_withhold:.0%} of the discounted benchmark")
    earned_back = st.line("withhold earned back", -withheld * quality_score / 100.0,
                          f"quality score {quality_score:g}/100")
    final_b = st.line("final benchmark", b_d + withheld + earned_back)
    pcc = pcc_pmpm_usd * member_months
    st.line("FFS expenditure", -expenditure_usd, "claims paid for aligned beneficiaries")
    if stop_loss_payout_usd > 0:
        st.line("stop-loss payouts", stop_loss_payout_usd, "spending above the attachment")
    if pcc > 0:
        st.line("primary-care capitation", -pcc,
                f"{pcc_pmpm_usd:,.2f} PMPM × {member_months:,.0f} member-months")
    total_exp = max(expenditure_usd - stop_loss_payout_usd, 0.0) + pcc
    gross = st.line("gross savings (losses if negative)", final_b - total_exp)
    shared, breakdown = apply_corridors(gross, final_b, bands)
    for lower, upper, amount, kept in breakdown:
        up = "∞" if math.isinf(upper) else f"{upper:.0%}"
        st.line(f"corridor {lower:.0%}–{up}", kept,
                f"ACO share {kept / amount if amount else 0:.0%} of {amount:,.2f}")
    st.line("shared savings (losses if negative)", shared, f"{option} risk corridors")
    before_seq = shared
    shared = st.line("after sequestration", shared * (1.0 - sequestration),
                     f"− {sequestration:.0%} sequestration")
    payer_paid = pcc + shared
    st.line("payer → ACO this year", payer_paid, "PCC + reconciliation")
    st.value("discount", disc)
    st.value("final_benchmark_usd", final_b)
    st.value("withhold_usd", -withheld)
    st.value("withhold_earned_usd", earned_back)
    st.value("pcc_usd", pcc)
    st.value("total_expenditure_usd", total_exp)
    st.value("gross_savings_usd", gross)
    st.value("savings_rate", gross / final_b)
    st.value("shared_before_sequestration_usd", before_seq)
    st.value("sequestration_usd", before_seq - shared)
    st.value("sequestration_rate", sequestration)
    st.value("stop_loss_charge_usd", stop_loss_charge_usd)
    st.value("stop_loss_payout_usd", stop_loss_payout_usd)
    st.value("shared_savings_usd", shared)
    st.value("payer_paid_usd", payer_paid)
    return st.build(payer_paid_usd=payer_paid, provider_received_usd=shared + pcc)


def _checked_discount(option: Option, benchmark_usd: float,
                      expenditure_usd: float | np.ndarray, quality_score: float,
                      performance_year: int, discount: float | None,
                      quality_withhold: float, pcc_pmpm_usd: float, member_months: float,
                      sequestration: float, stop_loss_charge_usd: float,
                      stop_loss_payout_usd: float) -> float:
    """The checks of :func:`settle_reach` and :func:`paid_by_expenditure` (an expenditure
    or an array of them); the discount in force."""
    if option not in CORRIDORS:
        raise ValueError(f"option must be 'global' or 'professional', got {option!r}")
    if not benchmark_usd > 0 or not np.all(np.asarray(expenditure_usd) >= 0):
        raise ValueError("benchmark_usd must be > 0 and expenditure_usd >= 0")
    if not 0 <= quality_score <= 100:
        raise ValueError("quality_score must be in [0, 100]")
    disc = default_discount(option, performance_year) if discount is None else discount
    if not 0 <= disc < 1 or not 0 <= quality_withhold < 1:
        raise ValueError("discount and quality_withhold must be fractions in [0, 1)")
    if pcc_pmpm_usd < 0 or member_months < 0:
        raise ValueError("pcc_pmpm_usd and member_months must be >= 0")
    if not 0.0 <= sequestration < 1.0:
        raise ValueError("sequestration must be a fraction in [0, 1)")
    if stop_loss_charge_usd < 0 or stop_loss_payout_usd < 0:
        raise ValueError("stop-loss charge and payout must be >= 0")
    return disc


def paid_by_expenditure(
    option: Option,
    benchmark_usd: float,
    expenditure_usd: np.ndarray,
    quality_score: float,
    performance_year: int = 2024,
    discount: float | None = None,
    quality_withhold: float = QUALITY_WITHHOLD,
    pcc_pmpm_usd: float = 0.0,
    member_months: float = 0.0,
    corridors: Corridors | None = None,
    sequestration: float = 0.0,
    stop_loss_charge_usd: float = 0.0,
    stop_loss_payout_usd: float = 0.0,
) -> np.ndarray:
    """``settle_reach(...).payer_paid_usd`` for an array of expenditures at once (the same
    operations element by element, so the same floats; tested point by point): the expected
    payoffs (:mod:`sim.contracts.expectation`) tabulate the rule on a grid of savings rates
    with it instead of one statement per grid point."""
    exp = np.asarray(expenditure_usd, dtype=float)
    disc = _checked_discount(option, benchmark_usd, exp, quality_score, performance_year,
                             discount, quality_withhold, pcc_pmpm_usd, member_months,
                             sequestration, stop_loss_charge_usd, stop_loss_payout_usd)
    bands = _check_corridors(CORRIDORS[option] if corridors is None else list(corridors))
    b_d = benchmark_usd * (1 - disc)
    if stop_loss_charge_usd > 0:
        b_d = b_d - stop_loss_charge_usd
    withheld = -quality_withhold * b_d
    earned_back = -withheld * quality_score / 100.0
    final_b = b_d + withheld + earned_back
    if final_b <= 0:
        raise ValueError("the corridor base must be positive")
    pcc = pcc_pmpm_usd * member_months
    gross = final_b - (np.maximum(exp - stop_loss_payout_usd, 0.0) + pcc)
    # apply_corridors, element by element
    sign = np.where(gross >= 0, 1.0, -1.0)
    remaining = np.abs(gross)
    kept = np.zeros(exp.shape)
    lower = 0.0
    for upper, share in bands:
        part = np.minimum(remaining, (upper - lower) * final_b)
        kept += part * share
        remaining -= part
        lower = upper
    shared = (sign * kept) * (1.0 - sequestration)
    return pcc + shared
