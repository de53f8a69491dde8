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
5. provider economics: revenue = all flows received; cost = own services at their
   variable unit cost (variable share x cost-to-charge x amount at the reference, i.e.
   default, fee schedule) + the capacity cost (the fixed part, paid whether used or not;
   :mod:`sim.economics.costs`) + covered claims paid to others + fixed costs +
   investments + the cost of care-management and transitional-care effort;
   margin = revenue - cost. By payment date (:mod:`sim.economics.timing`): the year's
   margin valued at the start of plan year 0 at the provider discount rate
   (``margin_pv_usd``), the net cash that moves in the year whatever year it belongs to
   (``cash_net_usd``, costs when incurred), the reconciliations paid in the year
   (``settlement_paid_usd``) and, in the last plan year, the money of the plan paid after
   its horizon (``cash_after_horizon_usd``). A primary-care group also reports the margin
   it optimises (``decision_margin_usd``: its own plus ``specialist_margin_weight`` x the
   specialists' margin on its panel, as the behaviour model counts it). Payers and the
   population report the health-sector cost (``health_sector_cost_usd``: the claims of
   the care delivered at the payer's prices, transfers such as capitation surpluses and
   shared savings excluded, + providers' effort and investment costs).

Every flow is recorded once in the cash book, so what payers pay is what providers
receive (tests assert it for every contract type).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.catalogue import metric_names
from sim.coding.denials import REWORKED
from sim.contracts.registry import CAPITATION_KINDS, SETTLEMENT_KINDS
from sim.contracts.resolve import settler_for
from sim.contracts.statement import FRAME_COLUMNS, Statement
from sim.economics import PaymentTiming, discount_factor, fixed_cost_usd
from sim.ledger import Ledger
from sim.population import Population
from sim.providers import ProviderTable, is_outside
from sim.scenario.schema import Levers, Scenario
from sim.services import Service
from sim.settlement.book import CashBook
from sim.settlement.context import SettlementContext
from sim.settlement.revenue_cycle import (
    REVENUE_CYCLE_METRICS,
    RevenueCycleYear,
    revenue_cycle_year,
)

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
        if not self.statements:
            return pd.DataFrame()
        # One DataFrame from all rows at once: the same table as concatenating
        # ``statements_frame([st], year=, label=, entity=, statement=, **ids)`` per
        # statement (columns, order, dtypes), without a DataFrame per statement.
        rows = []
        seen: dict[tuple[int, str, str], int] = {}
        extra = tuple(ids.values())
        for y, label, entity, st in self.statements:
            k = seen[(y, label, entity)] = seen.get((y, label, entity), -1) + 1
            head = (y, label, entity, k, *extra)
            rows += [head + r for r in st.rows()]
        out = pd.DataFrame(rows, columns=["year", "label", "entity", "statement", *ids,
                                          *FRAME_COLUMNS])
        out["value"] = out["value"].astype("float64")
        return out


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
                 providers: ProviderTable,
                 seed_seq: np.random.SeedSequence | None = None) -> None:
        self.sc = sc
        # the replication's streams: claim denials and RADV audits (sim.coding); None: a
        # stream of the scenario's seed when the revenue cycle is on
        self.seed_seq = seed_seq if seed_seq is not None else np.random.SeedSequence(sc.seed)
        self.ledger = ledger
        self.population = population
        self.providers = providers
        ec = sc.economics
        self.book = CashBook(
            timing=PaymentTiming(ec.claims_payment_lag_days, ec.reconciliation_lag_months,
                                 ec.repayment_lag_months),
            capitation_kinds=CAPITATION_KINDS, settlement_kinds=SETTLEMENT_KINDS,
            first_calendar_year=ec.first_calendar_year)
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
        ctx = SettlementContext.of(self.sc, self.ledger, self.population, self.providers,
                                   seed_seq=self.seed_seq)
        book = self.book
        settlers = [settler_for(cfg, label) for label, cfg in active_contracts(self.sc, year)]
        claims = ctx.claims(year)
        n = len(claims["amount"])
        covered = np.zeros(n, bool)
        payer_of_record = None
        for s in settlers:
            m = s.covered(ctx, year, claims)
            if m is None:
                continue
            if (covered & m).any():
                raise ValueError(f"plan year {year}: contract {s.label} covers claims another "
                                 "contract already covers")
            covered |= m
            if payer_of_record is None:
                payer_of_record = np.full(n, -1, np.int64)
            payer_of_record[m] = ctx.provider_index(s.holder)
        if payer_of_record is None:  # nothing covered: -1 everywhere, as a read-only view
            payer_of_record = np.broadcast_to(np.int64(-1), (n,))
        ctx.set_coverage(year, covered, payer_of_record)
        _pay_claims(ctx, year, book, covered, payer_of_record)
        settled = []
        for s in settlers:
            for entity, st in s.settle(ctx, year, book):
                self.statements.append((year, s.label, entity, st))
                settled.append((s, entity, st))
        rc = revenue_cycle_year(ctx, year, book, settled, levers, self.population,
                                self.seed_seq)
        self.statements += [(year, label, entity, st) for label, entity, st in rc.statements]
        self.rows += _economics(ctx, year, book, levers, rc)

    def result(self) -> Settlement:
        """Everything settled so far."""
        return Settlement(rows=self.rows, statements=self.statements, flows=self.book.frame())


def settle_run(sc: Scenario, ledger: Ledger, population: Population,
               providers: ProviderTable, levers_by_year: list[dict[str, Levers]],
               seed_seq: np.random.SeedSequence | None = None) -> Settlement:
    """Settle every plan year of a finished care-model run."""
    run = SettlementRun(sc, ledger, population, providers, seed_seq)
    for year in range(sc.horizon_years):
        run.settle_year(year, levers_by_year[year])
    return run.result()


def _pay_claims(ctx: SettlementContext, year: int, book: CashBook, covered: np.ndarray,
                payer_of_record: np.ndarray) -> None:
    ffs = ctx.ffs_paid(year)
    # claims denied and paid after rework (revenue_cycle.denials): paid later
    late = ctx.ffs_reworked(year)
    delay = ctx.scenario.revenue_cycle.denials.rework_delay_days
    for p, payer in enumerate(ctx.payer_names):
        for i, prov in enumerate(ctx.provider_names):
            if late is None:
                book.pay(year, payer, prov, float(ffs[p, i]), "ffs_claims", "fee_for_service")
            else:
                book.pay(year, payer, prov, float(ffs[p, i] - late[p, i]), "ffs_claims",
                         "fee_for_service")
                book.pay(year, payer, prov, float(late[p, i]), "ffs_claims",
                         "fee_for_service", delay_days=delay)
    c = ctx.claims(year)
    if not covered.any():  # nothing covered: no claim paid by a capitated provider
        return
    others = covered & (payer_of_record != c["provider"])
    if others.any():
        n = len(ctx.provider_names)
        mat = np.zeros((n, n))
        np.add.at(mat, (payer_of_record[others], c["provider"][others]), c["paid"][others])
        mat_late = np.zeros((n, n))
        if "denial" in c:
            lo = others & (c["denial"] == REWORKED)
            np.add.at(mat_late, (payer_of_record[lo], c["provider"][lo]), c["paid"][lo])
        for a, b in zip(*np.nonzero(mat), strict=True):
            book.pay(year, ctx.provider_names[a], ctx.provider_names[b],
                     float(mat[a, b] - mat_late[a, b]), "capitated_claims", "capitation")
            book.pay(year, ctx.provider_names[a], ctx.provider_names[b],
                     float(mat_late[a, b]), "capitated_claims", "capitation",
                     delay_days=delay)


class _Flows:
    """The cash book's flows as NumPy columns (entity and kind names as integer codes),
    for the per-entity sums of :func:`_economics` without a DataFrame filter per entity.
    Every sum is over the same rows in the same order as the DataFrame it replaces
    (``book.timed()`` filtered), with the same summation (NumPy's pairwise sum, which
    pandas' ``Series.sum`` uses; :func:`_kahan` for what ``groupby().sum()`` computed)."""

    def __init__(self, rows: list[tuple[int, str, str, float, str, str, float]]) -> None:
        n = len(rows)
        self.codes: dict[str, int] = {}
        code = self.codes.setdefault
        self.year = np.fromiter((r[0] for r in rows), np.int64, n)
        self.source = np.fromiter((code(r[1], len(self.codes)) for r in rows), np.int64, n)
        self.target = np.fromiter((code(r[2], len(self.codes)) for r in rows), np.int64, n)
        self.amount = np.fromiter((r[3] for r in rows), np.float64, n)
        self.kinds: dict[str, int] = {}
        kcode = self.kinds.setdefault
        self.kind = np.fromiter((kcode(r[4], len(self.kinds)) for r in rows), np.int64, n)
        self.paid_t = np.fromiter((r[6] for r in rows), np.float64, n)

    def entity(self, name: str) -> int:
        """The code of entity ``name`` (-1: in no flow)."""
        return self.codes.get(name, -1)

    def kind_mask(self, kinds: frozenset[str] | set[str]) -> np.ndarray:
        """Rows whose kind is one of ``kinds``."""
        codes = [self.kinds[k] for k in kinds if k in self.kinds]
        return np.isin(self.kind, codes)

    def by_kind(self, rows: np.ndarray) -> dict[str, float]:
        """Sum of ``amount`` by kind over the rows selected by mask ``rows`` (in row order),
        as ``groupby("kind")["amount_usd"].sum()`` gave it (Kahan-compensated)."""
        names = {c: k for k, c in self.kinds.items()}
        kind, amount = self.kind[rows].tolist(), self.amount[rows].tolist()
        groups: dict[int, list[float]] = {}
        for k, a in zip(kind, amount, strict=True):
            groups.setdefault(k, []).append(a)
        return {names[k]: _kahan(v) for k, v in groups.items()}


def _kahan(values: list[float]) -> float:
    """Kahan-compensated sum in order, exactly as pandas' ``group_sum`` computes a group's
    sum (``pandas/_libs/groupby.pyx``)."""
    total = comp = 0.0
    for v in values:
        y = v - comp
        t = total + y
        comp = t - total - y
        if comp != comp:  # an infinite value: no compensation (pandas GH#53606)
            comp = 0.0
        total = t
    return total


def _discounted(amount: np.ndarray, paid_t: np.ndarray, rate: float) -> float:
    """Sum of ``amount`` discounted from ``paid_t`` at ``rate`` (as the Series expression
    ``(amount * (1 + rate) ** -paid_t).sum()`` computed it)."""
    return (amount * (1.0 + rate) ** -paid_t).sum()


def _economics(ctx: SettlementContext, year: int, book: CashBook, levers: dict[str, Levers],
               rc: RevenueCycleYear | None = None) -> list[tuple[int, str, str, float]]:
    sc = ctx.scenario
    fl = _Flows(book.rows)
    in_year = fl.year == year
    now = np.floor(fl.paid_t + 1e-9) == year
    last = year == sc.horizon_years - 1
    later = (fl.paid_t >= sc.horizon_years - 1e-9) if last else np.zeros(len(fl.year), bool)
    settling = fl.kind_mask(SETTLEMENT_KINDS)
    amount, paid_t = fl.amount, fl.paid_t
    rate = sc.economics.provider_discount_rate
    c = ctx.claims(year)
    n_prov = len(ctx.provider_names)
    variable_cost = ctx.variable_cost(c)
    own_cost = np.bincount(c["provider"], weights=variable_cost, minlength=n_prov)
    # Issue 13: MCCs captured by documentation are revenue, not care (sim.coding.fees):
    # each billing hospital's own uplift is taken out of its own care costs.
    stats = ctx.ledger.year_stats.get(year, {})
    for h in range(n_prov):
        for svc, key in ((Service.INPATIENT_FACILITY, "cdi_uplift_inpatient_usd"),
                         (Service.ELECTIVE_FACILITY, "cdi_uplift_elective_usd")):
            up = stats.get(f"{key}:{h}", 0.0)
            if up:
                own_cost[h] -= (up * ctx.reference_ratio[svc] * ctx.cost_to_charge[h]
                                * ctx.variable_share[h])
    adm = ctx.ledger.admissions
    disch = adm["patient"][adm["year"] == year]
    py = ctx.person_years(year)
    by_name = {p.name: p for p in sc.providers}
    rows: list[tuple[int, str, str, float]] = []
    spec = [i for i, k in enumerate(ctx.provider_kinds) if k == "specialist"]
    spec_margin_by_pc = np.zeros(n_prov)
    if spec:
        m = np.flatnonzero(c["provider"] == spec[0])  # by index: the same claims in order
        attributed = c["attributed"].take(m)
        ok = attributed >= 0  # -1: the patient is in no group's panel (no group counts it)
        spec_margin_by_pc = np.bincount(attributed[ok], weights=(c["paid"].take(m)
                                        - variable_cost.take(m))[ok], minlength=n_prov)
    care_costs = 0.0  # providers' effort and investment cash costs (health sector)
    for i, name in enumerate(ctx.provider_names):
        code = fl.entity(name)
        is_target, is_source = fl.target == code, fl.source == code
        received = in_year & is_target
        paid_out = in_year & is_source
        revenue = float(amount[received].sum())
        one_off = running = 0.0
        for inv in sc.investments:
            if inv.provider == name:
                one_off += inv.one_off_usd * (inv.year == year)
                until = inv.until_year if inv.until_year is not None else sc.horizon_years
                running += inv.running_usd_per_year * (inv.year <= year <= until)
        invest = one_off + running
        effort = fixed = capacity = 0.0
        attributed_py = float(py[ctx.patient_provider == i].sum())
        prov = by_name.get(name)
        kind = ctx.provider_kinds[i]
        if prov is not None:
            pc = prov.costs
            fixed = pc.fixed_usd_per_year
            lv = levers.get(name)
            if lv is not None and kind == "primary_care":
                n_disch = int(np.count_nonzero(ctx.patient_provider[disch] == i))
                effort = (lv.prevention_effort * pc.care_management_usd_per_patient_year
                          * attributed_py + lv.transitional_care_effort
                          * pc.transitional_care_usd_per_discharge * n_disch
                          # documentation (HCC recapture) programme (docs/coding.md)
                          + lv.coding_intensity * pc.documentation_usd_per_patient_year
                          * attributed_py)
        if kind == "hospital":  # its CDI programme: its effort x its discharges
            effort += (sc.coding_fees.cdi_cost_per_discharge_usd
                       * stats.get(f"cdi_effort_discharges:{i}", 0.0))
        capacity = fixed_cost_usd(kind, float(ctx.cost_to_charge[i]),
                                  float(ctx.variable_share[i]), sc.population.size,
                                  prov.panel_share if prov is not None else 1.0,
                                  volume_share=_reference_volume_share(sc, name, kind))
        cycle = rc.of(i) if rc is not None else dict.fromkeys(REVENUE_CYCLE_METRICS[:4], 0.0)
        rework = cycle["rework_cost_usd"]  # administrative cost of reworking denied claims
        care_costs += effort + invest + rework
        to_providers = float(amount[paid_out].sum())
        incurred = float(own_cost[i]) + capacity + fixed + running + effort + rework
        cost = incurred + one_off + to_providers
        if kind == "primary_care" and not is_outside(name):
            mask, label = ctx.patient_provider == i, f"provider:{name}"
        else:
            mask, label = np.ones(len(ctx.patient_provider), bool), "population"
        score, _ = ctx.quality(year, mask & ctx.members(year), label)
        by_kind = fl.by_kind(received)
        # By payment date: the year's flows discounted from when they are paid.
        df_in = _discounted(amount[received], paid_t[received], rate)
        df_out = _discounted(amount[paid_out], paid_t[paid_out], rate)
        pv = (float(df_in - df_out) - incurred * discount_factor(year + 0.5, rate)
              - one_off * discount_factor(year, rate))
        cash_in, cash_out = now & is_target, now & is_source
        settled_in = amount[cash_in & settling].sum()
        settled_out = amount[cash_out & settling].sum()
        after = float(amount[later & is_target].sum() - amount[later & is_source].sum())
        margin = revenue - cost
        weight = prov.behavior.specialist_margin_weight if (
            prov is not None and kind == "primary_care") else 0.0
        values = {
            "revenue_usd": revenue,
            "ffs_revenue_usd": float(by_kind.get("ffs_claims", 0.0)
                                     + by_kind.get("capitated_claims", 0.0)),
            "capitation_revenue_usd": float(sum(by_kind.get(k, 0.0) for k in CAPITATION_KINDS)),
            "settlement_usd": float(sum(by_kind.get(k, 0.0) for k in SETTLEMENT_KINDS)),
            "cost_usd": cost,
            "own_service_cost_usd": float(own_cost[i]),
            "capacity_cost_usd": capacity,
            "paid_to_providers_usd": to_providers,
            "investment_cost_usd": float(invest),
            "effort_cost_usd": effort,
            "fixed_cost_usd": fixed,
            "margin_usd": margin,
            "decision_margin_usd": margin + weight * float(spec_margin_by_pc[i]),
            "margin_pv_usd": pv,
            "cash_net_usd": float(amount[cash_in].sum() - amount[cash_out].sum())
            - incurred - one_off,
            "settlement_paid_usd": float(settled_in - settled_out),
            "cash_after_horizon_usd": after,
            "quality_score": score,
            "attributed_person_years": attributed_py,
            **cycle,
        }
        rows += [(year, name, k, v) for k, v in values.items()]
    total = 0.0
    # the care delivered at the payer's prices: claims written off after a denial included
    claims_by_payer = np.bincount(c["payer"], weights=c.get("billed", c["paid"]),
                                  minlength=len(ctx.payer_names))
    all_py = float(py.sum())
    for p, payer in enumerate(ctx.payer_names):
        spend = float(amount[in_year & (fl.source == fl.entity(payer))].sum())
        ppy = float(py[ctx.patient_payer == p].sum())
        total += spend
        hs = float(claims_by_payer[p]) + care_costs * (ppy / all_py if all_py else 0.0)
        rows += [(year, payer, "payer_spend_usd", spend), (year, payer, "payer_person_years", ppy),
                 (year, payer, "payer_spend_per_capita_usd", spend / ppy if ppy else 0.0),
                 (year, payer, "health_sector_cost_usd", hs)]
    rows += [(year, "population", "payer_spend_usd", total),
             (year, "population", "payer_spend_per_capita_usd", total / all_py if all_py else 0.0),
             (year, "population", "health_sector_cost_usd",
              float(claims_by_payer.sum()) + care_costs)]
    return rows


def _reference_volume_share(sc: Scenario, name: str, kind: str) -> float:
    """Share of the reference volume of its kind a provider gives, which sizes its capacity:
    with attribution on, the outside providers give the leaked share of each kind's
    services (``attribution.primary_care_outside_share`` of primary care,
    ``attribution.outside_share`` of the rest) and the simulated ones the remainder."""
    att = sc.attribution
    if not att.enabled:
        return 1.0
    leaked = att.primary_care_outside_share if kind == "primary_care" else att.outside_share
    return leaked if is_outside(name) else 1.0 - leaked
