"""Shared pieces of the contract settlers: the base class and baseline-year queries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sim.scenario.payment import participation_start as plan_participation_start

if TYPE_CHECKING:
    from sim.contracts.statement import Statement
    from sim.scenario.schema import Scenario
    from sim.settlement.book import CashBook
    from sim.settlement.context import SettlementContext
    from sim.settlement.expectation import PayoffInputs


class BaseSettler:
    """A contract in force: its configuration and its label in statements."""

    type_name: ClassVar[str] = ""

    def __init__(self, config: Any, label: str) -> None:
        self.config = config
        self.label = label

    @property
    def holder(self) -> str:
        """The provider that holds the contract."""
        return getattr(self.config, "aco", None) or self.config.provider

    def covered(self, ctx: SettlementContext, year: int, claims: dict[str, np.ndarray]
                ) -> np.ndarray | None:
        """Claims taken out of fee-for-service (none by default)."""
        return None

    def settle(self, ctx: SettlementContext, year: int, book: CashBook
               ) -> list[tuple[str, Statement]]:
        """Record the year's flows; return ``(entity, statement)`` pairs."""
        raise NotImplementedError

    def expected_payoff(self, ctx: SettlementContext, year: int, inp: PayoffInputs
                        ) -> tuple[float, float] | None:
        """Mean and variance of this contract's payoff to ``inp.provider`` in ``year`` under
        the expected panel ``inp.exp`` (None: the contract pays that provider nothing that
        its levers move). Behaviour derives each lever's incentive from it."""
        return None


def participation_start(sc: Scenario, contract_type: str, payer: str, holder: str,
                        year: int) -> int:
    """First year of the holder's continuous participation in ``contract_type`` with the
    payer, up to ``year`` (baseline years are the three years before it)."""
    return plan_participation_start(sc.plan, sc.horizon_years, contract_type, payer, holder,
                                    year)


def per_capita(ctx: SettlementContext, year: int, payer: int, provider: int,
               spend: np.ndarray) -> tuple[float, float, float]:
    """Per-capita spending, person-years and person-year-weighted mean risk score of the
    payer's members attributed to ``provider`` in ``year``."""
    m = ctx.members(year, payer, provider)
    py = ctx.person_years(year)[m]
    total_py = float(py.sum())
    if total_py <= 0:
        raise ValueError(f"no members of payer {ctx.payer_names[payer]} attributed to "
                         f"{ctx.provider_names[provider]} in plan year {year}")
    risk = float(np.average(ctx.risk(year)[m], weights=py))
    return float(spend[m].sum()) / total_py, total_py, risk


def check_history(ctx: SettlementContext, years: tuple[int, ...] | list[int], what: str) -> None:
    """Refuse baseline years the run did not record."""
    first = ctx.ledger.first_year
    missing = [y for y in years if y < first]
    if missing:
        raise ValueError(f"{what} needs baseline years {list(years)} but the run recorded "
                         f"history only from plan year {first}; set warmup_years >= "
                         f"{2 - min(missing)} or start the contract later")
