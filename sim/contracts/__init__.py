"""Payment contracts: pure settlement rules on aggregates.

Each module turns one period's aggregates into an itemised
:class:`~sim.contracts.statement.Statement`; no simulation here.

* :mod:`sim.contracts.ffs` — fee-for-service with a MIPS-style quality adjustment.
* :mod:`sim.contracts.capitation` — risk-adjusted PMPM, scope, corridors, stop-loss.
* :mod:`sim.contracts.bundled` — BPCI Advanced-like episode reconciliation.
* :mod:`sim.contracts.mssp` — Medicare Shared Savings Program (all tracks).
* :mod:`sim.contracts.reach` — ACO REACH-style Global / Professional risk.
* :mod:`sim.contracts.quality` — quality measures to a 0–100 score.
"""

from sim.contracts import bundled, capitation, ffs, mssp, quality, reach
from sim.contracts.statement import Line, Statement, statements_frame

__all__ = [
    "Line",
    "Statement",
    "bundled",
    "capitation",
    "ffs",
    "mssp",
    "quality",
    "reach",
    "statements_frame",
]
