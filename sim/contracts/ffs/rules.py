"""Fee-for-service with an optional MIPS-style pay-for-performance adjustment.

Claims are paid at the fee schedule (the allowed amount). With pay-for-performance
on, the period's FFS payments are scaled by ``1 + adjustment(score)``, the MIPS
payment adjustment of Social Security Act s. 1848(q)(6) and 42 CFR 414.1405(b):

* score 0 to threshold/4 (0–18.75 with the 75-point threshold): −9%;
* threshold/4 to the threshold: linear from −9% to 0%;
* above the threshold: positive, linear from 0% to ``max_positive`` × scaling
  factor at 100 points; the scaling factor makes the programme budget neutral
  (positive adjustments pay for the negative ones) and may not exceed 3.0
  (s. 1848(q)(6)(F)(ii)).

The 75-point threshold is the PY2022–PY2024 value (CY2022 PFS final rule, 86 FR
65392); −9% is the maximum negative adjustment from payment year 2022. MIPS's
separate "exceptional performance" bonus (expired after payment year 2024) is not
modelled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.contracts.statement import Statement, StatementBuilder

__all__ = [
    "MIPS_MAX_NEGATIVE",
    "MIPS_MAX_SCALING",
    "MIPS_THRESHOLD",
    "budget_neutral_scaling",
    "mips_adjustment",
    "settle_ffs",
    "APM_INCENTIVE_BY_QP_YEAR",
    "NATIONAL_SCALING_BY_PAYMENT_YEAR",
    "apm_incentive",
    "apm_incentive_rate",
    "low_volume_exempt",
    "national_scaling",
]

MIPS_THRESHOLD = 75.0
MIPS_MAX_NEGATIVE = 0.09
MIPS_MAX_POSITIVE = 0.09
MIPS_MAX_SCALING = 3.0


def mips_adjustment(
    score: float | Sequence[float] | np.ndarray,
    max_positive: float = MIPS_MAX_POSITIVE,
    scaling_factor: float = 1.0,
    threshold: float = MIPS_THRESHOLD,
    max_negative: float = MIPS_MAX_NEGATIVE,
) -> float | np.ndarray:
    """The payment adjustment (a fraction, e.g. −0.09) for a 0–100 quality score.

    Rule (SSA s. 1848(q)(6)(A)-(D); 42 CFR 414.1405(b)): −``max_negative`` at scores
    up to ``threshold``/4, rising linearly to 0 at ``threshold``, then linearly to
    ``max_positive`` × ``scaling_factor`` at 100. Vectorised over arrays of scores.
    """
    s = np.asarray(score, dtype=float)
    if np.any((s < 0) | (s > 100)) or np.any(np.isnan(s)):
        raise ValueError("quality scores must be in [0, 100]")
    if not 0 < threshold < 100:
        raise ValueError(f"threshold must be in (0, 100), got {threshold!r}")
    if max_positive < 0 or max_negative < 0 or scaling_factor < 0:
        raise ValueError("max_positive, max_negative and scaling_factor must be >= 0")
    floor = threshold / 4.0
    below = -max_negative * np.clip((threshold - s) / (threshold - floor), 0.0, 1.0)
    above = max_positive * scaling_factor * (s - threshold) / (100.0 - threshold)
    adj = np.where(s >= threshold, above, below)
    return float(adj) if adj.ndim == 0 else adj


def budget_neutral_scaling(
    scores: Sequence[float] | np.ndarray,
    allowed_usd: Sequence[float] | np.ndarray | None = None,
    max_positive: float = MIPS_MAX_POSITIVE,
    threshold: float = MIPS_THRESHOLD,
    max_negative: float = MIPS_MAX_NEGATIVE,
    max_scaling: float = MIPS_MAX_SCALING,
) -> float:
    """The scaling factor of positive adjustments that makes the programme neutral.

    Rule (SSA s. 1848(q)(6)(F)): positive adjustments are scaled so that the
    estimated increase in payments equals the estimated decrease, the factor being
    above 0 and at most 3.0. Weighted by each clinician's allowed amounts
    (``allowed_usd``; None: equal weights). With no score above the threshold there
    is nothing to scale and the factor is 1.0; when the 3.0 limit binds, the
    programme is no longer neutral (the payer keeps the difference).
    """
    s = np.asarray(scores, dtype=float)
    w = np.ones_like(s) if allowed_usd is None else np.asarray(allowed_usd, dtype=float)
    if s.shape != w.shape:
        raise ValueError("scores and allowed_usd must have the same length")
    if np.any(w < 0):
        raise ValueError("allowed_usd must be >= 0")
    negative = float(np.sum(w * np.minimum(
        mips_adjustment(s, 0.0, 1.0, threshold, max_negative), 0.0)))
    positive_base = float(np.sum(w * np.maximum(
        mips_adjustment(s, max_positive, 1.0, threshold, 0.0), 0.0)))
    if positive_base <= 0.0:
        return 1.0
    return min(max_scaling, -negative / positive_base)


def settle_ffs(
    allowed_usd: float,
    quality_score: float | None = None,
    pay_for_performance: bool = False,
    max_positive: float = MIPS_MAX_POSITIVE,
    scaling_factor: float = 1.0,
    threshold: float = MIPS_THRESHOLD,
    max_negative: float = MIPS_MAX_NEGATIVE,
    exempt: str = "",
    mips_base_usd: float | None = None,
) -> Statement:
    """Settle a period of fee-for-service payments to one provider.

    Steps: the allowed amount of the period's claims at the fee schedule; with
    ``pay_for_performance``, the MIPS-style adjustment of :func:`mips_adjustment`
    applied to it (pass the budget-neutral ``scaling_factor`` from
    :func:`budget_neutral_scaling` computed over all providers' scores, or the national
    one, :func:`national_scaling`). ``mips_base_usd`` is the part MIPS adjusts (the
    covered professional services; None: all of ``allowed_usd``); a non-empty ``exempt``
    says why no adjustment applies.

    Returns:
        An ``"ffs"`` statement; values ``allowed_usd``, ``adjustment_rate``,
        ``adjustment_usd``, ``paid_usd``; cash = ``paid_usd``.
    """
    if not allowed_usd >= 0:
        raise ValueError(f"allowed_usd must be >= 0, got {allowed_usd!r}")
    st = StatementBuilder("ffs")
    total = st.line("claims at the fee schedule", allowed_usd, "allowed amount")
    st.value("allowed_usd", total)
    if mips_base_usd is None:
        base = total
    else:
        if not 0 <= mips_base_usd <= allowed_usd * (1 + 1e-12) + 1e-9:
            raise ValueError(f"mips_base_usd must be in [0, allowed_usd], got {mips_base_usd!r}")
        base = mips_base_usd
        st.value("mips_base_usd", base)
    rate = 0.0
    if pay_for_performance and exempt:
        note = f"exempt from MIPS: {exempt}"
    elif pay_for_performance:
        if quality_score is None:
            raise ValueError("pay_for_performance needs a quality_score")
        rate = float(mips_adjustment(quality_score, max_positive, scaling_factor, threshold,
                                     max_negative))
        st.value("quality_score", quality_score)
        st.value("scaling_factor", scaling_factor)
        note = (f"score {quality_score:g}: {rate:+.4%} (−{max_negative:.0%} up to "
                f"{threshold / 4:g}, 0 at {threshold:g}, +{max_positive:.0%}×{scaling_factor:.3f}"
                f" at 100)")
    else:
        note = "no pay-for-performance"
    if mips_base_usd is not None:
        note += f", on covered professional services {base:,.2f}"
    adj = st.line("quality adjustment", base * rate, note)
    paid = st.line("paid to provider", total + adj)
    st.value("adjustment_rate", rate)
    st.value("adjustment_usd", adj)
    st.value("paid_usd", paid)
    st.fact("pay_for_performance", "on" if pay_for_performance else "off")
    if exempt:
        st.fact("exempt", exempt)
    return st.build(payer_paid_usd=total + base * rate, provider_received_usd=paid)


# --- national scaling, exemptions and the APM incentive payment (Quality Payment Program) ---

#: Scaling factor of positive MIPS adjustments by payment year, national (the programme is
#: budget neutral across all MIPS eligible clinicians, SSA s. 1848(q)(6)(F)): the maximum
#: positive adjustment at a final score of 100 / the 9% applicable percent. Payment year
#: 2025 (performance year 2023): +2.15% (CMS, 2023 QPP Participation and Performance
#: Results At-a-Glance); payment year 2026 (PY2024): +1.05% (CMS 2024 MIPS final scores, as
#: reported by Healthmonix, 2025). Other years use the nearest listed year (assumption).
NATIONAL_SCALING_BY_PAYMENT_YEAR: dict[int, float] = {2025: 0.0215 / 0.09, 2026: 0.0105 / 0.09}

#: APM incentive payment by QP performance year (paid two years later on the covered
#: professional services of the year in between): 5% for QP performance years 2017-2022
#: (42 CFR 414.1450(b)(1), payment years 2019-2024), 3.5% for 2023 (Consolidated
#: Appropriations Act, 2023, s. 4111; payment year 2025), 1.88% for 2024 (Consolidated
#: Appropriations Act, 2024; payment year 2026; CMS QPP "Advanced APMs" page), none for 2025
#: (expired; QPs get the higher fee-schedule conversion factor instead, not modelled), 3.1%
#: for 2026 (Consolidated Appropriations Act, 2026, H.R. 7148; payment year 2028), none
#: after (current law as of 2026).
APM_INCENTIVE_BY_QP_YEAR: dict[int, float] = {
    **{y: 0.05 for y in range(2017, 2023)}, 2023: 0.035, 2024: 0.0188, 2025: 0.0,
    2026: 0.031}

#: Low-volume threshold (42 CFR 414.1305, from performance year 2020): a clinician or
#: group with at most $90,000 of allowed charges for covered professional services, or at
#: most 200 Part B beneficiaries, or at most 200 covered professional services, is not
#: MIPS eligible.
LOW_VOLUME_USD = 90_000.0
LOW_VOLUME_BENEFICIARIES = 200
LOW_VOLUME_SERVICES = 200


def national_scaling(payment_year: int) -> float:
    """The national scaling factor of positive MIPS adjustments in ``payment_year``
    (:data:`NATIONAL_SCALING_BY_PAYMENT_YEAR`, nearest listed year outside the table)."""
    years = sorted(NATIONAL_SCALING_BY_PAYMENT_YEAR)
    y = min(max(payment_year, years[0]), years[-1])
    y = max(k for k in years if k <= y)
    return NATIONAL_SCALING_BY_PAYMENT_YEAR[y]


def apm_incentive_rate(qp_year: int) -> float:
    """APM incentive payment rate earned by a QP in performance year ``qp_year``
    (:data:`APM_INCENTIVE_BY_QP_YEAR`; 0 outside it)."""
    return APM_INCENTIVE_BY_QP_YEAR.get(qp_year, 0.0)


def low_volume_exempt(
    allowed_usd: float,
    beneficiaries: int,
    services: int,
    threshold_usd: float = LOW_VOLUME_USD,
    threshold_beneficiaries: int = LOW_VOLUME_BENEFICIARIES,
    threshold_services: int = LOW_VOLUME_SERVICES,
) -> bool:
    """Whether a clinician (group) falls under the MIPS low-volume threshold (42 CFR
    414.1305): allowed charges for covered professional services at most
    ``threshold_usd``, or at most ``threshold_beneficiaries`` Part B patients, or at most
    ``threshold_services`` covered professional services."""
    if allowed_usd < 0 or beneficiaries < 0 or services < 0:
        raise ValueError("allowed_usd, beneficiaries and services must be >= 0")
    return (allowed_usd <= threshold_usd or beneficiaries <= threshold_beneficiaries
            or services <= threshold_services)


def apm_incentive(base_usd: float, qp: bool, qp_year: int, rate: float | None = None
                  ) -> Statement:
    """The APM incentive payment to a qualifying APM participant (42 CFR 414.1450).

    Rule: a clinician who was a QP in performance year ``qp_year`` receives, in payment
    year ``qp_year + 2``, a lump sum of the year's rate (:func:`apm_incentive_rate`, or
    ``rate``) times its estimated aggregate paid amounts for covered professional services
    in the calendar year before the payment year (``base_usd``; MIPS adjustments excluded,
    414.1450(b)(4)).

    Returns:
        An ``"apm_incentive"`` statement; values ``base_usd``, ``rate``, ``incentive_usd``;
        cash = ``incentive_usd`` from the payer to the clinician.
    """
    if not base_usd >= 0:
        raise ValueError(f"base_usd must be >= 0, got {base_usd!r}")
    r = apm_incentive_rate(qp_year) if rate is None else rate
    if not 0 <= r < 1:
        raise ValueError(f"rate must be in [0, 1), got {r!r}")
    st = StatementBuilder("apm_incentive")
    base = st.line("covered professional services (base year)", base_usd,
                   f"paid in {qp_year + 1}, the year before the payment year")
    st.value("base_usd", base)
    rate_used = r if qp else 0.0
    st.value("rate", rate_used)
    amount = st.line("APM incentive payment", base * rate_used,
                     f"QP in {qp_year}: {r:.2%}" if qp else f"not a QP in {qp_year}")
    st.value("incentive_usd", amount)
    st.fact("qp", "yes" if qp else "no")
    return st.build(payer_paid_usd=amount, provider_received_usd=amount)
