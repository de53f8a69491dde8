"""Bundled-payment settler (BPCI Advanced-like).

Episodes are opened by the payer's patients' hospital stays of the configured kinds
(``joint_replacement``: elective stays flagged as lower-extremity joint replacement) and
include every claim of the patient from admission to ``window_days`` after discharge.
The initiator is the hospital (all stays) or a primary-care group (its attributed
patients' stays). A year reconciles the episodes that *end* in it, so every episode is
complete when settled. Target price = mean spending of the episodes that ended in the
three years before the contract began x trend x case mix (mean risk score of this
year's episode patients over the baseline's) x (1 - discount); the reconciliation is
:func:`sim.contracts.bundled.settle_bundled`.
"""

from __future__ import annotations

import numpy as np

from sim.constants import DAYS_PER_YEAR, AdmissionKind
from sim.contracts.bundled.config import BundledContract
from sim.contracts.bundled.rules import (
    episode_spending,
    open_episodes,
    settle_bundled,
    target_price,
)
from sim.contracts.expectation import PayoffInputs
from sim.contracts.settler import (
    SETTLEMENT,
    BaseSettler,
    Book,
    Context,
    check_history,
    participation_start,
    provider_quality,
)
from sim.contracts.statement import Statement, StatementBuilder

KIND_CODES = {k.name.lower(): k for k in AdmissionKind}


def episodes(ctx: Context, cfg, payer: int, initiator: int) -> dict[str, np.ndarray]:
    """All episodes of the contract's payer and initiator over the run (any year)."""
    adm = ctx.ledger.admissions
    trig = np.zeros(len(adm["patient"]), bool)
    for t in cfg.triggers:
        if t == "joint_replacement":
            trig |= adm["joint_replacement"]
        else:
            trig |= adm["kind"] == KIND_CODES[t]
    trig &= ctx.patient_payer[adm["patient"]] == payer
    if ctx.provider_kinds[initiator] == "primary_care":
        trig &= ctx.patient_provider[adm["patient"]] == initiator
    pat, start, disch = adm["patient"][trig], adm["admit"][trig], adm["discharge"][trig]
    opened = open_episodes(pat, start, disch, cfg.window_days)
    pat, start, disch = pat[opened], start[opened], disch[opened]
    c = ctx.ledger.claims
    paid = c["amount"] * ctx.price_factor[ctx.patient_payer[c["patient"]]]
    spend = episode_spending(c["patient"], c["day"], paid, pat, start, disch, cfg.window_days)
    end = disch + cfg.window_days
    return {"patient": pat, "start": start, "end": end, "spend": spend,
            "end_year": np.floor(end / DAYS_PER_YEAR).astype(int)}


class BundledSettler(BaseSettler):
    """``type: bundled``."""

    type_name = "bundled"
    config_model = BundledContract
    flow_kinds = {"bundle_reconciliation": SETTLEMENT}
    shown_statements = ("bundled", "bundled_target")
    #: Episode spending is a difference of cumulative sums over all the run's claims, so a
    #: year is settled from the whole run (at the horizon), as before the year loop.
    needs_whole_run = True

    def settle(self, ctx: Context, year: int, book: Book
               ) -> list[tuple[str, Statement]]:
        cfg = self.config
        p, i = ctx.payer_index(cfg.payer), ctx.provider_index(cfg.provider)
        ep = self._episodes(ctx, p, i)
        base, base_years = self._baseline(ctx, year, ep)
        check_history(ctx, base_years, f"bundled target price of {cfg.provider}")
        now = ep["end_year"] == year
        if not base.any():
            raise ValueError(f"bundled contract {self.label}: no baseline episodes in plan "
                             f"years {base_years} to set a target price")
        risk_of = {y: ctx.risk(y) for y in set(ep["end_year"][base | now].tolist())}
        def mean_risk(mask: np.ndarray) -> float:
            return float(np.mean([risk_of[y][pt] for y, pt in
                                  zip(ep["end_year"][mask], ep["patient"][mask], strict=True)]))
        n = int(now.sum())
        if n == 0:
            st = StatementBuilder("bundled")
            st.line("episodes ending this year", 0.0, "nothing to reconcile")
            st.value("episodes", 0)
            return [(cfg.provider, st.build())]
        tp = self.target(ctx, year, ep, base, mean_risk(now) / mean_risk(base))
        score = provider_quality(ctx, year, i, p)
        st = settle_bundled(tp["target_price_usd"], float(ep["spend"][now].sum()), n, score,
                            cfg.stop_loss, cfg.stop_gain, cfg.quality_adjustment_max)
        book.pay(year, cfg.payer, cfg.provider, st.payer_paid_usd, "bundle_reconciliation",
                 self.label)
        return [(cfg.provider, tp), (cfg.provider, st)]

    def _episodes(self, ctx: Context, payer: int, initiator: int
                  ) -> dict[str, np.ndarray]:
        key = ("episodes", self.label)
        if key not in ctx._cache:  # noqa: SLF001 - the context's per-run cache
            ctx._cache[key] = episodes(ctx, self.config, payer, initiator)  # noqa: SLF001
        return ctx._cache[key]  # noqa: SLF001

    def _baseline(self, ctx: Context, year: int, ep: dict[str, np.ndarray]
                  ) -> tuple[np.ndarray, list[int]]:
        """Mask of the baseline episodes (ended in the three years before participation)
        and those years."""
        cfg = self.config
        start = participation_start(ctx.scenario, "bundled", cfg.payer, cfg.provider, year)
        years = [start - 3, start - 2, start - 1]
        return np.isin(ep["end_year"], years), years

    def target(self, ctx: Context, year: int, ep: dict[str, np.ndarray], base: np.ndarray,
               case_mix: float) -> Statement:
        """The target price of the episodes ending in ``year``
        (:func:`~sim.contracts.bundled.rules.target_price`): the baseline episodes' mean
        spending, trended from the middle baseline year to ``year``, times ``case_mix``,
        less the discount. Settlement and the expected payoff both use it."""
        cfg = self.config
        middle = self._baseline(ctx, year, ep)[1][1]
        trend = (1.0 + cfg.trend_per_year) ** (year - middle)
        return target_price(ep["spend"][base], trend, case_mix, cfg.discount)

    def expected_payoff(self, ctx: Context, year: int, inp: PayoffInputs
                        ) -> tuple[float, float] | None:
        """Expected reconciliation when the initiator is the deciding primary-care group:
        expected episodes x (target - expected episode spending), within the stop-loss and
        stop-gain limits (no quality adjustment). The target is the one settlement uses
        (:meth:`target`), at the baseline's case mix (the coming year's episode patients are
        not known yet)."""
        cfg = self.config
        if ctx.provider_index(cfg.provider) != inp.provider:
            return None
        p = ctx.payer_index(cfg.payer)
        ep = self._episodes(ctx, p, inp.provider)
        base, _ = self._baseline(ctx, year, ep)
        if not base.any():
            return None
        target = ctx.memo(("bundled_target", self.label, year), lambda: float(
            self.target(ctx, year, ep, base, 1.0)["target_price_usd"]))
        n = float(inp.exp.episodes[p])
        recon = n * (target - float(inp.exp.episode_spend[p]) * ctx.price_factor[p])
        lim = n * target
        return float(np.clip(recon, -cfg.stop_loss * lim, cfg.stop_gain * lim)), 0.0
