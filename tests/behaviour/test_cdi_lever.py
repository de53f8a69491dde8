"""Issue 13: the hospital chooses its clinical documentation improvement (CDI) effort.

The effort turns stays coded without MCC into with-MCC stays (sim.coding.fees): FFS pays the
uplift, the hospital pays the programme (``cdi_cost_per_discharge_usd`` x effort a
discharge). Checked on small real replications (500 patients, 2 plan years, fixed seeds):

* as for the other levers, the hospital's documentation today (its reference effort, 0) is
  its fee-for-service optimum at the reference fee schedule (a norm absorbs the uplift,
  ~$435 an unplanned stay against a $30 cost): fee-for-service leaves the lever there;
* facility prices 25% above the reference raise the value of documentation by 25% of the
  full-effort uplift, so the optimum is 0.25 and the lever moves ``adaptation_rate`` of
  the way each year: 0.125, then 0.1875;
* under a global budget that settles every dollar of revenue against the budget
  (corridor 100%) the uplift is taken back, so the optimum, and the lever, stay 0;
* money: the effort set as a group lever under fixed behaviour is the scenario's fixed
  effort (same results), its cost is what the hospital books, the uplift lands in its
  revenue only, and the cost of care does not move;
* fixed behaviour: no hospital decides, no CDI row, no CDI cost.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.behaviour.hospital import _scale_facility
from sim.care.claims import ELECTIVE_SD_LOG
from sim.coding import fees
from sim.replication import simulate_replication
from sim.scenario import load_scenario, scenario_from_dict

GB = (Path(__file__).resolve().parents[2] / "benchmarks" / "validation_scenarios"
      / "hospital_global_budget.yaml")
HOSP = "community_hospital"


def _scenario(behavior: str, group_cdi: float | None = None, fixed_cdi: float = 0.0):
    return scenario_from_dict({
        "name": "cdi", "population": {"size": 500}, "horizon_years": 2, "replications": 1,
        "seed": 5, "behavior": behavior, "warmup_years": 2,
        "coding_fees": {"hospital_cdi_effort": fixed_cdi},
        "providers": [{"name": "primary_care_group", "kind": "primary_care",
                       "panel_share": 1.0, "levers": {"cdi_effort": group_cdi}},
                      {"name": "specialists", "kind": "specialist"},
                      {"name": HOSP, "kind": "hospital"},
                      {"name": "post_acute", "kind": "post_acute"},
                      {"name": "other_suppliers", "kind": "other"}]}, "<cdi>")


def _run(sc):
    return simulate_replication(sc, 0, np.random.SeedSequence(17)).results


@pytest.fixture(scope="module")
def runs():
    gb = load_scenario(GB, overrides={"population.size": 500, "horizon_years": 2,
                                      "behavior": "incentives",
                                      "plan.0.contracts.1.corridor": 1.0})
    ffs = _scenario("incentives")
    dearer = ffs.model_copy(update={"prices": _scale_facility(ffs.prices, 1.25)})
    return {"ffs": _run(ffs), "dearer": _run(dearer), "gb": _run(gb),
            "fixed0": _run(_scenario("fixed")),
            "lever": _run(_scenario("fixed", group_cdi=0.6)),
            "fixed6": _run(_scenario("fixed", fixed_cdi=0.6))}


def _metric(df, entity: str, metric: str) -> np.ndarray:
    part = df[(df["entity"] == entity) & (df["metric"] == metric)].sort_values("year")
    return part["value"].to_numpy(float)


def test_the_uplift_is_a_few_percent_and_far_above_the_cost():
    """A full programme raises the expected payment per unplanned stay ~3% (CDI programmes
    and the MS-DRG documentation-and-coding effect: a few percent of case mix,
    docs/coding.md); per discharge that is >10x the programme's $30."""
    sc = scenario_from_dict({"population": {"size": 100}})
    unpl, el = fees.cdi_price_factors(sc, 1.0, ELECTIVE_SD_LOG)
    assert 1.025 < unpl < 1.045
    assert unpl < el < 1.10  # few MCCs among electives: more room to capture
    assert fees.cdi_price_factors(sc, 0.5, ELECTIVE_SD_LOG)[0] - 1 == pytest.approx((unpl - 1) / 2)
    assert fees.cdi_price_factors(sc, 0.0, ELECTIVE_SD_LOG) == (1.0, 1.0)
    uplift = (unpl - 1) * sc.prices.admission_mean_usd
    assert uplift > 10 * sc.coding_fees.cdi_cost_per_discharge_usd


def test_fee_for_service_at_the_reference_keeps_todays_documentation(runs):
    """The reference effort is the FFS optimum at the reference fee schedule (the norm),
    so fixed and chosen behaviour agree under FFS (as tests/test_puf.py requires)."""
    np.testing.assert_array_equal(_metric(runs["ffs"], HOSP, "lever_cdi_effort"), [0.0, 0.0])
    assert (_metric(runs["ffs"], HOSP, "effort_cost_usd") == 0).all()


def test_higher_facility_prices_buy_more_documentation(runs):
    """Prices 25% above the reference: optimum 0.25 (a 25% rise of the uplift's value over
    the curvature K = the full-effort uplift); the lever closes half the gap a year."""
    lv = _metric(runs["dearer"], HOSP, "lever_cdi_effort")
    np.testing.assert_allclose(lv, [0.125, 0.1875], atol=0.0051)  # the lever grid, 0.01
    # the programme's cost: $30 x the effort x the hospital's discharges of the year
    discharges = _metric(runs["dearer"], HOSP, "effort_cost_usd") / (30.0 * lv)
    np.testing.assert_allclose(discharges, np.round(discharges), atol=1e-6)
    assert (discharges > 20).all()


def test_a_budget_that_takes_the_uplift_back_gets_no_effort(runs):
    """A global budget settling all revenue against the budget: coding adds nothing, the
    programme only costs, so the hospital does not run it."""
    lv = _metric(runs["gb"], HOSP, "lever_cdi_effort")
    assert len(lv) == 2
    np.testing.assert_array_equal(lv, [0.0, 0.0])
    assert (_metric(runs["gb"], HOSP, "effort_cost_usd") == 0).all()


def test_the_lever_and_the_fixed_effort_are_the_same_thing(runs):
    a, b = runs["lever"], runs["fixed6"]
    cols = ["year", "entity", "metric", "value"]
    x = a[cols].sort_values(cols[:3]).reset_index(drop=True)
    y = b[cols].sort_values(cols[:3]).reset_index(drop=True)
    np.testing.assert_array_equal(x[cols[:3]].to_numpy(), y[cols[:3]].to_numpy())
    np.testing.assert_allclose(x["value"].to_numpy(float), y["value"].to_numpy(float),
                               rtol=1e-12, atol=1e-9)


def test_cdi_money_adds_up(runs):
    """Against effort 0 (same care draws: CDI uses only the coding_fees stream): the
    hospital's revenue rises, nobody else's does; its cost of care is unchanged; it pays
    0.6 x $30 per discharge; no decision rows under fixed behaviour."""
    ref, cdi = runs["fixed0"], runs["lever"]
    gain = _metric(cdi, HOSP, "ffs_revenue_usd") - _metric(ref, HOSP, "ffs_revenue_usd")
    assert (gain > 0).all()
    for prov in ("primary_care_group", "specialists", "post_acute", "other_suppliers"):
        np.testing.assert_allclose(_metric(cdi, prov, "ffs_revenue_usd"),
                                   _metric(ref, prov, "ffs_revenue_usd"), rtol=1e-12)
    np.testing.assert_allclose(_metric(cdi, HOSP, "own_service_cost_usd"),
                               _metric(ref, HOSP, "own_service_cost_usd"), rtol=1e-9)
    assert (_metric(ref, HOSP, "effort_cost_usd") == 0).all()
    cost = _metric(cdi, HOSP, "effort_cost_usd")
    per_discharge = cost / (0.6 * 30.0)
    np.testing.assert_allclose(per_discharge, np.round(per_discharge), atol=1e-6)
    assert (per_discharge > 20).all()  # ~0.3 stays a person-year x 500 patients
    # ~3-8% of the facility revenue of 0.6 x the programme's stays (binomial noise: wide)
    assert (gain < 0.1 * _metric(ref, HOSP, "ffs_revenue_usd")).all()
    for df in (ref, cdi):
        assert not df["metric"].eq("lever_cdi_effort").any()
