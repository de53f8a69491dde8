"""What a run will need, estimated before it starts: peak memory and a time limit per task.

**Memory.** A worker holds one replication at a time; its peak resident memory grows with
the patient-years it simulates (``population.size x (warmup_years + horizon_years)``)::

    peak per process (MB) = BASE_MB + MB_PER_1000_PATIENT_YEARS x patient-years / 1000

The constants are the upper envelope of the peak RSS (``ru_maxrss``) of whole replications
of the default scenario measured with ``benchmarks/profile_memory.py N YEARS --full``
(5 warm-up years included in the patient-years; refitted 2026-12-06 after the year loop
and the per-year ledger blocks of issue 10/18 lowered memory, Python 3.11.7, NumPy 2.4.6,
on a 2-CPU machine shared with other work): ``BASE_MB`` near the intercept of a
least-squares line (140 MB, slope 0.80 MB per 1,000 patient-years), the slope raised until
no measurement is above the estimate, because an estimate that is too low lets a run die
of ``MemoryError`` after hours, while one that is too high only warns (or is overridden
with ``--force``)::

    patients x plan years    patient-years    peak RSS MB    estimate MB
         5,000 x 2                 35,000          170            172
         5,000 x 5                 50,000          186            186
        20,000 x 2                140,000          246            269
        20,000 x 5                200,000          311            324
        50,000 x 2                350,000          413            462
        50,000 x 5                500,000          546            600
       100,000 x 5 (1)          1,000,000          956          1,060

    (1) measured after the fit, as a check of the extrapolation (same command).

Before the memory reduction the same fit gave 170 MB + 1.65 MB per 1,000 patient-years
(100,000 x 5: 1,791 MB measured). Re-measure and refit after a change that moves memory
with ``python benchmarks/fit_memory.py`` (it runs ``profile_memory.py`` at several sizes,
prints the table and the fitted constants to paste here). A run on ``W`` local worker
processes needs ``W`` times the per-process peak plus the parent process (``BASE_MB``); a run
in this process needs one peak. :func:`check_memory` warns when the estimate is above
:data:`WARN_FRACTION` of the memory available now and refuses above all of it, unless
forced.

**Time.** A custom contract (Python code from a scenario) may hang; built-in contracts
cannot (their work is bounded by the care model). :func:`resolve_task_timeout` gives tasks
of scenarios with custom contracts a default limit of :data:`TIMEOUT_MULTIPLE` times a
pessimistic estimate of a replication's time, at least :data:`MIN_TIMEOUT_SECONDS`
(built-in contracts only: no limit, so a large legitimate run is never cut short).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sim.executors import check_timeout

#: Resident memory of a worker process before it simulates (interpreter, NumPy, pandas,
#: SciPy, SimPy, vbcsim), MB (fit above).
BASE_MB = 140.0
#: Peak memory per 1,000 patient-years simulated in one replication, MB (fit above).
MB_PER_1000_PATIENT_YEARS = 0.92
#: Warn when the estimate is above this share of the available memory.
WARN_FRACTION = 0.5

#: Patient-years a replication simulates per second on one CPU, pessimistically: measured
#: 54,016 on an idle machine (100,000 patients x 10 simulated years, benchmarks/README.md)
#: and 2,356 on a heavily loaded one (200,000 x 10 in 849 s, 2 CPUs shared by seven jobs,
#: 2026-12-06); the default limit is then 10 x 2M / 5,000 = 4,000 s, 4.7 x what that took.
PESSIMISTIC_PATIENT_YEARS_PER_SECOND = 5_000.0
#: Default limit of a task with custom contract code: this multiple of the pessimistic time...
TIMEOUT_MULTIPLE = 10.0
#: ... and never less than this (seconds).
MIN_TIMEOUT_SECONDS = 600.0


def patient_years(scenario: Any) -> int:
    """Patient-years one replication of ``scenario`` simulates (warm-up years included)."""
    return int(scenario.population.size) * (int(scenario.warmup_years)
                                            + int(scenario.horizon_years))


# --------------------------------------------------------------------------- memory


class MemoryWarning(UserWarning):
    """The run is estimated to need a large share of the available memory (a
    ``UserWarning``: Python hides ``ResourceWarning`` by default)."""


class NotEnoughMemory(MemoryError):
    """The run is estimated to need more memory than is available (refused unless forced)."""


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak memory of a run, MB."""

    per_process_mb: float
    processes: int
    parent_mb: float
    patient_years: int

    @property
    def total_mb(self) -> float:
        return self.parent_mb + self.processes * self.per_process_mb


def replication_memory_mb(scenario: Any) -> float:
    """Estimated peak memory (MB) of a process running one replication of ``scenario``."""
    return BASE_MB + MB_PER_1000_PATIENT_YEARS * patient_years(scenario) / 1000.0


def estimate_memory(scenarios: Sequence[Any], workers: int) -> MemoryEstimate:
    """Peak memory of running ``scenarios`` on ``workers`` local worker processes (1: in this
    process). Each worker holds one replication at a time, of the largest scenario at worst."""
    largest = max(scenarios, key=patient_years)
    workers = max(1, int(workers))
    return MemoryEstimate(per_process_mb=replication_memory_mb(largest), processes=workers,
                          parent_mb=0.0 if workers == 1 else BASE_MB,
                          patient_years=patient_years(largest))


def available_memory_mb() -> float | None:
    """Memory available to new work now (``MemAvailable`` on Linux), MB; ``None`` if
    unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (AttributeError, OSError, ValueError):
        return None


def _gb(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:,.0f} MB"


def check_memory(
    scenarios: Sequence[Any], workers: int, *, force: bool = False,
    available_mb: float | None = None, force_hint: str = "--force (force=True)",
) -> MemoryEstimate:
    """Estimate the run's peak memory and compare it with the memory available
    (``available_mb``, default :func:`available_memory_mb`): above all of it raise
    :class:`NotEnoughMemory` (a :class:`MemoryWarning` instead if ``force``); above
    :data:`WARN_FRACTION` of it warn. Returns the estimate."""
    estimate = estimate_memory(scenarios, workers)
    available = available_memory_mb() if available_mb is None else available_mb
    if available is None or estimate.total_mb <= WARN_FRACTION * available:
        return estimate
    largest = max(scenarios, key=patient_years)
    workers_text = (f"{estimate.processes} worker processes x {_gb(estimate.per_process_mb)} "
                    f"+ {_gb(estimate.parent_mb)}" if estimate.processes > 1
                    else "one process")
    what = (f"an estimated {_gb(estimate.total_mb)} of memory ({workers_text}; "
            f"{largest.population.size:,} patients x {largest.warmup_years + largest.horizon_years} "
            f"simulated years, sim.resources)")
    reduce = ("use fewer workers (--workers 1 / workers=1 holds one replication at a time)"
              if estimate.processes > 1 else "")
    fewer = ("a smaller population.size, or fewer horizon_years / warmup_years "
             f"(a worker needs about {_gb(estimate.per_process_mb)} now)")
    how = f"{reduce}, or {fewer}" if reduce else f"use {fewer}"
    if estimate.total_mb > available:
        message = (f"this run needs {what}, more than the {_gb(available)} available: {how}; "
                   f"{force_hint} runs it anyway")
        if not force:
            raise NotEnoughMemory(message)
        warnings.warn(message, MemoryWarning, stacklevel=2)
    else:
        warnings.warn(f"this run needs {what}, {estimate.total_mb / available:.0%} of the "
                      f"{_gb(available)} available; if memory runs out, {how}",
                      MemoryWarning, stacklevel=2)
    return estimate


# --------------------------------------------------------------------------- time


def expected_task_seconds(scenario: Any) -> float:
    """A pessimistic estimate of the time of one replication of ``scenario`` (s)."""
    return patient_years(scenario) / PESSIMISTIC_PATIENT_YEARS_PER_SECOND


def default_task_timeout(scenarios: Sequence[Any]) -> float | None:
    """The default per-task limit (s): ``None`` when the scenarios use built-in contracts
    only; with custom contract code, :data:`TIMEOUT_MULTIPLE` x the pessimistic time of the
    longest replication, at least :data:`MIN_TIMEOUT_SECONDS`."""
    from sim.contracts.resolve import custom_kinds

    if not scenarios or not custom_kinds(scenarios):
        return None
    slowest = max(expected_task_seconds(s) for s in scenarios)
    return float(max(MIN_TIMEOUT_SECONDS, math.ceil(TIMEOUT_MULTIPLE * slowest)))


def resolve_task_timeout(task_timeout: float | None, scenarios: Sequence[Any]) -> float | None:
    """The per-task limit of a run: ``None`` gives :func:`default_task_timeout`, ``0`` no
    limit, a positive number that many seconds (``ValueError`` otherwise)."""
    if task_timeout is None:
        return default_task_timeout(scenarios)
    if not isinstance(task_timeout, bool) and task_timeout == 0:
        return None
    try:
        return check_timeout(task_timeout)
    except ValueError:
        raise ValueError(f"task_timeout: expected a number of seconds >= 0 (0: no limit; None: "
                         f"the default), got {task_timeout!r}") from None


__all__ = [
    "MemoryEstimate",
    "MemoryWarning",
    "NotEnoughMemory",
    "available_memory_mb",
    "check_memory",
    "default_task_timeout",
    "estimate_memory",
    "expected_task_seconds",
    "patient_years",
    "replication_memory_mb",
    "resolve_task_timeout",
]
