"""One replication of one scenario: the pure, picklable unit of work of an experiment.

``simulate_replication`` runs the fixed per-year order (levers -> simulate the year ->
settle -> metrics) and returns the replication's rows of the tidy results table plus any
side tables (e.g. itemised settlements). It touches no global state and draws every random
number from generators derived from ``seed_seq``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.behaviour.decide import BehaviourHook
from sim.behaviour.expected import LEVER_NAMES
from sim.care.engine import simulate_population
from sim.metrics import population_metrics
from sim.results.table import RESULT_COLUMNS, tidy
from sim.scenario.schema import Scenario
from sim.settlement import settle_run


@dataclass
class ReplicationOutput:
    """What one replication produced: tidy result rows and named side tables."""

    results: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def simulate_replication(
    scenario: Scenario, replication: int, seed_seq: np.random.SeedSequence
) -> ReplicationOutput:
    """Run replication ``replication`` of ``scenario`` with the random streams of ``seed_seq``."""
    behaviour = BehaviourHook(scenario)
    run = simulate_population(scenario, seed_seq, on_year_end=behaviour)
    settlement = settle_run(scenario, run, run.levers_by_year)
    metrics = population_metrics(run.ledger, scenario.horizon_years)
    rows = [
        (replication, scenario.name, year, "population", name, value)
        for year, values in metrics.items()
        for name, value in values.items()
    ]
    rows += [(replication, scenario.name, year, entity, metric, value)
             for year, entity, metric, value in settlement.rows]
    for d in behaviour.decisions:
        rows += [(replication, scenario.name, d.year, d.provider, f"lever_{n}", getattr(d.levers, n))
                 for n in LEVER_NAMES]
        rows += [(replication, scenario.name, d.year, d.provider, f"incentive_{n}_usd", v)
                 for n, v in d.incentives.items()]
    results = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    flows = settlement.flows
    flows.insert(0, "scenario", scenario.name)
    flows.insert(0, "replication", replication)
    tables = {"settlements": settlement.statements_frame(replication=replication,
                                                         scenario=scenario.name),
              "cash_flows": flows}
    return ReplicationOutput(results=tidy(results), tables=tables)
