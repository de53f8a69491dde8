"""One replication of one scenario: the pure, picklable unit of work of an experiment.

``simulate_replication`` is the year loop, top to bottom: choose the levers of the year
from what is known so far -> simulate the year -> settle the years whose run-out is
recorded -> their metrics. It returns the replication's rows of the tidy results table
plus side tables (itemised settlements, cash flows), changes no global state and draws
every random number from generators derived from ``seed_seq``; each closed year is
reported to :func:`sim.progress.year_closed` (for a progress bar in this process, if any).

The warm-up years come from :func:`sim.care.warmup.warmed_up`: simulated, or restored
from another scenario's identical warm-up in the same replication (bit-identical).

A plan year is settled, and its metrics computed, once everything its figures depend on
is in the ledger: the year itself and every hospital stay begun within the 30-day
readmission window after it (normally at the close of the following year; at the horizon,
whatever was recorded); a year with a contract that settles from the whole run (bundles:
episode spending sums over all claims) waits for the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.behaviour.decide import Behaviour
from sim.behaviour.expected import LEVER_NAMES
from sim.behaviour.hospital import HOSPITAL_ONLY
from sim.care.engine import CareSimulation, YearRecord
from sim.care.warmup import warmed_up
from sim.coding.programme import with_programme
from sim.metrics import population_metrics
from sim.progress import year_closed
from sim.results.table import RESULT_COLUMNS, results_frame  # noqa: F401 - RESULT_COLUMNS re-exported (tests/test_comparability.py imports it from here)
from sim.scenario.schema import Scenario
from sim.settlement import SettlementRun


@dataclass
class ReplicationOutput:
    """What one replication produced: tidy result rows and named side tables."""

    results: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def simulate_replication(
    scenario: Scenario, replication: int, seed_seq: np.random.SeedSequence,
    *, keep_claims: bool = False,
) -> ReplicationOutput:
    """Run replication ``replication`` of ``scenario`` with the random streams of ``seed_seq``.

    ``keep_claims=True`` also returns the simulated claims (:func:`claims_tables`) as side
    tables named ``claims:<name>`` (the runner writes them apart, see
    :mod:`sim.claims_saving`); no random draw changes."""
    sim_years = scenario.warmup_years + scenario.horizon_years
    # the warm-up years: simulated, or restored from another scenario's (sim.care.warmup)
    care, _ = warmed_up(scenario, seed_seq, lambda k: year_closed(k, sim_years))
    behaviour = Behaviour(scenario, seed_seq)
    settlement = SettlementRun(scenario, care.ledger, care.pop, care.providers, seed_seq)
    metrics: dict[int, dict[str, float]] = {}
    unsettled: list[int] = []
    for closed in range(care.warmup + 1, care.sim_years + 1):  # the plan years
        year = care.next_plan_year
        levers = None
        if year >= 0 and care.year >= 0:
            # 1. choose the levers from what is known so far (after plan year - 1 closed)
            levers = behaviour.choose(year - 1, care.panel(), care.ledger)
        if year >= 0:  # a documentation programme's coding (revenue_cycle.documentation)
            levers = with_programme(scenario, year, levers)
        # 2. simulate the year
        care.start_year(levers)
        care.run_to_year_end()
        record = care.close_year()
        if record.plan_year >= 0:
            unsettled.append(record.plan_year)
        while unsettled and _settleable(unsettled[0], record, care, settlement):
            done = unsettled.pop(0)
            # 3. settle the year, 4. its metrics
            settlement.settle_year(done, care.levers_by_year[done])
            metrics.update(population_metrics(care.ledger.only_year(done), [done],
                                              scenario.economics.discount_rate))
        year_closed(closed, care.sim_years)  # a progress bar listening in this process
    output = _output(scenario, replication, metrics, settlement, behaviour)
    if keep_claims:
        output.tables.update({CLAIMS_TABLE_PREFIX + name: table
                              for name, table in claims_tables(care).items()})
    return output


#: prefix of the side tables that hold a replication's kept claims (not a valid table name,
#: so they never clash with a side table of the results directory)
CLAIMS_TABLE_PREFIX = "claims:"


def claims_tables(care: CareSimulation) -> dict[str, pd.DataFrame]:
    """The plan-year claims of a finished replication, as they are in the ledger:
    ``claims`` (one row per claim), ``stays`` (one row per hospital stay), ``beneficiaries``
    (one row per patient who was a member in a plan year: sex, age at the start of the
    first plan year they were a member, death day) and ``providers`` (index -> name)."""
    led = care.ledger
    claims = pd.DataFrame({k: np.asarray(v) for k, v in led.claims.items()})
    claims = claims[claims["year"] >= 0].reset_index(drop=True)
    stays = pd.DataFrame({k: np.asarray(v) for k, v in led.admissions.items()})
    if len(stays):
        stays = stays[stays["year"] >= 0].reset_index(drop=True)
    plan = [y for y in led.years if y >= 0]
    member = np.stack([led.pyear("member", y) for y in plan])  # plan years x patients
    ever = member.any(axis=0)
    first = np.argmax(member, axis=0)
    ages = np.stack([led.pyear("age", y) for y in plan])
    patients = np.flatnonzero(ever)
    deaths = led.events.get("deaths", {})
    death_day = np.full(len(ever), np.nan)
    if len(deaths.get("patient", ())):
        death_day[deaths["patient"]] = deaths["day"]
    beneficiaries = pd.DataFrame({
        "patient": patients.astype(np.int32),
        "female": np.asarray(care.pop.female)[patients].astype(bool),
        "first_plan_year": np.asarray(plan, np.int16)[first[patients]],
        "age": ages[first[patients], patients].astype(np.float64),
        "last_plan_year": np.asarray(plan, np.int16)[
            len(plan) - 1 - np.argmax(member[::-1], axis=0)[patients]],
        "death_day": death_day[patients],
    })
    providers = pd.DataFrame({"provider": np.arange(len(led.provider_names), dtype=np.int16),
                              "name": list(led.provider_names)})
    claims, stays = _with_codes(care, claims, stays, plan, ages)
    return {"claims": claims, "stays": stays, "beneficiaries": beneficiaries,
            "providers": providers}


def _with_codes(care: CareSimulation, claims: pd.DataFrame, stays: pd.DataFrame,
                plan: list[int], ages: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The kept claims and stays with their codes (:mod:`sim.coding.codes`: HCPCS, place
    of service, revenue centre, ICD-10-CM, MS-DRG), derived after the run from the
    ``claim_codes`` stream, so no number of the run changes. Morbidity is the patient-year
    risk score of the plan year."""
    from sim.coding.codes import code_claims
    from sim.rng import stream

    led = care.ledger
    morbidity = np.stack([led.pyear("risk_score", y) for y in plan])
    codes, stay_codes = code_claims(claims, stays, np.asarray(care.pop.conditions),
                                    morbidity, ages, stream(care.seed_seq, "claim_codes"),
                                    prices=care.sc.prices if care.sc.coding_fees.em_level_pricing
                                    else None)  # E/M level = level paid (sim.coding.fees)
    claims = pd.concat([claims, codes], axis=1)
    if len(stays):
        stays = pd.concat([stays, stay_codes.add_prefix("code_")], axis=1)
    return claims, stays


def _settleable(year: int, record: YearRecord, care: CareSimulation,
                settlement: SettlementRun) -> bool:
    """Whether plan year ``year`` can be settled after the close reported by ``record``:
    at the horizon always; before, once its run-out is recorded, unless a contract in
    force settles from the whole run."""
    return record.last or (care.runout_complete(year, record)
                           and not settlement.needs_whole_run(year))


def _output(scenario: Scenario, replication: int, metrics: dict[int, dict[str, float]],
            settlement: SettlementRun, behaviour: Behaviour) -> ReplicationOutput:
    """The tidy rows (population metrics, settlement, decisions) and side tables."""
    settled = settlement.result()
    rows = [
        (replication, scenario.name, year, "population", name, value)
        for year, values in metrics.items()
        for name, value in values.items()
    ]
    rows += [(replication, scenario.name, year, entity, metric, value)
             for year, entity, metric, value in settled.rows]
    for d in behaviour.decisions:
        rows += [(replication, scenario.name, d.year, d.provider, f"lever_{n}", getattr(d.levers, n))
                 for n in (*LEVER_NAMES, *HOSPITAL_ONLY, "specialist_volume")
                 if n in d.controls]
        rows += [(replication, scenario.name, d.year, d.provider, f"incentive_{n}_usd", v)
                 for n, v in d.incentives.items()]
    results = results_frame(rows)
    flows = settled.flows
    flows.insert(0, "scenario", scenario.name)
    flows.insert(0, "replication", replication)
    tables = {"settlements": settled.statements_frame(replication=replication,
                                                      scenario=scenario.name),
              "cash_flows": flows}
    return ReplicationOutput(results=results, tables=tables)
