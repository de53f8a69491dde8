"""Scenario configuration of a fee-for-service contract (``type: ffs``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.contracts.config import ContractConfig
from sim.fields import param


class FFSContract(ContractConfig):
    """Fee-for-service, with an optional MIPS-style pay-for-performance adjustment."""

    type: Literal["ffs"] = "ffs"
    provider: str = Field("all", description="Provider whose FFS revenue is adjusted by "
                          "pay-for-performance, or 'all'.")
    pay_for_performance: bool = Field(False, description="Apply the MIPS-style adjustment: "
                                      "-9% at scores 0-18.75, 0 at 75, positive above.")
    max_positive_adjustment: float = param(
        0.09, unit="share of FFS revenue", source="CMS QPP (MIPS max +9% before scaling)",
        ge=0, le=0.5, description="Adjustment at a score of 100 (before budget-neutral scaling).")
    budget_neutral: bool = Field(False, description="Scale positive adjustments so that "
                                 "they pay for the negative ones among the scenario's own "
                                 "providers (otherwise: the national scaling factor).")
    scaling_factor: float | None = param(
        None, unit="multiple of the positive adjustment", source="CMS QPP: payment year 2025 "
        "max +2.15% (PY2023), 2026 max +1.05% (PY2024), i.e. 0.239 and 0.117 of the 9% "
        "applicable percent (sim.contracts.ffs.rules.NATIONAL_SCALING_BY_PAYMENT_YEAR)",
        ge=0, le=3, description="Scaling factor of positive MIPS adjustments (None: the "
        "national factor of the payment year; ignored when budget_neutral).")
    mips_lag_years: int = param(
        2, unit="years", source="SSA s. 1848(q)(6)(A); 42 CFR 414.1305 (MIPS payment year: "
        "the second year after the performance period)", ge=0, le=2,
        description="Years from the MIPS performance year to the payment year it adjusts "
        "(years before the first recorded year: no adjustment).")
    low_volume_usd: float = param(
        90_000.0, unit="USD of covered professional services per year",
        source="42 CFR 414.1305 (low-volume threshold, from PY2020)", ge=0, le=1e9,
        description="A clinician group with at most this much is exempt from MIPS.")
    low_volume_beneficiaries: int = param(
        200, unit="patients per year", source="42 CFR 414.1305 (low-volume threshold)",
        ge=0, le=1_000_000, description="A clinician group with at most this many patients "
        "(or covered professional services) is exempt from MIPS.")
    apm_incentive: bool = Field(True, description="Pay the APM incentive payment to "
                                "qualifying APM participants (42 CFR 414.1450): clinicians "
                                "holding an Advanced APM contract (MSSP BASIC E/ENHANCED, "
                                "REACH) with this payer, by QP performance year.")
    qp_payment_threshold: float = param(
        0.5, unit="share of Part B professional payments", source="42 CFR 414.1430; 50% "
        "frozen for QP performance periods 2023-2024 (Consolidated Appropriations Acts 2023, "
        "2024) and 2026 (CAA 2026)", ge=0, le=1,
        description="Share of the clinician's professional payments from the payer for "
        "patients of its Advanced APM entity needed to be a qualifying APM participant.")

    def requires_history(self) -> bool:
        """The MIPS adjustment of plan years 0 and 1 reads performance years -2 and -1."""
        return self.pay_for_performance and self.mips_lag_years > 0
