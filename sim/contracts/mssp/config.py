"""Scenario configuration of a Medicare Shared Savings Program contract (``type: mssp``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Literal

from pydantic import Field

from sim.contracts.config import ContractConfig
from sim.contracts.mssp.rules import ALTERNATIVE_STANDARD_FROM
from sim.fields import param

MSSP_RULE = "42 CFR 425 (MSSP), see docs/contracts.md"



MSSPTrack = Literal["BASIC_A", "BASIC_B", "BASIC_C", "BASIC_D", "BASIC_E", "ENHANCED",
                    "TRACK_1", "TRACK_1_PLUS", "TRACK_2", "TRACK_3"]


class MSSPContract(ContractConfig):
    """Medicare Shared Savings Program ACO (one-sided or two-sided track)."""

    holder_kind: ClassVar[str | None] = "primary_care"
    reconciles_spending: ClassVar[bool] = True
    minimum_assigned_beneficiaries: ClassVar[int | None] = 5_000  # 42 CFR 425.110(a)
    assigned_by_cms: ClassVar[bool] = True  # 42 CFR 425.402

    type: Literal["mssp"] = "mssp"
    aco: str = Field(description="The primary-care provider that forms the ACO; its "
                     "attributed patients of this payer are the assigned beneficiaries.")
    track: MSSPTrack = Field("BASIC_A", description="Track or BASIC level.")
    msr: float | None = param(None, unit="share of benchmark", source=MSSP_RULE, ge=0, le=0.2,
                              description="Minimum savings rate (None: the programme default "
                              "for the track and size).")
    mlr: float | None = param(None, unit="share of benchmark", source=MSSP_RULE, ge=0, le=0.2,
                              description="Minimum loss rate (two-sided; None: symmetric).")
    agreement_start_year: int | None = param(
        None, unit="plan year", source=MSSP_RULE, ge=-10, le=100,
        description="First performance year of the agreement (None: the first year of the "
        "ACO's continuous participation); agreements last agreement_years, then the "
        "benchmark is rebased on the three latest years.")
    agreement_years: int = param(5, unit="years", source="42 CFR 425.200", ge=1, le=10,
                                 description="Length of an agreement period.")
    trend_per_year: float = param(
        0.0, unit="share per year", source="assumption (the care model has no price trend; "
        "CMS trends by national-regional FFS growth)", ge=-0.5, le=0.5,
        description="Trend from each baseline year to the performance year.")
    quality_standard_score: float = param(
        40.0, unit="quality score 0-100", source="assumption (stands in for the 40th-percentile "
        "MIPS quality performance standard)", ge=0, le=100,
        description="Score at or above which the quality performance standard is met.")
    alternative_standard_score: float = param(
        30.0, unit="quality score 0-100", source="assumption (alternative standard, 10th "
        "percentile)", ge=0, le=100,
        description="Score at or above which the alternative standard is met.")

    def requires_history(self) -> bool:
        """The benchmark comes from the three baseline years of the agreement."""
        return True

    def exclusive_group(self) -> str:
        return "acc"  # an ACO: MSSP and REACH exclude each other

    def check_years(self, where: str, plan_years: Iterable[int], scenario: Any) -> None:
        """The MSSP alternative quality standard exists from PY2023 (42 CFR
        425.512(a)(4)(ii)): refuse an MSSP contract that could reach it earlier."""
        if self.alternative_standard_score >= self.quality_standard_score:
            return
        first = scenario.economics.first_calendar_year
        early = [y for y in plan_years if first + y < ALTERNATIVE_STANDARD_FROM]
        if early:
            y = early[0]
            raise ValueError(
                f"economics.first_calendar_year: {first} makes plan year {y} of "
                f"{where} (mssp) performance year {first + y}, but the "
                f"alternative quality performance standard exists from "
                f"PY{ALTERNATIVE_STANDARD_FROM} (42 CFR 425.512(a)(4)(ii)); set "
                f"first_calendar_year >= {ALTERNATIVE_STANDARD_FROM - y}, or set the "
                f"contract's alternative_standard_score to its quality_standard_score "
                f"({self.quality_standard_score:g}) to have no alternative standard")
