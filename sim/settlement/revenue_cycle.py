"""The revenue cycle of a settled plan year: denials, rework, RADV recoveries, coding.

Called by :class:`sim.settlement.engine.SettlementRun` once the year's claims are paid and
its contracts settled (``revenue_cycle`` in the scenario; mechanics in
:mod:`sim.coding.denials` and :mod:`sim.coding.radv`). It returns, per provider, the
figures of the new provider metrics and the itemised statements:

* ``denial_rate`` — share of the claims the provider submitted (billed to a payer or to a
  capitated provider; not its own services under its own capitation) denied at first
  submission;
* ``written_off_usd`` — what those written off would have been paid (allowed x price
  factor), which neither the payer nor anyone else pays;
* ``rework_cost_usd`` — its administrative cost of reworking denied claims (part of its
  cost);
* ``radv_recovery_usd`` — the extrapolated RADV recovery the provider repays for the year
  (positive: repaid; recorded as a negative ``radv_recovery`` flow to it);
* ``days_in_ar`` — days in accounts receivable of the provider's claims of the year:
  receivables / average daily charges, by Little's law the charge-weighted mean days from
  service to payment (:func:`days_in_ar`); no row for a provider without claim revenue;
* ``hcc_recapture_rate`` — for primary-care groups, the share of their members' present
  payment-relevant chronic condition families documented in the year (the CMS-HCC score's
  record, ``hcc_recaptured_families / hcc_true_families``; with the legacy concurrent
  score :func:`sim.coding.radv.recapture_rate`); no row for other providers.

A ``revenue_cycle`` statement per provider (denials on) itemises: submitted at the
payer's prices, denied, paid after rework, written off, paid; a ``radv`` statement per
audited contract-year: members, sample, sample error, extrapolated recovery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.coding.denials import REWORKED, WRITTEN_OFF, rework_cost
from sim.coding.radv import (
    ScoreSource,
    audit,
    audit_stream,
    coding_intensity,
    hcc_score_parts,
    recapture_rate,
)
from sim.contracts.statement import Statement, StatementBuilder
from sim.population import Population
from sim.scenario.schema import Levers
from sim.settlement.book import CashBook
from sim.settlement.context import SettlementContext

#: The provider metrics this module adds (declared in sim.catalogue), in order.
REVENUE_CYCLE_METRICS = ("denial_rate", "written_off_usd", "rework_cost_usd",
                         "radv_recovery_usd", "hcc_recapture_rate", "days_in_ar")

#: Flow kinds that pay claims (what receivables are made of).
CLAIM_KINDS = ("ffs_claims", "capitated_claims")

#: Flow kind of a RADV recovery (negative: from the provider to the payer).
RADV_KIND = "radv_recovery"


@dataclass
class RevenueCycleYear:
    """Per provider (arrays indexed like ``ctx.provider_names``), and the statements."""

    values: dict[str, np.ndarray]
    statements: list[tuple[str, str, Statement]] = field(default_factory=list)  # label, entity

    def of(self, provider: int) -> dict[str, float]:
        """The metrics of one provider (``hcc_recapture_rate`` for primary-care groups
        only: a provider without a panel has no row of it)."""
        out = {k: float(self.values[k][provider]) for k in REVENUE_CYCLE_METRICS
               if k in self.values}
        for k in ("hcc_recapture_rate", "days_in_ar"):
            if k in out and np.isnan(out[k]):
                del out[k]
        return out


def submitted(ctx: SettlementContext, year: int) -> np.ndarray:
    """Mask of the year's claims submitted for payment: all but a capitated provider's own
    in-scope services (nobody pays a claim for those)."""
    c = ctx.claims(year)
    covered, payer_of_record = ctx.covered(year)
    return ~(covered & (payer_of_record == c["provider"]))


def denial_figures(ctx: SettlementContext, year: int
                   ) -> tuple[dict[str, np.ndarray], list[tuple[str, str, Statement]]]:
    """``denial_rate``, ``written_off_usd``, ``rework_cost_usd`` per provider and a
    ``revenue_cycle`` statement per provider with submitted claims (denials on)."""
    n = len(ctx.provider_names)
    c = ctx.claims(year)
    out = {"denial_rate": np.zeros(n), "written_off_usd": np.zeros(n),
           "rework_cost_usd": np.zeros(n)}
    if "denial" not in c:
        return out, []
    cfg = ctx.scenario.revenue_cycle.denials
    sub = submitted(ctx, year)
    prov, outcome, billed = c["provider"][sub], c["denial"][sub], c["billed"][sub]
    count = np.bincount(prov, minlength=n).astype(float)
    denied = np.bincount(prov, weights=(outcome != 0).astype(float), minlength=n)
    out["denial_rate"] = np.divide(denied, count, out=np.zeros(n), where=count > 0)
    off = outcome == WRITTEN_OFF
    late = outcome == REWORKED
    out["written_off_usd"] = np.bincount(prov, weights=np.where(off, billed, 0.0),
                                         minlength=n)
    out["rework_cost_usd"] = np.bincount(
        prov, weights=rework_cost(c["service"][sub], outcome, cfg), minlength=n)
    billed_by = np.bincount(prov, weights=billed, minlength=n)
    denied_usd = np.bincount(prov, weights=np.where(outcome != 0, billed, 0.0), minlength=n)
    late_usd = np.bincount(prov, weights=np.where(late, billed, 0.0), minlength=n)
    statements = []
    for i, name in enumerate(ctx.provider_names):
        if count[i] == 0:
            continue
        st = StatementBuilder("revenue_cycle")
        total = st.line("claims submitted, at the payer's prices", billed_by[i],
                        f"{int(count[i])} claims")
        st.line("denied at first submission", -denied_usd[i],
                f"{int(denied[i])} claims ({out['denial_rate'][i]:.1%})")
        st.line("reworked and paid later", late_usd[i],
                f"{int(np.count_nonzero(late & (prov == i)))} claims, paid "
                f"{cfg.rework_delay_days:g} days after clean claims")
        st.line("written off (never paid)", -out["written_off_usd"][i], "not in the payer's "
                "expenditure")
        paid = total - out["written_off_usd"][i]
        st.line("paid", paid, "clean + reworked claims")
        st.value("submitted_usd", billed_by[i])
        st.value("denied_usd", denied_usd[i])
        st.value("reworked_paid_usd", late_usd[i])
        st.value("written_off_usd", out["written_off_usd"][i])
        st.value("denial_rate", out["denial_rate"][i])
        st.value("rework_cost_usd", out["rework_cost_usd"][i])
        st.value("paid_usd", paid)
        statements.append(("revenue_cycle", name, st.build(paid, paid)))
    return out, statements


def radv_recoveries(ctx: SettlementContext, year: int, book: CashBook,
                    settled: list[tuple[Any, str, Statement]], levers: Mapping[str, Levers],
                    seed_seq: np.random.SeedSequence | None,
                    source: ScoreSource = hcc_score_parts
                    ) -> tuple[np.ndarray, list[tuple[str, str, Statement]]]:
    """Audit each ``radv_audited`` contract settled in ``year`` (``settled``: (settler,
    entity, statement)), record the recoveries in the book and return them per provider
    with a ``radv`` statement per audited contract-year."""
    n = len(ctx.provider_names)
    out = np.zeros(n)
    cfg = ctx.scenario.revenue_cycle.radv
    if not cfg.enabled or seed_seq is None:
        return out, []
    parts = None
    statements = []
    for s, _entity, st in settled:
        if not getattr(s, "radv_audited", False) or "gross_capitation_usd" not in st.values:
            continue
        if parts is None:
            parts = source(ctx, year, levers)
        payer, holder = s.config.payer, s.holder
        a = ctx.provider_index(holder)
        members = ctx.members(year, ctx.payer_index(payer), a)
        mm = 12.0 * ctx.person_years(year)[members]
        res = audit(cfg, audit_stream(seed_seq, s.label, year), float(st["gross_capitation_usd"]),
                    mm, parts.coded[members], parts.supported[members])
        if not res.audited:
            continue
        t = year + 1.0 + cfg.recovery_lag_years
        book.pay(year, payer, holder, -res.recovery_usd, RADV_KIND, s.label, at=t)
        out[a] += res.recovery_usd
        b = StatementBuilder("radv")
        b.line("capitation paid on coded scores", float(st["gross_capitation_usd"]),
               f"{res.members} members")
        b.line("payment error in the sample", -res.sample_error_usd,
               f"{res.sampled} enrollees' records reviewed")
        b.line("recovery extrapolated to the contract", -res.recovery_usd,
               "mean sample error x members (no FFS adjuster: 2023 RADV final rule); repaid "
               f"{cfg.recovery_lag_years:g} years after the year ends")
        b.value("members", res.members)
        b.value("sampled", res.sampled)
        b.value("sample_error_usd", res.sample_error_usd)
        b.value("recovery_usd", res.recovery_usd)
        b.fact("audited_contract", s.label)
        statements.append((f"radv:{s.label}", holder, b.build(-res.recovery_usd,
                                                              -res.recovery_usd)))
    return out, statements


def recapture_by_provider(ctx: SettlementContext, population: Population, year: int,
                          levers: Mapping[str, Levers]) -> np.ndarray:
    """``hcc_recapture_rate`` of each primary-care group (its panel members of the year);
    NaN for other providers."""
    n = len(ctx.provider_names)
    out = np.full(n, np.nan)
    ci = coding_intensity(ctx.provider_names, ctx.patient_provider, levers)
    member = ctx.members(year)
    py = ctx.ledger.patient_year
    hcc = "hcc_true_families" in py  # the CMS-HCC score records what was documented
    if hcc:
        true = ctx.ledger.pyear("hcc_true_families", year)
        coded = ctx.ledger.pyear("hcc_recaptured_families", year)
    for i, kind in enumerate(ctx.provider_kinds):
        if kind == "primary_care" and hcc:
            rows = member & (ctx.patient_provider == i)
            present = float(true[rows].sum())
            out[i] = float(coded[rows].sum()) / present if present > 0 else np.nan
        elif kind == "primary_care":
            out[i] = recapture_rate(population.conditions, population.coding_u, ci,
                                    member & (ctx.patient_provider == i),
                                    ctx.scenario.risk_score)
    return out


def days_in_ar(flows: Any, year: int, provider_names: list[str], written_off: np.ndarray,
               write_off_days: float) -> np.ndarray:
    """Days in accounts receivable of each provider's claims of plan ``year``: receivables
    over average daily charges (MGMA, HFMA: A/R / (charges / days)). Over a year of steady
    billing that is, by Little's law, the charge-weighted mean days from service to payment:

        sum(amount x (paid_t - (year + 0.5)) x 365) + written_off x write_off_days
        ----------------------------------------------------------------------------
                              sum(amount) + written_off

    over the year's claim payments to the provider (``flows``: the cash book, or its timed
    flows ``CashBook.timed()``; kinds :data:`CLAIM_KINDS`; services at mid-year on average, the
    timing rule of :mod:`sim.economics.timing`): clean claims at the claims payment lag,
    reworked claims ``rework_delay_days`` later; ``written_off`` (USD by provider) sits in
    receivables ``write_off_days`` before it is adjusted off. NaN without claim revenue."""
    n = len(provider_names)
    num = np.asarray(written_off, float) * write_off_days
    den = np.asarray(written_off, float).copy()
    index = {name: i for i, name in enumerate(provider_names)}
    if isinstance(flows, CashBook):  # its rows as they are, without a DataFrame
        rows = [r for r in flows.rows
                if r[0] == year and r[4] in CLAIM_KINDS and r[3] > 0]
        target = [r[2] for r in rows]
        amount_all = np.array([r[3] for r in rows], float)
        paid_all = np.array([r[6] for r in rows], float)
    else:
        f = flows[(flows["year"] == year) & flows["kind"].isin(CLAIM_KINDS)
                  & (flows["amount_usd"] > 0)]
        target = f["target"]
        amount_all = f["amount_usd"].to_numpy(float)
        paid_all = f["paid_t"].to_numpy(float)
    who = np.array([index.get(t, -1) for t in target], dtype=np.int64)
    ok = who >= 0
    amount = amount_all[ok]
    days = (paid_all[ok] - (year + 0.5)) * 365.0
    num += np.bincount(who[ok], weights=amount * days, minlength=n)
    den += np.bincount(who[ok], weights=amount, minlength=n)
    return np.divide(num, den, out=np.full(n, np.nan), where=den > 0)


def revenue_cycle_year(ctx: SettlementContext, year: int, book: CashBook,
                       settled: list[tuple[Any, str, Statement]],
                       levers: Mapping[str, Levers], population: Population,
                       seed_seq: np.random.SeedSequence | None,
                       source: ScoreSource = hcc_score_parts) -> RevenueCycleYear:
    """Everything above for one settled plan year (``source``: where RADV reads each
    patient's coded and supported score, :data:`sim.coding.radv.ScoreSource`)."""
    values, statements = denial_figures(ctx, year)
    values["radv_recovery_usd"], radv_st = radv_recoveries(ctx, year, book, settled, levers,
                                                           seed_seq, source)
    values["hcc_recapture_rate"] = recapture_by_provider(ctx, population, year, levers)
    # Written-off claims stay in receivables through one review cycle after the denial
    # (judgement: the same time a reworked claim takes to be paid).
    sc = ctx.scenario
    values["days_in_ar"] = days_in_ar(
        book, year, ctx.provider_names, values["written_off_usd"],
        sc.economics.claims_payment_lag_days + sc.revenue_cycle.denials.rework_delay_days)
    return RevenueCycleYear(values, statements + radv_st)


__all__ = ["CLAIM_KINDS", "RADV_KIND", "REVENUE_CYCLE_METRICS", "RevenueCycleYear",
           "days_in_ar", "denial_figures",
           "radv_recoveries", "recapture_by_provider", "revenue_cycle_year", "submitted"]
