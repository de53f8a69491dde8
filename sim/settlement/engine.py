"""Settle a run: claims -> cash flows -> provider and payer economics, year by year.

:class:`SettlementRun` settles one plan year at a time (the replication's year loop calls
:meth:`SettlementRun.settle_year` once the year's run-out is recorded); :func:`settle_run`
settles every plan year of a finished run. Each year is settled from a fresh
:class:`SettlementContext` over the ledger so far. For each plan year, in a fixed order:

1. the contracts in force (the plan) are set up from the registry;
2. capitation-like contracts take their in-scope claims out of fee-for-service; the
   capitated provider pays other providers' covered claims at the payer's prices;
3. every other claim is paid fee-for-service by the patient's payer to the billing
   provider at the payer's prices (fee schedule x price factor);
4. each contract settles (P4P adjustments, capitation, shared savings or losses, episode
   reconciliations), recording its flows and an itemised statement;
5. provider economics: revenue = all flows received; cost = own services at unit cost
   (cost-to-charge x amount at the reference, i.e. default, fee schedule) + covered
   claims paid to others + fixed costs + investments + the cost of care-management and
   transitional-care effort;
   margin = revenue - cost.

Every flow is recorded once in the cash book, so what payers pay is what providers
receive (tests assert it for every contract type).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.catalogue import metric_names
from sim.contracts.registry import CAPITATION_KINDS, SETTLEMENT_KINDS
from sim.contracts.resolve import settler_for
from sim.contracts.statement import Statement, statements_frame
from sim.ledger import Ledger
from sim.population import Population
from sim.providers import ProviderTable, is_outside
from sim.scenario.schema import Levers, Scenario
from sim.settlement.book import CashBook
from sim.settlement.context import SettlementContext

#: Metrics per provider, payer and population added to the results table (sim.catalogue).
PROVIDER_METRICS = metric_names("provider_economics")
PAYER_METRICS = metric_names("payer_economics")


@dataclass
class Settlement:
    """What settlement produced for one replication."""

    rows: list[tuple[int, str, str, float]]  # (year, entity, metric, value)
    statements: list[tuple[int, str, str, Statement]]  # (year, label, entity, statement)
    flows: pd.DataFrame

    def statements_frame(self, **ids: object) -> pd.DataFrame:
        """All statements in one long table (``settlements.parquet``)."""
        frames = []
        seen: dict[tuple[int, str, str], int] = {}
        for y, label, entity, st in self.statements:
            k = seen[(y, label, entity)] = seen.get((y, label, entity), -1) + 1
            frames.append(statements_frame([st], year=y, label=label, entity=entity,
                                           statement=k, **ids))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def active_contracts(sc: Scenario, year: int) -> list[tuple[str, object]]:
    """``(label, config)`` of the contracts in force in plan year ``year``."""
    out = []
    for period in sc.plan:
        if year in period.year_list(sc.horizon_years):
            for c in period.contracts:
                who = getattr(c, "aco", None) or getattr(c, "provider", None) or "all"
                out.append((c.name or f"{c.type}:{c.payer}:{who}", c))
    return out


class SettlementRun:
    """The settlement of one replication, built up a plan year at a time: one cash book,
    the statements and the result rows of the years settled so far."""

    def __init__(self, sc: Scenario, ledger: Ledger, population: Population,
                 providers: ProviderTable) -> None:
        self.sc = sc
        self.ledger = ledger
        self.population = population
        self.providers = providers
        self.book = CashBook()
        self.statements: list[tuple[int, str, str, Statement]] = []
        self.rows: list[tuple[int, str, str, float]] = []

    def needs_whole_run(self, year: int) -> bool:
        """Whether a contract in force in plan year ``year`` settles from the whole run's
        ledger (its settler's ``needs_whole_run``), so the year waits for the horizon."""
        return any(settler_for(cfg, label).needs_whole_run
                   for label, cfg in active_contracts(self.sc, year))

    def settle_year(self, year: int, levers: dict[str, Levers]) -> None:
        """Settle plan year ``year`` (``levers``: the providers' levers in that year) from
        the ledger as it stands (the year and what follows it within the run-out)."""
        ctx = SettlementContext.of(self.sc, self.ledger, self.population, self.providers)
        book = self.book
        settlers = [settler_for(cfg, label) for label, cfg in active_contracts(self.sc, year)]
        claims = ctx.claims(year)
        covered = np.zeros(len(claims["amount"]), bool)
        payer_of_record = np.full(len(claims["amount"]), -1, np.int64)
        for s in settlers:
            m = s.covered(ctx, year, claims)
            if m is None:
                continue
            if (covered & m).any():
                raise ValueError(f"plan year {year}: contract {s.label} covers claims another "
                                 "contract already covers")
            covered |= m
            payer_of_record[m] = ctx.provider_index(s.holder)
        ctx.set_coverage(year, covered, payer_of_record)
        _pay_claims(ctx, year, book, covered, payer_of_record)
        for s in settlers:
            for entity, st in s.settle(ctx, year, book):
                self.statements.append((year, s.label, entity, st))
        self.rows += _economics(ctx, year, book, levers)

    def result(self) -> Settlement:
        """Everything settled so far."""
        return Settlement(rows=self.rows, statements=self.statements, flows=self.book.frame())


def settle_run(sc: Scenario, ledger: Ledger, population: Population,
               providers: ProviderTable, levers_by_year: list[dict[str, Levers]]) -> Settlement:
    """Settle every plan year of a finished care-model run."""
    run = SettlementRun(sc, ledger, population, providers)
    for year in range(sc.horizon_years):
        run.settle_year(year, levers_by_year[year])
    return run.result()


def _pay_claims(ctx: SettlementContext, year: int, book: CashBook, covered: np.ndarray,
                payer_of_record: np.ndarray) -> None:
    ffs = ctx.ffs_paid(year)
    for p, payer in enumerate(ctx.payer_names):
        for i, prov in enumerate(ctx.provider_names):
            book.pay(year, payer, prov, float(ffs[p, i]), "ffs_claims", "fee_for_service")
    c = ctx.claims(year)
    others = covered & (payer_of_record != c["provider"])
    if others.any():
        n = len(ctx.provider_names)
        mat = np.zeros((n, n))
        np.add.at(mat, (payer_of_record[others], c["provider"][others]), c["paid"][others])
        for a, b in zip(*np.nonzero(mat), strict=True):
            book.pay(year, ctx.provider_names[a], ctx.provider_names[b], float(mat[a, b]),
                     "capitated_claims", "capitation")


def _economics(ctx: SettlementContext, year: int, book: CashBook, levers: dict[str, Levers]
               ) -> list[tuple[int, str, str, float]]:
    sc = ctx.scenario
    flows = book.frame()
    flows = flows[flows["year"] == year]
    c = ctx.claims(year)
    own_cost = np.bincount(c["provider"], weights=ctx.own_cost(c), minlength=len(ctx.provider_names))
    adm = ctx.ledger.admissions
    disch = adm["patient"][adm["year"] == year]
    py = ctx.person_years(year)
    costs = {p.name: p.costs for p in sc.providers}
    rows: list[tuple[int, str, str, float]] = []
    for i, name in enumerate(ctx.provider_names):
        received = flows[flows["target"] == name]
        paid_out = flows[flows["source"] == name]
        revenue = float(received["amount_usd"].sum())
        invest = sum(inv.one_off_usd * (inv.year == year) + inv.running_usd_per_year
                     * (inv.year <= year <= (inv.until_year if inv.until_year is not None
                                             else sc.horizon_years))
                     for inv in sc.investments if inv.provider == name)
        effort = fixed = 0.0
        attributed_py = float(py[ctx.patient_provider == i].sum())
        if name in costs:
            pc = costs[name]
            fixed = pc.fixed_usd_per_year
            lv = levers.get(name)
            if lv is not None and ctx.provider_kinds[i] == "primary_care":
                n_disch = int(np.count_nonzero(ctx.patient_provider[disch] == i))
                effort = (lv.prevention_effort * pc.care_management_usd_per_patient_year
                          * attributed_py + lv.transitional_care_effort
                          * pc.transitional_care_usd_per_discharge * n_disch)
        to_providers = float(paid_out["amount_usd"].sum())
        cost = float(own_cost[i]) + to_providers + fixed + invest + effort
        if ctx.provider_kinds[i] == "primary_care" and not is_outside(name):
            mask, label = ctx.patient_provider == i, f"provider:{name}"
        else:
            mask, label = np.ones(len(ctx.patient_provider), bool), "population"
        score, _ = ctx.quality(year, mask & ctx.members(year), label)
        by_kind = received.groupby("kind")["amount_usd"].sum()
        values = {
            "revenue_usd": revenue,
            "ffs_revenue_usd": float(by_kind.get("ffs_claims", 0.0)
                                     + by_kind.get("capitated_claims", 0.0)),
            "capitation_revenue_usd": float(sum(by_kind.get(k, 0.0) for k in CAPITATION_KINDS)),
            "settlement_usd": float(sum(by_kind.get(k, 0.0) for k in SETTLEMENT_KINDS)),
            "cost_usd": cost,
            "own_service_cost_usd": float(own_cost[i]),
            "paid_to_providers_usd": to_providers,
            "investment_cost_usd": float(invest),
            "effort_cost_usd": effort,
            "fixed_cost_usd": fixed,
            "margin_usd": revenue - cost,
            "quality_score": score,
            "attributed_person_years": attributed_py,
        }
        rows += [(year, name, k, v) for k, v in values.items()]
    total = 0.0
    for p, payer in enumerate(ctx.payer_names):
        spend = float(flows.loc[flows["source"] == payer, "amount_usd"].sum())
        ppy = float(py[ctx.patient_payer == p].sum())
        total += spend
        rows += [(year, payer, "payer_spend_usd", spend), (year, payer, "payer_person_years", ppy),
                 (year, payer, "payer_spend_per_capita_usd", spend / ppy if ppy else 0.0)]
    all_py = float(py.sum())
    rows += [(year, "population", "payer_spend_usd", total),
             (year, "population", "payer_spend_per_capita_usd", total / all_py if all_py else 0.0)]
    return rows
