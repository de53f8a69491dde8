"""Payment contracts: one package per contract type, and the pieces they share.

Each contract type is a package holding its scenario configuration (``config``), its pure
settlement rules on aggregates (``rules``: one period's aggregates to an itemised
:class:`~sim.contracts.statement.Statement`, no simulation) and its settler (``settler``:
applies the rules to a run's year and answers the behaviour model), registered in
:mod:`sim.contracts.registry`:

* :mod:`sim.contracts.ffs` — fee-for-service with a MIPS-style quality adjustment.
* :mod:`sim.contracts.capitation` — risk-adjusted PMPM, scope, corridors, stop-loss.
* :mod:`sim.contracts.bundled` — BPCI Advanced-like episode reconciliation.
* :mod:`sim.contracts.mssp` — Medicare Shared Savings Program (all tracks).
* :mod:`sim.contracts.reach` — ACO REACH-style Global / Professional risk.
* :mod:`sim.contracts.custom` — payment models written in Python.

Shared: :mod:`sim.contracts.statement` (itemised statements),
:mod:`sim.contracts.quality` (quality measures to a 0–100 score),
:mod:`sim.contracts.config` (fields every configuration has), :mod:`sim.contracts.settler`
(the settler interface) and :mod:`sim.contracts.expectation` (expected payoffs).
"""

from sim.contracts.settler import BaseSettler
from sim.contracts.statement import Line, Statement, statements_frame

__all__ = ["BaseSettler", "Line", "Statement", "statements_frame"]
