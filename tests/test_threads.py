"""A task runs with one BLAS thread (sim.threads): multi-threaded BLAS only spins on a
replication's small linear algebra. The limit is lifted after the task."""

from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from sim.experiment import Task, execute_task
from sim.scenario import load_scenario
from sim.threads import ENV, blas_thread_limit, blas_threads_limited

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "ffs_baseline.yaml"


def _blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


class _Seen(Exception):
    pass


def test_the_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert blas_thread_limit() == 1
    monkeypatch.setenv(ENV, "3")
    assert blas_thread_limit() == 3
    monkeypatch.setenv(ENV, "0")
    assert blas_thread_limit() is None
    for bad in ("two", "-1"):
        monkeypatch.setenv(ENV, bad)
        with pytest.raises(ValueError, match=f"{ENV}='{bad}'"):
            blas_thread_limit()


def test_a_task_runs_with_one_blas_thread_and_the_pools_are_restored(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    before = _blas_threads()
    if not before:
        pytest.skip("NumPy's BLAS is not visible to threadpoolctl")
    seen: list[list[int]] = []

    def replicate(scenario, replication, seed_seq):
        seen.append(_blas_threads())
        raise _Seen

    sc = load_scenario(SCENARIO)
    with pytest.raises(_Seen):
        execute_task(replicate, Task(0, sc, 0, np.random.SeedSequence(1)))
    assert seen and all(n == 1 for n in seen[0])
    assert _blas_threads() == before
    monkeypatch.setenv(ENV, "0")  # 0: the pools are left as they are
    with blas_threads_limited():
        assert _blas_threads() == before


def test_a_block_inside_another_keeps_the_outer_limit(monkeypatch):
    """Nested blocks (the behaviour's inside a task's) set the limit once: the inner one is
    free and the outer one restores the pools."""
    import threadpoolctl

    monkeypatch.delenv(ENV, raising=False)
    calls = []
    real = threadpoolctl.threadpool_limits

    def counted(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(threadpoolctl, "threadpool_limits", counted)
    before = _blas_threads()
    with blas_threads_limited():
        with blas_threads_limited():
            assert all(n == 1 for n in _blas_threads())
        assert all(n == 1 for n in _blas_threads())
    assert len(calls) == 1 and _blas_threads() == before
