"""Scenario configuration of a bundled-payment contract (``type: bundled``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Literal

from pydantic import Field

from sim.contracts.bundled.feasibility import check_bundle_has_episodes
from sim.contracts.bundled.rules import DEFAULT_DISCOUNT
from sim.contracts.config import ContractConfig
from sim.fields import param


class BundledContract(ContractConfig):
    """BPCI Advanced-like episodes: target price, reconciliation, quality adjustment."""

    reconciles_spending: ClassVar[bool] = True

    type: Literal["bundled"] = "bundled"
    provider: str = Field(description="The episode initiator (usually the hospital).")
    triggers: list[Literal["joint_replacement", "elective", "acsc", "other_unplanned",
                           "readmission"]] = Field(
        default_factory=lambda: ["joint_replacement"], min_length=1,
        description="Stay kinds that open an episode (at least one).")
    window_days: int = param(90, unit="days after discharge", source="BPCI Advanced", ge=0,
                             le=365, description="Post-discharge window of an episode.")
    discount: float = param(DEFAULT_DISCOUNT, unit="share 0-1", source="BPCI Advanced (3% CMS discount)",
                            ge=0, lt=1, description="Discount off the benchmark price.")
    trend_per_year: float = param(0.0, unit="share per year", source="assumption (no price "
                                  "trend in the care model)", ge=-0.5, le=0.5,
                                  description="Trend from baseline to performance year.")
    stop_loss: float = param(0.20, unit="share of target amount", source="BPCI Advanced",
                             ge=0, le=1, description="Limit on the amount owed.")
    stop_gain: float = param(0.20, unit="share of target amount", source="BPCI Advanced",
                             ge=0, le=1, description="Limit on the amount earned.")
    quality_adjustment_max: float = param(0.10, unit="share of reconciliation",
                                          source="BPCI Advanced (CQS up to 10%)", ge=0, le=1,
                                          description="Largest quality adjustment.")

    def requires_history(self) -> bool:
        """The target price comes from the episodes of the three baseline years."""
        return True

    def check_years(self, where: str, plan_years: Iterable[int], scenario: Any) -> None:
        """Refuse a population too small to give the baseline years episodes to set the
        target price from (see :mod:`sim.contracts.bundled.feasibility`)."""
        check_bundle_has_episodes(scenario, self, where)
