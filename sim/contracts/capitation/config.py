"""Scenario configuration of a capitation contract (``type: capitation``)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from sim.contracts.config import ContractConfig
from sim.fields import ASSUMPTION, BOUND_NOTE, MAX_FEE_USD, StrictModel, param


class Corridor(StrictModel):
    """A risk-corridor band: gains or losses up to ``upper`` (share of revenue)."""

    upper: float = param(0.05, unit="share of capitation revenue", source=ASSUMPTION,
                         gt=0, le=100, description="Upper edge of the band (use a large number "
                         "for the last band).")
    provider_share: float = param(1.0, unit="share 0-1", source=ASSUMPTION, ge=0, le=1,
                                  description="Share of the band's gain or loss the provider "
                                  "keeps.")


class StopLoss(StrictModel):
    """Per-patient annual stop-loss."""

    attachment_usd: float = param(
        100_000.0, unit="USD per patient-year", source="assumption (typical provider "
        "stop-loss attachment $75k-150k)", ge=0, le=MAX_FEE_USD,
        description="Annual in-scope cost per patient above which stop-loss pays. " + BOUND_NOTE)
    coinsurance: float = param(0.2, unit="share 0-1", source=ASSUMPTION, ge=0, le=1,
                               description="Share of cost above the attachment the provider "
                               "still bears.")


class CapitationContract(ContractConfig):
    """Risk-adjusted PMPM for a scope of services."""

    type: Literal["capitation"] = "capitation"
    provider: str = Field(description="The capitated primary-care provider.")
    scope: Literal["primary_care", "total_cost"] = Field(
        "primary_care", description="primary_care: primary-care visits and the labs the group "
        "bills; total_cost: every claim of the attributed patients.")
    base_pmpm_usd: float | None = param(
        None, unit="USD per member-month at risk score 1", source="assumption; None = the "
        "prior three years' in-scope spending per risk-adjusted member-month, less the discount",
        ge=0, le=MAX_FEE_USD, description="Base capitation rate. " + BOUND_NOTE)
    discount: float = param(
        0.0, unit="share 0-1", source="assumption (MA benchmarks ~0-5% below FFS)", ge=0, lt=1,
        description="Discount off the historical rate when base_pmpm_usd is not given.")
    corridors: list[Corridor] | None = Field(None, description="Risk corridors (bands in "
                                             "increasing order), or none.")
    stop_loss: StopLoss | None = Field(None, description="Per-patient stop-loss, or none.")

    holder_kind: ClassVar[str | None] = "primary_care"

    def requires_history(self) -> bool:
        return True

    def reads_baseline(self) -> bool:
        """A historical rate reads the baseline years; a given rate does not."""
        return self.base_pmpm_usd is None

    def exclusive_group(self) -> str:
        return self.scope

    def replaces_ffs(self) -> str:
        return f"capitation ({self.scope})"

    @field_validator("corridors")
    @classmethod
    def _corridors_increase(cls, v: list[Corridor] | None) -> list[Corridor] | None:
        if v is not None:
            if not v:
                raise ValueError("give at least one band, or leave corridors out")
            uppers = [c.upper for c in v]
            for k in range(1, len(v)):
                if not uppers[k] > uppers[k - 1]:
                    raise ValueError(f"band upper bounds must increase; corridors[{k}].upper "
                                     f"= {uppers[k]:g} is not above corridors[{k - 1}].upper "
                                     f"= {uppers[k - 1]:g}")
        return v
