"""Capitation: a risk-adjusted PMPM for a scope of services, priced as plans price it, with
corridors and stop-loss.

The rate is an FFS-equivalent benchmark (what the payer would have paid fee-for-service
per member-month for the covered population at an average risk factor of 1) less a
discount. Each member-month is paid ``rate × risk factor``, where the risk factor is the
member's coded risk score divided by the normaliser (the benchmark population's mean
score in the base period, so the base-period average factor is 1), reduced by the
coding-intensity adjustment (Medicare Advantage: at least 5.9% from 2019, Social Security
Act s. 1853(a)(1)(C)(ii)). A stop-loss is never free: its premium per member-month is
deducted from the capitation (bought), or the part of the base-period spending it would
have reimbursed is left out of the benchmark (carved out); :func:`capitation_benchmark`
prices both. In return the provider bears the cost of every in-scope service: its own
services at its unit cost, and other providers' in-scope claims, which it pays at the fee
schedule. Scopes: ``primary_care`` (primary-care services only) or
``total_cost_of_care`` (every service).

Optional protections, applied in this order:

1. Per-patient annual stop-loss (specific reinsurance): above the attachment point
   the payer (or its reinsurer) reimburses ``1 − coinsurance`` of each patient's
   further in-scope cost; the provider keeps ``coinsurance`` of it.
2. Risk corridors on the provider's result (capitation + stop-loss − cost), as a
   share of capitation revenue: bands ``(upper bound, provider share)``; inside
   each band the provider keeps its share of the gain or bears its share of the
   loss and the payer takes or covers the rest. Symmetric for gains and losses.

Sources: the design follows common commercial and Medicare Advantage provider
capitation arrangements (e.g. the corridor structure of the ACA risk corridors,
45 CFR 153.510, and of ACO REACH); the parameters are the scenario's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from sim.contracts.statement import Statement, StatementBuilder

__all__ = ["SCOPES", "STOP_LOSS_PRICING", "apply_corridors", "capitation_benchmark",
           "capitation_revenue", "settle_capitation", "stop_loss_recovery"]

SCOPES = ("primary_care", "total_cost_of_care")
Scope = Literal["primary_care", "total_cost_of_care"]
Corridors = Sequence[tuple[float, float]]
#: How a stop-loss is paid for: a premium deducted from the capitation, or carved out of
#: the benchmark.
STOP_LOSS_PRICING = ("premium", "carve_out")


def _check_corridors(corridors: Corridors) -> list[tuple[float, float]]:
    bands = [(float(u), float(s)) for u, s in corridors]
    if not bands:
        raise ValueError("corridors need at least one band (upper bound, share)")
    last = 0.0
    for upper, share in bands:
        if not upper > last:
            raise ValueError(f"corridor upper bounds must increase from 0, got {bands}")
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"corridor shares must be in [0, 1], got {bands}")
        last = upper
    if not math.isinf(bands[-1][0]):
        bands.append((math.inf, bands[-1][1]))
    return bands


def apply_corridors(result_usd: float, base_usd: float, corridors: Corridors
                    ) -> tuple[float, list[tuple[float, float, float, float]]]:
    """The part of a gain (or loss) the provider keeps under risk corridors.

    ``corridors`` are ``(upper bound as a share of base_usd, provider share)`` in
    increasing order, e.g. ``[(0.03, 1.0), (0.08, 0.5), (inf, 0.2)]``: the first 3%
    kept in full, 3–8% half, beyond 8% a fifth. A missing last band extends the last
    share to infinity. Returns the kept amount (same sign as ``result_usd``) and the
    band breakdown ``(lower, upper, amount in band, kept)``.
    """
    bands = _check_corridors(corridors)
    if base_usd <= 0:
        raise ValueError("the corridor base must be positive")
    sign = 1.0 if result_usd >= 0 else -1.0
    remaining = abs(result_usd)
    kept = 0.0
    breakdown = []
    lower = 0.0
    for upper, share in bands:
        width = (upper - lower) * base_usd
        part = min(remaining, width)
        kept += part * share
        breakdown.append((lower, upper, sign * part, sign * part * share))
        remaining -= part
        lower = upper
        if remaining <= 0:
            break
    return sign * kept, breakdown


def stop_loss_recovery(per_patient_cost_usd: Sequence[float] | np.ndarray,
                       attachment_usd: float, coinsurance: float = 0.20) -> np.ndarray:
    """Per-patient stop-loss reimbursement: ``(1 − coinsurance) × (cost − attachment)+``."""
    cost = np.asarray(per_patient_cost_usd, dtype=float)
    if attachment_usd < 0 or not 0.0 <= coinsurance <= 1.0:
        raise ValueError("attachment must be >= 0 and coinsurance in [0, 1]")
    return (1.0 - coinsurance) * np.maximum(cost - attachment_usd, 0.0)


def _per_row(name: str, values: Sequence[float] | np.ndarray, n: int | None = None
             ) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or np.any(arr < 0) or np.any(~np.isfinite(arr)):
        raise ValueError(f"{name} must be a 1-D array of finite values >= 0")
    if n is not None and len(arr) != n:
        raise ValueError(f"{name} must have one value per patient-year ({n}), got {len(arr)}")
    return arr


def capitation_benchmark(
    base_spend_usd: Sequence[float] | np.ndarray,
    member_months: Sequence[float] | np.ndarray,
    risk_scores: Sequence[float] | np.ndarray,
    base_cost_usd: Sequence[float] | np.ndarray | None = None,
    stop_loss_attachment_usd: float | None = None,
    stop_loss_coinsurance: float = 0.20,
    stop_loss_pricing: str = "premium",
    stop_loss_loading: float = 1.0,
) -> Statement:
    """Price capitation from the covered population's base period (one row per patient-year).

    1. FFS-equivalent PMPM = Σ in-scope spending at the payer's prices / Σ member-months
       (``base_spend_usd``: what the payer paid fee-for-service).
    2. Risk normaliser = Σ (risk score × member-months) / Σ member-months: the base
       period's mean score, so a base-period member of average risk has factor 1.
    3. Stop-loss (if ``stop_loss_attachment_usd``): the expected reimbursement PMPM is
       what it would have paid in the base period, ``Σ (1 − coinsurance) × (cost −
       attachment)+ / Σ member-months``, each patient-year's cost as the stop-loss counts it
       (``base_cost_usd``, default the spending). ``premium``: the provider buys it at
       ``loading ×`` that PMPM, deducted from its capitation; ``carve_out``: that PMPM is
       left out of the benchmark (the payer keeps the tail, no loading).

    Returns a ``"capitation_benchmark"`` statement (no cash): ``ffs_pmpm_usd``,
    ``risk_normaliser``, ``expected_stop_loss_pmpm_usd``, ``stop_loss_premium_pmpm_usd``,
    ``carved_out_pmpm_usd``, ``benchmark_pmpm_usd`` (FFS-equivalent PMPM less any
    carve-out, before the discount), ``stop_loss_cost_share`` (base reimbursement / base
    cost) and ``member_months``.
    """
    spend = _per_row("base_spend_usd", base_spend_usd)
    n = len(spend)
    mm = _per_row("member_months", member_months, n)
    risk = _per_row("risk_scores", risk_scores, n)
    cost = spend if base_cost_usd is None else _per_row("base_cost_usd", base_cost_usd, n)
    if stop_loss_pricing not in STOP_LOSS_PRICING:
        raise ValueError(f"stop_loss_pricing must be one of {STOP_LOSS_PRICING}, "
                         f"got {stop_loss_pricing!r}")
    if not stop_loss_loading >= 1.0:
        raise ValueError("stop_loss_loading must be >= 1 (a premium below the expected "
                         "reimbursement would be a subsidy)")
    total_mm = float(mm.sum())
    risk_mm = float(np.sum(mm * risk))
    if total_mm <= 0 or risk_mm <= 0:
        raise ValueError("the base period needs member-months with a positive risk score")
    st = StatementBuilder("capitation_benchmark")
    st.value("member_months", total_mm)
    ffs_pmpm = st.line("FFS-equivalent PMPM", float(spend.sum()) / total_mm,
                       f"in-scope spending at the payer's prices / {total_mm:,.1f} "
                       "member-months")
    st.value("ffs_pmpm_usd", ffs_pmpm)
    normaliser = st.value("risk_normaliser", risk_mm / total_mm)
    expected = carved = premium = 0.0
    if stop_loss_attachment_usd is not None:
        recovered = float(stop_loss_recovery(cost, stop_loss_attachment_usd,
                                             stop_loss_coinsurance).sum())
        expected = recovered / total_mm
        st.value("stop_loss_cost_share", recovered / float(cost.sum()) if cost.sum() > 0
                 else 0.0)
        if stop_loss_pricing == "carve_out":
            carved = expected
            st.line("stop-loss carved out", -carved,
                    f"{1 - stop_loss_coinsurance:.0%} of base-period cost above "
                    f"{stop_loss_attachment_usd:,.0f} per patient-year, per member-month")
        else:
            premium = expected * stop_loss_loading
            st.line("stop-loss premium PMPM", premium,
                    f"expected reimbursement {expected:,.2f} PMPM × loading "
                    f"{stop_loss_loading:g} (deducted from the capitation)")
        st.fact("stop_loss_pricing", stop_loss_pricing)
    else:
        st.value("stop_loss_cost_share", 0.0)
    st.value("expected_stop_loss_pmpm_usd", expected)
    st.value("carved_out_pmpm_usd", carved)
    st.value("stop_loss_premium_pmpm_usd", premium)
    benchmark = st.line("benchmark PMPM", ffs_pmpm - carved,
                        f"at risk factor 1 (base-period mean score {normaliser:.4f})")
    st.value("benchmark_pmpm_usd", benchmark)
    return st.build()


def capitation_revenue(
    benchmark_pmpm_usd: float,
    member_months: float | Sequence[float] | np.ndarray,
    risk_scores: float | Sequence[float] | np.ndarray = 1.0,
    discount: float = 0.0,
    risk_normaliser: float = 1.0,
    coding_adjustment: float = 0.0,
    stop_loss_premium_pmpm_usd: float = 0.0,
) -> dict[str, float]:
    """The capitation a payer pays for a year (the rule both settlement and behaviour use).

    rate = benchmark × (1 − discount); risk factor = score / normaliser × (1 − coding
    adjustment); gross = rate × Σ (risk factor × member-months); premium = stop-loss premium
    PMPM × Σ member-months (not risk-adjusted); net = gross − premium.
    Returns ``rate``, ``member_months``, ``risk_factor_member_months``, ``gross``,
    ``premium`` and ``net`` (USD, member-months).
    """
    if not benchmark_pmpm_usd >= 0:
        raise ValueError("benchmark_pmpm_usd must be >= 0")
    if not 0.0 <= discount < 1.0:
        raise ValueError("discount must be in [0, 1)")
    if not 0.0 <= coding_adjustment < 1.0:
        raise ValueError("coding_adjustment must be in [0, 1)")
    if not risk_normaliser > 0:
        raise ValueError("risk_normaliser must be > 0")
    if not stop_loss_premium_pmpm_usd >= 0:
        raise ValueError("stop_loss_premium_pmpm_usd must be >= 0")
    mm = np.asarray(member_months, dtype=float)
    risk = np.asarray(risk_scores, dtype=float)
    if np.any(mm < 0) or np.any(risk < 0):
        raise ValueError("member_months and risk_scores must be >= 0")
    if mm.ndim == 1 and risk.ndim == 1 and mm.shape != risk.shape:
        raise ValueError("member_months and risk_scores arrays must align (one per patient)")
    if risk.ndim == 1 and mm.ndim == 0:
        raise ValueError("per-patient risk_scores need per-patient member_months")
    rate = benchmark_pmpm_usd * (1.0 - discount)
    total_mm = float(np.sum(mm))
    factor_mm = float(np.sum(mm * risk)) / risk_normaliser * (1.0 - coding_adjustment)
    gross = rate * factor_mm
    premium = stop_loss_premium_pmpm_usd * total_mm
    return {"rate": rate, "member_months": total_mm, "risk_factor_member_months": factor_mm,
            "gross": gross, "premium": premium, "net": gross - premium}


def settle_capitation(
    benchmark_pmpm_usd: float,
    member_months: float | Sequence[float] | np.ndarray,
    per_patient_cost_usd: Sequence[float] | np.ndarray,
    risk_scores: float | Sequence[float] | np.ndarray = 1.0,
    scope: Scope = "primary_care",
    paid_to_other_providers_usd: float = 0.0,
    stop_loss_attachment_usd: float | None = None,
    stop_loss_coinsurance: float = 0.20,
    corridors: Corridors | None = None,
    discount: float = 0.0,
    risk_normaliser: float = 1.0,
    coding_adjustment: float = 0.0,
    stop_loss_premium_pmpm_usd: float = 0.0,
) -> Statement:
    """Settle a year of capitation for one provider.

    Steps:

    1. Capitation (:func:`capitation_revenue`): rate = benchmark PMPM × (1 − discount);
       gross = rate × Σ (risk score / normaliser × (1 − coding adjustment) × member-months)
       — per patient when arrays are given, else member-months × mean risk; less the
       stop-loss premium PMPM × member-months when the stop-loss is bought.
    2. In-scope cost = Σ per-patient in-scope cost (own services at unit cost plus
       other providers' in-scope claims paid at the fee schedule;
       ``paid_to_other_providers_usd`` of it went to other providers).
    3. Stop-loss (if ``stop_loss_attachment_usd``): per patient,
       ``(1 − coinsurance) × (cost − attachment)`` when positive, paid by the payer.
    4. Corridors (if given): the provider's result (capitation + stop-loss − cost) is
       split by :func:`apply_corridors` as a share of the capitation; the payer pays (or
       recoups) the rest.

    Returns:
        A ``"capitation"`` statement; values ``rate_pmpm_usd``, ``gross_capitation_usd``,
        ``stop_loss_premium_usd``, ``capitation_usd`` (net of the premium),
        ``in_scope_cost_usd``, ``stop_loss_usd``, ``corridor_settlement_usd`` (payer →
        provider, negative = recouped), ``provider_margin_usd``, ``payer_paid_usd``;
        cash = capitation + stop-loss + corridor settlement.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    cost_i = np.asarray(per_patient_cost_usd, dtype=float)
    if cost_i.ndim != 1 or np.any(cost_i < 0) or np.any(~np.isfinite(cost_i)):
        raise ValueError("per_patient_cost_usd must be a 1-D array of costs >= 0")
    if stop_loss_premium_pmpm_usd > 0 and stop_loss_attachment_usd is None:
        raise ValueError("a stop-loss premium needs a stop-loss (stop_loss_attachment_usd)")
    cap = capitation_revenue(benchmark_pmpm_usd, member_months, risk_scores, discount,
                             risk_normaliser, coding_adjustment, stop_loss_premium_pmpm_usd)

    st = StatementBuilder("capitation")
    st.fact("scope", scope)
    total_mm = cap["member_months"]
    st.value("member_months", total_mm)
    risk_mm = float(np.sum(np.asarray(member_months, float) * np.asarray(risk_scores, float)))
    st.value("mean_risk_score", risk_mm / total_mm if total_mm > 0 else math.nan)
    st.value("mean_risk_factor", cap["risk_factor_member_months"] / total_mm if total_mm > 0
             else math.nan)
    st.value("benchmark_pmpm_usd", benchmark_pmpm_usd)
    st.value("discount", discount)
    st.value("risk_normaliser", risk_normaliser)
    st.value("coding_adjustment", coding_adjustment)
    st.value("rate_pmpm_usd", cap["rate"])
    gross = st.line("capitation before stop-loss premium", cap["gross"],
                    f"{benchmark_pmpm_usd:,.2f} PMPM × (1 − {discount:.1%}) × Σ risk / "
                    f"{risk_normaliser:.4f} × (1 − {coding_adjustment:.1%}) × member-months "
                    f"({cap['risk_factor_member_months']:,.1f})")
    premium = cap["premium"]
    if stop_loss_premium_pmpm_usd > 0:
        st.line("stop-loss premium", -premium,
                f"{stop_loss_premium_pmpm_usd:,.2f} PMPM × {total_mm:,.1f} member-months")
    revenue = st.line("capitation", gross - premium, "paid by the payer")
    st.value("gross_capitation_usd", gross)
    st.value("stop_loss_premium_usd", premium)
    cost = float(cost_i.sum())
    if not 0.0 <= paid_to_other_providers_usd <= cost * (1 + 1e-12) + 1e-9:
        raise ValueError("paid_to_other_providers_usd must be within [0, total in-scope cost]")
    st.line("in-scope cost", -cost, f"{scope}: own services at unit cost + others' claims")
    st.line("of which paid to other providers", -paid_to_other_providers_usd,
            "in-scope claims at the fee schedule")

    recovery = 0.0
    if stop_loss_attachment_usd is not None:
        rec_i = stop_loss_recovery(cost_i, stop_loss_attachment_usd, stop_loss_coinsurance)
        recovery = float(rec_i.sum())
        st.value("stop_loss_patients", int(np.count_nonzero(rec_i)))
        st.line("stop-loss reimbursement", recovery,
                f"{1 - stop_loss_coinsurance:.0%} of cost above "
                f"{stop_loss_attachment_usd:,.0f} per patient ({np.count_nonzero(rec_i)} "
                f"patients)")
    result = revenue + recovery - cost
    st.line("result before corridors", result, "capitation + stop-loss − cost")

    corridor = 0.0
    if corridors is not None:
        if revenue <= 0:
            raise ValueError("corridors need positive capitation revenue (net of the "
                             "stop-loss premium)")
        kept, breakdown = apply_corridors(result, revenue, corridors)
        for lower, upper, amount, kept_part in breakdown:
            up = "∞" if math.isinf(upper) else f"{upper:.1%}"
            st.line(f"corridor {lower:.1%}–{up}", kept_part,
                    f"provider keeps {kept_part / amount if amount else 0:.0%} of "
                    f"{amount:,.2f}")
        corridor = kept - result
        st.line("corridor settlement", corridor,
                "payer covers part of the loss" if corridor > 0 else
                "payer recoups part of the gain" if corridor < 0 else "none")
    margin = result + corridor
    payer_paid = revenue + recovery + corridor
    st.line("provider margin", margin)
    st.value("capitation_usd", revenue)
    st.value("in_scope_cost_usd", cost)
    st.value("paid_to_other_providers_usd", paid_to_other_providers_usd)
    st.value("stop_loss_usd", recovery)
    st.value("result_before_corridors_usd", result)
    st.value("corridor_settlement_usd", corridor)
    st.value("provider_margin_usd", margin)
    st.value("payer_paid_usd", payer_paid)
    return st.build(payer_paid_usd=payer_paid, provider_received_usd=margin + cost)
