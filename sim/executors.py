"""Executors: run one pure, picklable function over many work items, on some backend.

Every executor has the same small interface: ``run(fn, items)`` is a generator that yields
``(index, fn(items[index]))`` as items finish (in any order), and ``None`` now and then while
it waits (a heartbeat that lets a progress bar redraw). A failing item raises
:class:`TaskFailed` naming its index. Callers put results back in item order, so results do
not depend on the backend or the number of workers.

``task_timeout`` (seconds, ``None``: no limit) bounds how long one item may run, so that a
hanging item (custom contract code) cannot hang the run: the item fails with
:class:`TaskTimedOut` and the executor stops. Local worker processes are stopped by the
parent (whatever the item does); in this process (serial) the limit is a ``SIGALRM`` timer,
which interrupts Python code on the main thread of a POSIX system but not a hang inside
native code (use worker processes for that); Dask does not enforce it.

* :class:`SerialExecutor` — in this process, one item after the other;
* :class:`ProcessExecutor` — local worker processes (``concurrent.futures`` with an explicitly
  chosen ``spawn`` context: the global start method is never touched). Workers ignore
  Ctrl-C; the parent cancels what is pending and stops them. Workers end with their parent,
  even when it is killed;
* :class:`DaskExecutor` — a Dask distributed cluster: an existing scheduler (``address``) or
  a :class:`distributed.LocalCluster` of ``local_workers`` single-threaded processes started
  for the run and closed after it. Dask is imported only here, when used (optional extra
  ``vbcsim[dask]``).

Nothing here has side effects at import.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

START_METHOD = "spawn"
HEARTBEAT_SECONDS = 0.5

Events = Generator[tuple[int, Any] | None, None, None]


class TaskFailed(RuntimeError):
    """Work item ``index`` raised ``error``."""

    def __init__(self, index: int, error: BaseException) -> None:
        self.index = index
        self.error = error
        super().__init__(f"item {index} failed: {type(error).__name__}: {error}")


class TaskTimedOut(RuntimeError):
    """An item ran longer than the executor's ``task_timeout``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"it ran longer than the task timeout of {seconds:g} s and was "
                         "stopped")


def check_timeout(task_timeout: float | None) -> float | None:
    """``task_timeout`` as a positive finite number of seconds, or ``None`` (no limit);
    ``ValueError`` otherwise."""
    if task_timeout is None:
        return None
    try:
        value = float(task_timeout)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(task_timeout, bool) or not value > 0 or value == float("inf"):
        raise ValueError(f"task_timeout: expected a number of seconds > 0 (or None for no "
                         f"limit), got {task_timeout!r}")
    return value


class Executor(Protocol):
    """What the runner needs from a backend."""

    name: str

    @property
    def workers(self) -> int: ...

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Events: ...


def available_cpus() -> int:
    """CPUs this process may use (respects affinity masks, e.g. in containers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _check_picklable(fn: Callable[..., Any], where: str) -> None:
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(
            f"the replication function must be picklable (a module-level function) to run on "
            f"{where}: {exc}"
        ) from exc


# --------------------------------------------------------------------------- serial


class _Alarm(BaseException):
    """Raised by the ``SIGALRM`` handler in the item that overran (a ``BaseException``, so
    that an ``except Exception`` in the item does not swallow it)."""


@contextlib.contextmanager
def _alarm(seconds: float | None) -> Generator[None, None, None]:
    """Raise :class:`_Alarm` in this thread after ``seconds`` (POSIX, main thread, and only
    if nobody else handles ``SIGALRM``); otherwise no limit."""
    usable = (seconds is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread()
              and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None))
    if not usable:
        yield
        return

    def ring(signum: int, frame: object) -> None:
        raise _Alarm

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class SerialExecutor:
    """Run items one after the other in this process (``task_timeout``: see the module doc)."""

    name = "serial"

    def __init__(self, task_timeout: float | None = None) -> None:
        self.task_timeout = check_timeout(task_timeout)

    @property
    def workers(self) -> int:
        return 1

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Events:
        for i, item in enumerate(items):
            try:
                with _alarm(self.task_timeout):
                    result = fn(item)
            except _Alarm:
                error = TaskTimedOut(self.task_timeout or 0.0)
                raise TaskFailed(i, error) from None
            except Exception as exc:
                raise TaskFailed(i, exc) from exc
            yield i, result


# --------------------------------------------------------------------------- processes


PARENT_POLL_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int, kernel: bool) -> None:
    """Make this worker process end when its parent ``parent`` dies (even by ``kill -9``),
    instead of waiting forever for work: on Linux, if ``kernel``, the kernel sends SIGKILL
    (``PR_SET_PDEATHSIG``; it fires when the parent's *thread* that started the worker ends,
    so only used when that is the main thread); everywhere a daemon thread checks every
    second that the parent is still ours and exits at once when it is not."""
    if os.getppid() != parent:  # the parent is already gone
        os._exit(1)
    if kernel and sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="vbcsim-parent-watch", daemon=True).start()


class WorkerDied(RuntimeError):
    """A worker process ended abruptly (a crash in native code, ``os._exit``, the
    out-of-memory killer) while running an item."""


#: Columns per worker of the shared table of running items: pid, running item + 1, and the
#: ``time.monotonic_ns()`` at which it started (a system-wide clock on Linux and macOS).
_COLUMNS = 3
#: In a worker process: the shared table and this worker's row.
_RUNNING: Any = None
_ROW: int = -1


def _init_worker(parent: int, kernel: bool, running: Any, rows: Any) -> None:
    """Worker initialiser: Ctrl-C is handled by the parent, which stops the workers; the
    worker ends if the parent dies; it takes a row of ``running`` to say what it runs."""
    global _RUNNING, _ROW
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent, kernel)
    with rows.get_lock():
        _ROW = rows.value
        rows.value += 1
    _RUNNING = running
    _RUNNING[_COLUMNS * _ROW] = os.getpid()


def _run_item(fn: Callable[[Any], Any], index: int, item: Any) -> Any:
    """In a worker: ``fn(item)``, noting in the shared table that item ``index`` runs here,
    so that the parent can name it if this process dies."""
    _RUNNING[_COLUMNS * _ROW + 2] = time.monotonic_ns()
    _RUNNING[_COLUMNS * _ROW + 1] = index + 1
    try:
        return fn(item)
    finally:
        _RUNNING[_COLUMNS * _ROW + 1] = 0


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _dead_worker_failure(
    running: Any, procs: dict[int, Any], pending: dict[Future[Any], int]
) -> TaskFailed:
    """The failure to report when the pool broke: the item whose worker died (the pool
    stops the other workers with SIGTERM), else the first item still pending."""
    rows = [(pid, index) for pid, index, _ in _running_items(running)]
    best: tuple[int, int, int | None] | None = None
    for pid, index in rows:
        proc = procs.get(pid)
        code = None
        if proc is not None:
            proc.join(timeout=2)
            code = _exit_status(proc, time.monotonic() + 2.0)
        if code != -signal.SIGTERM and (best is None or best[2] == -signal.SIGTERM):
            best = (pid, index, code)
    if best is not None:
        pid, index, code = best
        return TaskFailed(index, WorkerDied(
            f"the worker process running it (pid {pid}) died abruptly ({_describe_exit(code)}): "
            "a crash in native code, os._exit, or the out-of-memory killer"))
    first = min(pending.values()) if pending else 0
    deadline = time.monotonic() + 2.0
    for proc in procs.values():  # their exit status, once reaped (bounded wait)
        proc.join(timeout=max(deadline - time.monotonic(), 0.0))
    statuses = [_exit_status(p, deadline) for p in procs.values()]
    codes = sorted({c for c in statuses if c not in (None, 0) and c != -signal.SIGTERM})
    if codes and all(code > 0 for code in codes):
        # ended with an exception before running any item: most often while a spawned
        # worker imported the main script (multiprocessing's "safe importing" rule)
        return TaskFailed(first, WorkerDied(
            f"a worker process ended before it ran any item ({_describe_exit(codes[0])}: "
            f"an exception while it started, printed above by the worker){_script_hint()}"))
    return TaskFailed(first, WorkerDied(
        "a worker process died abruptly (a crash in native code, os._exit, or the "
        "out-of-memory killer); the item it ran is unknown"))


def _exit_status(proc: Any, deadline: float) -> int | None:
    """``proc``'s exit status, waited for until ``deadline`` (monotonic clock) if a join
    returned without one: the pool's manager thread may be reaping the same process at
    that moment (its waitpid won), and the status appears once it has recorded it."""
    code = proc.exitcode
    while code is None and time.monotonic() < deadline:
        time.sleep(0.02)
        code = proc.exitcode
    return code


def _script_hint() -> str:
    """What to check when workers fail to start under a script: each spawned worker
    imports the main script, so a script that runs an experiment at import time (not under
    ``if __name__ == "__main__":``) starts workers from every worker, which fails."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if not path:
        return ""
    return (f". Each worker imports the main script ({path}): if it runs sim.run or "
            "starts worker processes when imported, put that code under "
            "`if __name__ == \"__main__\":`")


def _running_items(running: Any) -> list[tuple[int, int, int]]:
    """(pid, item, started at in ``monotonic_ns``) of every item a worker runs now."""
    out = []
    for r in range(len(running) // _COLUMNS):
        pid, item, started = running[_COLUMNS * r:_COLUMNS * (r + 1)]
        if pid and item:
            out.append((pid, item - 1, started))
    return out


def _overrun(running: Any, timeout: float | None) -> TaskFailed | None:
    """The failure of the item that has run longer than ``timeout`` seconds, if any."""
    if timeout is None:
        return None
    now = time.monotonic_ns()
    late = [(started, index) for _, index, started in _running_items(running)
            if now - started > timeout * 1e9]
    if not late:
        return None
    return TaskFailed(min(late)[1], TaskTimedOut(timeout))


@contextlib.contextmanager
def _sigint_ignored() -> Generator[None, None, None]:
    """Ignore Ctrl-C while worker processes are started, so that they inherit it from their
    first instruction. Only possible in the main thread; elsewhere the worker initialiser
    does it a bit later."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class ProcessExecutor:
    """Run items on ``workers`` local worker processes (``spawn`` context); an item that runs
    longer than ``task_timeout`` seconds fails and the workers are stopped."""

    name = "processes"

    def __init__(self, workers: int, task_timeout: float | None = None) -> None:
        self._workers = max(1, int(workers))
        self.task_timeout = check_timeout(task_timeout)

    @property
    def workers(self) -> int:
        return self._workers

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Events:
        _check_picklable(fn, f"{self._workers} worker processes")
        n = min(self._workers, len(items))
        if n == 0:
            return
        ctx = multiprocessing.get_context(START_METHOD)
        on_main_thread = threading.current_thread() is threading.main_thread()
        running = ctx.Array("q", _COLUMNS * n, lock=False)  # per worker, see _COLUMNS
        rows = ctx.Value("i", 0)
        pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker,
                                   initargs=(os.getpid(), on_main_thread, running, rows))
        clean = False
        try:
            with _sigint_ignored():  # workers start now and inherit "ignore Ctrl-C"
                pending: dict[Future[Any], int] = {
                    pool.submit(_run_item, fn, i, item): i for i, item in enumerate(items)
                }
            procs: dict[int, Any] = {}
            while pending:
                procs.update(getattr(pool, "_processes", None) or {})
                done, _ = wait(pending, timeout=HEARTBEAT_SECONDS, return_when=FIRST_COMPLETED)
                late = _overrun(running, self.task_timeout)
                if late is not None:
                    raise late
                if not done:
                    yield None
                for fut in sorted(done, key=pending.__getitem__):
                    i = pending.pop(fut)
                    exc = fut.exception()
                    if isinstance(exc, BrokenProcessPool):
                        pending[fut] = i
                        # a worker started after the last look may be the one that died
                        procs.update(getattr(pool, "_processes", None) or {})
                        raise _dead_worker_failure(running, procs, pending) from exc
                    if exc is not None:
                        raise TaskFailed(i, exc) from exc
                    yield i, fut.result()
            clean = True
        finally:
            if clean:
                pool.shutdown(wait=True)
            else:
                _stop(pool)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel pending items and stop the pool's worker processes (started here)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        pool.shutdown(wait=False, cancel_futures=True)
        terminate()
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=5)
        if proc.is_alive():  # ignores SIGTERM (e.g. stuck in native code): SIGKILL
            proc.kill()
            proc.join(timeout=5)


# --------------------------------------------------------------------------- dask


class DaskUnavailable(ImportError):
    """Dask distributed is not installed."""


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise DaskUnavailable(
            "Dask execution needs the optional extra: pip install 'vbcsim[dask]'"
        ) from exc
    return distributed


class DaskExecutor:
    """Run items on a Dask distributed cluster.

    ``address``: the scheduler of a running cluster (``tcp://host:8786``); or
    ``local_workers``: start a :class:`distributed.LocalCluster` of that many single-threaded
    worker processes for the run. Workers must be able to import vbcsim (and the replication
    function's module).
    """

    name = "dask"

    def __init__(self, address: str | None = None, local_workers: int | None = None) -> None:
        if (address is None) == (local_workers is None):
            raise ValueError("give either a scheduler address or a number of local workers")
        self.address = address
        self.local_workers = local_workers
        self._seen_workers: int | None = None
        _import_distributed()  # refuse early, before anything runs

    @property
    def workers(self) -> int:
        if self.local_workers is not None:
            return self.local_workers
        return self._seen_workers or 0

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Events:
        distributed = _import_distributed()
        _check_picklable(fn, "Dask workers")
        if not items:
            return
        with contextlib.ExitStack() as stack:
            if self.local_workers is not None:
                cluster = stack.enter_context(_local_cluster(distributed, self.local_workers))
                client = stack.enter_context(distributed.Client(cluster, set_as_default=False))
            else:
                client = stack.enter_context(_connect(distributed, self.address))
                self._seen_workers = len(client.scheduler_info().get("workers", {}))
            token = os.urandom(4).hex()
            pending = {
                client.submit(fn, item, key=f"vbcsim-{token}-{i}", pure=False): i
                for i, item in enumerate(items)
            }
            finished = distributed.as_completed(list(pending), loop=client.loop)
            try:
                last = time.monotonic()
                while pending:
                    if not finished.has_ready():
                        time.sleep(0.02)
                        if time.monotonic() - last >= HEARTBEAT_SECONDS:
                            last = time.monotonic()
                            yield None
                        continue
                    for fut in sorted(finished.next_batch(block=False),
                                      key=pending.__getitem__):
                        i = pending.pop(fut)
                        if fut.status == "error":
                            exc = fut.exception()
                            raise TaskFailed(i, exc) from exc
                        if fut.status == "cancelled":
                            raise TaskFailed(i, RuntimeError("cancelled by the Dask cluster"))
                        result = fut.result()
                        fut.release()
                        yield i, result
            finally:
                if pending:
                    client.cancel(list(pending))


#: How long to try reaching a Dask scheduler before giving up.
CONNECT_TIMEOUT_SECONDS = 10


class SchedulerUnreachable(ConnectionError):
    """No Dask scheduler answered at the address given."""


def _connect(distributed: Any, address: str | None) -> Any:
    """A client of the Dask scheduler at ``address``; a clear error, within
    :data:`CONNECT_TIMEOUT_SECONDS`, if nothing answers there."""
    try:
        return distributed.Client(address, set_as_default=False,
                                  timeout=f"{CONNECT_TIMEOUT_SECONDS}s")
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachable(
            f"cannot reach the Dask scheduler at {address} (no answer within "
            f"{CONNECT_TIMEOUT_SECONDS} s): check the --scheduler address and that the "
            f"scheduler is running ({exc})") from None


#: Settings of the local Dask cluster's workers, for CPU-bound pure-Python tasks without a
#: dashboard (measured by ``benchmarks/bench_parallel.py``; together they made a replication
#: ~20% slower on a Dask worker than on a plain worker process):
#:
#: * ``MALLOC_TRIM_THRESHOLD_`` unset: Dask sets it to 64 KiB before spawning workers so that
#:   freed memory goes back to the OS quickly; setting it also fixes glibc's mmap threshold,
#:   so every NumPy array above 128 KiB is mapped and unmapped afresh (page faults). A
#:   replication allocates many such arrays and ran ~10% slower with it;
#: * the statistical profiler (samples every worker thread's stack every 10 ms) and the GIL
#:   contention monitor: diagnostics for the dashboard, which a local run does not start.
LOCAL_WORKER_CONFIG: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
}


def _local_cluster(distributed: Any, workers: int) -> Any:
    """A :class:`distributed.LocalCluster` of ``workers`` single-threaded processes.

    The settings of :data:`LOCAL_WORKER_CONFIG` are in force only while the cluster starts
    (its nannies copy the configuration and environment for their workers then); the
    calling process's Dask configuration is restored afterwards.
    """
    import dask

    with dask.config.set(LOCAL_WORKER_CONFIG):
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                        processes=True, dashboard_address=None)


# --------------------------------------------------------------------------- choice


def make_executor(
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    tasks: int | None = None,
    task_timeout: float | None = None,
) -> SerialExecutor | ProcessExecutor | DaskExecutor:
    """The executor for these settings (``task_timeout``: see the module doc).

    ``scheduler`` (a Dask scheduler address) or ``dask_local`` (a local Dask cluster of that
    many workers) choose Dask; otherwise ``workers`` local processes (default one per CPU,
    at most one per task), and a single worker runs serially in this process.
    """
    if scheduler is not None and dask_local is not None:
        raise ValueError("give a Dask scheduler address or a local Dask cluster, not both")
    if scheduler is not None:
        return DaskExecutor(address=scheduler)
    if dask_local is not None:
        return DaskExecutor(local_workers=dask_local)
    n = available_cpus() if workers is None else workers
    if tasks is not None:
        n = min(n, max(1, tasks))
    return SerialExecutor(task_timeout) if n <= 1 else ProcessExecutor(n, task_timeout)


def with_task_timeout(executor: Executor, task_timeout: float | None) -> Executor:
    """``executor`` with its per-item time limit set to ``task_timeout`` (a new executor;
    Dask executors and executors of other kinds are returned as they are: they do not
    enforce a limit)."""
    if isinstance(executor, SerialExecutor):
        return SerialExecutor(task_timeout)
    if isinstance(executor, ProcessExecutor):
        return ProcessExecutor(executor.workers, task_timeout)
    return executor


__all__ = [
    "DaskExecutor",
    "DaskUnavailable",
    "Executor",
    "ProcessExecutor",
    "SchedulerUnreachable",
    "SerialExecutor",
    "TaskFailed",
    "TaskTimedOut",
    "WorkerDied",
    "available_cpus",
    "check_timeout",
    "make_executor",
    "with_task_timeout",
]
