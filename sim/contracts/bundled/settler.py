"""Bundled-payment settler (BPCI Advanced-like).

Episodes are opened by the payer's patients' hospital stays: of the selected clinical
episodes (``episodes``: the anchor stay's MS-DRG-like family, ``sim.stay_groups``) or, in
the older generic form, of the configured stay kinds (``triggers``); a trigger inside an
episode already open for the patient opens none. An episode includes every claim of the
patient from admission to ``window_days`` after discharge. The initiator — usually the
hospital, which then owns all the payer's episodes; or a primary-care group, its
attributed patients' — is paid (or repays) the reconciliation. A year reconciles the
episodes that *end* in it, so every episode is complete when settled.

Each episode type has its own target price (:meth:`BundledSettler.target`): the
baseline episodes (ended in the three years before the contract began) winsorised at the
1st/99th percentiles, their mean × peer-group trend × patient case-mix adjustment (this
year's episodes against the baseline's, by MCC and risk score) × (1 − discount). This
year's episodes are capped at the trended 99th percentile; the reconciliation of all
types together is :func:`sim.contracts.bundled.settle_bundled`.
"""

from __future__ import annotations

import numpy as np

from sim.constants import DAYS_PER_YEAR, AdmissionKind
from sim.contracts.bundled.config import BundledContract
from sim.contracts.bundled.rules import (
    case_mix_adjustment,
    episode_spending,
    open_episodes,
    settle_bundled,
    target_price,
    winsorize,
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
from sim.stay_groups import CLINICAL_EPISODES

KIND_CODES = {k.name.lower(): k for k in AdmissionKind}
#: Episode types whose expected spending behaviour's expected panel describes (the
#: joint-replacement anchor stay; ``sim.behaviour.expected``).
JOINT_TYPES = ("major_joint_lower_extremity",)


def _trigger_types(cfg: BundledContract, adm: dict[str, np.ndarray]) -> np.ndarray:
    """Episode type of each stay (index into ``cfg.episode_types``; -1: opens none)."""
    n = len(adm["patient"])
    kind = np.full(n, -1, np.int64)
    if cfg.episodes is not None:
        for k, name in enumerate(cfg.episodes):
            kind[adm["group"] == CLINICAL_EPISODES[name]] = k
        return kind
    trig = np.zeros(n, bool)
    for t in cfg.trigger_kinds:
        trig |= adm["joint_replacement"] if t == "joint_replacement" \
            else adm["kind"] == KIND_CODES[t]
    kind[trig] = 0
    return kind


def episodes(ctx: Context, cfg, payer: int, initiator: int) -> dict[str, np.ndarray]:
    """All episodes of the contract's payer and initiator over the run (any year)."""
    adm = ctx.ledger.admissions
    etype = _trigger_types(cfg, adm)
    trig = (etype >= 0) & (ctx.patient_payer[adm["patient"]] == payer)
    if ctx.provider_kinds[initiator] == "primary_care":
        trig &= ctx.patient_provider[adm["patient"]] == initiator
    pat, start, disch = adm["patient"][trig], adm["admit"][trig], adm["discharge"][trig]
    etype, mcc = etype[trig], adm["mcc"][trig]
    opened = open_episodes(pat, start, disch, cfg.window_days)
    pat, start, disch = pat[opened], start[opened], disch[opened]
    # Only the episodes' patients' claims can count: taken year by year (the order of the
    # ledger's claims), without joining every year's claims first.
    mine = np.zeros(len(ctx.patient_payer), bool)
    mine[pat] = True
    parts: dict[str, list[np.ndarray]] = {"patient": [np.zeros(0, np.int64)],
                                          "day": [np.zeros(0)], "amount": [np.zeros(0)]}
    for year in ctx.ledger.years:
        c = ctx.ledger.claims_in(year)
        rows = np.flatnonzero(mine[c["patient"]])
        for k, v in parts.items():
            v.append(c[k][rows])
    cp, day, amount = (np.concatenate(v) for v in parts.values())
    paid = amount * ctx.price_factor[ctx.patient_payer[cp]]
    spend = episode_spending(cp, day, paid, pat, start, disch, cfg.window_days)
    end = disch + cfg.window_days
    return {"patient": pat, "start": start, "end": end, "spend": spend,
            "end_year": np.floor(end / DAYS_PER_YEAR).astype(int),
            "type": etype[opened], "mcc": mcc[opened]}


class BundledSettler(BaseSettler):
    """``type: bundled``."""

    type_name = "bundled"
    config_model = BundledContract
    flow_kinds = {"bundle_reconciliation": SETTLEMENT}
    shown_statements = ("bundled", "bundled_target")
    #: Episode spending is a difference of cumulative sums over the run's claims of the
    #: episodes' patients (later years add claims before an episode's in that order), so a
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
        risk = self._risk(ctx, ep, base | now)
        out: list[tuple[str, Statement]] = []
        targets, caps = np.zeros(int(now.sum())), np.zeros(int(now.sum()))
        idx_now = np.flatnonzero(now)
        for k, name in enumerate(cfg.episode_types):
            b, w = base & (ep["type"] == k), now & (ep["type"] == k)
            if not b.any():
                if not w.any():
                    continue
                raise ValueError(f"bundled contract {self.label}: no baseline episodes of "
                                 f"{name} in plan years {base_years} to set a target price")
            if not w.any():
                continue
            tp, cap = self.target(ctx, year, ep, b, w, risk, name)
            out.append((cfg.provider, tp))
            sel = np.isin(idx_now, np.flatnonzero(w))
            targets[sel] = tp["target_price_usd"]
            caps[sel] = cap
        n = int(now.sum())
        if n == 0:
            st = StatementBuilder("bundled")
            st.line("episodes ending this year", 0.0, "nothing to reconcile")
            st.value("episodes", 0)
            return [(cfg.provider, st.build())]
        score = provider_quality(ctx, year, i, p)
        capped = cfg.winsor_high_pct < 100
        st = settle_bundled(targets, ep["spend"][now], None, score, cfg.stop_loss,
                            cfg.stop_gain, cfg.quality_adjustment_max,
                            episode_cap_usd=caps if capped else None)
        book.pay(year, cfg.payer, cfg.provider, st.payer_paid_usd, "bundle_reconciliation",
                 self.label)
        return [*out, (cfg.provider, st)]

    def _episodes(self, ctx: Context, payer: int, initiator: int
                  ) -> dict[str, np.ndarray]:
        key = ("episodes", self.label)
        if key not in ctx._cache:  # noqa: SLF001 - the context's per-run cache
            ctx._cache[key] = episodes(ctx, self.config, payer, initiator)  # noqa: SLF001
        return ctx._cache[key]  # noqa: SLF001

    @staticmethod
    def _risk(ctx: Context, ep: dict[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
        """Coded risk score of each episode's patient in the year the episode ends (NaN
        outside ``mask``)."""
        out = np.full(len(ep["patient"]), np.nan)
        for y in set(ep["end_year"][mask].tolist()):
            m = mask & (ep["end_year"] == y)
            out[m] = ctx.risk(y)[ep["patient"][m]]
        return out

    def _baseline(self, ctx: Context, year: int, ep: dict[str, np.ndarray]
                  ) -> tuple[np.ndarray, list[int]]:
        """Mask of the baseline episodes (ended in the three years before participation)
        and those years."""
        cfg = self.config
        start = participation_start(ctx.scenario, "bundled", cfg.payer, cfg.provider, year)
        years = [start - 3, start - 2, start - 1]
        return np.isin(ep["end_year"], years), years

    def trend(self, ctx: Context, year: int, ep: dict[str, np.ndarray]) -> float:
        """Peer-group trend factor from the middle baseline year to ``year``."""
        middle = self._baseline(ctx, year, ep)[1][1]
        return (1.0 + self.config.trend_per_year) ** (year - middle)

    def target(self, ctx: Context, year: int, ep: dict[str, np.ndarray], base: np.ndarray,
               now: np.ndarray | None, risk: np.ndarray | None, name: str
               ) -> tuple[Statement, float]:
        """The target price of one episode type's episodes ending in ``year``
        (:func:`~sim.contracts.bundled.rules.target_price`) and its high-cost episode cap:
        the ``base`` episodes' spending winsorised, its mean × peer-group trend × the case
        mix of the ``now`` episodes against the baseline's (1 when ``now`` is None: the
        coming year's patients are not known yet), less the discount; cap = trended upper
        winsorisation percentile. Settlement and the expected payoff both use it."""
        cfg = self.config
        trend = self.trend(ctx, year, ep)
        win = winsorize(ep["spend"][base], cfg.winsor_low_pct, cfg.winsor_high_pct)
        case_mix = 1.0
        if now is not None and risk is not None:
            case_mix = case_mix_adjustment(win.spending_usd, ep["mcc"][base], risk[base],
                                           ep["mcc"][now], risk[now]).factor
        st = target_price(win.spending_usd, trend, case_mix, cfg.discount, name)
        return st, win.cap_usd * trend

    def expected_payoff(self, ctx: Context, year: int, inp: PayoffInputs
                        ) -> tuple[float, float] | None:
        """Expected reconciliation when the initiator is the deciding provider: expected
        joint-replacement episodes x (target - expected episode spending), within the
        stop-loss and stop-gain limits (no quality adjustment, no cap). The target is the
        one settlement uses (:meth:`target`), at the baseline's case mix. Only the
        joint-replacement type (and the generic ``triggers`` type, which the expected panel
        also prices as joint replacements) has an expected spending that levers move; other
        clinical episodes are left out."""
        cfg = self.config
        if ctx.provider_index(cfg.provider) != inp.provider:
            return None

        def constants() -> tuple[int, float] | None:
            """(payer, target) of the year, or None (computed once per year)."""
            types = [k for k, name in enumerate(cfg.episode_types)
                     if cfg.episodes is None or name in JOINT_TYPES]
            if not types:
                return None
            k = types[0]
            p = ctx.payer_index(cfg.payer)
            ep = self._episodes(ctx, p, inp.provider)
            base, _ = self._baseline(ctx, year, ep)
            base &= ep["type"] == k
            if not base.any():
                return None
            target = ctx.memo(("bundled_target", self.label, year), lambda: float(
                self.target(ctx, year, ep, base, None, None, cfg.episode_types[k])[0]
                ["target_price_usd"]))
            return p, target

        known = ctx.memo(("bundled_expected", self.label, year, inp.provider), constants)
        if known is None:
            return None
        p, target = known
        n = float(inp.exp.episodes[p])
        recon = n * (target - float(inp.exp.episode_spend[p]) * ctx.price_factor[p])
        lim = n * target
        return float(np.clip(recon, -cfg.stop_loss * lim, cfg.stop_gain * lim)), 0.0
