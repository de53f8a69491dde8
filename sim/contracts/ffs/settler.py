"""Fee-for-service settler: the FFS statement per provider, with optional MIPS-style P4P.

The claims themselves are paid by the settlement engine (every claim not covered by a
capitation contract, at the payer's prices); this contract adds the pay-for-performance
adjustment on each provider's FFS revenue from the payer and itemises it.
"""

from __future__ import annotations

import numpy as np

from sim.contracts.expectation import PayoffInputs
from sim.contracts.ffs.config import FFSContract
from sim.contracts.ffs.rules import budget_neutral_scaling, mips_adjustment, settle_ffs
from sim.contracts.settler import SETTLEMENT, BaseSettler, Book, Context, provider_quality
from sim.contracts.statement import Statement


class FFSSettler(BaseSettler):
    """``type: ffs``."""

    type_name = "ffs"
    config_model = FFSContract
    pays_per_service = True
    flow_kinds = {"p4p_adjustment": SETTLEMENT}

    def is_reference(self) -> bool:
        """Plain fee-for-service unless it adjusts fees for performance."""
        return not self.config.pay_for_performance

    def settle(self, ctx: Context, year: int, book: Book
               ) -> list[tuple[str, Statement]]:
        cfg = self.config
        payer = ctx.payer_index(cfg.payer)
        ffs = ctx.ffs_paid(year)  # (payer, provider) -> USD paid fee-for-service
        if cfg.provider == "all":
            providers = [i for i in range(len(ctx.provider_names)) if ffs[payer, i] > 0]
        else:
            providers = [ctx.provider_index(cfg.provider)]
        scaling = 1.0
        scores = {i: provider_quality(ctx, year, i, payer) for i in providers} \
            if cfg.pay_for_performance else {}
        if cfg.pay_for_performance and cfg.budget_neutral and providers:
            scaling = budget_neutral_scaling(np.array([scores[i] for i in providers]),
                                             np.array([ffs[payer, i] for i in providers]),
                                             max_positive=cfg.max_positive_adjustment)
        out = []
        for i in providers:
            st = settle_ffs(float(ffs[payer, i]), scores.get(i), cfg.pay_for_performance,
                            cfg.max_positive_adjustment, scaling)
            book.pay(year, cfg.payer, ctx.provider_names[i], st["adjustment_usd"],
                     "p4p_adjustment", self.label)
            out.append((ctx.provider_names[i], st))
        return out

    def expected_payoff(self, ctx: Context, year: int, inp: PayoffInputs
                        ) -> tuple[float, float] | None:
        """The expected pay-for-performance adjustment of the provider's FFS revenue (the
        fees themselves are every provider's baseline and are counted by behaviour)."""
        cfg = self.config
        if not cfg.pay_for_performance:
            return None
        if cfg.provider != "all" and ctx.provider_index(cfg.provider) != inp.provider:
            return None
        p = ctx.payer_index(cfg.payer)
        rate = float(mips_adjustment(inp.quality(ctx), cfg.max_positive_adjustment))
        return rate * float(inp.ffs_revenue[p]), 0.0
