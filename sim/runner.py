"""Run an experiment: R replications of one scenario, serially or on local processes.

Every replication gets its own child of one root ``numpy.random.SeedSequence``
(:func:`sim.rng.replication_seeds`) and is run by a pure, picklable function
(:func:`sim.replication.simulate_replication` unless another is passed). Outputs are put
back in replication order before they are combined, so the same seed gives the same tables
whatever the number of workers and whatever order the replications finish in.

Process pools use an explicitly chosen ``spawn`` context — the same on Linux, macOS and
Windows, safe with threads (the progress bar has one) and never touching the global start
method. Worker processes ignore Ctrl-C; the parent cancels what is pending and stops them,
and nothing is written.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sim.progress import progress_bar, progress_enabled
from sim.replication import RESULT_COLUMNS, ReplicationOutput, simulate_replication
from sim.results import OverYears, format_summary, summarise, write_results_dir
from sim.rng import replication_seeds
from sim.scenario import Scenario, load_scenario

Replicate = Callable[[Scenario, int, np.random.SeedSequence], ReplicationOutput]
START_METHOD = "spawn"
HEARTBEAT_SECONDS = 0.5


class ReplicationError(RuntimeError):
    """A replication failed or returned something that is not a replication output."""

    def __init__(self, replication: int, message: str) -> None:
        self.replication = replication
        super().__init__(f"replication {replication} failed: {message}")


class OverrideError(ValueError):
    """A run setting (replications, seed, workers) is out of range; ``name`` says which."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


# --------------------------------------------------------------------------- settings


def _whole(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise OverrideError(name, f"expected a whole number >= {minimum}, got {value!r}")
    return int(value)


def apply_overrides(
    scenario: Scenario, *, replications: int | None = None, seed: int | None = None
) -> Scenario:
    """``scenario`` with its Monte Carlo settings replaced, checked against the schema.

    The returned scenario is the one written out as the resolved scenario, so re-running that
    file reproduces the run.
    """
    update: dict[str, int] = {}
    if replications is not None:
        update["replications"] = _whole("replications", replications, 1)
    if seed is not None:
        update["seed"] = _whole("seed", seed, 0)
    if not update:
        return scenario
    try:
        return type(scenario).model_validate({**scenario.model_dump(), **update})
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "scenario"
        raise OverrideError(name, err["msg"]) from None


def available_cpus() -> int:
    """CPUs this process may use (respects affinity masks, e.g. in containers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int | None, replications: int) -> int:
    """Worker processes to use: ``workers`` (default: one per CPU), at most one per replication."""
    if workers is None:
        workers = available_cpus()
    return min(_whole("workers", workers, 1), replications)


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True, repr=False)
class RunResult:
    """What a run produced: the tidy results table, side tables and how it was made."""

    results: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    scenario: Scenario
    seed: int
    workers: int
    started_at: datetime
    finished_at: datetime
    source: str | None = None

    @property
    def replications(self) -> int:
        """Number of replications run."""
        return self.scenario.replications

    def summary(
        self,
        by: Sequence[str] = ("scenario", "entity", "metric"),
        over_years: OverYears = "mean",
    ) -> pd.DataFrame:
        """Mean, SD, SE, 95% percentile interval and n across replications (see
        :func:`sim.results.summarise`)."""
        return summarise(self.results, by=by, over_years=over_years)

    def title(self) -> str:
        """A one-line description of the run for the printed summary."""
        s = self.scenario
        return (
            f"Scenario {s.name}: {s.replications} replication(s) x {s.horizon_years} year(s), "
            f"seed {self.seed}. Mean per year; 95% interval across replications."
        )

    def format_summary(self, over_years: OverYears = "mean") -> str:
        """The summary as a readable plain-text table."""
        return format_summary(self.summary(over_years=over_years), title=self.title())

    def to_dir(
        self,
        path: str | os.PathLike[str],
        *,
        command: str | None = None,
        overwrite: bool = False,
        source: str | os.PathLike[str] | None = None,
    ) -> Path:
        """Write the results directory (see :func:`sim.results.write_results_dir`)."""
        return write_results_dir(
            path,
            self.results,
            scenario=self.scenario,
            tables=self.tables,
            seed=self.seed,
            workers=self.workers,
            command=command,
            started_at=self.started_at,
            finished_at=self.finished_at,
            source=self.source if source is None else source,
            overwrite=overwrite,
        )

    def __repr__(self) -> str:
        return (
            f"RunResult(scenario={self.scenario.name!r}, replications={self.replications}, "
            f"seed={self.seed}, rows={len(self.results)}, tables={sorted(self.tables)})"
        )


def run(
    scenario: Scenario | str | os.PathLike[str],
    *,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    replicate: Replicate | None = None,
) -> RunResult:
    """Run ``scenario`` (a :class:`Scenario` or a path to a scenario file).

    ``replications`` and ``seed`` default to the scenario's; ``workers`` to one process per
    CPU, at most one per replication (1 runs in this process). ``progress``: ``None`` shows a
    bar on a terminal or in a notebook for runs longer than two seconds, ``True``/``False``
    force it. ``replicate`` replaces :func:`sim.replication.simulate_replication` (it must be
    picklable, i.e. a module-level function, when ``workers > 1``).
    """
    source: str | None = None
    if isinstance(scenario, str | os.PathLike):
        source = os.fspath(scenario)
        scenario = load_scenario(scenario)
    scenario = apply_overrides(scenario, replications=replications, seed=seed)
    n = scenario.replications
    n_workers = resolve_workers(workers, n)
    fn = simulate_replication if replicate is None else replicate
    seeds = replication_seeds(scenario.seed, n)

    started = datetime.now(UTC)
    outputs: list[ReplicationOutput | None] = [None] * n
    bar = progress_bar(n, desc=scenario.name, enabled=progress_enabled(progress))
    try:
        with contextlib.closing(_execute(fn, scenario, seeds, n_workers)) as events:
            for event in events:
                if event is None:  # heartbeat: lets the bar appear and its clock run
                    bar.update(0)
                    continue
                i, out = event
                outputs[i] = _checked(i, out)
                bar.update(1)
    finally:
        bar.close()
    finished = datetime.now(UTC)

    results, tables = combine([o for o in outputs if o is not None])
    return RunResult(
        results=results,
        tables=tables,
        scenario=scenario,
        seed=scenario.seed,
        workers=n_workers,
        started_at=started,
        finished_at=finished,
        source=source,
    )


def _checked(i: int, out: Any) -> ReplicationOutput:
    frame = getattr(out, "results", None)
    if not isinstance(frame, pd.DataFrame):
        raise ReplicationError(i, f"expected a ReplicationOutput, got {type(out).__name__}")
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    if missing:
        raise ReplicationError(i, f"results lack column(s) {missing}; expected {RESULT_COLUMNS}")
    return out


def combine(outputs: Sequence[ReplicationOutput]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Concatenate replication outputs in the order given (the runner passes replication order).

    The results table gets the fixed columns first and a float64 ``value``; a side table
    without a ``replication`` column gets one, from the output's position.
    """
    if outputs:
        results = pd.concat([o.results for o in outputs], ignore_index=True)
    else:
        results = pd.DataFrame(columns=RESULT_COLUMNS)
    extra = [c for c in results.columns if c not in RESULT_COLUMNS]
    results = results[RESULT_COLUMNS + extra]
    results["value"] = results["value"].astype("float64")

    names = list(dict.fromkeys(name for o in outputs for name in (o.tables or {})))
    tables: dict[str, pd.DataFrame] = {}
    for name in names:
        parts = []
        for i, o in enumerate(outputs):
            t = (o.tables or {}).get(name)
            if t is None:
                continue
            if "replication" not in t.columns:
                t = t.copy()
                t.insert(0, "replication", i)
            parts.append(t)
        tables[name] = pd.concat(parts, ignore_index=True)
    return results, tables


# --------------------------------------------------------------------------- executors


def _execute(
    fn: Replicate, scenario: Scenario, seeds: Sequence[np.random.SeedSequence], workers: int
) -> Generator[tuple[int, Any] | None, None, None]:
    """Yield ``(replication, output)`` as replications finish (any order), and ``None`` now
    and then while waiting for worker processes."""
    if workers <= 1:
        for i, seed_seq in enumerate(seeds):
            yield i, _call(fn, scenario, i, seed_seq)
        return
    yield from _execute_processes(fn, scenario, seeds, workers)


def _call(fn: Replicate, scenario: Scenario, i: int, seed_seq: np.random.SeedSequence) -> Any:
    try:
        return fn(scenario, i, seed_seq)
    except Exception as exc:
        raise ReplicationError(i, f"{type(exc).__name__}: {exc}") from exc


def _ignore_sigint() -> None:
    """Worker initialiser: Ctrl-C is handled by the parent, which stops the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _sigint_ignored() -> Generator[None, None, None]:
    """Ignore Ctrl-C while worker processes are started, so that they inherit it from their
    first instruction (a Ctrl-C while they import would otherwise print their tracebacks).
    Only possible in the main thread; elsewhere the worker initialiser does it a bit later."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _execute_processes(
    fn: Replicate, scenario: Scenario, seeds: Sequence[np.random.SeedSequence], workers: int
) -> Generator[tuple[int, Any] | None, None, None]:
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(
            f"the replication function must be picklable (a module-level function) to run on "
            f"{workers} worker processes: {exc}"
        ) from exc
    ctx = multiprocessing.get_context(START_METHOD)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_ignore_sigint)
    clean = False
    try:
        with _sigint_ignored():  # workers start now and inherit "ignore Ctrl-C"
            pending: dict[Future[Any], int] = {
                pool.submit(fn, scenario, i, seed_seq): i for i, seed_seq in enumerate(seeds)
            }
        while pending:
            done, _ = wait(pending, timeout=HEARTBEAT_SECONDS, return_when=FIRST_COMPLETED)
            if not done:
                yield None
            for fut in sorted(done, key=pending.__getitem__):
                i = pending.pop(fut)
                exc = fut.exception()
                if exc is not None:
                    raise ReplicationError(i, f"{type(exc).__name__}: {exc}") from exc
                yield i, fut.result()
        clean = True
    finally:
        if clean:
            pool.shutdown(wait=True)
        else:
            _stop(pool)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel pending replications and stop the pool's worker processes (started here)."""
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


__all__ = [
    "OverrideError",
    "ReplicationError",
    "RunResult",
    "apply_overrides",
    "available_cpus",
    "combine",
    "resolve_workers",
    "run",
]
