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
                                  description="Trend from baseline to performance year.")

    def requires_history(self) -> bool:
        """The benchmark (and the primary-care capitation rate) come from baseline years."""
        return True

    def exclusive_group(self) -> str:
        return "acc"  # an ACO: MSSP and REACH exclude each other

    def replaces_ffs(self) -> str | None:
        return "reach (primary-care capitation)" if self.primary_care_capitation else None
