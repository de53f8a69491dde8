"""The year loop: the care stepper, settlement year by year once the run-out is recorded,
and the read-only views behaviour gets."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.care.engine import CareSimulation, simulate_population
from sim.metrics import population_metrics, readmitted_within_30d
from sim.replication import simulate_replication
from sim.scenario import load_scenario
from sim.settlement import settle_run

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def _scenario(name: str, size: int = 1500, **update):
    sc = load_scenario(SCEN / f"{name}.yaml")
    return sc.model_copy(update={
        "population": sc.population.model_copy(update={"size": size}), **update})


@pytest.mark.parametrize("name", ["mssp_two_sided", "bundled_joint_replacement"])
def test_loop_settles_each_year_as_the_finished_run(name):
    """With fixed behaviour, settling each year inside the loop (as soon as its run-out is
    in the ledger) gives exactly what settling the finished run gives."""
    sc = _scenario(name, behavior="fixed")
    out = simulate_replication(sc, 0, np.random.SeedSequence(3)).results
    care = simulate_population(sc, np.random.SeedSequence(3))
    settled = settle_run(sc, care.ledger, care.population, care.providers, care.levers_by_year)
    metrics = population_metrics(care.ledger, sc.horizon_years)
    expected = [(y, "population", k, v) for y, row in metrics.items() for k, v in row.items()]
    expected += settled.rows
    got = out[~out["metric"].str.startswith(("lever_", "incentive_"))]
    got = list(got[["year", "entity", "metric", "value"]].itertuples(index=False, name=None))
    assert len(got) == len(expected) > 0
    assert got == expected  # same order, same floats


def test_year_is_complete_once_its_runout_is_recorded():
    """After plan year y+1 closes (no stay begun within 30 days of y's end still open),
    year y's readmission flags are those of the finished run; right after y closes they
    may not be, and the stepper says so."""
    sc = _scenario("ffs_baseline", size=3000, horizon_years=3, warmup_years=1)
    care = CareSimulation(sc, np.random.SeedSequence(5))
    flags = {}
    complete = {}
    for _ in range(care.sim_years):
        care.start_year()
        care.run_to_year_end()
        record = care.close_year()
        if record.plan_year >= 0:
            complete[(record.plan_year, record.plan_year)] = care.runout_complete(
                record.plan_year, record)
        if record.plan_year >= 1:
            y = record.plan_year - 1
            complete[(y, record.plan_year)] = care.runout_complete(y, record)
            adm = care.ledger.admissions
            flags[y] = readmitted_within_30d(adm)[adm["year"] == y]
    assert not complete[(0, 0)] and not complete[(1, 1)]  # the window is not over yet
    assert complete[(2, 2)]  # the horizon: whatever was recorded
    adm = care.ledger.admissions
    final = readmitted_within_30d(adm)
    for y, f in flags.items():
        if complete[(y, y + 1)]:
            assert np.array_equal(f, final[adm["year"] == y])
    assert complete[(0, 1)] or complete[(1, 2)]  # long stays over a year end are rare


def test_behaviour_reads_only_views():
    """What the lever choice gets cannot change the simulation: the panel arrays and the
    ledger's claim blocks are read-only."""
    sc = _scenario("ffs_baseline", size=500, horizon_years=2, warmup_years=1)
    seen = []

    def choose(year, panel):
        with pytest.raises(ValueError):
            panel.alive[0] = False
        with pytest.raises(TypeError):
            panel.levers["x"] = None
        seen.append((year, float(panel.age.mean())))
        return None

    run = simulate_population(sc, np.random.SeedSequence(1), choose_levers=choose)
    assert [y for y, _ in seen] == [-1, 0]
    assert seen[1][1] > seen[0][1]  # a year older (entrants aside)
    block = run.ledger.claims_in(0)
    with pytest.raises(ValueError):
        block["amount"][0] = 0.0
    whole = pd.DataFrame(run.ledger.claims)
    assert whole["year"].tolist() == sorted(whole["year"].tolist())
    assert len(whole) == len(block["amount"]) + len(run.ledger.claims_in(1)["amount"])
