"""Native thread pools while a replication runs: one BLAS thread per process.

vbcsim parallelises across replications (worker processes, Dask), and a replication's
linear algebra is small: the L-BFGS-B steps of the behaviour solve (a handful of
variables), dot products over a panel. A multi-threaded BLAS (OpenBLAS, as NumPy and SciPy
wheels ship it) wakes its threads for such calls and has them spin, which costs far more
than the work: on the shipped ACO scenario at 1,000 patients, L-BFGS-B's ``setulb`` took
0.87 CPU s of a 3.8 CPU s run with OpenBLAS's default threads and 0.006 s with one thread,
and worker processes each running several BLAS threads oversubscribe the cores
(``benchmarks/README.md``, "BLAS threads"). Results do not depend on it: the seed-pinned
baseline and the fast-path fingerprints are the same either way.

:func:`blas_threads_limited` limits the BLAS pools of this process (through
``threadpoolctl``) for the duration of a task and restores them after, so a notebook's own
NumPy work keeps its threads. ``VBCSIM_BLAS_THREADS`` sets the limit (default 1; ``0``
leaves the pools as they are).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

ENV = "VBCSIM_BLAS_THREADS"
_inside = threading.local()  # depth of blas_threads_limited blocks in this thread


def blas_thread_limit() -> int | None:
    """The BLAS threads a task may use (``None``: not limited), from ``VBCSIM_BLAS_THREADS``."""
    raw = os.environ.get(ENV, "1").strip() or "1"
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"environment variable {ENV}={raw!r}: expected a whole number of "
                         "threads (0 leaves the BLAS thread pools as they are)") from None
    if value < 0:
        raise ValueError(f"environment variable {ENV}={raw!r}: expected 0 or more threads")
    return value or None


@contextlib.contextmanager
def blas_threads_limited() -> Iterator[None]:
    """Limit this process's BLAS thread pools while the block runs (see the module). A block
    inside another (a task's behaviour inside the task) keeps the outer limit: setting it
    costs ~1.5 ms (threadpoolctl lists the loaded libraries), 4 % of a small replication
    when every yearly decision set it again."""
    limit = blas_thread_limit()
    depth = getattr(_inside, "depth", 0)
    if limit is None or depth:
        yield
        return
    from threadpoolctl import threadpool_limits

    _inside.depth = depth + 1
    try:
        with threadpool_limits(limits=limit, user_api="blas"):
            yield
    finally:
        _inside.depth = depth
