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
        description="National risk-adjusted FFS growth: trends each baseline year to BY3 "
        "and BY3 to the performance year (blended with regional_growth_per_year and the "
        "ACPT).")
    quality_standard_score: float | None = param(
        None, unit="quality score 0-100", source="42 CFR 425.512(a)(4)(i): the 30th (PY2022-"
        "2023) / 40th (PY2024 on) percentile MIPS quality score; 77.03 for PY2024 from the CMS "
        "PY2024 ACO PUF (sim.contracts.quality.QPS_SCORE_BY_YEAR)", ge=0, le=100,
        description="Score at or above which the quality performance standard is met (None: "
        "the performance year's percentile score).")
    alternative_standard_score: float | None = param(
        None, unit="quality score 0-100", source="42 CFR 425.512(a)(4)(ii) (PY2023 on)",
        ge=0, le=100,
        description="Score at or above which the alternative standard is met (None: the rule "
        "itself, the 10th percentile on one outcome measure and the 40th on another, read "
        "from the measures' decile points).")
    prior_agreement_periods: int = param(
        0, unit="agreement periods", source="42 CFR 425.601(a)(8)(ii)(B), 425.656(c)(1); "
        "CMS MSSP PUF PY2024 Agreement_Period_Num (median 2)", ge=0, le=10,
        description="Agreement periods the ACO completed before its first simulated one "
        "(0: a new ACO); sets the regional adjustment's share (35/50% positive, "
        "15-50% negative by agreement period) and the weights of renewals before 2019.")
    regional_to_aco_ratio: float = param(
        1.042, unit="ratio", source="CMS MSSP ACO PUF PY2024: first-agreement ACOs (n=136), "
        "median implied (regional - ACO) / HistBnchmk = RegAdj / (35% if positive, 15% "
        "if negative) / HistBnchmk = +4.2%; 79% of them below their region", ge=0.5, le=2.0,
        description="The region's risk-adjusted FFS per-capita spending over the ACO's "
        "historical benchmark, in BY3 (the comparison population of the regional "
        "adjustment); ignored when regional_per_capita_usd is set.")
    regional_per_capita_usd: float | None = param(
        None, unit="USD per person-year (risk score 1.0, BY3)", source="assumption (set "
        "from CMS's regional FFS expenditure reports for the ACO's counties)", ge=0,
        le=1_000_000, description="Regional risk-standardised FFS per-capita spending in "
        "BY3, multiplied by the ACO's BY3 risk score (None: regional_to_aco_ratio x the "
        "ACO's historical benchmark).")
    national_to_regional_ratio: float = param(
        1.0, unit="ratio", source="assumption (the region stands for the nation; set it "
        "to place the region above or below national spending)", ge=0.5, le=2.0,
        description="National per-capita FFS spending over the regional one (the base "
        "of the +5%/-1.5% regional adjustment caps and the 5% prior-savings cap).")
    regional_growth_per_year: float | None = param(
        None, unit="share per year", source="assumption (None: trend_per_year)",
        ge=-0.5, le=0.5, description="Risk-adjusted growth of the region's FFS per-capita "
        "spending (None: trend_per_year, the national growth).")
    aco_share_of_region: float = param(
        0.0, unit="share 0-1", source="42 CFR 425.601(b)(2) (national weight = the ACO's "
        "share of the region's assignable beneficiaries); value assumption", ge=0, le=1,
        description="National weight of the national-regional blended trend.")
    acpt_per_year: float | None = param(
        None, unit="share per year", source="42 CFR 425.660; assumption: None = "
        "trend_per_year (an unbiased projection; CMS's 2023-24 aged/disabled ACPT was "
        "4.9% vs 9.0% actual, Milliman 2025)", ge=-0.5, le=0.5,
        description="Accountable care prospective trend, fixed for the agreement period "
        "(agreement periods from 2024).")
    acpt_weight: float | None = param(
        None, unit="share 0-1", source="42 CFR 425.652(b)(2)(ii) (1/3); CMS PY2024 "
        "settlement (1/6 for PY2024)", ge=0, le=1,
        description="Weight of the ACPT in the update factor (None: 1/3, 1/6 in PY2024; "
        "0 before agreement periods starting in 2024).")
    negative_regional_offset: float = param(
        0.0, unit="share 0-1", source="42 CFR 425.656(c)(3) (CY2023 PFS offset from the "
        "ACO's dual-eligible share or risk score); value assumption", ge=0, le=1,
        description="Share by which a negative regional adjustment is reduced "
        "(agreement periods from 2024).")
    prior_savings_adjustment: bool = Field(
        True, description="Apply the prior-savings adjustment to renewing ACOs "
        "(42 CFR 425.658, agreement periods from 2024).")

    def requires_history(self) -> bool:
        """The benchmark comes from the three baseline years of the agreement."""
        return True

    def advanced_apm(self) -> bool:
        """BASIC level E and ENHANCED (and the legacy Tracks 2 and 3) are Advanced APMs (CMS
        QPP Advanced APM list; 42 CFR 414.1415 nominal risk)."""
        return self.track in ("BASIC_E", "ENHANCED", "TRACK_2", "TRACK_3")

    def exclusive_group(self) -> str:
        return "acc"  # an ACO: MSSP and REACH exclude each other

    def check_years(self, where: str, plan_years: Iterable[int], scenario: Any) -> None:
        """The MSSP alternative quality standard exists from PY2023 (42 CFR
        425.512(a)(4)(ii)): refuse an MSSP contract that could reach it earlier."""
        if self.alternative_standard_score is None:
            return  # the rule itself applies the alternative standard from PY2023 only
        if (self.quality_standard_score is not None
                and self.alternative_standard_score >= self.quality_standard_score):
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
                f"contract's alternative_standard_score to none (the rule's own years) or "
                f"to its quality_standard_score to have no alternative standard")
