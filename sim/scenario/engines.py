"""Which executor runs a scenario's care model (the ``engine`` field).

* ``des`` — the SimPy discrete-event executor (:mod:`sim.care.des`), one process per patient;
* ``fast`` — the vectorised executor (:mod:`sim.care.fast`): the same competing hazards,
  stays, beds and clinics, advanced for all patients at once with NumPy; equal in
  distribution, not draw for draw (its own random streams);
* ``auto`` — ``fast``: the fast executor models both queues of the DES (hospital beds
  exactly, primary-care clinics day by day whenever requests wait), so there is no case
  that needs the SimPy executor; runs record how often capacity bound.
"""

from __future__ import annotations

from typing import Literal

Engine = Literal["des", "fast", "auto"]
ENGINES: tuple[str, ...] = ("des", "fast", "auto")


def resolve_engine(scenario: object) -> str:
    """The executor that runs ``scenario``: ``des`` or ``fast`` (``auto`` resolves to
    ``fast``, see the module docstring)."""
    engine = getattr(scenario, "engine", "des")
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {', '.join(ENGINES)}, got {engine!r}")
    return "fast" if engine == "auto" else str(engine)
