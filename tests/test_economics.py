"""Issue 11: outcomes that cannot reward death, one value of a death, perspectives.

Life-table values are checked against the published table; the simulation checks run two
or three small scenarios with common random numbers and fixed behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.comparison import compare_results, health_outcome
from sim.economics import life_expectancy, qalys_lost_per_death
from sim.replication import simulate_replication
from sim.scenario import scenario_from_dict

# Published period life expectancy of the same SSA table (calendar year 2021, 2020 TR).
PUBLISHED = {(65, 0): 18.19, (65, 1): 20.71, (75, 0): 11.37, (75, 1): 13.10,
             (85, 0): 6.01, (85, 1): 7.05}


@pytest.mark.parametrize(("age", "female"), list(PUBLISHED))
def test_life_table_reproduces_published_life_expectancy(age, female):
    assert life_expectancy(age, female) == pytest.approx(PUBLISHED[(age, female)], abs=0.01)


def test_death_value_is_discounted_quality_adjusted_life_expectancy():
    e0 = life_expectancy(70.0, 0.5, 0.0)
    e3 = life_expectancy(70.0, 0.5, 0.03)
    assert e3 < e0
    # a hand annuity bound: at 3% a stream of e0 years is worth less than e0, more than
    # e0 discounted by its whole length
    assert e0 / 1.03 ** e0 < e3 < e0
    assert qalys_lost_per_death(70.0, 0.5, 0.8, 0.03) == pytest.approx(0.8 * e3)
    # older people lose fewer QALYs; fractional ages interpolate between whole ages
    assert life_expectancy(80.5, 0, 0.03) == pytest.approx(
        0.5 * (life_expectancy(80, 0, 0.03) + life_expectancy(81, 0, 0.03)))
    assert life_expectancy(90, 0, 0.03) < life_expectancy(80, 0, 0.03)


def _run(scenarios: list[dict], reps: int = 2) -> pd.DataFrame:
    frames = []
    for data in scenarios:
        sc = scenario_from_dict({"horizon_years": 3, "warmup_years": 2, "behavior": "fixed",
                                 "population": {"size": 1000}, **data}, "<economics test>")
        for r in range(reps):
            frames.append(simulate_replication(sc, r, np.random.SeedSequence([7, r])).results)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def mortality_results() -> pd.DataFrame:
    base = {"name": "base"}
    deadlier = {"name": "deadlier", "clinical": {"mortality": {"rate_at_65_per_year": 0.0095 * 1.2}}}
    return _run([base, deadlier])


def test_raising_mortality_lowers_qalys_and_is_never_dominant(mortality_results):
    res = mortality_results
    comp = compare_results(res, "base")
    ce = comp.cost_effectiveness
    assert (ce["outcome"] == "closed cohort + terminal value").all()
    assert (ce["d_qalys"] < 0).all()
    assert not (ce["dominance"] == "dominant").any()
    # every replication loses QALYs (closed cohort + terminal value)
    q = health_outcome(res, 0.03)
    assert (q["deadlier"] < q["base"]).all()


def test_open_panel_is_not_the_basis_but_is_reported(mortality_results):
    res = mortality_results
    pop = res[res["entity"] == "population"]
    assert {"qalys", "qalys_per_capita", "cohort_qalys", "cohort_qale_end"} <= set(pop["metric"])
    # the cohort's QALYs are a part of the open panel's (entrants are not in the cohort)
    wide = pop.pivot_table(index=["scenario", "replication", "year"], columns="metric",
                           values="value")
    assert (wide["cohort_qalys"] <= wide["qalys"] + 1e-9).all()
    # the cohort only shrinks
    members = wide["cohort_members_end"].unstack("year")
    assert (members.diff(axis=1).iloc[:, 1:] <= 0).all().all()


def test_more_care_management_spending_worsens_the_health_sector_icer():
    """Two groups doing the same (prevention effort 0.6, so the same care under common
    random numbers) at different care-management costs: same QALYs, same payer spending,
    higher health-sector cost for the dearer one."""
    def group(cost: float) -> list[dict]:
        return [{"name": "primary_care_group", "kind": "primary_care", "panel_share": 1.0,
                 "levers": {"prevention_effort": 0.6},
                 "costs": {"care_management_usd_per_patient_year": cost}},
                {"name": "specialists", "kind": "specialist"},
                {"name": "community_hospital", "kind": "hospital"},
                {"name": "post_acute", "kind": "post_acute"},
                {"name": "other_suppliers", "kind": "other"}]
    res = _run([{"name": "ffs"}, {"name": "cm_240", "providers": group(240.0)},
                {"name": "cm_480", "providers": group(480.0)}], reps=2)
    ce = compare_results(res, "ffs", wtp=(100_000.0,)).cost_effectiveness.set_index("scenario")
    assert (ce["perspective"] == "health_sector").all()
    a, b = ce.loc["cm_240"], ce.loc["cm_480"]
    assert a["d_qalys"] == pytest.approx(b["d_qalys"], abs=1e-9)
    assert a["d_cost_payer_usd"] == pytest.approx(b["d_cost_payer_usd"], rel=1e-12)
    assert b["d_cost_usd"] > a["d_cost_usd"]
    assert b["nmb_mean"] < a["nmb_mean"]
    if a["quadrant"] == b["quadrant"] == "NE":
        assert b["icer_usd_per_qaly"] > a["icer_usd_per_qaly"]
    # the payer's view does not see the providers' spending
    assert a["nmb_payer_mean"] == pytest.approx(b["nmb_payer_mean"], rel=1e-12)


def test_risk_table_reads_cash_by_payment_date():
    """Hand-made table: two replications of one provider over two plan years. The accrual
    margin never dips below zero; the cash does, because the year-1 repayment is paid
    after the horizon and the year-0 savings only in year 1."""
    from sim.risk import risk_table

    rows = []
    for rep, (cash0, cash1, after, pv, paid1) in enumerate(
            [(-100.0, 250.0, -400.0, -20.0, 250.0), (50.0, 60.0, 10.0, 100.0, -5.0)]):
        for year, metric, value in ((0, "margin_usd", 10.0), (1, "margin_usd", 10.0),
                                    (0, "cash_net_usd", cash0), (1, "cash_net_usd", cash1),
                                    (0, "cash_after_horizon_usd", 0.0),
                                    (1, "cash_after_horizon_usd", after),
                                    (0, "margin_pv_usd", pv / 2), (1, "margin_pv_usd", pv / 2),
                                    (0, "settlement_paid_usd", 0.0),
                                    (1, "settlement_paid_usd", paid1)):
            rows.append((rep, "s", year, "acme", metric, value))
    res = pd.DataFrame(rows, columns=["replication", "scenario", "year", "entity", "metric",
                                      "value"])
    total = risk_table(res).set_index("entity").loc["acme"]
    # replication 0: cumulative cash -100, 150, -250; replication 1: 50, 110, 120
    assert total["worst_cash_mean"] == pytest.approx((-250.0 + 50.0) / 2)
    assert total["p_cash_below_zero"] == pytest.approx(0.5)
    assert total["p_cumulative_loss"] == 0.0  # the accrual view sees no hole
    assert total["margin_pv_mean"] == pytest.approx(40.0)
    assert total["p_negative_margin_pv"] == pytest.approx(0.5)
    by_year = risk_table(res, over_years="by_year").set_index(["entity", "year"])
    assert by_year.loc[("acme", 1), "p_owing_paid"] == pytest.approx(0.5)
    assert by_year.loc[("acme", 0), "p_owing_paid"] == 0.0
