"""Settlement: turn a run's claims into cash under the scenario's contracts (see engine)."""

from sim.settlement.book import CashBook
from sim.settlement.context import SettlementContext
from sim.settlement.engine import Settlement, active_contracts, settle_run
from sim.settlement.registry import CUSTOM_REGISTRY, register_custom

__all__ = ["CUSTOM_REGISTRY", "CashBook", "Settlement", "SettlementContext",
           "active_contracts", "register_custom", "settle_run"]
