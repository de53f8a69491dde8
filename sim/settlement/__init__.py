"""Settlement: turn a run's claims into cash under the scenario's contracts (see engine)."""

from sim.settlement.engine import Settlement, active_contracts, settle_run
from sim.settlement.registry import REGISTRY, register

__all__ = ["REGISTRY", "Settlement", "active_contracts", "register", "settle_run"]
