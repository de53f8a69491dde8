"""Cross-field checks that refuse at load what would otherwise crash or mislead at run time
(issue 18 item 5): the counterparts of the broken files in ``broken/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.fields import MAX_FEE_USD
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.schema import Prices

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
ZERO_PRICES = {name: 0 for name in Prices.model_fields if name.endswith("_usd")}


def _write(tmp_path: Path, base: str, body: str) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(f"extends: {SCENARIOS / base}\n{body}", encoding="utf-8")
    return path


def _prices(values: dict[str, float]) -> str:
    return "prices:\n" + "".join(f"  {k}: {v}\n" for k, v in values.items())


@pytest.mark.parametrize("base", ["mssp_one_sided.yaml", "reach_global.yaml",
                                  "bundled_joint_replacement.yaml"])
def test_zero_prices_refused_for_spending_contracts(tmp_path: Path, base: str) -> None:
    with pytest.raises(ScenarioError, match="every \\*_usd price is 0"):
        load_scenario(_write(tmp_path, base, _prices(ZERO_PRICES)))


def test_zero_prices_allowed_without_spending_contract(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, "ffs_baseline.yaml", _prices(ZERO_PRICES)))
    assert scenario.prices.pcp_visit_usd == 0


def test_one_positive_price_is_enough(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, "mssp_one_sided.yaml",
                                    _prices({**ZERO_PRICES, "pcp_visit_usd": 125})))
    assert scenario.prices.pcp_visit_usd == 125


def test_price_at_the_bound_is_accepted(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, "ffs_baseline.yaml",
                                    _prices({"admission_mean_usd": MAX_FEE_USD})))
    assert scenario.prices.admission_mean_usd == MAX_FEE_USD


def test_increasing_corridors_accepted(tmp_path: Path) -> None:
    body = """plan:
  - years: all
    contracts:
      - {type: ffs, payer: medicare}
      - type: capitation
        provider: primary_care_group
        scope: total_cost
        corridors: [{upper: 0.03, provider_share: 1.0}, {upper: 0.10, provider_share: 0.5}]
"""
    scenario = load_scenario(_write(tmp_path, "capitation_global.yaml", body))
    corridors = scenario.plan[0].contracts[1].corridors
    assert [c.upper for c in corridors] == [0.03, 0.10]


def test_mssp_before_2023_without_alternative_standard_accepted(tmp_path: Path) -> None:
    body = """economics: {first_calendar_year: 2012}
plan:
  - years: all
    contracts:
      - {type: ffs, payer: medicare}
      - {type: mssp, payer: medicare, aco: primary_care_group, track: BASIC_B,
         quality_standard_score: 40, alternative_standard_score: 40}
"""
    scenario = load_scenario(_write(tmp_path, "mssp_one_sided.yaml", body))
    assert scenario.economics.first_calendar_year == 2012


def test_mssp_alternative_standard_refused_in_the_first_early_year(tmp_path: Path) -> None:
    # Plan years 0-2 are PY2020-2022: the first of them is named. A score-only alternative
    # standard set by hand cannot apply before PY2023; the default (none: the rule's own
    # years, sim.contracts.quality.quality_standard_met) needs no refusal.
    contract = """plan:
  - years: all
    contracts:
      - {type: ffs, payer: medicare}
      - {type: mssp, payer: medicare, aco: primary_care_group, track: BASIC_B,
         quality_standard_score: 40, alternative_standard_score: 30}
"""
    body = "economics: {first_calendar_year: 2020}\nhorizon_years: 5\n" + contract
    with pytest.raises(ScenarioError, match="plan year 0 .*performance year 2020"):
        load_scenario(_write(tmp_path, "mssp_one_sided.yaml", body))
    assert load_scenario(_write(tmp_path, "mssp_one_sided.yaml",
                                "economics: {first_calendar_year: 2020}\n"))
    ok = load_scenario(_write(tmp_path, "mssp_one_sided.yaml",
                              "economics: {first_calendar_year: 2023}\n"))
    assert ok.economics.first_calendar_year == 2023


def test_empty_corridors_refused(tmp_path: Path) -> None:
    body = """plan:
  - years: all
    contracts:
      - {type: ffs, payer: medicare}
      - {type: capitation, provider: primary_care_group, scope: total_cost, corridors: []}
"""
    with pytest.raises(ScenarioError, match="plan.0.contracts.1.corridors: give at least one band"):
        load_scenario(_write(tmp_path, "capitation_global.yaml", body))


# --------------------------------------------------------------------------- feasibility
# (the refused cases: broken/mortality_empties_panel.yaml, broken/bundle_population_too_small.yaml)


def test_extreme_mortality_is_fine_when_deaths_are_replaced(tmp_path: Path) -> None:
    body = ("population: {size: 200}\nclinical:\n  mortality: {rate_at_65_per_year: 1.0, "
            "gompertz_slope_per_year: 0.3}\n")
    scenario = load_scenario(_write(tmp_path, "ffs_baseline.yaml", body))
    assert scenario.population.replace_deaths


def test_a_shrinking_panel_that_keeps_patients_is_accepted(tmp_path: Path) -> None:
    from sim.scenario.feasibility import MIN_SURVIVORS, expected_survivors

    scenario = load_scenario(_write(tmp_path, "ffs_baseline.yaml",
                                    "population: {size: 500, replace_deaths: false}\n"))
    assert expected_survivors(scenario) > MIN_SURVIVORS


def test_survivor_bound_is_above_what_the_simulation_keeps() -> None:
    """The bound never refuses a panel that the care model keeps: compare it with the
    person-years of the last simulated year of a high-mortality shrinking panel."""
    import numpy as np

    from sim.replication import simulate_replication
    from sim.scenario import scenario_from_dict
    from sim.scenario.feasibility import expected_survivors

    sc = scenario_from_dict({"population": {"size": 1000, "replace_deaths": False},
                             "horizon_years": 2, "warmup_years": 2, "behavior": "fixed",
                             "clinical": {"mortality": {"rate_at_65_per_year": 0.2,
                                                        "gompertz_slope_per_year": 0.1}}})
    out = simulate_replication(sc, 0, np.random.SeedSequence(1)).results
    py = out[(out.entity == "population") & (out.metric == "person_years")]
    alive_last_year = float(py.loc[py.year == py.year.max(), "value"].iloc[0])
    assert expected_survivors(sc) > alive_last_year  # 549 > 197 (person-years of plan year 1)


def test_bundle_estimate_is_close_to_the_simulated_baseline() -> None:
    """At 2,000 patients the estimate (69.5) is near the 62 baseline episodes simulated
    (seed 1): the threshold of 10 expected episodes means about 9 simulated."""
    from sim.contracts.bundled.feasibility import expected_baseline_episodes

    sc = load_scenario(SCENARIOS / "bundled_joint_replacement.yaml")
    sc = sc.model_copy(update={"population": sc.population.model_copy(update={"size": 2000})})
    assert expected_baseline_episodes(sc, sc.plan[0].contracts[1]) == pytest.approx(69.5, abs=0.5)


def test_bundle_with_enough_patients_is_accepted(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, "bundled_joint_replacement.yaml",
                                    "population: {size: 300}\n"))
    assert scenario.population.size == 300


def test_bundle_initiated_by_a_primary_care_group_counts_its_share(tmp_path: Path) -> None:
    from sim.contracts.bundled.feasibility import expected_baseline_episodes

    scenario = load_scenario(_write(tmp_path, "bundled_joint_replacement.yaml",
                                    "population: {size: 5000}\n"))
    hospital = expected_baseline_episodes(scenario, scenario.plan[0].contracts[1])
    pcp = scenario.plan[0].contracts[1].model_copy(update={"provider": "primary_care_group"})
    share = next(p.panel_share for p in scenario.providers if p.name == "primary_care_group")
    assert expected_baseline_episodes(scenario, pcp) == pytest.approx(hospital * share)
