"""Progress reporting for long runs: a ``tqdm`` bar, or nothing.

The bar counts finished replications and shows the rate and the time left. It appears only
after ``delay`` seconds, so short runs print nothing, and only where someone can see it: on a
terminal or in a Jupyter kernel, unless asked for (``progress=True``) or refused
(``progress=False``). In a Jupyter kernel with ``ipywidgets`` it is a widget; without, a text
bar redrawn in the cell's output (no "IProgress not found" warning, as ``tqdm.auto`` would
give). ``tqdm`` is imported only when a bar is wanted.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol, TextIO

DELAY_SECONDS = 2.0


class Progress(Protocol):
    """What the runner needs from a progress reporter."""

    def update(self, n: int = 1) -> Any: ...

    def close(self) -> Any: ...


class _NoProgress:
    """A progress reporter that reports nothing."""

    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


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


def progress_bar(total: int, *, desc: str, enabled: bool, delay: float = DELAY_SECONDS) -> Progress:
    """A bar over ``total`` replications (a no-op reporter when ``enabled`` is false)."""
    if not enabled:
        return _NoProgress()
    bar = _bar_class()
    return bar(total=total, desc=desc, unit="rep", delay=delay, dynamic_ncols=True, leave=False)


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
