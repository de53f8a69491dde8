"""Per-task time limits: custom contract code that hangs, exits or crashes cannot hang the
run or end it without a message (issue 18, item 6). Real processes; each test < ~10 s."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sim.contracts import BaseSettler
from sim.executors import (
    ProcessExecutor,
    SerialExecutor,
    TaskFailed,
    TaskTimedOut,
)
from sim.resources import MIN_TIMEOUT_SECONDS, default_task_timeout, resolve_task_timeout
from sim.results.lock import process_alive as _alive
from sim.scenario import scenario_from_dict
from sim.settlement import register_custom

REPO = Path(__file__).resolve().parents[1]


def _wait_gone(pids: list[int], seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return not any(_alive(p) for p in pids)


def hang_on_one(item: tuple[str, int]) -> int:
    """Item 1 hangs (a sleep far beyond the limit); every item notes its worker's pid."""
    folder, x = item
    (Path(folder) / str(os.getpid())).write_text("")
    if x == 1:
        time.sleep(600)
    return x


# --------------------------------------------------------------------------- executors


def test_a_hanging_item_on_worker_processes_fails_in_time_and_its_workers_are_stopped(tmp_path):
    started = time.monotonic()
    with pytest.raises(TaskFailed) as info:
        list(ProcessExecutor(2, task_timeout=1.5).run(hang_on_one,
                                                      [(str(tmp_path), x) for x in range(4)]))
    assert time.monotonic() - started < 30  # 600 s without the limit
    assert info.value.index == 1
    assert isinstance(info.value.error, TaskTimedOut)
    assert "task timeout of 1.5 s" in str(info.value)
    pids = [int(p.name) for p in tmp_path.iterdir()]
    try:
        assert pids and _wait_gone(pids, 10), f"workers still running: {pids}"
    finally:
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_items_within_the_limit_are_not_affected():
    # None is the executor's heartbeat while nothing has finished (e.g. workers still
    # starting on a busy machine), not a result
    out = dict(e for e in ProcessExecutor(2, task_timeout=60).run(abs, [-1, -2, -3])
               if e is not None)
    assert out == {0: 1, 1: 2, 2: 3}


def _busy_loop_swallowing_exceptions(x: int) -> int:
    while x == 1:
        try:
            sum(range(1000))
        except Exception:  # a careless item cannot swallow the time limit
            pass
    return x


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="SIGALRM timer is POSIX")
def test_a_hanging_item_in_this_process_is_interrupted():
    started = time.monotonic()
    with pytest.raises(TaskFailed) as info:
        list(SerialExecutor(task_timeout=0.5).run(_busy_loop_swallowing_exceptions, [0, 1, 2]))
    assert time.monotonic() - started < 5
    assert info.value.index == 1 and isinstance(info.value.error, TaskTimedOut)
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL  # handler restored
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # timer off


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "x", True])
def test_a_bad_time_limit_is_refused(bad):
    with pytest.raises(ValueError, match="task_timeout: expected a number of seconds"):
        SerialExecutor(task_timeout=bad)


# --------------------------------------------------------------------------- defaults


def _scenario(kind: str | None, size: int = 300) -> object:
    contracts: list[dict] = [{"type": "ffs"}]
    if kind is not None:
        contracts.append({"type": "custom", "kind": kind, "provider": "primary_care_group"})
    return scenario_from_dict({"population": {"size": size}, "horizon_years": 1,
                               "warmup_years": 0, "replications": 2, "behavior": "fixed",
                               "plan": [{"contracts": contracts}]})


def test_default_time_limit_only_with_custom_code():
    assert default_task_timeout([_scenario(None)]) is None
    assert default_task_timeout([_scenario("sleepy")]) == MIN_TIMEOUT_SECONDS
    big = _scenario("sleepy", size=2_000_000)  # 2e6 patient-years: a pessimistic 400 s
    assert default_task_timeout([big]) == pytest.approx(4000.0)
    assert resolve_task_timeout(0, [_scenario("sleepy")]) is None
    assert resolve_task_timeout(12.5, [_scenario(None)]) == 12.5
    with pytest.raises(ValueError, match=r"seconds >= 0 \(0: no limit; None: the default\), "
                                         "got -3"):
        resolve_task_timeout(-3, [_scenario(None)])


# --------------------------------------------------------------------------- custom contracts


class SleepySettler(BaseSettler):
    """Hangs when it settles (as buggy custom code might)."""

    def settle(self, ctx, year, book):
        time.sleep(600)


class ExitingSettler(BaseSettler):
    """Ends its process abruptly, as a crash in native code would."""

    def settle(self, ctx, year, book):
        os._exit(3)


class SegfaultingSettler(BaseSettler):
    def settle(self, ctx, year, book):
        import ctypes

        ctypes.string_at(0)  # SIGSEGV


def test_a_hanging_custom_contract_stops_the_run_with_a_clear_message():
    import sim
    from sim.runner import ReplicationError

    register_custom("sleepy", SleepySettler)
    started = time.monotonic()
    with pytest.raises(ReplicationError) as info:
        sim.run(_scenario("sleepy"), workers=2, task_timeout=2, progress=False)
    assert time.monotonic() - started < 40
    message = str(info.value)
    assert "of scenario 'scenario'" in message and "replication" in message
    assert "task timeout of 2 s" in message and "custom contract 'sleepy'" in message
    assert "--task-timeout SECONDS" in message and "task_timeout=" in message
    assert "worker processes were stopped" in message


@pytest.mark.parametrize(("cls", "how"), [
    (ExitingSettler, "exit code 3"),
    pytest.param(SegfaultingSettler, "killed by SIGSEGV",
                 marks=pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")),
])
def test_a_custom_contract_that_kills_its_worker_is_reported(cls, how):
    import sim
    from sim.runner import ReplicationError

    register_custom(cls.__name__, cls)
    with pytest.raises(ReplicationError) as info:
        sim.run(_scenario(cls.__name__), workers=2, progress=False)
    message = str(info.value)
    assert message.startswith("replication ")
    assert "died abruptly" in message and how in message


HANG_MODULE = textwrap.dedent("""
    import os, time
    from pathlib import Path

    from sim.contracts import BaseSettler


    class Hang(BaseSettler):
        def settle(self, ctx, year, book):
            Path(os.environ["PIDS"], str(os.getpid())).write_text("")
            while True:
                time.sleep(0.05)
""")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_cli_task_timeout_stops_a_hanging_contract(tmp_path, workers):
    (tmp_path / "hangmod.py").write_text(HANG_MODULE, encoding="utf-8")
    (tmp_path / "hang.yaml").write_text(
        "name: hang\nhorizon_years: 1\nwarmup_years: 0\nreplications: 2\nbehavior: fixed\n"
        "population: {size: 200}\nplan:\n  - contracts:\n      - {type: ffs}\n"
        "      - {type: custom, kind: 'hangmod:Hang', provider: primary_care_group}\n",
        encoding="utf-8")
    pids = tmp_path / "pids"
    pids.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)]),
           "PIDS": str(pids)}
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", "hang.yaml", "--allow-code", "--quiet",
         "--task-timeout", "1.5", "--workers", workers, "--out", "out"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert re.search(r"replication [01] of scenario 'hang' failed", proc.stderr), proc.stderr
    assert "task timeout of 1.5 s" in proc.stderr and "--task-timeout" in proc.stderr
    ran = [int(p.name) for p in pids.iterdir()]
    assert ran
    assert _wait_gone(ran, 10), f"processes still running: {ran}"


def test_cli_refuses_a_bad_task_timeout(capsys):
    from sim.cli import main

    assert main(["run", "x.yaml", "--task-timeout", "nan"]) == 2
    assert "expected a finite number of seconds >= 0" in capsys.readouterr().err
