"""SimPy process mechanics of the care model (the discrete-event executor).

Two kinds of process run in one ``simpy.Environment`` (time unit: days):

* ``patient_process`` — one per patient. It draws the time to the next *state event* from
  the competing hazards of its current state (``sim.care.model``), records the interval
  until then (routine services in the interval are drawn later, in one vectorised step,
  which is exact for a Poisson process with a constant rate), and handles the event:
  death, a change of diabetic control, or a hospital stay (waiting for a bed — see
  :class:`Beds` — then the length of stay, then the 30-day post-discharge window).
  Intervals end at plan-year boundaries and at the end of the post-discharge window,
  where rates change.
* ``daily_process`` — one per run, at the start of every day with urgent priority: the
  primary-care clinics grant that day's appointments, and at a plan-year boundary the
  year is closed (routine claims drawn, year-end hook called, next year's rates set)
  before any patient moves on.

All state lives in the :class:`sim.care.engine.CareSimulation` passed in; there is no
module-level state and no global random generator.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import URGENT

from sim.care.model import H_DEATH, H_DM, H_ELECTIVE
from sim.constants import DAYS_PER_YEAR, READMISSION_WINDOW_DAYS

if TYPE_CHECKING:
    from sim.care.engine import CareSimulation

INF = math.inf


class UrgentTimeout(simpy.events.Event):
    """A timeout processed before ordinary events scheduled for the same time."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, delay)


class Beds:
    """Hospital beds: ``capacity`` beds taken first come, first served.

    The same queueing discipline as a ``simpy.Resource`` of that capacity, with the common
    case made cheap: while a bed is free, :meth:`request` takes it at once and returns
    ``None`` (no event is scheduled); otherwise it returns an event that succeeds when a
    released bed passes to this request, in arrival order.
    """

    __slots__ = ("env", "capacity", "in_use", "queue")

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        self.env = env
        self.capacity = capacity
        self.in_use = 0
        self.queue: deque[simpy.Event] = deque()

    def request(self) -> simpy.Event | None:
        """Take a bed now (``None``), or join the queue (yield the returned event)."""
        if self.in_use < self.capacity and not self.queue:
            self.in_use += 1
            return None
        wait = self.env.event()
        self.queue.append(wait)
        return wait

    def release(self) -> None:
        """Free a bed; the longest-waiting request, if any, takes it now."""
        if self.queue:
            self.queue.popleft().succeed()
        else:
            self.in_use -= 1


def patient_process(sim: CareSimulation, pid: int) -> Generator[Any, Any, None]:
    """The life of patient ``pid`` in the panel, from joining to death or the horizon.

    Each interval reads the patient's row of the year's rate table for its state (one
    small conversion, no per-patient copy kept); at each plan-year start the process takes
    its block of uniforms for the year. A patient with no state event before the year ends
    waits on the shared year-end event instead of a timeout.
    """
    env = sim.env
    log = math.log
    horizon = sim.horizon_days
    iv_pid, iv_t0, iv_t1, iv_state = sim.iv_pid, sim.iv_t0, sim.iv_t1, sim.iv_state
    pcp_rate = sim.pcp_rate
    dm_state = 2 if sim.dm_uncontrolled[pid] else 0
    window_end = -1.0
    year = -1
    while True:
        now = env.now
        if now >= horizon:
            return
        if sim.year != year:  # a new plan year: fresh rates and random numbers
            year = sim.year
            year_end = sim.year_end
            packed = sim.packed[pid]  # per state: total, cumulative hazards (6), pcp rate
            u = sim.uniform_row(pid)
            ui = 0
            pcp_rate[pid] = packed[dm_state + (1 if now < window_end else 0), 7]
        if len(u) - ui < 6:
            u = u[ui:] + sim.more_uniforms(pid)
            ui = 0
        if now < window_end:
            state = dm_state + 1
            bound = window_end if window_end < year_end else year_end
        else:
            state = dm_state
            bound = year_end
        row = packed[state].tolist()
        total = row[0]
        t_next = now - DAYS_PER_YEAR * log(1.0 - u[ui]) / total if total > 0.0 else INF
        ui += 1
        iv_pid.append(pid)
        iv_t0.append(now)
        iv_state.append(state)
        if t_next >= bound:
            iv_t1.append(bound)
            if bound == year_end:
                yield sim.year_end_event
            else:
                yield env.timeout(bound - now)
                pcp_rate[pid] = packed[dm_state, 7]
            continue
        iv_t1.append(t_next)
        yield env.timeout(t_next - now)
        x = u[ui] * total
        ui += 1
        k = 0
        while k < 5 and x > row[k + 1]:
            k += 1
        if k == H_DEATH:
            sim.death(pid)
            return
        if k == H_DM:
            dm_state = 2 - dm_state
            sim.control_change(pid, dm_state == 2)
            pcp_rate[pid] = packed[dm_state + (1 if env.now < window_end else 0), 7]
            continue
        # A hospital stay: unplanned (ACSC, other, readmission) or elective.
        los = sim.length_of_stay(k == H_ELECTIVE, u[ui])
        ui += 1
        pcp_rate[pid] = 0.0
        admit_day = env.now
        bed = sim.beds.request()
        if bed is not None:  # all beds taken: wait for one
            yield bed
        wait = env.now - admit_day
        yield env.timeout(los)
        sim.beds.release()
        sim.discharge(pid, admit_day, wait, k, u[ui], u[ui + 1])
        ui += 2
        window_end = env.now + READMISSION_WINDOW_DAYS
        if sim.year == year:
            pcp_rate[pid] = packed[dm_state + 1, 7]


def daily_process(sim: CareSimulation) -> Generator[Any, Any, None]:
    """Once a day (urgent priority): run the clinics; at year ends, close the year."""
    env = sim.env
    day = 0
    while True:
        yield UrgentTimeout(env, 1.0)
        sim.clinic_day(day)
        day += 1
        if day % DAYS_PER_YEAR == 0:
            sim.close_year(day // DAYS_PER_YEAR - 1)
            if day >= sim.horizon_days:
                return
            # Wake the patients waiting for the new year (after the year was set up).
            ended, sim.year_end_event = sim.year_end_event, env.event()
            ended.succeed()
