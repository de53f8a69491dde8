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

from sim.scenario.schema import Scenario

RESULT_COLUMNS = ["replication", "scenario", "year", "entity", "metric", "value"]


@dataclass
class ReplicationOutput:
    """What one replication produced: tidy result rows and named side tables."""

    results: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def simulate_replication(
    scenario: Scenario, replication: int, seed_seq: np.random.SeedSequence
) -> ReplicationOutput:
    """Run replication ``replication`` of ``scenario`` with the random streams of ``seed_seq``."""
    raise NotImplementedError("care model not wired yet")
