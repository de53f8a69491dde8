"""Scenario schema of the revenue cycle: claim denials and rework, and RADV-style audits.

``revenue_cycle.denials`` turns the ledger's claims (allowed amounts) into what is paid:
a share of each claim type is denied at first submission; of those a share is reworked
(corrected, resubmitted or appealed) at a cost and paid later, the rest written off
(never paid by the payer, so not in its expenditure). ``revenue_cycle.radv`` audits the
coded risk scores behind risk-adjusted capitation and recovers, by extrapolation, the
payment attributable to codes the medical record does not support.

Both are off by default. The shipped fee schedule and rates are calibrated to CMS's paid
per-capita spending (the MSSP ACO PUF), which already leaves out claims never paid:
denials on top of it would count the write-offs twice. Switching them on reads the
ledger's amounts as the allowed amounts of claims *submitted*; then the payer's spending
is what it pays after denials. Mechanics: :mod:`sim.coding.denials`, :mod:`sim.coding.radv`.
"""

from __future__ import annotations

from pydantic import Field

from sim.fields import BOUND_NOTE, MAX_FEE_USD, StrictModel, param

PREMIER_2024 = ("Premier Inc. national survey of 516 hospitals, claims of 2022 (published "
                "March 2024): initial denial rates 8.4% traditional Medicare, 15.7% Medicare "
                "Advantage, 13.9% commercial; 47.9% of Medicare and Medicaid denials "
                "overturned and paid; $43.84 administrative cost per contested claim; review "
                "cycles of 45-60 days")
CHANGE_2017 = ("Change Healthcare Healthy Hospital Revenue Cycle Index 2017 (724 hospitals, "
               "2016 claims): 9% of hospital charges initially denied, 63% recoverable, "
               "about $118 per reworked claim")
MGMA = ("MGMA: about $25 to rework a denied practice claim; practices rework about 35% of "
        "denials (MGMA/AMA estimate that ~65% are never resubmitted); all-payer practice "
        "denial rates ~10-12% (MGMA 2024), traditional Medicare about half the all-payer rate "
        "(Premier 2024: 8.4% vs ~15%)")


class ClaimTypeDenials(StrictModel):
    """Denial and rework of one claim type."""

    initial_denial_rate: float = param(
        0.06, unit="share of claims 0-1", source="judgement from " + MGMA, ge=0, le=1,
        description="Share of claims denied at first submission.")
    reworked_share: float = param(
        0.35, unit="share of denied claims 0-1", source=MGMA, ge=0, le=1,
        description="Share of denied claims reworked and then paid in full; the rest are "
        "written off (never paid).")
    rework_cost_usd: float = param(
        25.0, unit="USD per reworked claim", source=MGMA, ge=0, le=MAX_FEE_USD,
        description="Administrative cost to the billing provider of reworking one denied "
        "claim. " + BOUND_NOTE)


def _facility(rate: float, cost: float) -> ClaimTypeDenials:
    return ClaimTypeDenials(initial_denial_rate=rate, reworked_share=0.479,
                            rework_cost_usd=cost)


class Denials(StrictModel):
    """Claim denials at first submission, rework and write-off, by claim type.

    Claim types: ``professional`` (the professional spending category: visits, the
    professional part of imaging, ED, stays and procedures, laboratory tests; and the
    ``other`` category, Part B supplier claims), ``outpatient_facility`` (hospital
    outpatient: ED and imaging facility fees, ambulatory procedures, chronic outpatient
    care) and ``inpatient`` (institutional stays: acute inpatient, and post-acute SNF, home
    health and IRF claims, which are institutional Part A claims too)."""

    enabled: bool = Field(False, description="Deny, rework and write off claims. Off by "
                          "default: the calibrated spending is CMS's paid spending, which "
                          "already leaves out claims never paid (see the module docstring).")
    professional: ClaimTypeDenials = Field(
        default_factory=ClaimTypeDenials,
        description="Professional and supplier claims. Defaults: 6% denied (judgement: "
        "traditional Medicare about half MGMA's all-payer ~11%), 35% of denials reworked at "
        "$25 each (MGMA).")
    outpatient_facility: ClaimTypeDenials = Field(
        default_factory=lambda: _facility(0.084, 43.84),
        description="Hospital outpatient facility claims. Defaults: 8.4% denied, 47.9% "
        "reworked and paid, $43.84 per reworked claim (" + PREMIER_2024 + ").")
    inpatient: ClaimTypeDenials = Field(
        default_factory=lambda: _facility(0.084, 118.0),
        description="Institutional stays (inpatient, SNF, home health, IRF). Defaults: "
        "8.4% denied and 47.9% reworked (" + PREMIER_2024 + "); $118 per reworked claim ("
        + CHANGE_2017 + ").")
    rework_delay_days: float = param(
        60.0, unit="days", source="Premier 2024 (each review cycle 45-60 days); judgement: "
        "one cycle for a corrected claim", ge=0, le=3650,
        description="Days a reworked claim is paid after a clean claim of the same year "
        "(days in accounts receivable of denied claims).")


class Radv(StrictModel):
    """Risk Adjustment Data Validation audits of the coded scores behind capitation."""

    enabled: bool = Field(False, description="Audit risk-adjusted capitation contracts "
                          "(``type: capitation``, Medicare Advantage-style). MSSP and REACH "
                          "are not RADV-audited (CMS audits MA contracts; ACO benchmarks are "
                          "protected by the risk-score caps and normalisation instead).")
    audit_probability: float = param(
        1.0, unit="probability per contract-year", source="CMS, 21 May 2025: all eligible "
        "MA contracts audited for each payment year (formerly ~60 of ~550 a year, ~11%)",
        ge=0, le=1, description="Probability that a contract's payment year is audited.")
    sample_size: int = param(
        35, unit="enrollees per audited contract-year", source="CMS RADV: 35 enrollees "
        "per contract historically; 35-200 by contract size from 2025", ge=1, le=100_000,
        description="Enrollees sampled for medical-record review (all of them when the "
        "contract has fewer).")
    base_unsupported_share: float = param(
        0.05, unit="share of the coded score 0-1", source="CMS, 21 May 2025: completed RADV "
        "audits of PY2011-2013 found 5-8% of payments unsupported (no FFS adjuster: 2023 "
        "RADV final rule, 88 FR 6643)", ge=0, lt=1,
        description="Share of the coded score without medical-record support at coding "
        "intensity 0 (FFS-level coding).")
    uplift_unsupported_share: float = param(
        1.0, unit="share 0-1", source="judgement (the coding-intensity uplift models codes "
        "added beyond what the chart documents)", ge=0, le=1,
        description="Share of the score uplift from coding intensity "
        "(risk_score.coding_intensity_uplift x intensity) that the record does not support.")
    recovery_lag_years: float = param(
        3.0, unit="years after the payment year ends", source="judgement (CMS aims to finish "
        "PY2018-2024 audits by 2026; audits take 2-3 years from the payment year)", ge=0,
        le=20, description="When the extrapolated recovery is paid back to the payer.")


class DocumentationProgramme(StrictModel):
    """A documentation (recapture) programme that starts in a plan year: from then on the
    primary-care groups code at ``coding_intensity`` whatever their levers say, while the
    years before (baseline years of benchmarks and capitation rates included) keep their
    usual coding. What a programme adds to payments then shows up as it would for an ACO
    or a capitated group that starts one (caps, normalisation, adjustments, audits)."""

    coding_intensity: float | None = param(
        None, unit="intensity 0-1", source="scenario choice (None: no programme)", ge=0,
        le=1, description="Coding intensity of every primary-care group from "
        "``from_plan_year`` on (the ``coding_intensity`` lever; behaviour does not move it).")
    from_plan_year: int = param(0, unit="plan year", source="scenario choice", ge=0, le=30,
                                description="First plan year of the programme.")


class RevenueCycle(StrictModel):
    """Denials, rework and audits: what happens to coded claims and scores after care."""

    denials: Denials = Field(default_factory=Denials, description="Claim denials.")
    radv: Radv = Field(default_factory=Radv, description="RADV-style audits.")
    documentation: DocumentationProgramme = Field(
        default_factory=DocumentationProgramme, description="A documentation programme "
        "starting in a plan year (none by default).")


__all__ = ["ClaimTypeDenials", "Denials", "DocumentationProgramme", "Radv", "RevenueCycle"]
