"""Settlement: turn a run's claims into cash under the scenario's contracts (see engine)."""

from sim.contracts.resolve import CUSTOM_REGISTRY, register_custom
from sim.settlement.book import CashBook
from sim.settlement.context import SettlementContext
from sim.settlement.engine import Settlement, SettlementRun, active_contracts, settle_run

__all__ = ["CUSTOM_REGISTRY", "CashBook", "Settlement", "SettlementRun", "SettlementContext",
           "active_contracts", "register_custom", "settle_run"]
