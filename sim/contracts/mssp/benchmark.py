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

Not modelled: regional blending and the prior-savings adjustment (425.601(a)(8),
425.658), the accountable care prospective trend (425.652) and the separate
adjustment of the four enrolment types (ESRD, disabled, aged dual, aged non-dual);
give the blended numbers as inputs if needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.contracts.statement import Statement, StatementBuilder

__all__ = [
    "AgreementPeriod",
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


def baseline_weights(agreement_number: int) -> tuple[float, float, float]:
    """Weights of BY1, BY2, BY3: 10/30/60% in a first agreement period, 1/3 later.

    Source: 42 CFR 425.601(a)(7) (first agreement periods), 425.603(d) and
    425.601(a)(7)(ii) (renewing and re-entering ACOs).
    """
    if agreement_number < 1:
        raise ValueError(f"agreement_number must be >= 1, got {agreement_number!r}")
    return FIRST_AGREEMENT_WEIGHTS if agreement_number == 1 else LATER_AGREEMENT_WEIGHTS


def capped_risk_ratio(performance_year_risk: float, baseline_risk: float,
                      cap: float = RISK_GROWTH_CAP) -> float:
    """Performance-year over BY3 risk score, positive growth capped (+3%).

    Rule (42 CFR 425.605(a)(1)(i)-(ii), 425.610(a)(2)): positive adjustments in
    prospective HCC risk scores between BY3 and any performance year of the
    agreement period are capped at 3%; decreases are not limited.
    """
    if performance_year_risk <= 0 or baseline_risk <= 0:
        raise ValueError("risk scores must be positive")
    return min(performance_year_risk / baseline_risk, 1.0 + cap)


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
    weights = baseline_weights(agreement_number)
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
            "first agreement: 10/30/60%" if agreement_number == 1 else "equal weights")
    st.value("historical_benchmark_pc_usd", total)
    return st.build()


def updated_benchmark(
    historical_benchmark_pc_usd: float,
    baseline_risk: float,
    performance_year_risk: float,
    update_factor: float = 1.0,
    assigned_beneficiaries: float | None = None,
    risk_cap: float = RISK_GROWTH_CAP,
) -> Statement:
    """The updated benchmark of a performance year.

    Rule (42 CFR 425.601(b)-(c), 425.605(a)(1)): historical benchmark × update factor
    (projected or actual growth from BY3 to the performance year) × risk ratio
    (performance-year over BY3 risk score, positive growth capped at ``risk_cap``).
    With ``assigned_beneficiaries`` (person-years) the total is reported too.
    """
    if historical_benchmark_pc_usd < 0 or update_factor <= 0:
        raise ValueError("historical benchmark must be >= 0 and update factor > 0")
    ratio = capped_risk_ratio(performance_year_risk, baseline_risk, risk_cap)
    st = StatementBuilder("mssp_benchmark")
    st.line("historical benchmark per capita", historical_benchmark_pc_usd, "BY3 dollars")
    trended = st.line("trended to the performance year",
                      historical_benchmark_pc_usd * update_factor,
                      f"× update factor {update_factor:.4f}")
    raw = performance_year_risk / baseline_risk
    pc = st.line("risk adjusted", trended * ratio,
                 f"× risk ratio {ratio:.4f} (uncapped {raw:.4f}, cap +{risk_cap:.0%})")
    st.value("risk_ratio", ratio)
    st.value("risk_ratio_uncapped", raw)
    st.value("risk_cap_binding", raw > ratio)
    st.value("updated_benchmark_pc_usd", pc)
    if assigned_beneficiaries is not None:
        total = st.line("updated benchmark total", pc * assigned_beneficiaries,
                        f"× {assigned_beneficiaries:,.0f} assigned beneficiaries")
        st.value("benchmark_usd", total)
    return st.build()
