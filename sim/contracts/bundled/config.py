"""Scenario configuration of a bundled-payment contract (``type: bundled``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from sim.contracts.bundled.feasibility import check_bundle_has_episodes
from sim.contracts.bundled.rules import DEFAULT_DISCOUNT, WINSOR_HIGH_PCT, WINSOR_LOW_PCT
from sim.contracts.config import ContractConfig
from sim.fields import param

#: The clinical episodes a bundle may select (``sim.stay_groups.CLINICAL_EPISODES``).
ClinicalEpisode = Literal["major_joint_lower_extremity", "sepsis", "heart_failure", "copd",
                          "spinal_fusion"]
#: Kinds of provider that may initiate episodes: BPCI Advanced's episode initiators are
#: acute care hospitals and physician group practices.
INITIATOR_KINDS = ("hospital", "primary_care")


class BundledContract(ContractConfig):
    """BPCI Advanced-like episodes: target price, reconciliation, quality adjustment."""

    reconciles_spending: ClassVar[bool] = True

    type: Literal["bundled"] = "bundled"
    provider: str = Field(description="The episode initiator, who owns the episodes and is "
                          "paid (or repays) the reconciliation: usually the hospital (BPCI "
                          "Advanced: an acute care hospital or a physician group practice).")
    episodes: list[ClinicalEpisode] | None = Field(
        None, min_length=1,
        description="Clinical episodes the initiator selected (BPCI Advanced clinical "
        "episode categories, opened by an anchor stay of the MS-DRG family: "
        "major_joint_lower_extremity 469/470 and 521/522, sepsis 871/872, heart_failure "
        "291-293, copd 190-192, spinal_fusion 450/451 and the other "
        "spinal-fusion DRGs of v41+); each has its own target price. "
        "None: the stay kinds of `triggers` open the episodes.")
    triggers: list[Literal["joint_replacement", "elective", "acsc", "other_unplanned",
                           "readmission"]] | None = Field(
        None, min_length=1,
        description="Generic stay kinds that open an episode, one target price for all "
        "(the older form; give `episodes` or `triggers`). Neither given: "
        "`[joint_replacement]`.")
    window_days: int = param(90, unit="days after discharge", source="BPCI Advanced", ge=0,
                             le=365, description="Post-discharge window of an episode.")
    discount: float = param(DEFAULT_DISCOUNT, unit="share 0-1", source="BPCI Advanced (3% CMS discount)",
                            ge=0, lt=1, description="Discount off the benchmark price.")
    trend_per_year: float = param(0.0, unit="share per year", source="assumption (BPCI "
                                  "Advanced projects the benchmark with its peer group's "
                                  "spending trend; the care model has no price trend)",
                                  ge=-0.5, le=0.5,
                                  description="Peer-group trend: yearly growth of the peer "
                                  "group's episode spending, compounded from the middle "
                                  "baseline year to the performance year.")
    stop_loss: float = param(0.20, unit="share of target amount", source="BPCI Advanced",
                             ge=0, le=1, description="Limit on the amount owed.")
    stop_gain: float = param(0.20, unit="share of target amount", source="BPCI Advanced",
                             ge=0, le=1, description="Limit on the amount earned.")
    quality_adjustment_max: float = param(0.10, unit="share of reconciliation",
                                          source="BPCI Advanced (CQS up to 10%)", ge=0, le=1,
                                          description="Largest quality adjustment.")
    winsor_low_pct: float = param(
        WINSOR_LOW_PCT, unit="percentile", source="BPCI Advanced target price "
        "specifications (baseline episode spending winsorised at the 1st and 99th "
        "percentiles)", ge=0, le=50,
        description="Baseline episodes below this percentile of their clinical episode's "
        "spending are raised to it.")
    winsor_high_pct: float = param(
        WINSOR_HIGH_PCT, unit="percentile", source="BPCI Advanced target price "
        "specifications (99th percentile; performance episodes capped likewise)", ge=50,
        le=100, description="Baseline episodes above this percentile of their clinical "
        "episode's spending are lowered to it, and performance-year episodes are capped at "
        "it (trended); 100 turns both off.")

    @model_validator(mode="after")
    def _episodes_or_triggers(self) -> BundledContract:
        if self.episodes is not None and self.triggers is not None:
            raise ValueError("give either `episodes` (clinical episodes) or `triggers` "
                             "(generic stay kinds), not both")
        if self.episodes is not None and len(set(self.episodes)) != len(self.episodes):
            raise ValueError(f"episodes lists a clinical episode twice: {self.episodes}")
        return self

    @property
    def episode_types(self) -> list[str]:
        """The episode types reconciled, each with its own target price: the clinical
        episodes, or one type for the generic stay kinds."""
        if self.episodes is not None:
            return list(self.episodes)
        return ["stays: " + ", ".join(self.trigger_kinds)]

    @property
    def trigger_kinds(self) -> list[str]:
        """The generic stay kinds that open episodes (none with clinical episodes)."""
        if self.episodes is not None:
            return []
        return list(self.triggers) if self.triggers is not None else ["joint_replacement"]

    def requires_history(self) -> bool:
        """The target price comes from the episodes of the three baseline years."""
        return True

    def check_years(self, where: str, plan_years: Iterable[int], scenario: Any) -> None:
        """Refuse an initiator that is not a hospital or primary-care group, and a
        population too small to give the baseline years episodes to set the target prices
        from (see :mod:`sim.contracts.bundled.feasibility`)."""
        kind = next((p.kind for p in scenario.providers if p.name == self.provider), None)
        if kind is not None and kind not in INITIATOR_KINDS:
            raise ValueError(
                f"{where}.provider: {self.provider} is a {kind} provider; a bundle's episode "
                f"initiator must be a {' or '.join(INITIATOR_KINDS)} provider (BPCI "
                f"Advanced: acute care hospitals and physician group practices)")
        check_bundle_has_episodes(scenario, self, where)
