"""Progress reporting for long runs: a ``tqdm`` bar whose rate and time left are honest.

The bar counts finished replications (with one worker, also the simulated years of the
replication in progress) and shows the time elapsed, the time left and the time per
replication. It appears only after ``delay`` seconds, so short runs print nothing, and only
where someone can see it: on a terminal or in a Jupyter kernel, unless asked for
(``progress=True``) or refused (``progress=False``). In a Jupyter kernel with ``ipywidgets``
it is a widget; without, a text bar redrawn in the cell's output (no "IProgress not found"
warning, as ``tqdm.auto`` would give). ``tqdm`` is imported only when a bar is wanted.

The rate and the time left are not tqdm's (an average over the intervals between redraws,
which heartbeats make meaningless): :class:`RunClock` computes them from the finished work
and the time it took, knowing that ``lanes`` workers run replications side by side.

Within a replication, the year loop reports each closed year with :func:`year_closed`; it
does nothing unless the runner listens (:func:`listening_to_years`, only when replications
run in this process), so worker processes never report, and what is simulated is untouched.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

DELAY_SECONDS = 2.0
#: Redraw the bar at most this often (seconds).
REDRAW_SECONDS = 0.1

Clock = Callable[[], float]
YearListener = Callable[[int, int], None]


# --------------------------------------------------------------------------- arithmetic


class RunClock:
    """Rate and time left of ``todo`` replications run ``lanes`` at a time.

    The model: every replication takes about ``d`` seconds and the ``lanes`` workers start
    together, so the k-th replication to finish does so after ``ceil(k / lanes)`` rounds of
    ``d``. ``d`` is estimated from the last finished work (``t / rounds(work)``), and never
    below what the wait so far implies (the next replication has not finished by now:
    ``d >= now / rounds(done + 1)``). With one lane, the fraction of the running replication
    that is done (its closed years) counts as work. Time left: ``rounds(todo) * d - now``;
    time per replication: ``d / lanes``. Nothing is estimated before some work is done.
    ``clock`` (seconds, monotonic) is replaceable for tests.
    """

    def __init__(self, todo: int, lanes: int = 1, clock: Clock = time.monotonic) -> None:
        self.todo = max(0, int(todo))
        self.lanes = max(1, min(int(lanes), self.todo or 1))
        self.clock = clock
        self.start = clock()
        self.done = 0
        self.partial = 0.0  # fraction of the running replication (one lane only)
        self._last: tuple[float, float] | None = None  # (seconds since start, work) then

    def _rounds(self, work: float) -> float:
        return work if self.lanes == 1 else float(math.ceil(work / self.lanes - 1e-9))

    def elapsed(self) -> float:
        """Seconds since the clock started."""
        return max(0.0, self.clock() - self.start)

    def finished(self, n: int = 1) -> None:
        """``n`` more replications finished now."""
        self.done = min(self.todo, self.done + n)
        self.partial = 0.0
        self._last = (self.elapsed(), float(self.done))

    def advance(self, fraction: float) -> None:
        """The running replication is ``fraction`` done (counted with one lane only)."""
        if self.lanes == 1 and self.done < self.todo:
            self.partial = min(max(float(fraction), 0.0), 1.0)
            self._last = (self.elapsed(), self.done + self.partial)

    def replication_seconds(self) -> float | None:
        """The estimated duration of one replication on one worker (``None``: no work
        finished yet)."""
        if self._last is None or self._last[1] <= 0:
            return None
        at, work = self._last
        d = at / self._rounds(work)
        if self.done < self.todo:
            d = max(d, self.elapsed() / self._rounds(self.done + 1))
        return d

    def seconds_left(self) -> float | None:
        """The estimated time until all ``todo`` replications are finished."""
        if self.done >= self.todo:
            return 0.0
        d = self.replication_seconds()
        if d is None:
            return None
        return max(0.0, self._rounds(self.todo) * d - self.elapsed())

    def seconds_per_replication(self) -> float | None:
        """The estimated time per replication, the workers together (``d / lanes``)."""
        d = self.replication_seconds()
        return None if d is None else d / self.lanes


def format_seconds(seconds: float | None) -> str:
    """``00:41``, ``1:02:03``; ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def format_rate(seconds_per_rep: float | None) -> str:
    """``20.5 s/rep`` (or ``3.2 rep/s`` when faster than one a second); ``? s/rep``."""
    if seconds_per_rep is None or seconds_per_rep <= 0:
        return "? s/rep"
    if seconds_per_rep >= 1:
        return f"{seconds_per_rep:,.1f} s/rep"
    return f"{1 / seconds_per_rep:,.1f} rep/s"


# --------------------------------------------------------------------------- the bar


def progress_enabled(progress: bool | None, stream: TextIO | None = None) -> bool:
    """Whether to show a bar: ``progress`` if given, else on a terminal or in a notebook."""
    if progress is not None:
        return bool(progress)
    stream = sys.stderr if stream is None else stream
    try:
        on_terminal = stream.isatty()
    except (AttributeError, ValueError):  # closed or unusual streams
        on_terminal = False
    return on_terminal or "ipykernel" in sys.modules


class RunProgress:
    """The progress of a run: finished replications, the years of the running one, and
    an honest rate and time left (:class:`RunClock`), drawn on a ``tqdm`` bar.

    ``total`` replications, ``done`` of them finished before (a resumed run: not counted in
    the rate), the rest run ``lanes`` at a time. ``bar`` is the ``tqdm`` bar to draw on
    (``None``: nothing is drawn, the arithmetic still runs); it gets a ``status`` attribute
    (see :func:`progress_bar`).
    """

    def __init__(self, total: int, *, done: int = 0, lanes: int = 1, bar: Any = None,
                 clock: Clock = time.monotonic) -> None:
        self.total = int(total)
        self.before = int(done)
        self.clock = RunClock(self.total - self.before, lanes, clock)
        self.bar = bar
        self.year: tuple[int, int] | None = None  # (closed, of) in the running replication
        self._draw(force=True)

    def finished(self, n: int = 1) -> None:
        """``n`` more replications finished."""
        self.clock.finished(n)
        self.year = None
        self._draw(force=True)

    def year_closed(self, closed: int, of: int) -> None:
        """The running replication has closed ``closed`` of its ``of`` simulated years
        (a :data:`YearListener`)."""
        if of > 0 and self.clock.lanes == 1:
            self.year = (closed, of)
            self.clock.advance(closed / of)
            self._draw()

    def tick(self) -> None:
        """Redraw (the clock runs while waiting)."""
        self._draw()

    def status(self) -> str:
        """``1/4 rep, year 3/10 [00:41<01:02, 20.5 s/rep]``."""
        c = self.clock
        within = ""
        if self.year is not None and self.before + c.done < self.total:
            within = f", year {self.year[0]}/{self.year[1]}"
        return (f"{self.before + c.done}/{self.total} rep{within} "
                f"[{format_seconds(c.elapsed())}<{format_seconds(c.seconds_left())}, "
                f"{format_rate(c.seconds_per_replication())}]")

    def _draw(self, force: bool = False) -> None:
        bar = self.bar
        if bar is None:
            return
        bar.status = self.status()
        bar.n = self.before + self.clock.done + self.clock.partial
        now = bar._time()
        if now - bar.start_t < bar.delay or (not force and now - bar.last_print_t < REDRAW_SECONDS):
            return
        bar.refresh()
        bar.last_print_t, bar.last_print_n = now, bar.n  # what tqdm's close() reads

    def close(self) -> None:
        """Remove the bar."""
        if self.bar is not None:
            self.bar.close()


def progress_bar(total: int, *, desc: str, enabled: bool, done: int = 0, lanes: int = 1,
                 delay: float = DELAY_SECONDS, file: TextIO | None = None) -> RunProgress:
    """The progress of ``total`` replications, ``done`` of them before, run ``lanes`` at a
    time (nothing drawn when ``enabled`` is false; ``file``: default standard error)."""
    if not enabled:
        return RunProgress(total, done=done, lanes=lanes)
    bar = _status_bar(_bar_class())(
        total=total, desc=desc, delay=delay, file=file, dynamic_ncols=True, leave=False, miniters=0,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {status}")
    return RunProgress(total, done=done, lanes=lanes, bar=bar)


def _status_bar(base: type) -> type:
    """``base`` (a tqdm class) whose format has a ``{status}`` field, set by the owner."""

    class StatusBar(base):  # type: ignore[misc, valid-type]
        status = ""

        @property
        def format_dict(self) -> dict[str, Any]:
            return {**super().format_dict, "status": self.status}

    return StatusBar


def _bar_class() -> Any:
    """``tqdm.notebook.tqdm`` in a Jupyter kernel that has ``ipywidgets``, else the text bar."""
    if "ipykernel" in sys.modules:
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            pass
        else:
            from tqdm.notebook import tqdm as notebook_bar

            return notebook_bar
    from tqdm.std import tqdm as text_bar

    return text_bar


# --------------------------------------------------------------------------- years


_listener: YearListener | None = None


def year_closed(closed: int, of: int) -> None:
    """Report that the running replication closed ``closed`` of ``of`` simulated years
    (called by the year loop; nothing happens unless someone listens)."""
    if _listener is not None:
        _listener(closed, of)


@contextmanager
def listening_to_years(listener: YearListener | None) -> Iterator[None]:
    """While inside, :func:`year_closed` calls ``listener`` (in this process only)."""
    global _listener
    previous, _listener = _listener, listener
    try:
        yield
    finally:
        _listener = previous
