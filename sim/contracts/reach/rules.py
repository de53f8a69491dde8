"""ACO REACH-style risk sharing: Global and Professional options.

Reconciliation of one performance year (CMS Innovation Center, ACO REACH Model
Financial Operating Guide / PY2024 financial methodology; risk corridors as
published in the ACO REACH Request for Applications):

1. Performance-year benchmark (given).
2. Discount: Global benchmarks are reduced by the discount (default by performance
   year: 2% PY2021–2022, 3% PY2023–2024, 3.5% PY2025–2026 — the schedule
   summarised from the RFA; check the current year's methodology); Professional:
   none.
3. Quality withhold: 2% of the (discounted) benchmark is withheld and earned back
   in proportion to the total quality score (0–100).
4. Expenditure: FFS claims for aligned beneficiaries plus, with primary-care
   capitation (PCC), the capitation payments that replace participants'
   primary-care claims.
5. Gross savings (losses) = final benchmark − expenditure, shared through the risk
   corridors as a share of the final benchmark:
   Global (100% risk): up to 25% kept 100%, 25–35% 50%, 35–50% 25%, beyond 10%;
   Professional (50% risk): up to 5% 50%, 5–10% 35%, 10–15% 15%, beyond 5%.

Cash in the statement: PCC paid during the year plus the reconciliation amount
(claims paid FFS are in the claims ledger, not here). Not modelled: stop-loss
arrangement, retrospective trend adjustment corridors, total care capitation,
health-equity benchmark adjustment.
"""

from __future__ import annotations

import math
from typing import Literal

from sim.contracts.capitation.rules import Corridors, apply_corridors
from sim.contracts.statement import Statement, StatementBuilder

__all__ = [
    "CORRIDORS",
    "GLOBAL_DISCOUNT_BY_YEAR",
    "QUALITY_WITHHOLD",
    "default_discount",
    "settle_reach",
]

Option = Literal["global", "professional"]

CORRIDORS: dict[str, list[tuple[float, float]]] = {
    "global": [(0.25, 1.00), (0.35, 0.50), (0.50, 0.25), (math.inf, 0.10)],
    "professional": [(0.05, 0.50), (0.10, 0.35), (0.15, 0.15), (math.inf, 0.05)],
}
GLOBAL_DISCOUNT_BY_YEAR = {2021: 0.02, 2022: 0.02, 2023: 0.03, 2024: 0.03, 2025: 0.035,
                           2026: 0.035}
QUALITY_WITHHOLD = 0.02


def default_discount(option: Option, performance_year: int) -> float:
    """Benchmark discount: Professional 0; Global by :data:`GLOBAL_DISCOUNT_BY_YEAR`
    (years after the table keep its last value, years before its first)."""
    if option == "professional":
        return 0.0
    years = sorted(GLOBAL_DISCOUNT_BY_YEAR)
    year = min(max(performance_year, years[0]), years[-1])
    return GLOBAL_DISCOUNT_BY_YEAR[year]


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

    Returns:
        A ``"reach"`` statement; values ``final_benchmark_usd``, ``total_expenditure_usd``,
        ``gross_savings_usd``, ``shared_savings_usd`` (reconciliation, negative =
        owed), ``pcc_usd``, ``payer_paid_usd``.
    """
    if option not in CORRIDORS:
        raise ValueError(f"option must be 'global' or 'professional', got {option!r}")
    if not benchmark_usd > 0 or not expenditure_usd >= 0:
        raise ValueError("benchmark_usd must be > 0 and expenditure_usd >= 0")
    if not 0 <= quality_score <= 100:
        raise ValueError("quality_score must be in [0, 100]")
    disc = default_discount(option, performance_year) if discount is None else discount
    if not 0 <= disc < 1 or not 0 <= quality_withhold < 1:
        raise ValueError("discount and quality_withhold must be fractions in [0, 1)")
    if pcc_pmpm_usd < 0 or member_months < 0:
        raise ValueError("pcc_pmpm_usd and member_months must be >= 0")
    bands = CORRIDORS[option] if corridors is None else list(corridors)

    st = StatementBuilder("reach")
    st.fact("option", option)
    st.value("performance_year", performance_year)
    b = st.line("performance-year benchmark", benchmark_usd)
    b_d = st.line("after discount", b * (1 - disc), f"− {disc:.1%} ({option})")
    withheld = st.line("quality withhold", -quality_withhold * b_d,
                       f"{quality_withhold:.0%} of the discounted benchmark")
    earned_back = st.line("withhold earned back", -withheld * quality_score / 100.0,
                          f"quality score {quality_score:g}/100")
    final_b = st.line("final benchmark", b_d + withheld + earned_back)
    pcc = pcc_pmpm_usd * member_months
    st.line("FFS expenditure", -expenditure_usd, "claims paid for aligned beneficiaries")
    if pcc > 0:
        st.line("primary-care capitation", -pcc,
                f"{pcc_pmpm_usd:,.2f} PMPM × {member_months:,.0f} member-months")
    total_exp = expenditure_usd + pcc
    gross = st.line("gross savings (losses if negative)", final_b - total_exp)
    shared, breakdown = apply_corridors(gross, final_b, bands)
    for lower, upper, amount, kept in breakdown:
        up = "∞" if math.isinf(upper) else f"{upper:.0%}"
        st.line(f"corridor {lower:.0%}–{up}", kept,
                f"ACO share {kept / amount if amount else 0:.0%} of {amount:,.2f}")
    st.line("shared savings (losses if negative)", shared, f"{option} risk corridors")
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
    st.value("shared_savings_usd", shared)
    st.value("payer_paid_usd", payer_paid)
    return st.build(payer_paid_usd=payer_paid, provider_received_usd=shared + pcc)
