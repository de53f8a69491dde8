"""Shared test helpers: a fake replication function and tiny scenarios.

The fakes are module-level functions so that worker processes can unpickle them (they are
found as ``conftest.<name>``; keep this file the only un-packaged ``conftest.py`` on the path
of the runner tests, or move the fakes). Tests that need the real care model simply run it
at a small size (e.g. :data:`TINY`).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from sim.rng import stream
from sim.scenario import Scenario, scenario_from_dict

FAKE_METRICS = [
    # (entity, metric, typical value)
    ("population", "patients", 300.0),
    ("population", "payer_spending_usd", 3_500_000.0),
    ("population", "admissions_per_1000", 258.0),
    ("population", "mortality_rate", 0.045),
    ("primary_care_group", "margin_usd", 120_000.0),
]


def fake_replicate(scenario: Scenario, replication: int, seed_seq: np.random.SeedSequence):
    """A stand-in for the care model: noisy metrics drawn from the replication's stream."""
    from sim.replication import ReplicationOutput

    rng = stream(seed_seq, "fake")
    rows = []
    settlements = []
    for year in range(scenario.horizon_years):  # plan years 0..H-1, as the care model
        for entity, metric, typical in FAKE_METRICS:
            value = typical * float(rng.lognormal(0.0, 0.1))
            rows.append((replication, scenario.name, year, entity, metric, value))
        settlements.append((replication, year, "primary_care_group", float(rng.normal(0, 1e4))))
    results = pd.DataFrame(
        rows, columns=["replication", "scenario", "year", "entity", "metric", "value"]
    )
    table = pd.DataFrame(settlements, columns=["replication", "year", "entity", "payment_usd"])
    return ReplicationOutput(results=results, tables={"settlements": table})


def fake_replicate_reversed(scenario: Scenario, replication: int, seed_seq):
    """Like :func:`fake_replicate`, but early replications finish last."""
    time.sleep(0.05 * (scenario.replications - replication))
    return fake_replicate(scenario, replication, seed_seq)


def fake_replicate_failing(scenario: Scenario, replication: int, seed_seq):
    """Fails on replication 1."""
    if replication == 1:
        raise ValueError("boom in replication one")
    return fake_replicate(scenario, replication, seed_seq)


TINY = {
    "name": "tiny",
    "population": {"size": 300},
    "horizon_years": 2,
    "replications": 2,
    "seed": 7,
}

TINY_YAML = """\
name: tiny
population:
  size: 300
horizon_years: 2
replications: 2
seed: 7
"""


@pytest.fixture
def tiny_scenario() -> Scenario:
    return scenario_from_dict(dict(TINY), "<tiny>")


@pytest.fixture
def tiny_yaml(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML)
    return path


@pytest.fixture
def fake_model(monkeypatch):
    """Make the runner (and so the CLI) use :func:`fake_replicate` by default."""
    import sim.runner

    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
    return fake_replicate


def worker_settings(_: object) -> dict[str, object]:
    """What a worker process runs with (for the Dask local-cluster test)."""
    import os

    import dask

    return {"malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            "omp_threads": os.environ.get("OMP_NUM_THREADS"),
            "profile": dask.config.get("distributed.worker.profile.enabled"),
            "gil_monitor": dask.config.get("distributed.admin.system-monitor.gil.enabled")}
