"""Executors: serial, local processes and Dask give bit-identical results; no import effects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY, fake_replicate_failing, worker_settings

from sim.executors import (
    ProcessExecutor,
    SerialExecutor,
    TaskFailed,
    make_executor,
)
from sim.runner import ReplicationError, compare, run
from sim.scenario import scenario_from_dict

REPO = Path(__file__).resolve().parents[1]


def square(x: int) -> int:
    return x * x


def test_serial_and_process_executors_yield_every_item():
    for exe in (SerialExecutor(), ProcessExecutor(2)):
        got = dict(e for e in exe.run(square, [1, 2, 3, 4]) if e is not None)
        assert got == {0: 1, 1: 4, 2: 9, 3: 16}


def test_a_failing_item_names_its_index():
    with pytest.raises(TaskFailed) as info:
        list(SerialExecutor().run(lambda x: 1 / x, [1, 0]))
    assert info.value.index == 1 and isinstance(info.value.error, ZeroDivisionError)


def test_make_executor_choices(monkeypatch):
    assert isinstance(make_executor(workers=1), SerialExecutor)
    assert make_executor(workers=4, tasks=2).workers == 2
    with pytest.raises(ValueError, match="not both"):
        make_executor(scheduler="tcp://x:1", dask_local=2)


def test_importing_sim_has_no_global_side_effects():
    code = (
        "import multiprocessing, sys\n"
        "import sim, sim.runner, sim.executors, sim.experiment, sim.sensitivity, sim.comparison\n"
        "assert multiprocessing.get_start_method(allow_none=True) is None\n"
        "assert 'dask' not in sys.modules and 'distributed' not in sys.modules\n"
        "assert 'SALib' not in sys.modules and 'tqdm' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert proc.returncode == 0, proc.stderr


def test_dask_failure_names_the_replication(tiny_scenario):
    pytest.importorskip("distributed")
    with pytest.raises(ReplicationError, match="replication 1 failed: ValueError: boom"):
        run(tiny_scenario, replications=3, replicate=fake_replicate_failing, dask_local=1,
            progress=False)


def test_local_dask_workers_are_set_up_for_cpu_bound_tasks():
    """The local cluster's workers run without Dask's malloc-trim setting, profiler and GIL
    monitor (each costs run time on pure-Python replications), keep one BLAS thread, and
    the caller's Dask configuration is left as it was, also for a second cluster."""
    pytest.importorskip("distributed")
    import dask

    from sim.executors import DaskExecutor

    before = dask.config.get("distributed.nanny.pre-spawn-environ")
    for _ in range(2):
        got = [r for e in DaskExecutor(local_workers=1).run(worker_settings, [0])
               if e is not None for r in [e[1]]]
        assert got == [{"malloc_trim": None, "omp_threads": "1", "profile": False,
                        "gil_monitor": False}]
        assert dask.config.get("distributed.nanny.pre-spawn-environ") == before
        assert dask.config.get("distributed.worker.profile.enabled") is True
        assert dask.config.get("distributed.comm.require-encryption") is None


@pytest.mark.slow
def test_serial_processes_and_dask_give_identical_results():
    pytest.importorskip("distributed")
    dist = {"dist": "gamma", "mean": 0.15, "sd": 0.03}
    # No warm-up years: what is compared is how the executors run and assemble the tasks
    # (2 scenarios x 2 replications: 4 tasks, more than the 2 workers, so that they are
    # spread, finish out of order and are put back in order; behaviour on, so that the
    # optimiser's choices are compared too).
    a = scenario_from_dict({**TINY, "name": "a", "replications": 2, "warmup_years": 0,
                            "clinical": {"admissions": {"rate_per_year": dist}}})
    b = scenario_from_dict({**TINY, "name": "b", "replications": 2, "warmup_years": 0, "providers": [
        {"name": "primary_care_group", "kind": "primary_care", "panel_share": 1.0,
         "levers": {"prevention_effort": 0.7}}],
        "clinical": {"admissions": {"rate_per_year": dist}}})
    serial = compare([a, b], workers=1, progress=False)
    procs = compare([a, b], workers=2, progress=False)
    dask = compare([a, b], dask_local=2, progress=False)
    assert (serial.backend, procs.backend, dask.backend) == ("serial", "processes", "dask")
    for other in (procs, dask):
        pd.testing.assert_frame_equal(serial.results, other.results)
        pd.testing.assert_frame_equal(serial.draws, other.draws)
        assert serial.tables.keys() == other.tables.keys()
        for name in serial.tables:
            pd.testing.assert_frame_equal(serial.tables[name], other.tables[name])
