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
                                 "they pay for the negative ones.")
