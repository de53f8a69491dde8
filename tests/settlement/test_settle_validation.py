"""Bad payment plans are refused when the scenario is validated, before anything runs,
with the field and what was expected; good edge cases run."""

from __future__ import annotations

import numpy as np
import pytest
from settle_support import PROVIDERS_2PC, run

from sim.scenario import ScenarioError, load_scenario, scenario_from_dict

MSSP = {"type": "mssp", "aco": "pc_a"}


def _data(plan, **over):
    return {"name": "bad", "horizon_years": 3, "warmup_years": 5, "population": {"size": 300},
            "providers": PROVIDERS_2PC, "plan": plan, **over}


def _all(*contracts):
    return [{"years": "all", "contracts": [{"type": "ffs"}, *contracts]}]


BAD = {
    "unknown payer": (_all({**MSSP, "payer": "aetna"}),
                      {}, "plan[0].contracts[1].payer: unknown payer 'aetna'; payers: medicare"),
    "unknown provider": (_all({"type": "bundled", "provider": "st_elsewhere"}), {},
                         "plan[0].contracts[1]: unknown provider 'st_elsewhere'"),
    "MSSP held by a hospital": (_all({"type": "mssp", "aco": "hospital"}), {},
                                "mssp contract must be held by a primary_care provider, "
                                "'hospital' is 'hospital'"),
    "capitation held by a specialist": (
        _all({"type": "capitation", "provider": "specialists"}), {},
        "capitation contract must be held by a primary_care provider"),
    "two capitations, same scope": (
        [{"years": "0-1", "contracts": [{"type": "capitation", "provider": "pc_a"}]},
         {"years": [1, 2], "contracts": [{"type": "capitation", "provider": "pc_a",
                                          "area_rate_pmpm_usd": 30.0}]}], {},
        "year 1: pc_a holds two overlapping capitation/capitation contracts with medicare"),
    "two capitations, nested scopes": (
        _all({"type": "capitation", "provider": "pc_a"},
             {"type": "capitation", "provider": "pc_a", "scope": "total_cost"}), {},
        "year 0: pc_a holds two contracts with medicare that both pay its primary care "
        "instead of FFS: capitation (primary_care) and capitation (total_cost)"),
    "capitation and REACH PCC": (
        _all({"type": "capitation", "provider": "pc_a"},
             {"type": "reach", "aco": "pc_a", "primary_care_capitation": True}), {},
        "both pay its primary care instead of FFS"),
    "MSSP and REACH at once": (_all(MSSP, {"type": "reach", "aco": "pc_a"}), {},
                               "pc_a holds two overlapping"),
    "plan year outside the horizon": ([{"years": 3, "contracts": [{"type": "ffs"}]}], {},
                                      "plan[0].years: year 3 is outside the horizon 0-2"),
    "plan range outside the horizon": ([{"years": "1-4", "contracts": [{"type": "ffs"}]}], {},
                                       "plan[0].years: year 3 is outside the horizon 0-2"),
    # warm-up years 1-2 are a start-up transient; 3 keeps one history year
    "MSSP from year 0, three warm-up years": (
        _all(MSSP), {"warmup_years": 3},
        "plan[0].contracts[1]: a mssp contract starting in plan year 0 needs baseline years "
        "-3..-1, but warmup_years=3 keeps history only for plan year -1; set warmup_years >= 5 "
        "or start the contract in plan year 2 or later"),
    "bundle from year 0, no warm-up": (
        _all({"type": "bundled", "provider": "hospital"}), {"warmup_years": 0},
        "needs baseline years -3..-1, but warmup_years=0 keeps no history years"),
    "REACH from year 1, three warm-up years": (
        [{"years": "all", "contracts": [{"type": "ffs"}]},
         {"years": "1-2", "contracts": [{"type": "reach", "aco": "pc_a"}]}],
        {"warmup_years": 3}, "a reach contract starting in plan year 1 needs baseline years -2..0"),
    "historical capitation rate, four warm-up years": (
        _all({"type": "capitation", "provider": "pc_a"}), {"warmup_years": 4},
        "a capitation contract starting in plan year 0 needs baseline years -3..-1"),
    "agreement starting after the contract": (
        _all({**MSSP, "agreement_start_year": 2}), {},
        "plan[0].contracts[1].agreement_start_year: 2 is after plan year 0, in which the "
        "contract is in force"),
    "agreement starting before the history": (
        _all({**MSSP, "agreement_start_year": -1}), {"warmup_years": 10},
        "use agreement_start_year >= 0"),
    "payer shares": (_all(), {"payers": [{"name": "medicare", "share": 0.6},
                                         {"name": "commercial", "share": 0.3}]},
                     "payer shares must sum to 1, got 0.9"),
    "payer named like a provider": (_all(), {"payers": [{"name": "pc_a"}]},
                                    "payer and provider names must differ"),
    "provider named population": (
        _all(), {"providers": [{"name": "population", "kind": "primary_care",
                                "panel_share": 1.0}]},
        "'population' is the `entity` of the population's results"),
    "quality scale without a range": (
        _all(), {"quality": {"annual_visit_share": {"floor": 0.8, "ceiling": 0.8}}},
        "quality.annual_visit_share: floor and ceiling must differ"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_plans_are_refused_before_running(case):
    plan, over, message = BAD[case]
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(_data(plan, **over))
    assert message in str(err.value)


def test_the_refusal_names_the_file(tmp_path):
    path = tmp_path / "aco_short_history.yaml"
    path.write_text("warmup_years: 2\nplan:\n  - years: all\n    contracts:\n"
                    "      - {type: mssp, aco: primary_care_group}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert "aco_short_history.yaml" in text and "set warmup_years >= 5" in text


GOOD = {
    # a given capitation rate needs no history
    "given rate, no warm-up": (_all({"type": "capitation", "provider": "pc_a",
                                     "area_rate_pmpm_usd": 30.0}), {"warmup_years": 0}),
    # a later start needs only the history it uses
    "MSSP from year 2, one history year": (
        [{"years": "all", "contracts": [{"type": "ffs"}]},
         {"years": [2], "contracts": [MSSP]}], {"warmup_years": 3}),
    # an agreement that began before the contract's first simulated year
    "agreement from year 0, contract from year 1": (
        [{"years": "all", "contracts": [{"type": "ffs"}]},
         {"years": "1-2", "contracts": [{**MSSP, "agreement_start_year": 0}]}], {}),
}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_edge_plans_are_accepted_and_settle(case):
    plan, over = GOOD[case]
    sc = scenario_from_dict(_data(plan, **over))
    r = run(sc, seed=1)
    assert np.isfinite(r.rows["value"]).all()
