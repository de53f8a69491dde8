"""The cash book: every dollar that moves between payers and providers, once.

A flow has a source and a target entity (payer or provider names), an amount (USD,
positive from source to target), a kind and the contract that caused it (each contract
type declares its kinds: ``flow_kinds`` of its settler; which count as settlements:
``sim.contracts.registry.SETTLEMENT_KINDS``). What a payer pays is by construction what
providers receive: revenue, cost and payer spending are all sums over the same flows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

FLOW_COLUMNS = ["year", "source", "target", "amount_usd", "kind", "contract"]


@dataclass
class CashBook:
    """Flows of one replication."""

    rows: list[tuple[int, str, str, float, str, str]] = field(default_factory=list)

    def pay(self, year: int, source: str, target: str, amount: float, kind: str,
            contract: str) -> None:
        """Record ``amount`` USD from ``source`` to ``target`` (negative: the other way)."""
        if amount != 0.0:
            self.rows.append((year, source, target, float(amount), kind, contract))

    def frame(self) -> pd.DataFrame:
        """The flows as a DataFrame."""
        return pd.DataFrame(self.rows, columns=FLOW_COLUMNS)
