"""Scenario configuration of a hospital global budget (``type: global_budget``)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from sim.contracts.config import ContractConfig
from sim.fields import param


class GlobalBudgetContract(ContractConfig):
    """A fixed annual revenue for the hospital's regulated services (Maryland's Global
    Budget Revenue, Pennsylvania Rural Health Model): set from the baseline years, updated
    by an approved growth factor and the population served, with a volume corridor."""

    holder_kind: ClassVar[str | None] = "hospital"
    reconciles_spending: ClassVar[bool] = True

    type: Literal["global_budget"] = "global_budget"
    provider: str = Field(description="The hospital whose regulated services the budget "
                          "pays for (it holds the contract).")
    growth_rate: float = param(
        0.0, unit="share per year",
        source="assumption: the care model has no price trend; Maryland's All-Payer Model "
        "(2014 agreement) capped all-payer per-capita hospital revenue growth at 3.58% a "
        "year, a nominal ceiling near the long-run growth of state GDP per capita",
        ge=-0.5, le=0.5,
        description="Approved yearly update of the budget per person-year, compounded from "
        "the middle baseline year.")
    corridor: float = param(
        0.05, unit="share of the budget",
        source="approx.: HSCRC lets a hospital's charged revenue vary within a few percent "
        "of its Global Budget Revenue in a year before corrective rate adjustments "
        "(Maryland HSCRC GBR agreements, 2014)", ge=0, le=1,
        description="Band around the budget within which revenue over or under it is "
        "settled in full (the hospital keeps what it saves and bears what it overruns).")
    variable_cost_factor: float = param(
        0.5, unit="share 0-1",
        source="Maryland HSCRC: volume changes beyond the budget are funded at a 50% "
        "variable cost factor (market shift and volume adjustments; approx.)", ge=0, le=1,
        description="Beyond the corridor, the budget moves with revenue by this share: "
        "extra volume is paid at this share, lost volume refunded at it.")

    def requires_history(self) -> bool:
        return True
