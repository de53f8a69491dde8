"""Shared test helpers: a fake replication function and tiny scenarios.

The fakes are module-level functions so that worker processes can unpickle them (they are
found as ``conftest.<name>``; keep this file the only un-packaged ``conftest.py`` on the path
of the runner tests, or move the fakes). Tests that need the real care model simply run it
at a small size (e.g. :data:`TINY`).
"""

from __future__ import annotations

import dataclasses
import gc
import os
import time
from pathlib import Path

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


REPO = Path(__file__).resolve().parents[1]

#: A run long enough to be stopped midway (12 replications), short enough to run three
#: times: the checkpoint and signal tests stop it, resume it and compare it with
#: :func:`killme_whole`.
KILL_YAML = """\
name: killme
population: {size: 600}
horizon_years: 2
warmup_years: 1
replications: 12
seed: 3
clinical:
  admissions:
    rate_per_year: {dist: gamma, mean: 0.15, sd: 0.02}
"""


@pytest.fixture(scope="session")
def killme_whole(tmp_path_factory) -> Path:
    """The results directory of an uninterrupted ``vbcsim run`` of :data:`KILL_YAML`
    (2 workers; the results do not depend on the number of workers)."""
    import contextlib
    import io

    from sim.cli import main

    root = tmp_path_factory.mktemp("killme")
    scen = root / "killme.yaml"
    scen.write_text(KILL_YAML)
    out = root / "whole"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["run", str(scen), "--out", str(out), "-w", "2", "-q"]) == 0
    return out


#: The library scenarios of the shared small comparison (see :func:`small_comparison`).
SMALL_NAMES = ["ffs_baseline", "mssp_one_sided", "capitation_global"]


def small_library_scenario(name: str, size: int = 500, years: int = 2) -> Scenario:
    """A library scenario (``scenarios/<name>.yaml``) at ``size`` patients and ``years`` plan
    years, everything else as shipped (behaviour on)."""
    from sim.scenario import load_scenario

    sc = load_scenario(REPO / "scenarios" / f"{name}.yaml")
    return sc.model_copy(update={"population": sc.population.model_copy(update={"size": size}),
                                 "horizon_years": years,
                                 # a test panel is below an ACO's 5,000-beneficiary floor
                                 "attribution": sc.attribution.model_copy(
                                     update={"enforce_minimum": False})})


@pytest.fixture(scope="session")
def small_comparison():
    """One tiny real experiment shared by the plot and report tests: FFS, one-sided MSSP and
    global capitation from the library at 500 patients, 2 plan years, 3 replications, common
    random numbers, behaviour on."""
    import sim

    return sim.compare([small_library_scenario(n) for n in SMALL_NAMES], replications=3,
                       workers=1, progress=False)


def one_scenario(result, name: str):
    """The run of scenario ``name`` alone, taken out of a comparison with common random
    numbers: every replication of a compared scenario uses the seed sequence that ``sim.run``
    of that scenario (same seed and replications) uses, so the numbers are the same."""
    assert result.crn, "only a comparison with common random numbers holds single runs"
    (scenario,) = [s for s in result.scenarios if s.name == name]

    def pick(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["scenario"] == name].reset_index(drop=True)

    return dataclasses.replace(result, results=pick(result.results), scenario=scenario,
                               tables={k: pick(v) for k, v in result.tables.items()},
                               draws=pick(result.draws), scenarios=(), reference=None,
                               name=None)


def worker_settings(_: object) -> dict[str, object]:
    """What a worker process runs with (for the Dask local-cluster test)."""
    import os

    import dask

    return {"malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            "omp_threads": os.environ.get("OMP_NUM_THREADS"),
            "profile": dask.config.get("distributed.worker.profile.enabled"),
            "gil_monitor": dask.config.get("distributed.admin.system-monitor.gil.enabled")}


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the CPUs this process may use. Several tests wait
    on subprocesses, signals and timeouts with a CPU idle; a third worker on two CPUs fills
    those waits (measured on this 2-CPU machine, idle, fresh clone: 334 s with 2 workers,
    310 s with 3, slower with 4; benchmarks/README.md, "Test-suite time")."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return cpus + 1


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, tests sharing an expensive fixture run on one worker
    (:mod:`xdist_groups`)."""
    if config.pluginmanager.hasplugin("xdist"):
        from xdist_groups import FixtureGroups

        config.pluginmanager.register(FixtureGroups(config), "vbcsim-xdist-groups")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move every object alive after collection (modules of the project, pandas, scipy, the
    collected tests) to the collector's permanent generation (:func:`gc.freeze`): a full
    collection then skips them. The care model collects fully once per replication
    (``sim.care.engine``, to free the SimPy processes' reference cycles), and in a test
    process those ~10^5-10^6 long-lived objects made each collection cost 0.1-0.5 s, a
    fifth of a small replication. Only objects that exist now are frozen (none of them is
    garbage); everything a test creates is collected as before."""
    gc.collect()
    gc.freeze()
