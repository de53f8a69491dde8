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
) -> Statement:
    """Settle a period of fee-for-service payments to one provider.

    Steps: the allowed amount of the period's claims at the fee schedule; with
    ``pay_for_performance``, the MIPS-style adjustment of :func:`mips_adjustment`
    applied to it (pass the budget-neutral ``scaling_factor`` from
    :func:`budget_neutral_scaling` computed over all providers' scores).

    Returns:
        An ``"ffs"`` statement; values ``allowed_usd``, ``adjustment_rate``,
        ``adjustment_usd``, ``paid_usd``; cash = ``paid_usd``.
    """
    if not allowed_usd >= 0:
        raise ValueError(f"allowed_usd must be >= 0, got {allowed_usd!r}")
    st = StatementBuilder("ffs")
    base = st.line("claims at the fee schedule", allowed_usd, "allowed amount")
    st.value("allowed_usd", base)
    rate = 0.0
    if pay_for_performance:
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
    adj = st.line("quality adjustment", base * rate, note)
    paid = st.line("paid to provider", base + adj)
    st.value("adjustment_rate", rate)
    st.value("adjustment_usd", adj)
    st.value("paid_usd", paid)
    st.fact("pay_for_performance", "on" if pay_for_performance else "off")
    return st.build(payer_paid_usd=base + base * rate, provider_received_usd=paid)
