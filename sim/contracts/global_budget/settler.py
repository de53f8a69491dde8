"""Hospital global budget settler (``type: global_budget``).

Each plan year the hospital's regulated revenue (the payer's paid claims it billed: every
service the hospital bills, inpatient and outpatient) is reconciled to its budget
(:func:`sim.contracts.global_budget.rules.settle_global_budget`): the baseline years' (the
three years before the hospital's participation) revenue per person-year of the payer's
members, updated by the growth factor and this year's person-years, with the volume
corridor. The payer pays the hospital the reconciliation (or the hospital repays it).

The expected payoff (behaviour, ``sim.behaviour.hospital``) applies the same rule to the
hospital's expected regulated revenue on the deciding group's panel, at the panel's
person-years.
"""

from __future__ import annotations

import numpy as np

from sim.contracts.expectation import PayoffInputs
from sim.contracts.global_budget.config import GlobalBudgetContract
from sim.contracts.global_budget.rules import budget_amount, settle_global_budget
from sim.contracts.global_budget.rules import volume_adjustment as _volume
from sim.contracts.settler import (
    SETTLEMENT,
    BaseSettler,
    Book,
    Context,
    check_history,
    participation_start,
)
from sim.contracts.statement import Statement
from sim.services import BILLED_BY, Service

#: Services a hospital bills (its regulated services).
FACILITY = np.array([BILLED_BY.get(s) == "hospital" for s in Service])


class GlobalBudgetSettler(BaseSettler):
    """``type: global_budget``."""

    type_name = "global_budget"
    config_model = GlobalBudgetContract
    flow_kinds = {"global_budget_reconciliation": SETTLEMENT}
    shown_statements = ("global_budget",)

    def _years(self, ctx: Context, year: int) -> list[int]:
        cfg = self.config
        start = participation_start(ctx.scenario, "global_budget", cfg.payer, cfg.provider,
                                    year)
        return [start - 3, start - 2, start - 1]

    def revenue(self, ctx: Context, year: int) -> tuple[float, float]:
        """(The hospital's regulated revenue from the payer's patients, the payer's members'
        person-years) in ``year``."""
        cfg = self.config
        p, h = ctx.payer_index(cfg.payer), ctx.provider_index(cfg.provider)
        c = ctx.claims(year)
        m = (c["provider"] == h) & (c["payer"] == p)
        py = float(ctx.person_years(year)[ctx.members(year, p)].sum())
        return float(c["paid"][m].sum()), py

    def base(self, ctx: Context, year: int) -> tuple[float, int]:
        """(Base revenue per person-year, the middle baseline year)."""
        years = self._years(ctx, year)

        def compute() -> float:
            check_history(ctx, years, f"global budget of {self.config.provider}")
            rev = [self.revenue(ctx, y) for y in years]
            py = sum(r[1] for r in rev)
            if py <= 0:
                raise ValueError(f"global budget {self.label}: no members of payer "
                                 f"{self.config.payer} in the baseline years {years}")
            return sum(r[0] for r in rev) / py

        return ctx.memo(("global_budget_base", self.label, years[0]), compute), years[1]

    def settle(self, ctx: Context, year: int, book: Book) -> list[tuple[str, Statement]]:
        cfg = self.config
        base_pc, middle = self.base(ctx, year)
        actual, py = self.revenue(ctx, year)
        st = settle_global_budget(base_pc, py, actual, cfg.growth_rate, year - middle,
                                  cfg.corridor, cfg.variable_cost_factor)
        book.pay(year, cfg.payer, cfg.provider, st.payer_paid_usd,
                 "global_budget_reconciliation", self.label)
        return [(cfg.provider, st)]

    def expected_payoff(self, ctx: Context, year: int, inp: PayoffInputs
                        ) -> tuple[float, float] | None:
        """The reconciliation at the expected regulated revenue of the deciding panel (no
        variance). With attribution on, the panel's expectation also holds the care given
        by outside hospitals at a level its levers do not move (``sim.behaviour.leakage``):
        that level (the outside share of the budget-level revenue) is taken off."""
        cfg = self.config
        if ctx.provider_index(cfg.provider) != inp.provider:
            return None
        p = ctx.payer_index(cfg.payer)
        base_pc, middle = self.base(ctx, year)
        py = float(inp.exp.person_years[p])
        budget = budget_amount(base_pc, cfg.growth_rate, year - middle, py)
        revenue = float((inp.exp.spend[p] * FACILITY).sum() * ctx.price_factor[p])
        att = ctx.scenario.attribution
        w = float(att.outside_share) if att.enabled else 0.0
        if w > 0:
            revenue -= w * budget / max(1.0 - w, 1e-9)
        adj, _ = _volume(budget, max(revenue, 0.0), cfg.corridor, cfg.variable_cost_factor)
        return budget + adj - revenue, 0.0
