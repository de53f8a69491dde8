"""Worker faults: local worker processes end with their parent, even when it is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sim.results.lock import process_alive

REPO = Path(__file__).resolve().parents[1]

#: A script that runs slow items on two local worker processes; each item writes its
#: worker's pid to a file in the directory given, then sleeps.
SLOW_POOL = textwrap.dedent("""
    import os, sys, threading, time
    from pathlib import Path

    from sim.executors import ProcessExecutor


    def slow(item):
        folder, seconds = item
        (Path(folder) / str(os.getpid())).write_text("")
        time.sleep(seconds)
        return os.getpid()


    def main():
        for _ in ProcessExecutor(2).run(slow, [(sys.argv[1], 120)] * 4):
            pass


    if __name__ == "__main__":
        if sys.argv[2] == "thread":  # not the main thread: no PR_SET_PDEATHSIG, the watcher
            worker = threading.Thread(target=main)
            worker.start()
            worker.join()
        else:
            main()
""")


def _wait_for(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.skipif(os.name != "posix", reason="kill -9 is POSIX")
@pytest.mark.parametrize("where", ["main", "thread"])
def test_workers_end_when_their_parent_is_killed(tmp_path, where):
    script = tmp_path / "slow_pool.py"
    script.write_text(SLOW_POOL)
    pids_dir = tmp_path / "pids"
    pids_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    parent = subprocess.Popen([sys.executable, str(script), str(pids_dir), where], cwd=tmp_path,
                              env=env)
    workers: list[int] = []
    try:
        assert _wait_for(lambda: len(list(pids_dir.iterdir())) >= 2, 60), \
            "the two workers did not start"
        workers = [int(p.name) for p in pids_dir.iterdir()]
        assert all(process_alive(pid) for pid in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        assert _wait_for(lambda: not any(process_alive(pid) for pid in workers), 5), \
            f"workers still running after their parent was killed: {workers}"
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in workers:  # never leave a stray process behind, even if the test fails
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)


def exit_on_two(x: int) -> int:
    """Item 2 ends its worker process abruptly, as a crash in native code would."""
    if x == 2:
        os._exit(3)
    time.sleep(0.2)
    return x


def segfault_on_one(x: int) -> int:
    if x == 1:
        import ctypes

        ctypes.string_at(0)  # reads address 0: SIGSEGV
    time.sleep(0.2)
    return x


@pytest.mark.parametrize(("fn", "index", "how"), [
    (exit_on_two, 2, "exit code 3"),
    pytest.param(segfault_on_one, 1, "killed by SIGSEGV",
                 marks=pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")),
])
def test_a_dead_worker_names_the_item_it_ran(fn, index, how):
    from sim.executors import ProcessExecutor, TaskFailed, WorkerDied

    with pytest.raises(TaskFailed) as info:
        list(ProcessExecutor(2).run(fn, [0, 1, 2, 3, 4, 5]))
    assert info.value.index == index
    assert isinstance(info.value.error, WorkerDied)
    assert how in str(info.value) and "died abruptly" in str(info.value)


#: A script that starts workers when imported (no ``if __name__ == "__main__":``): each
#: spawned worker imports it and fails to start workers of its own.
UNGUARDED = textwrap.dedent("""
    from sim.executors import ProcessExecutor


    def double(x):
        return 2 * x


    print(list(ProcessExecutor(2).run(double, [1, 2, 3])))
""")


def test_workers_that_fail_to_start_under_an_unguarded_script_say_why(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    # the exception's line (multiprocessing's resource tracker may warn after it)
    errors = [line for line in done.stderr.strip().splitlines()
              if line.startswith("sim.executors.TaskFailed") or "WorkerDied:" in line]
    assert errors, done.stderr
    last = errors[-1]
    assert "ended before it ran any item (exit code 1" in last, last
    assert str(script) in last and 'if __name__ == "__main__":' in last, last
    assert "out-of-memory" not in last, last


@pytest.mark.slow
def test_a_wrong_dask_scheduler_address_fails_fast_and_clearly(monkeypatch):
    pytest.importorskip("distributed")
    import socket

    import sim.executors
    from sim.executors import DaskExecutor, SchedulerUnreachable

    # The connect timeout (10 s shipped) at 1 s: the test checks that the wait is bounded
    # by it and the message, not the shipped value.
    monkeypatch.setattr(sim.executors, "CONNECT_TIMEOUT_SECONDS", 1)
    CONNECT_TIMEOUT_SECONDS = 1

    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    started = time.monotonic()
    with pytest.raises(SchedulerUnreachable,
                       match=f"cannot reach the Dask scheduler at {address}") as info:
        list(DaskExecutor(address=address).run(abs, [1]))
    assert time.monotonic() - started < CONNECT_TIMEOUT_SECONDS + 15
    assert info.value.__cause__ is None  # no Dask traceback chained in
