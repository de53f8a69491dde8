"""Settlement: turn a run's claims into cash under the scenario's contracts (see engine)."""

from sim.settlement.base import BaseSettler
from sim.settlement.book import CashBook
from sim.settlement.context import SettlementContext
from sim.settlement.engine import Settlement, SettlementRun, active_contracts, settle_run
from sim.settlement.registry import CUSTOM_REGISTRY, REGISTRY, register, register_custom

__all__ = ["CUSTOM_REGISTRY", "REGISTRY", "BaseSettler", "CashBook", "Settlement", "SettlementRun",
           "SettlementContext", "active_contracts", "register", "register_custom", "settle_run"]
