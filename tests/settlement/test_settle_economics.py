"""Issue 11's checks on provider economics (docs/economics.md): fixed and variable costs,
payment dates and present values, the health-sector cost. Each expected value is computed
by hand from the ledger, the cash flows and the timing rules, not from sim.settlement."""

from __future__ import annotations

import numpy as np
import pytest
from settle_support import FFS_ALL, Run, close, run, scenario

from sim.economics.costs import REFERENCE_ALLOWED_PER_CAPITA, VARIABLE_COST_SHARE
from sim.ledger import Ledger
from sim.scenario.payment import DEFAULT_COST_TO_CHARGE
from sim.services import Service
from sim.settlement import settle_run

REACH = {"type": "reach", "payer": "medicare", "aco": "primary_care_group",
         "option": "global"}
RECONCILIATION = "reach_reconciliation"
HOSPITAL_CTC = DEFAULT_COST_TO_CHARGE["hospital"]


@pytest.fixture(scope="module")
def reach_run() -> Run:
    sc = scenario(size=1500, horizon=2, behavior="fixed",
                  plan=[{"years": "all", "contracts": [FFS_ALL, REACH]}])
    return run(sc, seed=3)


def _without_some_stays(ledger: Ledger, share: float) -> tuple[Ledger, dict[int, float]]:
    """A copy of ``ledger`` without every 1/share-th inpatient facility claim (the stays a
    hospital loses), and the allowed amount removed per plan year."""
    out = Ledger(admissions=ledger.admissions, events=ledger.events,
                 patient_year=ledger.patient_year, year_stats=ledger.year_stats,
                 first_year=ledger.first_year, provider_names=ledger.provider_names)
    removed = {}
    step = int(round(1 / share))
    for y in ledger.years:
        c = ledger.claims_in(y)
        inp = np.flatnonzero(c["service"] == Service.INPATIENT_FACILITY)
        drop = np.zeros(len(c["amount"]), bool)
        drop[inp[::step]] = True
        removed[y] = float(c["amount"][drop].sum())
        out._blocks[y] = {k: np.asarray(v)[~drop] for k, v in c.items()}  # noqa: SLF001
    return out, removed


def test_hospital_margin_falls_when_its_admissions_fall_at_fixed_prices(reach_run):
    """10% fewer stays at fixed (FFS) prices: the hospital loses their payment and saves
    only their variable cost (84% of a unit cost of 1.10, MedPAC's marginal profit), so
    its margin falls by the marginal profit on them; with every cost variable (the old
    model) it would have risen by 10% of the stays' payment."""
    r = reach_run
    ffs_only = r.sc.model_copy(update={"plan": r.sc.plan[:1]})
    base = settle_run(ffs_only, r.run.ledger, r.run.population, r.run.providers,
                      r.run.levers_by_year)
    fewer, removed = _without_some_stays(r.run.ledger, 0.10)
    cut = settle_run(ffs_only, fewer, r.run.population, r.run.providers,
                     r.run.levers_by_year)

    def margin(s, y):
        return next(v for yy, e, m, v in s.rows
                    if yy == y and e == "community_hospital" and m == "margin_usd")

    marginal_profit = 1.0 - VARIABLE_COST_SHARE["hospital"] * HOSPITAL_CTC
    for y in range(ffs_only.horizon_years):
        assert removed[y] > 0
        drop = margin(base, y) - margin(cut, y)
        assert drop > 0
        assert close(drop, removed[y] * marginal_profit, rel=1e-9)


def test_capacity_is_paid_whether_used_or_not(reach_run):
    r = reach_run
    expected = ((1 - VARIABLE_COST_SHARE["hospital"]) * HOSPITAL_CTC
                * REFERENCE_ALLOWED_PER_CAPITA["hospital"] * r.sc.population.size)
    for y in range(r.sc.horizon_years):
        assert r.metric("community_hospital", "capacity_cost_usd", y) == pytest.approx(expected)


def test_reconciliation_paid_a_year_later_lowers_npv_by_the_discount_factor(reach_run):
    """The same settlement with reconciliations (and repayments) paid 12 months later:
    each year's present value of the margin changes by exactly the reconciliation's
    present value x (1/(1 + r) - 1); nothing else moves."""
    r = reach_run
    ec = r.sc.economics
    later = r.sc.model_copy(update={"economics": ec.model_copy(update={
        "reconciliation_lag_months": ec.reconciliation_lag_months + 12,
        "repayment_lag_months": ec.repayment_lag_months + 12})})
    s2 = settle_run(later, r.run.ledger, r.run.population, r.run.providers,
                    r.run.levers_by_year)
    rate = ec.provider_discount_rate
    flows = r.flows
    moved = 0.0
    for y in range(r.sc.horizon_years):
        sav = flows[(flows["year"] == y) & (flows["kind"] == RECONCILIATION)]
        amount = float(sav["amount_usd"].sum())  # payer -> ACO, negative when it owes
        lag = ec.reconciliation_lag_months if amount >= 0 else ec.repayment_lag_months
        pv = amount * (1 + rate) ** -(y + 1 + lag / 12)
        pv1 = r.metric("primary_care_group", "margin_pv_usd", y)
        pv2 = next(v for yy, e, m, v in s2.rows
                   if yy == y and e == "primary_care_group" and m == "margin_pv_usd")
        assert close(pv2 - pv1, pv * (1 / (1 + rate) - 1), rel=1e-9, abs_usd=1e-4)
        moved += abs(amount)
    assert moved > 0, "REACH paid or collected nothing: the test would not bite"


def test_paid_dates_follow_the_timing_rules(reach_run):
    r = reach_run
    f = r.flows
    year_start = f["year"].map(lambda y: np.datetime64(f"{2025 + y}-01-01"))
    lag_days = (f["paid_date"] - year_start).dt.days
    ffs = f["kind"] == "ffs_claims"
    # days from the plan year's 1 January (one day of rounding and calendar leeway)
    assert (abs(lag_days[ffs] - (0.5 + 30 / 365) * 365) <= 1).all()
    sav = f["kind"] == RECONCILIATION
    assert sav.any()
    expect = np.where(f.loc[sav, "amount_usd"] >= 0, 9, 11) / 12 + 1
    assert (abs(lag_days[sav] - expect * 365) <= 1).all()


def test_health_sector_cost_is_care_at_payer_prices_plus_effort(reach_run):
    r = reach_run
    for y in range(r.sc.horizon_years):
        c = r.claims(y)
        effort = r.metric("primary_care_group", "effort_cost_usd", y)
        hs = r.metric("population", "health_sector_cost_usd", y)
        assert close(hs, float(c["paid"].sum()) + effort)
        # the payer's spending differs by the capitation surplus and settlement (transfers)
        assert not close(hs - effort, r.metric("population", "payer_spend_usd", y))
