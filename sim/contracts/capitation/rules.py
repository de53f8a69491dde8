"""Capitation: a risk-adjusted PMPM for a scope of services, with corridors and stop-loss.

The payer pays the capitated provider ``base PMPM × coded risk score`` for every
member-month. In return the provider bears the cost of every in-scope service:
its own services at its unit cost, and other providers' in-scope claims, which it
pays at the fee schedule. Scopes: ``primary_care`` (primary-care services only) or
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

__all__ = ["SCOPES", "apply_corridors", "settle_capitation", "stop_loss_recovery"]

SCOPES = ("primary_care", "total_cost_of_care")
Scope = Literal["primary_care", "total_cost_of_care"]
Corridors = Sequence[tuple[float, float]]


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


def settle_capitation(
    base_pmpm_usd: float,
    member_months: float | Sequence[float] | np.ndarray,
    per_patient_cost_usd: Sequence[float] | np.ndarray,
    risk_scores: float | Sequence[float] | np.ndarray = 1.0,
    scope: Scope = "primary_care",
    paid_to_other_providers_usd: float = 0.0,
    stop_loss_attachment_usd: float | None = None,
    stop_loss_coinsurance: float = 0.20,
    corridors: Corridors | None = None,
) -> Statement:
    """Settle a year of capitation for one provider.

    Steps:

    1. Capitation revenue = base PMPM × Σ (risk score × member-months) — per patient
       when arrays are given, else member-months × mean risk.
    2. In-scope cost = Σ per-patient in-scope cost (own services at unit cost plus
       other providers' in-scope claims paid at the fee schedule;
       ``paid_to_other_providers_usd`` of it went to other providers).
    3. Stop-loss (if ``stop_loss_attachment_usd``): per patient,
       ``(1 − coinsurance) × (cost − attachment)`` when positive, paid by the payer.
    4. Corridors (if given): the provider's result (revenue + stop-loss − cost) is
       split by :func:`apply_corridors`; the payer pays (or recoups) the rest.

    Returns:
        A ``"capitation"`` statement; values ``capitation_usd``, ``in_scope_cost_usd``,
        ``stop_loss_usd``, ``corridor_settlement_usd`` (payer → provider, negative =
        recouped), ``provider_margin_usd``, ``payer_paid_usd``; cash = capitation +
        stop-loss + corridor settlement.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    if not base_pmpm_usd >= 0:
        raise ValueError("base_pmpm_usd must be >= 0")
    cost_i = np.asarray(per_patient_cost_usd, dtype=float)
    if cost_i.ndim != 1 or np.any(cost_i < 0) or np.any(~np.isfinite(cost_i)):
        raise ValueError("per_patient_cost_usd must be a 1-D array of costs >= 0")
    mm = np.asarray(member_months, dtype=float)
    risk = np.asarray(risk_scores, dtype=float)
    if np.any(mm < 0) or np.any(risk < 0):
        raise ValueError("member_months and risk_scores must be >= 0")
    if mm.ndim == 1 and risk.ndim == 1 and mm.shape != risk.shape:
        raise ValueError("member_months and risk_scores arrays must align (one per patient)")
    if risk.ndim == 1 and mm.ndim == 0:
        raise ValueError("per-patient risk_scores need per-patient member_months")

    st = StatementBuilder("capitation")
    st.fact("scope", scope)
    risk_mm = float(np.sum(mm * risk))
    total_mm = float(np.sum(mm))
    st.value("member_months", total_mm)
    st.value("mean_risk_score", risk_mm / total_mm if total_mm > 0 else math.nan)
    revenue = st.line("capitation", base_pmpm_usd * risk_mm,
                      f"{base_pmpm_usd:,.2f} PMPM × Σ risk × member-months ({risk_mm:,.1f})")
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
            raise ValueError("corridors need positive capitation revenue")
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
