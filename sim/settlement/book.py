"""The cash book: every dollar that moves between payers and providers, once.

A flow has a source and a target entity (payer or provider names), an amount (USD,
positive from source to target), a kind and the contract that caused it (each contract
type declares its kinds: ``flow_kinds`` of its settler; which count as settlements:
``sim.contracts.registry.SETTLEMENT_KINDS``), the plan year it belongs to (accrual) and
when it is paid (``paid_t``, years from the start of plan year 0, by the timing rules of
:mod:`sim.economics.timing`; ``paid_date`` in ``cash_flows.parquet``). What a payer pays is
by construction what providers receive: revenue, cost and payer spending are all sums over
the same flows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.economics.timing import PaymentTiming, paid_time

FLOW_COLUMNS = ["year", "source", "target", "amount_usd", "kind", "contract"]


@dataclass
class CashBook:
    """Flows of one replication, each with its payment time."""

    rows: list[tuple[int, str, str, float, str, str, float]] = field(default_factory=list)
    timing: PaymentTiming = field(default_factory=PaymentTiming)
    capitation_kinds: frozenset[str] = frozenset()
    settlement_kinds: frozenset[str] = frozenset()
    first_calendar_year: int = 2025

    def pay(self, year: int, source: str, target: str, amount: float, kind: str,
            contract: str, *, delay_days: float = 0.0, at: float | None = None) -> None:
        """Record ``amount`` USD from ``source`` to ``target`` (negative: the other way),
        paid when the timing rules say for a flow of ``kind`` of plan year ``year``, plus
        ``delay_days`` (claims paid after rework), or at time ``at`` (years from the start
        of plan year 0) when given (RADV recoveries)."""
        if amount != 0.0:
            t = paid_time(year, kind, float(amount), self.timing, self.capitation_kinds,
                          self.settlement_kinds) if at is None else float(at)
            if delay_days:
                t += delay_days / 365.0
            self.rows.append((year, source, target, float(amount), kind, contract, t))

    def timed(self) -> pd.DataFrame:
        """The flows with ``paid_t`` (years from the start of plan year 0)."""
        return pd.DataFrame(self.rows, columns=[*FLOW_COLUMNS, "paid_t"])

    def frame(self) -> pd.DataFrame:
        """The flows as a DataFrame, with the date each is paid (``paid_date``)."""
        flows = self.timed()
        start = np.datetime64(f"{self.first_calendar_year:04d}-01-01", "D")
        days = np.round(flows["paid_t"].to_numpy(dtype=float) * 365.0).astype("int64")
        flows["paid_date"] = (start + days.astype("timedelta64[D]")).astype("datetime64[ns]")
        return flows.drop(columns="paid_t")
