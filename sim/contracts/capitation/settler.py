"""Capitation settler: an FFS-equivalent benchmark less a discount, paid per member-month
by a normalised, coding-adjusted risk factor, for a scope; stop-loss bought or carved out;
corridors.

The capitated provider is paid ``rate x risk factor`` per member-month for its attributed
patients of the payer. In-scope claims are then no longer paid by the payer: the provider
bears its own services at its unit cost and pays other providers' in-scope claims at the
payer's prices. The benchmark is the covered population's own in-scope spending per
member-month in the three years before the contract starts (or a given area rate); the
risk factor divides each member's coded score by that base period's mean score (1 for an
area rate, quoted at the simulation's average risk) and takes off the coding-intensity
adjustment. A stop-loss is priced from the same base period (see
:func:`~sim.contracts.capitation.rules.capitation_benchmark`). One price for the whole
continuous participation; no trend.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.contracts.capitation.config import CapitationContract
from sim.contracts.capitation.rules import (
    apply_corridors,
    capitation_benchmark,
    capitation_revenue,
    settle_capitation,
)
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

#: Values of the price a capitation statement reports (from :meth:`CapitationSettler.pricing`).
PRICE_VALUES = ("ffs_pmpm_usd", "carved_out_pmpm_usd", "expected_stop_loss_pmpm_usd",
                "stop_loss_premium_pmpm_usd")


def in_scope(ctx: Context, claims: dict[str, np.ndarray], payer: int, provider: int,
             scope: str) -> np.ndarray:
    """Claims of the payer's patients attributed to ``provider`` that the scope covers:
    all of them (total cost of care) or the primary care the provider itself bills."""
    m = (claims["payer"] == payer) & (claims["attributed"] == provider)
    if scope == "primary_care":
        m &= (claims["provider"] == provider) & np.isin(claims["service"], PRIMARY_CARE_CODES)
    return m


def scope_cost(ctx: Context, year: int, payer: int, provider: int, scope: str
               ) -> tuple[np.ndarray, np.ndarray, float]:
    """Per patient in ``year``: the in-scope cost the capitated provider bears (own services
    at unit cost, others' claims at the payer's prices), the in-scope spending at the
    payer's prices (what fee-for-service paid or would pay), and the total paid to other
    providers. Once per closed year (``year_memo``: the baseline years are read by every
    year's pricing, in the behaviour's contexts and the settlement's); read-only arrays."""
    def compute() -> tuple[np.ndarray, np.ndarray, float]:
        c = ctx.claims(year)
        scope_m = in_scope(ctx, c, payer, provider, scope)
        own = scope_m & (c["provider"] == provider)
        others = scope_m & ~own
        n = len(ctx.patient_payer)
        cost = np.bincount(c["patient"][own], weights=ctx.own_cost(c)[own], minlength=n)
        cost += np.bincount(c["patient"][others], weights=c["paid"][others], minlength=n)
        spend = np.bincount(c["patient"][scope_m], weights=c["paid"][scope_m], minlength=n)
        cost.flags.writeable = spend.flags.writeable = False
        return cost, spend, float(c["paid"][others].sum())

    return ctx.year_memo(year, ("capitation_scope_cost", payer, provider, scope), compute)


class CapitationSettler(BaseSettler):
    """``type: capitation``."""

    type_name = "capitation"
    config_model = CapitationContract
    flow_kinds = {"capitation": CAPITATION, "capitation_settlement": SETTLEMENT}
    shown_statements = ("capitation",)
    radv_audited = True  # MA-style risk-adjusted capitation (sim.coding.radv)

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

    def pricing(self, ctx: Context, year: int) -> dict[str, Any]:
        """The price of the participation that includes ``year``: ``benchmark_pmpm_usd``
        (before the discount), ``risk_normaliser``, the stop-loss's premium or carve-out
        PMPM, ``stop_loss_cost_share`` (expected reimbursement per dollar of in-scope cost)
        and ``source`` (how the benchmark was set)."""
        cfg = self.config
        start = participation_start(ctx.scenario, "capitation", cfg.payer, cfg.provider, year)
        return ctx.memo(("capitation_pricing", self.label, start),
                        lambda: self._price(ctx, start))

    def _price(self, ctx: Context, start: int) -> dict[str, Any]:
        cfg = self.config
        sl = cfg.stop_loss
        base: dict[str, float] = {}
        years = [start - 3, start - 2, start - 1]
        if cfg.reads_baseline():
            check_history(ctx, years, f"capitation of {cfg.provider} (benchmark)")
            p, a = ctx.payer_index(cfg.payer), ctx.provider_index(cfg.provider)
            spend, cost, mm, risk = [], [], [], []
            for y in years:
                m = ctx.members(y, p, a)
                cost_y, spend_y, _ = scope_cost(ctx, y, p, a, cfg.scope)
                spend.append(spend_y[m])
                cost.append(cost_y[m])
                mm.append(12.0 * ctx.person_years(y)[m])
                risk.append(ctx.risk(y)[m])
            bench = capitation_benchmark(
                np.concatenate(spend), np.concatenate(mm), np.concatenate(risk),
                np.concatenate(cost), None if sl is None else sl.attachment_usd,
                0.2 if sl is None else sl.coinsurance,
                "premium" if sl is None else sl.pricing, 1.0 if sl is None else sl.loading)
            base = dict(bench.values)
        if cfg.area_rate_pmpm_usd is None:
            ffs_pmpm, normaliser = base["ffs_pmpm_usd"], base["risk_normaliser"]
            source = (f"own history: in-scope FFS spending per member-month, plan years "
                      f"{years[0]}..{years[-1]}")
        else:
            ffs_pmpm, normaliser = cfg.area_rate_pmpm_usd, 1.0
            source = "area rate"
        premium = carved = expected = share = 0.0
        if sl is not None:
            if sl.price_pmpm_usd is not None:
                given = sl.price_pmpm_usd
                expected = given / sl.loading if sl.pricing == "premium" else given
                premium, carved = (given, 0.0) if sl.pricing == "premium" else (0.0, given)
                share = expected / ffs_pmpm if ffs_pmpm > 0 else 0.0
            else:
                expected = base["expected_stop_loss_pmpm_usd"]
                premium = base["stop_loss_premium_pmpm_usd"]
                carved = base["carved_out_pmpm_usd"]
                if cfg.area_rate_pmpm_usd is not None:  # the own tail, restated at risk 1
                    carved /= base["risk_normaliser"]
                share = base["stop_loss_cost_share"]
        return {"benchmark_pmpm_usd": ffs_pmpm - carved, "ffs_pmpm_usd": ffs_pmpm,
                "risk_normaliser": normaliser, "stop_loss_premium_pmpm_usd": premium,
                "carved_out_pmpm_usd": carved, "expected_stop_loss_pmpm_usd": expected,
                "stop_loss_cost_share": share, "source": source}

    def settle(self, ctx: Context, year: int, book: Book
               ) -> list[tuple[str, Statement]]:
        cfg = self.config
        p, a = ctx.payer_index(cfg.payer), ctx.provider_index(cfg.provider)
        cost, _, to_others = scope_cost(ctx, year, p, a, cfg.scope)
        members = ctx.members(year, p, a)
        mm = 12.0 * ctx.person_years(year)[members]
        pr = self.pricing(ctx, year)
        corridors = None if cfg.corridors is None else [(b.upper, b.provider_share)
                                                         for b in cfg.corridors]
        sl = cfg.stop_loss
        st = settle_capitation(
            pr["benchmark_pmpm_usd"], mm, cost[members], ctx.risk(year)[members],
            "total_cost_of_care" if cfg.scope == "total_cost" else "primary_care",
            paid_to_other_providers_usd=to_others,
            stop_loss_attachment_usd=None if sl is None else sl.attachment_usd,
            stop_loss_coinsurance=0.2 if sl is None else sl.coinsurance, corridors=corridors,
            discount=cfg.discount, risk_normaliser=pr["risk_normaliser"],
            coding_adjustment=cfg.coding_adjustment,
            stop_loss_premium_pmpm_usd=pr["stop_loss_premium_pmpm_usd"])
        base = st["capitation_usd"]
        book.pay(year, cfg.payer, cfg.provider, base, "capitation", self.label)
        book.pay(year, cfg.payer, cfg.provider, st.payer_paid_usd - base,
                 "capitation_settlement", self.label)
        facts = {"benchmark_source": pr["source"]}
        if sl is not None:
            facts["stop_loss_pricing"] = sl.pricing
        st = _with(st, {k: pr[k] for k in PRICE_VALUES}, facts)
        return [(cfg.provider, st)]

    def expected_payoff(self, ctx: Context, year: int, inp: PayoffInputs
                        ) -> tuple[float, float] | None:
        """Mean and variance of the capitated provider's result: the capitation of
        :func:`capitation_revenue` for the expected panel, plus the stop-loss's expected
        reimbursement (its base-period share of in-scope cost), minus in-scope costs;
        corridors applied to the mean."""
        cfg = self.config
        if ctx.provider_index(cfg.provider) != inp.provider:
            return None
        p = ctx.payer_index(cfg.payer)
        py = float(inp.exp.person_years[p])
        pr = self.pricing(ctx, year)
        cap = capitation_revenue(pr["benchmark_pmpm_usd"], 12.0 * py, float(inp.exp.risk[p]),
                                 cfg.discount, pr["risk_normaliser"], cfg.coding_adjustment,
                                 pr["stop_loss_premium_pmpm_usd"])
        own_cost, others_paid, covered = inp.scope_cost(p, cfg.scope)
        cost = own_cost + others_paid
        result = cap["net"] + pr["stop_loss_cost_share"] * cost - cost
        if cfg.corridors is not None and cap["net"] > 0:
            result, _ = apply_corridors(result, cap["net"], [(b.upper, b.provider_share)
                                                             for b in cfg.corridors])
        total = max(inp.exp.total(p) * ctx.price_factor[p], 1e-9)
        sd = float(inp.sd_per_patient[p]) * np.sqrt(py) * covered / total
        return float(result), sd * sd


def _with(st: Statement, values: dict[str, float], facts: dict[str, str]) -> Statement:
    """``st`` with more values and facts."""
    return Statement(st.contract, st.lines, {**st.values, **{k: float(v) for k, v in
                                                               values.items()}},
                     {**st.facts, **facts}, st.payer_paid_usd, st.provider_received_usd)
