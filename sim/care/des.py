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
  primary-care clinics grant that day's appointments; at a year boundary it raises
  :attr:`DesState.closing` and the stepper (``sim.care.engine.CareSimulation``) stops the
  clock there, before any other event, closes the year, sets up the next one and calls
  :meth:`DesState.open_year`, which wakes the patients waiting for the new year.

The processes read and write only a :class:`DesState` (the patient arrays, this year's
rate table and random numbers, beds, clinics and the event log); there is no module-level
state and no global random generator.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy
from simpy.events import URGENT

from sim.care.clinic import Clinic
from sim.care.model import H_DEATH, H_DM, H_ELECTIVE
from sim.constants import DAYS_PER_YEAR, READMISSION_WINDOW_DAYS
from sim.rng import stream

UNIFORMS_PER_PATIENT_YEAR = 16
QUANTILES = 512  # entries of the inverse-CDF tables of lengths of stay
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



@dataclass
class EventLog:
    """What the processes record during a simulation year (cleared in place when the year
    is closed: processes hold references to the interval lists)."""

    iv_pid: list[int] = field(default_factory=list)  # intervals of constant rates
    iv_t0: list[float] = field(default_factory=list)
    iv_t1: list[float] = field(default_factory=list)
    iv_state: list[int] = field(default_factory=list)
    adm: dict[str, list] = field(default_factory=lambda: {
        k: [] for k in ("pid", "admit", "discharge", "wait", "kind", "snf_days", "home_health")})
    pcp_served: list[np.ndarray] = field(default_factory=list)
    pcp_served_day: list[np.ndarray] = field(default_factory=list)
    pcp_wait: list[np.ndarray] = field(default_factory=list)
    unmet_ed: list[np.ndarray] = field(default_factory=list)
    unmet_ed_day: list[np.ndarray] = field(default_factory=list)
    given_up: float = 0.0  # primary-care requests given up this year

    def clear(self) -> None:
        """Forget the year's records (in place)."""
        for records in (self.iv_pid, self.iv_t0, self.iv_t1, self.iv_state, *self.adm.values(),
                        self.pcp_served, self.pcp_served_day, self.pcp_wait, self.unmet_ed,
                        self.unmet_ed_day):
            records.clear()
        self.given_up = 0.0


@dataclass
class StayTables:
    """Lengths of stay: means and unit-mean gamma quantile tables (inverse-CDF sampling)."""

    unplanned_mean: float
    elective_mean: float
    snf_mean: float
    unplanned: list[float]
    snf: list[float]


class PanelState:
    """What every care-model executor holds (the SimPy one, :class:`DesState`, and the
    vectorised one, :class:`sim.care.fast.FastState`): the patient arrays the stepper and
    the claims generator read, the event log and the year clock."""

    def __init__(self, *, n: int, n_start: int, provider: np.ndarray,
                 dm_uncontrolled: np.ndarray, horizon_days: float,
                 replace_deaths: bool, stays: StayTables, seed_seq: np.random.SeedSequence
                 ) -> None:
        self.n = n
        self.n_start = n_start
        self.provider = provider
        self.horizon_days = horizon_days
        self.replace_deaths = replace_deaths
        self.stays = stays
        self.seed_seq = seed_seq
        self.entered = np.full(n, np.inf)
        self.entered[:n_start] = 0.0
        self.exited = np.full(n, np.inf)
        self.alive = np.zeros(n, bool)
        self.alive[:n_start] = True
        self.dm_uncontrolled = dm_uncontrolled
        self.pcp_rate = np.zeros(n)
        self.stay_admit = np.full(n, np.inf)
        self.next_entrant = n_start
        self.log = EventLog()
        self.deaths: list[tuple[int, float]] = []
        self.control: list[tuple[int, float, bool]] = []
        self.uniform_overflows = 0
        # The year clock (set by begin_year)
        self.year = 0
        self.year_end = float(DAYS_PER_YEAR)
        self.closing = False
        self.packed: np.ndarray | None = None
        self.u: np.ndarray | None = None
        self.p_snf: np.ndarray | None = None
        self.p_home_health: np.ndarray | None = None
        self.clinics: dict[int, Clinic] = {}
        self.clinic_rng: np.random.Generator | None = None


class DesState(PanelState):
    """The state the SimPy processes read and write, and nothing else.

    Patient arrays (``alive``, ``entered``, ``exited``, ``dm_uncontrolled``, ``pcp_rate``,
    ``stay_admit``: admission day of a stay in progress, else ``inf``), the current
    simulation year's rate table (``packed``), uniforms (``u``) and post-acute
    probabilities, the beds and clinics, the event log, and the year clock.
    """

    def __init__(self, *, n: int, n_start: int, provider: np.ndarray,
                 dm_uncontrolled: np.ndarray, horizon_days: float, beds: int,
                 replace_deaths: bool, stays: StayTables, seed_seq: np.random.SeedSequence
                 ) -> None:
        super().__init__(n=n, n_start=n_start, provider=provider,
                         dm_uncontrolled=dm_uncontrolled, horizon_days=horizon_days,
                         replace_deaths=replace_deaths, stays=stays, seed_seq=seed_seq)
        self.env = simpy.Environment()
        self.beds = Beds(self.env, beds)
        self.year_end_event = self.env.event()
        self.started = False
        self.u_extra: dict[int, int] = {}

    # ------------------------------------------------------------------ the year clock
    def begin_year(self, year: int, packed: np.ndarray, u: np.ndarray, p_snf: np.ndarray,
                   p_home_health: np.ndarray, clinics: dict[int, Clinic],
                   clinic_rng: np.random.Generator) -> None:
        """Install simulation year ``year``'s rates, uniforms and clinics."""
        self.year = year
        self.year_end = float((year + 1) * DAYS_PER_YEAR)
        self.packed, self.u, self.u_extra = packed, u, {}
        self.p_snf, self.p_home_health = p_snf, p_home_health
        self.clinics, self.clinic_rng = clinics, clinic_rng

    def run_to_year_end(self) -> None:
        """Process events until the daily process reaches the end of the current year (the
        first year starts the processes; later years wake the patients waiting for it)."""
        env = self.env
        if not self.started:
            self.started = True
            for pid in range(self.n_start):
                env.process(patient_process(self, pid))
            env.process(daily_process(self))
        elif self.closing:
            self.closing = False
            # Wake the patients waiting for the new year (after the year was set up).
            ended, self.year_end_event = self.year_end_event, env.event()
            ended.succeed()
        while not self.closing:
            env.step()

    def drain(self) -> int:
        """After the last year: let the remaining events run out; the number of events
        SimPy scheduled in the run."""
        self.env.run()
        return int(next(self.env._eid))  # noqa: SLF001

    # ------------------------------------------------------------------ process callbacks
    def uniform_row(self, pid: int) -> np.ndarray:
        """Patient ``pid``'s block of uniforms for this year (a view, no copy)."""
        return self.u[pid]

    def more_uniforms(self, pid: int) -> np.ndarray:
        """A further block for a patient who used up its year's block (its own stream)."""
        self.uniform_overflows += 1
        k = self.u_extra[pid] = self.u_extra.get(pid, 0) + 1
        return stream(self.seed_seq, "des-overflow", self.year, pid, k).random(
            UNIFORMS_PER_PATIENT_YEAR)

    def length_of_stay(self, elective: bool, u: float) -> float:
        """Length of stay in days (gamma, by inverse-CDF table at uniform ``u``)."""
        st = self.stays
        mean = st.elective_mean if elective else st.unplanned_mean
        return mean * st.unplanned[int(u * QUANTILES)]

    def discharge(self, pid: int, admit: float, wait: float, kind: int, u1: float,
                  u2: float) -> None:
        """Record a discharge and decide post-acute care (uniforms ``u1``, ``u2``)."""
        now = self.env.now
        self.stay_admit[pid] = INF
        if now > self.horizon_days:
            return
        snf_days = 0.0
        hh = False
        if u1 < self.p_snf[pid]:
            snf_days = self.stays.snf_mean * self.stays.snf[int(u2 * QUANTILES)]
        else:
            hh = u2 < self.p_home_health[pid]
        a = self.log.adm
        a["pid"].append(pid)
        a["admit"].append(admit)
        a["discharge"].append(now)
        a["wait"].append(wait)
        a["kind"].append(kind)
        a["snf_days"].append(snf_days)
        a["home_health"].append(hh)

    def death(self, pid: int) -> None:
        """Patient ``pid`` dies now; a new member may take its place."""
        now = self.env.now
        self.alive[pid] = False
        self.exited[pid] = now
        self.pcp_rate[pid] = 0.0
        self.deaths.append((pid, now))
        if self.replace_deaths and self.next_entrant < self.n:
            new = self.next_entrant
            self.next_entrant += 1
            self.entered[new] = now
            self.alive[new] = True
            self.env.process(patient_process(self, new))

    def control_change(self, pid: int, uncontrolled: bool) -> None:
        """Diabetic control of ``pid`` changes now."""
        self.dm_uncontrolled[pid] = uncontrolled
        self.control.append((pid, self.env.now, uncontrolled))

    def clinic_day(self, day: int) -> None:
        """Draw day ``day``'s primary-care requests and let every clinic work."""
        rate = self.pcp_rate[: self.next_entrant]  # rows beyond have not joined yet
        total = rate.sum()
        if total <= 0:
            return
        rng = self.clinic_rng
        k = rng.poisson(total / DAYS_PER_YEAR)
        pids = np.searchsorted(np.cumsum(rate), rng.random(k) * total, side="right")
        pids = np.minimum(pids, len(rate) - 1)
        prov = self.provider[pids]
        log = self.log
        for i, clinic in self.clinics.items():
            served, waits, ed, lost = clinic.day(float(day), pids[prov == i], self.alive, rng)
            if len(served):
                log.pcp_served.append(served)
                log.pcp_served_day.append(np.full(len(served), day + rng.random()))
                log.pcp_wait.append(waits)
            if len(ed):
                log.unmet_ed.append(ed)
                log.unmet_ed_day.append(np.full(len(ed), float(day) + 0.5))
            log.given_up += lost


def _hazard(cumulative: np.ndarray, x: float) -> int:
    """Which competing hazard fired: the first ``k`` with ``x <= cumulative[k]`` (k < 5)."""
    row = cumulative.tolist()
    k = 0
    while k < 5 and x > row[k]:
        k += 1
    return k


def patient_process(st: DesState, pid: int, window_end: float = -1.0
                    ) -> Generator[Any, Any, None]:
    """The life of patient ``pid`` in the panel, from joining to death or the horizon.

    Each interval reads the patient's row of the current year's rate table for its state
    (indexed in place: no per-patient copy or view is kept, so a closed year's table is
    freed as soon as the next is installed; rates are read only within the year they
    belong to); at each plan-year start the process takes its block of uniforms for the
    year (a view of the year's array). A patient with no state event before the year
    ends waits on the shared year-end event instead of a timeout. ``window_end``: the end
    of a post-discharge window still open (a process resumed from a warm-up snapshot,
    :mod:`sim.care.warmup`).
    """
    env = st.env
    log = math.log
    horizon = st.horizon_days
    ev = st.log
    iv_pid, iv_t0, iv_t1, iv_state = ev.iv_pid, ev.iv_t0, ev.iv_t1, ev.iv_state
    pcp_rate = st.pcp_rate
    dm_state = 2 if st.dm_uncontrolled[pid] else 0
    year = -1
    while True:
        now = env.now
        if now >= horizon:
            return
        if st.year != year:  # a new plan year: fresh rates and random numbers
            year = st.year
            year_end = st.year_end
            u = st.uniform_row(pid)
            ui = 0
            pcp_rate[pid] = st.packed[pid, dm_state + (1 if now < window_end else 0), 7]
        if len(u) - ui < 6:
            u = np.concatenate((u[ui:], st.more_uniforms(pid)))
            ui = 0
        if now < window_end:
            state = dm_state + 1
            bound = window_end if window_end < year_end else year_end
        else:
            state = dm_state
            bound = year_end
        total = st.packed[pid, state, 0].item()  # total hazard, then cumulative ones, pcp rate
        t_next = now - DAYS_PER_YEAR * log(1.0 - u[ui].item()) / total if total > 0.0 else INF
        ui += 1
        iv_pid.append(pid)
        iv_t0.append(now)
        iv_state.append(state)
        if t_next >= bound:
            iv_t1.append(bound)
            if bound == year_end:
                yield st.year_end_event
            else:
                yield env.timeout(bound - now)
                pcp_rate[pid] = st.packed[pid, dm_state, 7]
            continue
        iv_t1.append(t_next)
        yield env.timeout(t_next - now)
        k = _hazard(st.packed[pid, state, 1:7], u[ui].item() * total)
        ui += 1
        if k == H_DEATH:
            st.death(pid)
            return
        if k == H_DM:
            dm_state = 2 - dm_state
            st.control_change(pid, dm_state == 2)
            pcp_rate[pid] = st.packed[pid, dm_state + (1 if env.now < window_end else 0), 7]
            continue
        # A hospital stay: unplanned (ACSC, other, readmission) or elective.
        los = st.length_of_stay(k == H_ELECTIVE, u[ui].item())
        ui += 1
        pcp_rate[pid] = 0.0
        admit_day = env.now
        st.stay_admit[pid] = admit_day
        bed = st.beds.request()
        if bed is not None:  # all beds taken: wait for one
            yield bed
        wait = env.now - admit_day
        yield env.timeout(los)
        st.beds.release()
        st.discharge(pid, admit_day, wait, k, u[ui].item(), u[ui + 1].item())
        ui += 2
        window_end = env.now + READMISSION_WINDOW_DAYS
        if st.year == year:
            pcp_rate[pid] = st.packed[pid, dm_state + 1, 7]


def daily_process(st: DesState, day: int = 0) -> Generator[Any, Any, None]:
    """Once a day (urgent priority): run the clinics; at a year end, raise ``closing`` (the
    stepper closes the year before any other event is processed). ``day``: days already
    run (a process resumed from a warm-up snapshot)."""
    env = st.env
    while True:
        yield UrgentTimeout(env, 1.0)
        st.clinic_day(day)
        day += 1
        if day % DAYS_PER_YEAR == 0:
            st.closing = True
            if day >= st.horizon_days:
                return
