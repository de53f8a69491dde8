"""Scenario configuration of an ACO REACH contract (``type: reach``)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from sim.contracts.config import ContractConfig
from sim.fields import param


class REACHContract(ContractConfig):
    """ACO REACH-style Global or Professional risk with corridors."""

    holder_kind: ClassVar[str | None] = "primary_care"
    reconciles_spending: ClassVar[bool] = True
    #: ACO REACH RFA: a Standard ACO needs at least 5,000 aligned beneficiaries.
    minimum_assigned_beneficiaries: ClassVar[int | None] = 5_000
    assigned_by_cms: ClassVar[bool] = True  # claims-based alignment

    type: Literal["reach"] = "reach"
    aco: str = Field(description="The primary-care provider that forms the REACH ACO.")
    option: Literal["global", "professional"] = Field("global", description="Risk option.")
    discount: float | None = param(None, unit="share 0-1", source="ACO REACH PY2024 "
                                   "financial methodology", ge=0, lt=1,
                                   description="Benchmark discount (None: the model default).")
    quality_withhold: float = param(0.02, unit="share of benchmark", source="ACO REACH (2%)",
                                    ge=0, lt=1, description="Quality withhold.")
    primary_care_capitation: bool = Field(False, description="Pay the ACO's primary care of "
                                          "aligned patients by PMPM instead of FFS.")
    trend_per_year: float = param(0.0, unit="share per year", source="assumption (no price "
                                  "trend in the care model)", ge=-0.5, le=0.5,
                                  description="Prospective trend from baseline to performance "
                                  "year.")
    reference_risk_growth_per_year: float = param(
        0.0, unit="share per year", source="assumption (the reference population's coding "
        "does not drift at the simulation's reference levers)", ge=-0.2, le=0.2,
        description="Growth of the normalisation factor (the reference population's mean "
        "risk score) from BY3.")
    actual_trend_per_year: float | None = param(
        None, unit="share per year", source="ACO REACH financial methodology (retrospective "
        "trend adjustment); value assumption (None: the prospective trend, no RTA)",
        ge=-0.5, le=0.5, description="Actual national-regional growth; the RTA applies when "
        "it differs from trend_per_year by more than 1% (cumulated to the performance year).")
    rta_cap: float | None = param(
        0.05, unit="share", source="assumption (the PY2024 methodology limits the RTA; "
        "verify)", ge=0, le=0.5, description="Largest RTA adjustment either way (None: "
        "unlimited).")
    regional_weight: float | None = param(
        None, unit="share 0-1", source="ACO REACH RFA / financial methodology (regional "
        "share rising to 50% by PY2026: 35% PY2021-23, 40%, 45%, 50%; summarised, verify)",
        ge=0, le=1, description="Weight of the regional rate in the blended benchmark "
        "(None: by performance year).")
    regional_to_aco_ratio: float = param(
        1.042, unit="ratio", source="CMS MSSP ACO PUF PY2024 (median first-agreement ACO: "
        "region 4.2% above its historical benchmark; REACH ACOs assumed alike)", ge=0.5,
        le=2.0, description="Regional rate over the ACO's historical baseline in BY3 (at the "
        "ACO's risk).")
    risk_score_cap: float = param(
        0.03, unit="share", source="ACO REACH PY2023 risk adjustment (symmetric 3% cap on "
        "normalised risk-score growth)", ge=0, le=0.5,
        description="Cap on the growth (either way) of the normalised risk score from BY3.")
    coding_intensity_factor: float = param(
        0.0, unit="share 0-1", source="assumption (REACH sets the CIF from all REACH ACOs' "
        "coding growth over the reference population, which one simulated ACO cannot "
        "stand for; 0 = none)", ge=0, lt=0.5,
        description="Reduction of the normalised risk score for coding intensity.")
    stop_loss_attachment_usd: float | None = param(
        None, unit="USD per beneficiary-year", source="ACO REACH optional stop-loss "
        "arrangement (tiered attachment points; one tier here); value assumption",
        ge=0, le=10_000_000, description="Attachment point of the optional stop-loss "
        "(None: no stop-loss).")
    stop_loss_share: float = param(
        0.9, unit="share 0-1", source="assumption (one tier standing for the REACH "
        "stop-loss tiers)", ge=0, le=1,
        description="Share of spending above the attachment point that stop-loss pays.")
    pcc_percentage: float | None = param(
        None, unit="share of benchmark", source="ACO REACH RFA (Base PCC = the ACO's "
        "primary-care share; Enhanced PCC up to about 7% of the benchmark)", ge=0, le=0.07,
        description="Primary-care capitation as a share of the benchmark per member-month "
        "(None: Base PCC, the ACO's own primary-care share of its BY3 spending).")
    sequestration: float | None = param(
        None, unit="share", source="Budget Control Act of 2011 (2%); ACO REACH applies it "
        "to shared savings and losses", ge=0, lt=0.1,
        description="Reduction of shared savings and losses (None: 2%, none for PY2019-20).")

    def requires_history(self) -> bool:
        """The benchmark (and the primary-care capitation rate) come from baseline years."""
        return True

    def advanced_apm(self) -> bool:
        """ACO REACH (Global and Professional) is an Advanced APM (CMS QPP Advanced APM
        list)."""
        return True

    def exclusive_group(self) -> str:
        return "acc"  # an ACO: MSSP and REACH exclude each other

    def replaces_ffs(self) -> str | None:
        return "reach (primary-care capitation)" if self.primary_care_capitation else None
