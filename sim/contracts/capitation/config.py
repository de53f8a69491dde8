"""Scenario configuration of a capitation contract (``type: capitation``)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from sim.contracts.config import ContractConfig
from sim.fields import ASSUMPTION, BOUND_NOTE, MAX_FEE_USD, StrictModel, param


class Corridor(StrictModel):
    """A risk-corridor band: gains or losses up to ``upper`` (share of revenue)."""

    upper: float = param(0.05, unit="share of capitation revenue", source=ASSUMPTION,
                         gt=0, le=100, description="Upper edge of the band, a share (0.03 = 3%); "
                         "a value between 1 and 100 is refused as a likely percentage; write "
                         "100 for an open last band.")
    provider_share: float = param(1.0, unit="share 0-1", source=ASSUMPTION, ge=0, le=1,
                                  description="Share of the band's gain or loss the provider "
                                  "keeps.")

    @field_validator("upper")
    @classmethod
    def _share_not_percent(cls, v: float) -> float:
        # 3 meant as 3% would be a band up to 300% of revenue; 100 (the bound) is the
        # conventional open last band (the last band extends without limit anyway)
        if 1 < v < 100:
            raise ValueError(f"{v:g} looks like a percentage, but the band's edge is a share "
                             f"of capitation revenue: did you mean {v / 100:g}? (for an open "
                             "last band write 100)")
        return v


class StopLoss(StrictModel):
    """Per-patient annual stop-loss, paid for by a premium or carved out of the rate."""

    attachment_usd: float = param(
        100_000.0, unit="USD per patient-year", source="assumption (typical provider "
        "stop-loss attachment $75k-150k)", ge=0, le=MAX_FEE_USD,
        description="Annual in-scope cost per patient above which stop-loss pays. " + BOUND_NOTE)
    coinsurance: float = param(0.2, unit="share 0-1", source=ASSUMPTION, ge=0, le=1,
                               description="Share of cost above the attachment the provider "
                               "still bears.")
    pricing: Literal["premium", "carve_out"] = Field(
        "premium", description="How the stop-loss is paid for (never free). premium: the "
        "group buys it; a premium per member-month is deducted from its capitation. "
        "carve_out: the part of the base-period spending the stop-loss would have reimbursed "
        "is left out of the benchmark (the payer keeps the tail).")
    loading: float = param(
        1.25, unit="premium / expected reimbursement",
        source="assumption (reinsurance priced at a loss ratio of ~80%: expected claims plus "
        "expenses and a risk margin)", ge=1, le=5,
        description="With pricing: premium, the premium is the expected reimbursement per "
        "member-month in the base period (the covered population's own tail) times this "
        "loading. Not used for carve_out.")
    price_pmpm_usd: float | None = param(
        None, unit="USD per member-month", source="assumption; None = priced from the "
        "base period (expected reimbursement, times the loading for a premium)", gt=0,
        le=MAX_FEE_USD, description="A given premium (pricing: premium) or carved-out amount "
        "(pricing: carve_out) per member-month instead of the base-period price. " + BOUND_NOTE)


class CapitationContract(ContractConfig):
    """Risk-adjusted PMPM for a scope of services."""

    type: Literal["capitation"] = "capitation"
    provider: str = Field(description="The capitated primary-care provider.")
    scope: Literal["primary_care", "total_cost"] = Field(
        "primary_care", description="primary_care: primary-care visits and the labs the group "
        "bills; total_cost: every claim of the attributed patients.")
    area_rate_pmpm_usd: float | None = param(
        None, unit="USD per member-month at risk factor 1",
        source="assumption; None = the covered population's own history (its in-scope FFS "
        "spending per member-month in the three years before the contract)", gt=0,
        le=MAX_FEE_USD, description="FFS-equivalent benchmark of the area (e.g. the FFS "
        "spending per beneficiary of CMS's county rate book, per month) for a member of risk "
        "score 1 on the simulation's scale (plan year 0's mean under FFS coding), used "
        "instead of the own-history benchmark; the discount, the risk factor and the "
        "stop-loss apply to it alike. " + BOUND_NOTE)
    discount: float = param(
        0.0, unit="share 0-1", source="assumption (0: the payer pays the FFS-equivalent; cf. "
        "the ACO REACH Global discount of 3% in PY2023-2024, CMS REACH financial "
        "methodology)", ge=0, lt=1,
        description="Discount off the benchmark: rate = benchmark x (1 - discount).")
    coding_adjustment: float = param(
        0.059, unit="share 0-1",
        source="Social Security Act s. 1853(a)(1)(C)(ii): the Medicare Advantage coding "
        "intensity adjustment, at least 5.9% from 2019 (CMS rate announcements 2019-2026 "
        "apply the minimum)", ge=0, lt=1,
        description="Cut of every member's risk factor for coding more intensive than "
        "fee-for-service: factor = score / base-period mean score x (1 - adjustment).")
    corridors: list[Corridor] | None = Field(None, description="Risk corridors (bands in "
                                             "increasing order), or none.")
    stop_loss: StopLoss | None = Field(None, description="Per-patient stop-loss, or none.")

    holder_kind: ClassVar[str | None] = "primary_care"

    def requires_history(self) -> bool:
        return True

    def reads_baseline(self) -> bool:
        """The own-history benchmark and a stop-loss priced from the base period read the
        baseline years; an area rate with a given stop-loss price does not."""
        return self.area_rate_pmpm_usd is None or (
            self.stop_loss is not None and self.stop_loss.price_pmpm_usd is None)

    @model_validator(mode="before")
    @classmethod
    def _renamed_rate(cls, data: Any) -> Any:
        if isinstance(data, dict) and "base_pmpm_usd" in data:
            raise ValueError("base_pmpm_usd was replaced by area_rate_pmpm_usd (the "
                             "FFS-equivalent PMPM at risk factor 1, before the discount, the "
                             "coding adjustment and the stop-loss premium)")
        return data

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
