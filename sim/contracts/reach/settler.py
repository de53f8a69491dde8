"""ACO REACH settler: historical benchmark, discount, withhold, corridors, optional PCC.

The benchmark is built as for MSSP (``sim.contracts.mssp.settler.aco_benchmark``, first-agreement
weights; the real model blends in a regional rate, which the simulation does not have).
With primary-care capitation, the ACO's own primary care of aligned patients is paid by
a PMPM equal to that care's spending per member-month in the year before the ACO
joined, and counts as expenditure; the reconciliation is
:func:`sim.contracts.reach.rules.settle_reach`.
"""

from __future__ import annotations

import numpy as np

from sim.contracts.capitation.settler import in_scope
from sim.contracts.expectation import PayoffInputs, expected_by_savings_rate
from sim.contracts.mssp.settler import aco_benchmark, expected_benchmark
from sim.contracts.reach.config import REACHContract
from sim.contracts.reach.rules import settle_reach
from sim.contracts.settler import (
    CAPITATION,
    SETTLEMENT,
    BaseSettler,
    Book,
    Context,
    check_history,
    participation_start,
)
from sim.contracts.statement import Statement

AGREEMENT_YEARS = 5
_RATES = np.linspace(-0.6, 0.6, 241)  # savings-rate grid for expected payoffs (corridors to 50%)


class REACHSettler(BaseSettler):
    """``type: reach``."""

    type_name = "reach"
    config_model = REACHContract
    flow_kinds = {"capitation": CAPITATION, "reach_reconciliation": SETTLEMENT}
    shown_statements = ("reach",)

    def covered(self, ctx: Context, year: int, claims: dict[str, np.ndarray]
                ) -> np.ndarray | None:
        cfg = self.config
        if not cfg.primary_care_capitation:
            return None
        return in_scope(ctx, claims, ctx.payer_index(cfg.payer), ctx.provider_index(cfg.aco),
                        "primary_care")

    def coverage(self, ctx: Context, provider: int) -> tuple[int, str] | None:
        cfg = self.config
        if not cfg.primary_care_capitation or ctx.provider_index(cfg.aco) != provider:
            return None
        return ctx.payer_index(cfg.payer), "primary_care"

    def pcc_pmpm(self, ctx: Context, year: int) -> float:
        """PCC rate: the ACO's primary care per member-month in the year before it joined."""
        cfg = self.config
        start = participation_start(ctx.scenario, "reach", cfg.payer, cfg.aco, year)
        check_history(ctx, [start - 1], f"REACH primary-care capitation of {cfg.aco}")
        p, a = ctx.payer_index(cfg.payer), ctx.provider_index(cfg.aco)
        c = ctx.claims(start - 1)
        spend = float(c["paid"][in_scope(ctx, c, p, a, "primary_care")].sum())
        mm = 12.0 * float(ctx.person_years(start - 1)[ctx.members(start - 1, p, a)].sum())
        return spend / mm

    def settle(self, ctx: Context, year: int, book: Book
               ) -> list[tuple[str, Statement]]:
        cfg = self.config
        p, a = ctx.payer_index(cfg.payer), ctx.provider_index(cfg.aco)
        out, benchmark, py, expenditure, _ = aco_benchmark(
            ctx, self, "reach", year, None, AGREEMENT_YEARS, cfg.trend_per_year)
        members = ctx.members(year, p, a)
        pcc = 0.0
        if cfg.primary_care_capitation:
            # Covered claims were not paid FFS: take them out of the FFS expenditure.
            c = ctx.claims(year)
            cov = in_scope(ctx, c, p, a, "primary_care")
            expenditure -= float(c["paid"][cov].sum())
            pcc = self.pcc_pmpm(ctx, year)
        score, _ = ctx.quality(year, members, f"{cfg.payer}/{cfg.aco}")
        st = settle_reach(cfg.option, benchmark, max(expenditure, 0.0), score,
                          ctx.scenario.economics.first_calendar_year + year, cfg.discount,
                          cfg.quality_withhold, pcc, 12.0 * py)
        book.pay(year, cfg.payer, cfg.aco, st["pcc_usd"], "capitation", self.label)
        book.pay(year, cfg.payer, cfg.aco, st["shared_savings_usd"], "reach_reconciliation",
                 self.label)
        return [*out, (cfg.aco, st)]

    def expected_payoff(self, ctx: Context, year: int, inp: PayoffInputs
                        ) -> tuple[float, float] | None:
        """Mean and variance of the ACO's PCC plus reconciliation in ``year``."""
        cfg = self.config
        if ctx.provider_index(cfg.aco) != inp.provider:
            return None
        p, py, benchmark = expected_benchmark(ctx, self, "reach", year, None, AGREEMENT_YEARS,
                                              cfg.trend_per_year, inp)
        mu, sd = inp.spending(ctx, p)
        pcc = 0.0
        if cfg.primary_care_capitation:
            pcc = ctx.memo(("pcc", self.label, year), lambda: self.pcc_pmpm(ctx, year))
            mu -= inp.scope_cost(p, "primary_care")[2]
        score = inp.quality(ctx)
        cal = ctx.scenario.economics.first_calendar_year

        def paid(expenditure: float) -> float:
            return float(settle_reach(cfg.option, benchmark, max(expenditure, 0.0), score, cal + year,
                                      cfg.discount, cfg.quality_withhold, pcc, 12.0 * py).payer_paid_usd)

        key = ("reach_curve", self.label, year, round(score * 2) / 2,
               round(12.0 * py * pcc / benchmark, 4))
        mean, var = expected_by_savings_rate(ctx, key, _RATES, paid, benchmark, mu, sd)
        if cfg.primary_care_capitation:  # the ACO now bears its own primary care at cost
            mean -= inp.scope_cost(p, "primary_care")[0]
        return mean, var
