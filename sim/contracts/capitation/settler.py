"""Capitation settler: risk-adjusted PMPM for a scope, corridors and stop-loss.

The capitated provider is paid ``base PMPM x risk score`` per member-month for its
attributed patients of the payer. In-scope claims are then no longer paid by the payer:
the provider bears its own services at its unit cost and pays other providers' in-scope
claims at the payer's prices. Without a given ``base_pmpm_usd`` the rate is the in-scope
spending per risk-adjusted member-month of the three years before the contract starts,
less the discount.
"""

from __future__ import annotations

import numpy as np

from sim.contracts.capitation.config import CapitationContract
from sim.contracts.capitation.rules import apply_corridors, settle_capitation
from sim.contracts.expectation import PayoffInputs
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
from sim.services import Service

PRIMARY_CARE_CODES = np.array([Service.PCP_VISIT, Service.LAB])


def in_scope(ctx: Context, claims: dict[str, np.ndarray], payer: int, provider: int,
             scope: str) -> np.ndarray:
    """Claims of the payer's patients attributed to ``provider`` that the scope covers:
    all of them (total cost of care) or the primary care the provider itself bills."""
    m = (claims["payer"] == payer) & (claims["attributed"] == provider)
    if scope == "primary_care":
        m &= (claims["provider"] == provider) & np.isin(claims["service"], PRIMARY_CARE_CODES)
    return m


class CapitationSettler(BaseSettler):
    """``type: capitation``."""

    type_name = "capitation"
    config_model = CapitationContract
    flow_kinds = {"capitation": CAPITATION, "capitation_settlement": SETTLEMENT}
    shown_statements = ("capitation",)

    def covered(self, ctx: Context, year: int, claims: dict[str, np.ndarray]
                ) -> np.ndarray:
        cfg = self.config
        return in_scope(ctx, claims, ctx.payer_index(cfg.payer), ctx.provider_index(cfg.provider),
                        cfg.scope)

    def coverage(self, ctx: Context, provider: int) -> tuple[int, str] | None:
        cfg = self.config
        if ctx.provider_index(cfg.provider) != provider:
            return None
        return ctx.payer_index(cfg.payer), cfg.scope

    def base_pmpm(self, ctx: Context, year: int) -> tuple[float, str]:
        """The base rate and how it was set."""
        cfg = self.config
        if cfg.base_pmpm_usd is not None:
            return cfg.base_pmpm_usd, "given"
        start = participation_start(ctx.scenario, "capitation", cfg.payer, cfg.provider, year)
        years = [start - 3, start - 2, start - 1]
        check_history(ctx, years, f"capitation of {cfg.provider} (historical PMPM)")
        p, a = ctx.payer_index(cfg.payer), ctx.provider_index(cfg.provider)
        spend = risk_mm = 0.0
        for y in years:
            c = ctx.claims(y)
            spend += float(c["paid"][in_scope(ctx, c, p, a, cfg.scope)].sum())
            m = ctx.members(y, p, a)
            risk_mm += float((12.0 * ctx.person_years(y)[m] * ctx.risk(y)[m]).sum())
        rate = spend / risk_mm * (1.0 - cfg.discount)
        return rate, (f"historical in-scope spending per risk-adjusted member-month, plan "
                      f"years {years[0]}..{years[-1]}, less {cfg.discount:.1%}")

    def settle(self, ctx: Context, year: int, book: Book
               ) -> list[tuple[str, Statement]]:
        cfg = self.config
        p, a = ctx.payer_index(cfg.payer), ctx.provider_index(cfg.provider)
        c = ctx.claims(year)
        scope = in_scope(ctx, c, p, a, cfg.scope)
        own = scope & (c["provider"] == a)
        others = scope & ~own
        n = len(ctx.patient_payer)
        cost = np.bincount(c["patient"][own], weights=ctx.own_cost(c)[own], minlength=n)
        cost += np.bincount(c["patient"][others], weights=c["paid"][others], minlength=n)
        members = ctx.members(year, p, a)
        mm = 12.0 * ctx.person_years(year)[members]
        rate, how = self.base_pmpm(ctx, year)
        corridors = None if cfg.corridors is None else [(b.upper, b.provider_share)
                                                         for b in cfg.corridors]
        sl = cfg.stop_loss
        st = settle_capitation(
            rate, mm, cost[members], ctx.risk(year)[members],
            "total_cost_of_care" if cfg.scope == "total_cost" else "primary_care",
            paid_to_other_providers_usd=float(c["paid"][others].sum()),
            stop_loss_attachment_usd=None if sl is None else sl.attachment_usd,
            stop_loss_coinsurance=0.2 if sl is None else sl.coinsurance, corridors=corridors)
        base = st["capitation_usd"]
        book.pay(year, cfg.payer, cfg.provider, base, "capitation", self.label)
        book.pay(year, cfg.payer, cfg.provider, st.payer_paid_usd - base,
                 "capitation_settlement", self.label)
        st = _with_fact(st, "base_pmpm_source", how)
        return [(cfg.provider, st)]


    def expected_payoff(self, ctx: Context, year: int, inp: PayoffInputs
                        ) -> tuple[float, float] | None:
        """Mean and variance of the capitated provider's result (capitation minus in-scope
        costs, corridors applied to the mean; stop-loss not anticipated)."""
        cfg = self.config
        if ctx.provider_index(cfg.provider) != inp.provider:
            return None
        p = ctx.payer_index(cfg.payer)
        py = float(inp.exp.person_years[p])
        rate, _ = ctx.memo(("pmpm", self.label, year), lambda: self.base_pmpm(ctx, year))
        revenue = rate * float(inp.exp.risk[p]) * 12.0 * py
        own_cost, others_paid, covered = inp.scope_cost(p, cfg.scope)
        result = revenue - own_cost - others_paid
        if cfg.corridors is not None and revenue > 0:
            result, _ = apply_corridors(result, revenue, [(b.upper, b.provider_share)
                                                          for b in cfg.corridors])
        total = max(inp.exp.total(p) * ctx.price_factor[p], 1e-9)
        sd = float(inp.sd_per_patient[p]) * np.sqrt(py) * covered / total
        return float(result), sd * sd


def _with_fact(st: Statement, name: str, value: str) -> Statement:
    facts = dict(st.facts)
    facts[name] = value
    return Statement(st.contract, st.lines, st.values, facts, st.payer_paid_usd,
                     st.provider_received_usd)
