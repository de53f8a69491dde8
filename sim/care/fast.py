"""The vectorised executor of the care model (``engine: fast``).

The same care model as the SimPy executor (:mod:`sim.care.des`) — the same competing
hazards of ``sim.care.model`` (read from the packed rate table the stepper builds), the
same gamma lengths of stay, post-acute probabilities, FIFO hospital beds and primary-care
clinics — advanced for ALL patients at once with NumPy instead of one generator per
patient. :class:`FastState` has the interface :class:`sim.care.engine.CareSimulation` and
:func:`sim.care.claims.close_year` use from :class:`sim.care.des.DesState` (``begin_year``,
``run_to_year_end``, ``drain``, ``log``, ``alive``, ``entered``, ``exited``,
``dm_uncontrolled``, ``stay_admit``, ``deaths``, ``control``, ...), so everything
downstream runs unchanged on its output.

How a year is advanced (rounds): every patient has a *clock*, the time up to which its
history is decided. Each round, every live patient whose clock is before the year end and
who is not in hospital draws the time to its next state event from the total hazard of
its current state (exponential; rates are constant within a year and a state), bounded by
the year end and the end of its post-discharge window (where rates change, and a new draw
is made — exact by memorylessness). The interval is recorded; if an event fires before the
bound, which one is picked by the cumulative hazards (as the DES does) and applied to all
such patients at once: deaths (and entrants taking their place, at the death time),
diabetic-control changes, hospital admissions.

Hospital beds are FIFO with ``beds`` servers, as :class:`sim.care.des.Beds`: an admitted
patient waits (no hazards) until its bed is granted, then stays its length of stay. Stays
are discovered out of time order (rounds), so a stay's grant is decided only when it no
longer depends on arrivals still unknown: at once (bed at arrival) if the beds in use at its
arrival plus every patient who could still be admitted before it (free patients whose
clock is earlier, earlier stays still waiting) are fewer than the beds — it finds a bed in
any ordering; otherwise once every earlier arrival is known, with the FIFO grant (the
earliest time fewer than ``beds`` beds are held by earlier arrivals, not before an earlier
arrival's grant). So waits are the DES's queue discipline exactly, whether or not beds
bind; only near-full periods need extra rounds.

Primary-care demand does not feed back into the state events, so the clinics are run
after the state events of a year: requests are drawn from the recorded intervals
(Poisson at the state's ``pcp`` rate, uniform within the interval, batched by day as the
daily clinic tick does) and granted with the arithmetic of
:meth:`sim.care.clinic.Clinic.day` (slots per day with a carried fraction, FIFO, requests
of patients who died dropped, requests waiting ``patience_days`` given up and a share of
them sent to the ED): days on which the queue empties are done by counts alone, and the
queue is walked day by day only while requests wait. So capacity is modelled when it
binds, never silently ignored; ``capacity_stats`` counts the stays that waited for a bed
and the clinic-days walked with requests waiting (both in the run's care statistics).

Random numbers come from the engine's own named streams (``fast``, ``fast-discharge``;
the clinics use the year's ``clinic`` stream the stepper passes in): runs are
reproducible for a seed and equal in distribution to the DES, not draw for draw.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from operator import itemgetter

import numpy as np

from sim.care.clinic import Clinic
from sim.care.des import QUANTILES, EventLog, PanelState, StayTables
from sim.care.model import H_DEATH, H_DM, H_ELECTIVE
from sim.constants import DAYS_PER_YEAR, READMISSION_WINDOW_DAYS
from sim.rng import stream
from sim.scenario.engines import ENGINES, resolve_engine

__all__ = ["ENGINES", "FastState", "resolve_engine"]



_ARR, _LOS, _PID, _KIND = range(4)  # rows of _Waiting.p


class _Waiting:
    """The admitted stays waiting for a bed, kept in arrival order (ties: in the order they
    were admitted, as a stable sort of them all would give): ``arr`` the arrival days (a
    sorted list, for bisection) and ``items`` the stays, ``(arrival, length of stay,
    patient, kind)`` tuples. Python lists: a year's rounds add a few stays to and take a
    few from a queue of ~1,000, which list insertions do with less overhead than NumPy
    copies of the whole queue."""

    __slots__ = ("arr", "items")

    def __init__(self) -> None:
        self.arr: list[float] = []
        self.items: list[tuple[float, float, int, int]] = []

    @property
    def n(self) -> int:
        return len(self.arr)

    @property
    def first_arrival(self) -> float:
        return self.arr[0]

    @property
    def p(self) -> np.ndarray:
        """The stays as columns (rows arrival day, length of stay, patient, kind; patient
        and kind as exact floats)."""
        return np.array(self.items, float).reshape(-1, 4).T

    def add(self, arrival: np.ndarray, los: np.ndarray, pid: np.ndarray,
            kind: np.ndarray) -> None:
        """Stays admitted at ``arrival`` join the queue, after waiting ones of equal day."""
        new = list(zip(arrival.tolist(), los.tolist(), pid.tolist(), kind.tolist(),
                       strict=True))
        arr, items = self.arr, self.items
        if 8 * len(new) > len(items):
            # a stable sort of the old (sorted) and the new stays: ties keep that order
            items += new
            items.sort(key=_arrival)
            arr[:] = [x[0] for x in items]
            return
        for x in new:  # each after every waiting stay of its day (and earlier new ones)
            i = bisect_right(arr, x[0])
            arr.insert(i, x[0])
            items.insert(i, x)

    def drop(self, idx: np.ndarray) -> None:
        """Remove the stays in columns ``idx``."""
        gone = set(np.asarray(idx).tolist())
        keep = [i for i in range(len(self.arr)) if i not in gone]
        self.arr[:] = [self.arr[i] for i in keep]
        self.items[:] = [self.items[i] for i in keep]


def _arrival(stay: tuple[float, float, int, int]) -> float:
    return stay[0]


_IV_FIELDS = ("iv_pid", "iv_t0", "iv_t1", "iv_state")
_STAY_FIELDS = ("pid", "admit", "discharge", "wait", "kind")
_STAY_DTYPES = {"pid": np.int64, "admit": np.float64, "discharge": np.float64,
                "wait": np.float64, "kind": np.int64}


class ArrayLog(EventLog):
    """The fast engine's event log: the year's intervals of constant rates are kept as the
    arrays the executor made (``iv``: patient, start day, end day, state), which
    :func:`sim.care.claims.close_year` reads as they are, instead of going through Python
    lists (~160,000 values a year at 10,000 patients). ``iv_pid``, ``iv_t0``, ``iv_t1``
    and ``iv_state`` are still the lists the DES's log has: read, they are made from the
    arrays (once)."""

    def __init__(self) -> None:
        self.iv: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._iv_lists: dict[str, list] = {}
        super().__init__()

    def _materialise(self) -> None:
        if self.iv is not None:
            arrays, self.iv = self.iv, None
            for name, a in zip(_IV_FIELDS, arrays, strict=True):
                self._iv_lists[name].extend(a.tolist())

    def clear(self) -> None:
        """Forget the year's records (in place)."""
        self.iv = None
        super().clear()


def _iv_list(name: str) -> property:
    def get(self: ArrayLog) -> list:
        self._materialise()  # noqa: SLF001
        return self._iv_lists[name]  # noqa: SLF001

    def put(self: ArrayLog, value: list) -> None:
        self._iv_lists[name] = value  # noqa: SLF001

    return property(get, put)


for _name in _IV_FIELDS:
    setattr(ArrayLog, _name, _iv_list(_name))


class FastState(PanelState):
    """The care model's patient state, advanced with NumPy for all patients at once.

    Same constructor and the same attributes and methods the stepper and the claims
    generator use as :class:`sim.care.des.DesState`; see the module docstring for the
    algorithm. ``u`` (the DES's per-patient uniforms) is accepted and ignored.
    """

    engine = "fast"

    def __init__(self, *, n: int, n_start: int, provider: np.ndarray,
                 dm_uncontrolled: np.ndarray, horizon_days: float, beds: int,
                 replace_deaths: bool, stays: StayTables, seed_seq: np.random.SeedSequence
                 ) -> None:
        super().__init__(n=n, n_start=n_start, provider=provider,
                         dm_uncontrolled=dm_uncontrolled, horizon_days=horizon_days,
                         replace_deaths=replace_deaths, stays=stays, seed_seq=seed_seq)
        self.log = ArrayLog()
        self.env = None  # no SimPy environment (the stepper frees these names at the end)
        self.beds = beds
        self.year_end_event = None
        # pcp_rate is kept for the interface; demand is drawn per interval
        # Executor state
        self.clock = np.full(n, np.inf)
        self.clock[:n_start] = 0.0
        self.window_end = np.full(n, -1.0)
        self.discharge_at = np.full(n, -np.inf)  # discharge day of the patient's last stay
        self._blocked = np.zeros(n, bool)  # admitted, bed not yet granted
        # Beds: sorted grant and release days of the stays (pairs before every future
        # arrival pruned), and (arrival, grant, release) of the stays still relevant
        self._bed_starts: list[float] = []
        self._bed_ends: list[float] = []
        self._bed_live: list[tuple[float, float, float]] = []
        self._los_table = np.asarray(stays.unplanned)
        self._snf_table = np.asarray(stays.snf)
        # Stays granted but not yet recorded (recorded in the year of their discharge):
        # those of earlier years (arrays) and those granted this year (lists)
        self._stays: dict[str, list[np.ndarray]] = {k: [] for k in _STAY_FIELDS}
        self._granted: dict[str, list] = {k: [] for k in _STAY_FIELDS}
        self.events = 0
        self.rounds = 0
        self.capacity_stats = {"stays_waited_for_bed": 0, "clinic_days_binding": 0}

    # ------------------------------------------------------------------ the year clock
    def begin_year(self, year: int, packed: np.ndarray, u: np.ndarray | None,
                   p_snf: np.ndarray, p_home_health: np.ndarray, clinics: dict[int, Clinic],
                   clinic_rng: np.random.Generator) -> None:
        """Install simulation year ``year``'s rates and clinics (``u`` is not used)."""
        self.year = year
        self.year_end = float((year + 1) * DAYS_PER_YEAR)
        self.packed = packed
        self.p_snf, self.p_home_health = p_snf, p_home_health
        self.clinics, self.clinic_rng = clinics, clinic_rng

    def run_to_year_end(self) -> None:
        """Advance every patient to the end of the current year, then run the clinics."""
        self._record_year(self._advance())

    def _advance(self) -> dict[str, list[np.ndarray]]:
        """Advance all patients to the year end in rounds; the intervals recorded."""
        ye = min(self.year_end, self.horizon_days)
        rng = stream(self.seed_seq, "fast", self.year)
        packed = self.packed
        alive, clock, window_end, blocked = self.alive, self.clock, self.window_end, \
            self._blocked
        iv: dict[str, list[np.ndarray]] = {"pid": [], "t0": [], "t1": [], "state": []}
        pend = _Waiting()
        # the total hazard of each patient and state, 0 where it is not positive (no
        # event: the wait divided by it is then inf, or nan for a zero wait; neither
        # fires, as the inf the divisions used to be guarded with)
        total_all = packed[:, :, 0]
        total_all = np.where(total_all > 0.0, total_all, 0.0)
        dm_unc = self.dm_uncontrolled
        act = np.flatnonzero(alive & ~blocked & (clock < ye))  # free, before the year end
        with np.errstate(divide="ignore", invalid="ignore"):
            while True:
                if pend.n:
                    c = clock[act]
                    first = pend.first_arrival
                    before = int(np.count_nonzero(c < first))
                    in_use = (bisect_right(self._bed_starts, first)
                              - bisect_right(self._bed_ends, first))
                    if before == 0 or before + in_use < self.beds:  # else none is granted
                        back = self._grant_beds(pend, c)
                        if len(back):
                            act = np.concatenate([act, back[clock[back] < ye]])
                if not len(act):
                    if not pend.n:
                        break
                    continue
                self.rounds += 1
                t = clock[act]
                we = window_end[act]
                inw = t < we
                s = dm_unc[act] * np.int64(2) + inw
                bound = np.where(inw, np.minimum(we, ye), ye)
                total = total_all[act, s]
                wait = rng.standard_exponential(len(act)) * DAYS_PER_YEAR
                t_next = t + wait / total
                fire = t_next < bound
                t1 = np.where(fire, t_next, bound)
                iv["pid"].append(act)
                iv["t0"].append(t)
                iv["t1"].append(t1)
                iv["state"].append(s)
                clock[act] = t1
                stay = t1 < ye
                fi = np.flatnonzero(fire)
                if not len(fi):
                    act = act[stay]
                    continue
                ev, t_ev, s_ev = act[fi], t_next[fi], s[fi]
                self.events += len(ev)
                x = rng.random(len(ev)) * total[fi]
                cum = packed[ev, s_ev, 1:6]
                k = (x[:, None] > cum).sum(axis=1)
                dead = k == H_DEATH
                entrants = self._deaths(ev[dead], t_ev[dead]) if dead.any() else None
                dm = k == H_DM
                if dm.any():
                    who = ev[dm]
                    unc = ~dm_unc[who]
                    dm_unc[who] = unc
                    self.control.extend(zip(who.tolist(), t_ev[dm].tolist(), unc.tolist(),
                                            strict=True))
                adm = ~(dead | dm)
                if adm.any():
                    self._admit(ev[adm], t_ev[adm], k[adm], rng, pend)
                # who goes on: the free patients before the year end (those who died or
                # were admitted stop; the entrants, all before it, join at the end)
                stay[fi[~dm]] = False
                act = act[stay]
                if entrants is not None and len(entrants):
                    act = np.concatenate([act, entrants])
        return iv

    def _admit(self, who: np.ndarray, arr: np.ndarray, kind: np.ndarray,
               rng: np.random.Generator, pend: _Waiting) -> None:
        """Admissions of ``who`` at days ``arr``: lengths of stay; the stays join ``pend``
        (in place) and wait there for a bed."""
        mean = np.where(kind == H_ELECTIVE, self.stays.elective_mean,
                        self.stays.unplanned_mean)
        q = (rng.random(len(who)) * QUANTILES).astype(np.int64)
        los = mean * self._los_table[q]
        self.stay_admit[who] = arr
        self._blocked[who] = True
        pend.add(arr, los, who, kind)

    def _discharge_at(self, pid: np.ndarray, pid_l: list[int], arrival: list[float],
                      discharge: list[float], kind: list[int], wait: list[float]) -> None:
        """Stays of ``pid`` (admitted at ``arrival``; ``pid_l`` the same as a list) end at
        ``discharge``: the patients come back then, in their post-discharge window; the
        stays wait to be recorded."""
        dis = np.array(discharge)
        self.clock[pid] = dis
        self.window_end[pid] = dis + READMISSION_WINDOW_DAYS
        self.discharge_at[pid] = dis
        g = self._granted
        g["pid"].extend(pid_l)
        g["admit"].extend(arrival)
        g["discharge"].extend(discharge)
        g["wait"].extend(wait)
        g["kind"].extend(kind)

    def _deaths(self, who: np.ndarray, when: np.ndarray) -> np.ndarray:
        """Patients ``who`` die at days ``when``; entrants take their places (in order of
        death, as long as the reserve lasts); the entrants' rows."""
        if not len(who):
            return who
        order = np.argsort(when, kind="stable")
        who, when = who[order], when[order]
        self.alive[who] = False
        self.exited[who] = when
        self.deaths.extend(zip(who.tolist(), when.tolist(), strict=True))
        if self.replace_deaths and self.next_entrant < self.n:
            m = min(len(who), self.n - self.next_entrant)
            new = np.arange(self.next_entrant, self.next_entrant + m)
            self.next_entrant += m
            self.entered[new] = when[:m]
            self.alive[new] = True
            self.clock[new] = when[:m]
            self.window_end[new] = -1.0
            return new
        return who[:0]

    def _grant_beds(self, pend: _Waiting, clocks: np.ndarray) -> np.ndarray:
        """Grant beds to the waiting stays whose grant is decided (they leave ``pend``);
        the patients granted a bed (back after their stays).

        ``clocks`` are the clocks of the free patients: each could still be admitted
        before a later arrival ``a`` and hold one bed at ``a`` (so could an entrant taking
        the place of one who dies, but not both at once). A stay arriving at ``a`` gets
        its bed at ``a`` when the beds in use at ``a`` plus every such possible occupant
        (free patients and patients back from hospital with clocks before ``a``, and
        waiting stays that arrived earlier) are fewer than the beds: then it finds a bed
        in every ordering of the arrivals still unknown. Otherwise it waits until every
        earlier arrival is known and granted, and then gets the FIFO grant (the earliest
        time a bed is free of earlier arrivals, not before an earlier arrival's grant).
        """
        arr, items = pend.arr, pend.items
        m = len(arr)
        first = arr[0]
        # before: free patients whose clock is before an arrival (bisect on the sorted
        # clocks); the arrivals are walked in arrival order, in chunks (the walk usually
        # stops long before the last waiting stay)
        clocks_sorted = np.sort(clocks)
        clock_min = float(clocks_sorted[0]) if len(clocks) else math.inf
        cap = self.beds
        starts, ends, live = self._bed_starts, self._bed_ends, self._bed_live
        back: list[float] = []  # discharge days of the stays granted in this pass
        kept: list[tuple[float, float, int, int]] = []  # walked stays still waiting
        granted: list[tuple[int, float, float, float, int]] = []  # (pid, arrival,
        # discharge, wait, kind) of the stays granted in this pass
        waiting = 0
        waited = 0  # stays granted a bed after their arrival (FIFO grants only)
        walked = m  # stays walked (the rest all wait)
        lo, size = 0, 64
        while lo < m:
            hi = min(m, lo + size)
            size *= 2
            before_l = np.searchsorted(clocks_sorted, arr[lo:hi], side="left").tolist()
            for j, before in enumerate(before_l, lo):
                a = arr[j]
                possible = before + bisect_left(back, a) + waiting
                if possible >= cap:  # and for every later arrival too: nothing more to grant
                    walked = j
                    break
                in_use = bisect_right(starts, a) - bisect_right(ends, a)
                if in_use + possible < cap:
                    g = a
                elif possible == 0:
                    # every later query is for an arrival after a: stays ended by a are done
                    live, g = _fifo_grant(live, a, cap)
                    waited += g > a
                else:
                    waiting += 1
                    kept.append(items[j])
                    continue
                _, length, pid, kind = items[j]
                r = g + length
                insort(starts, g)
                insort(ends, r)
                live.append((a, g, r))
                insort(back, r)
                granted.append((pid, a, r, g - a, kind))
            else:
                lo = hi
                continue
            break
        if not granted:
            return np.empty(0, np.int64)
        waiting += m - walked
        # Stays that ended before every future arrival no longer matter (pairs of a start
        # and an end both before every future query cancel in the bed count).
        floor = min(clock_min, back[0], first if waiting else math.inf)
        k = bisect_right(ends, floor)
        del starts[:k], ends[:k]
        self._bed_live = [x for x in live if x[2] > floor]
        # the walked stays that still wait, then the stays not walked
        items[:walked] = kept
        arr[:walked] = [x[0] for x in kept]
        self.capacity_stats["stays_waited_for_bed"] += waited
        g_pid, g_arr, g_dis, g_wait, g_kind = map(list, zip(*granted, strict=True))
        pid = np.array(g_pid, np.int64)
        self._blocked[pid] = False
        self._discharge_at(pid, g_pid, g_arr, g_dis, g_kind, g_wait)
        return pid

    def _record_year(self, iv: dict[str, list[np.ndarray]]) -> None:
        """Write the year's intervals and discharges into the event log; run the clinics."""
        ye = self.year_end
        log = self.log
        pid = np.concatenate(iv["pid"]) if iv["pid"] else np.empty(0, np.int64)
        t0 = np.concatenate(iv["t0"]) if iv["t0"] else np.empty(0)
        t1 = np.concatenate(iv["t1"]) if iv["t1"] else np.empty(0)
        state = np.concatenate(iv["state"]) if iv["state"] else np.empty(0, np.int64)
        iv = (pid.astype(np.int64, copy=False), t0, t1, state.astype(np.int64, copy=False))
        if log.iv is not None or log.iv_pid:  # (one record a year: not so far)
            log._materialise()  # noqa: SLF001
            for name, a in zip(_IV_FIELDS, iv, strict=True):
                getattr(log, name).extend(a.tolist())
        else:
            log.iv = iv
        # Discharges of this year (stays granted earlier may end in a later year)
        st, granted = self._stays, self._granted
        if st["pid"] or granted["pid"]:
            a = {k: np.concatenate([*st[k], np.array(granted[k], _STAY_DTYPES[k])])
                 for k in _STAY_FIELDS}
            self._granted = {k: [] for k in _STAY_FIELDS}
            now = a["discharge"] <= ye
            later = {k: [v[~now]] for k, v in a.items()}
            self._stays = later
            d = {k: v[now] for k, v in a.items()}
            # Recorded only up to the horizon (as the DES)
            keep = d["discharge"] <= self.horizon_days
            d = {k: v[keep] for k, v in d.items()}
            m = len(d["pid"])
            if m:
                u = stream(self.seed_seq, "fast-discharge", self.year).random((m, 2))
                p = d["pid"]
                to_snf = u[:, 0] < self.p_snf[p]
                snf_days = np.where(
                    to_snf, self.stays.snf_mean
                    * self._snf_table[(u[:, 1] * QUANTILES).astype(np.int64)], 0.0)
                hh = ~to_snf & (u[:, 1] < self.p_home_health[p])
                adm = log.adm
                adm["pid"].extend(p.tolist())
                adm["admit"].extend(d["admit"].tolist())
                adm["discharge"].extend(d["discharge"].tolist())
                adm["wait"].extend(d["wait"].tolist())
                adm["kind"].extend(d["kind"].tolist())
                adm["snf_days"].extend(snf_days.tolist())
                adm["home_health"].extend(hh.tolist())
        # A stay in progress at the year end keeps its admission day; others are over.
        self.stay_admit[self.discharge_at <= ye] = np.inf
        self._clinic_year(pid, t0, t1, state)
        self.closing = True

    def _clinic_year(self, pid: np.ndarray, t0: np.ndarray, t1: np.ndarray,
                     state: np.ndarray) -> None:
        """Primary-care requests of the year's intervals, granted clinic-day by clinic-day."""
        if not self.clinics:
            return
        rng = self.clinic_rng
        rate = self.packed[pid, state, 7]
        dt = t1 - t0
        counts = rng.poisson(rate * dt / DAYS_PER_YEAR)
        # each interval's requests: uniform within it (np.repeat(x, counts) = x[idx] for
        # idx = np.repeat(np.arange(len(x)), counts))
        when = np.repeat(t0, counts) + rng.random(int(counts.sum())) * np.repeat(dt, counts)
        first = self.year * DAYS_PER_YEAR
        off = np.clip(np.floor(when).astype(np.int64) - first, 0, DAYS_PER_YEAR - 1)
        req = np.repeat(pid, counts)
        prov = self.provider[req]
        for i, clinic in self.clinics.items():
            mine = prov == i
            if len(self.clinics) == 1 and mine.all():
                self._run_clinic(clinic, req, off, first, rng)
            else:
                self._run_clinic(clinic, req[mine], off[mine], first, rng)

    def _run_clinic(self, clinic: Clinic, r_pid: np.ndarray, r_off: np.ndarray, first: int,
                    rng: np.random.Generator) -> None:
        """One clinic's year, with the arithmetic of :meth:`Clinic.day` on the FIFO queue of
        requests (``r_off``: their days from the year's first; sorted by day, the
        carried-over queue first): days on which the queue empties are done by counts
        alone; only while requests wait is the queue walked day by day (requests of
        patients no longer alive at the daily tick are dropped, requests waiting
        ``patience_days`` are given up, a share of them to the ED)."""
        log = self.log
        # days of the year as int16: NumPy's stable sort is then a radix sort (the same
        # permutation as sorting the days themselves)
        order = np.argsort(r_off.astype(np.int16), kind="stable")
        counts = np.bincount(r_off, minlength=DAYS_PER_YEAR)
        per_day = counts.tolist()
        new_day = np.repeat(np.arange(first, first + DAYS_PER_YEAR, dtype=float), counts)
        n_old = len(clinic.queue_pid)
        if n_old:
            r_pid = np.concatenate([clinic.queue_pid.astype(np.int64), r_pid[order]])
            q_day = np.concatenate([clinic.queue_day, new_day])
        else:
            r_pid, q_day = r_pid[order], new_day
        # requests of patients who die by a tick of this year (exit <= its last tick), in
        # order of exit: the only ones a walk of the queue can skip; ``dead`` holds the
        # positions of those dead by the current tick (sorted)
        exit_a = self.exited[r_pid]
        cand = np.flatnonzero(exit_a <= first + DAYS_PER_YEAR)
        by_exit = np.argsort(exit_a[cand], kind="stable")
        cand_exit = exit_a[cand][by_exit].tolist()
        cand_pos = cand[by_exit].tolist()
        n_cand, next_cand = len(cand_pos), 0
        dead: list[int] = []
        spd, cap_carry = clinic.slots_per_day, max(clinic.slots_per_day, 1.0)
        patience = clinic.patience_days
        carry = clinic.carry
        head, tail = 0, n_old
        served: list[tuple[int, int, int]] = []  # (from, to, day) runs of served requests
        skipped: list[int] = []  # dead requests inside served runs
        lost_all: list[int] = []
        lost_day: list[int] = []
        given_up = 0.0
        binding = 0
        j = 0
        while j < DAYS_PER_YEAR:
            d = first + j
            if head == tail:  # the queue is empty: every request of the day is served
                after = carry + spd
                c = per_day[j]
                if c <= int(after):
                    if c:
                        served.append((tail, tail + c, d))
                    tail += c
                    head = tail
                    carry = min(after - c, cap_carry)
                    j += 1
                    continue
            # Requests wait: Clinic.day on the queue [head, tail)
            binding += 1
            tail += per_day[j]
            tick = d + 1.0
            carry += spd
            k = int(carry)
            n = 0
            start = head
            # serve the first k requests of patients alive at the tick (the others are
            # dropped): runs of requests up to the next dead one at once
            while next_cand < n_cand and cand_exit[next_cand] <= tick:
                insort(dead, cand_pos[next_cand])
                next_cand += 1
            di = bisect_left(dead, head)
            while n < k and head < tail:
                nxt = dead[di] if di < len(dead) else tail
                if nxt >= tail:
                    take = min(k - n, tail - head)
                    n += take
                    head += take
                    break
                take = min(k - n, nxt - head)
                n += take
                head += take
                if n == k:
                    break
                skipped.append(head)  # head == nxt: dead by the tick
                head += 1
                di += 1
            if head > start:
                served.append((start, head, d))
            carry -= n
            carry = min(carry, cap_carry)
            while head < tail and d - float(q_day[head]) >= patience:
                if float(exit_a[head]) > tick:
                    lost_all.append(head)
                    lost_day.append(d)
                    given_up += 1.0
                head += 1
            j += 1
        self.capacity_stats["clinic_days_binding"] += binding
        clinic.carry = carry
        keep = np.arange(head, tail)
        keep = keep[exit_a[keep] > first + DAYS_PER_YEAR]
        clinic.queue_pid, clinic.queue_day = r_pid[keep], q_day[keep]
        if served:
            runs = np.asarray(served, np.int64)
            lengths = runs[:, 1] - runs[:, 0]
            sday = np.repeat(runs[:, 2].astype(float), lengths)
            offset = np.repeat(runs[:, 0] - np.cumsum(lengths) + lengths, lengths)
            pos = offset + np.arange(len(sday))
            if skipped:  # pos is increasing: the skipped are found by bisection
                ok = np.ones(len(pos), bool)
                ok[np.searchsorted(pos, skipped)] = False
                pos, sday = pos[ok], sday[ok]
            log.pcp_served.append(r_pid[pos])
            log.pcp_served_day.append(sday + rng.random(len(pos)))
            log.pcp_wait.append(sday - q_day[pos])
        if lost_all:
            to_ed = rng.random(len(lost_all)) < clinic.unmet_to_ed_share
            if to_ed.any():
                log.unmet_ed.append(r_pid[np.asarray(lost_all)[to_ed]])
                log.unmet_ed_day.append(np.asarray(lost_day, float)[to_ed] + 0.5)
        log.given_up += given_up

    def drain(self) -> int:
        """After the last year: nothing is left to run; the number of state events."""
        return self.events


def _fifo_grant(live: list[tuple[float, float, float]], a: float, cap: int
                ) -> tuple[list[tuple[float, float, float]], float]:
    """FIFO grant of a stay arriving at ``a`` when every earlier arrival is granted
    (``live``: (arrival, grant, release) of the stays that may still hold a bed): not
    before ``a`` nor an earlier arrival's grant ``t0``; from ``t0`` on every earlier stay
    has begun, so the beds they hold at ``t`` are their releases after ``t``, fewer than
    ``cap`` from the ``cap``-th latest release on. Also ``live`` without the stays
    released by ``a`` (every later query is for an arrival after ``a``), in one pass."""
    kept = [x for x in live if x[2] > a]
    earlier = [x for x in kept if x[0] < a]
    if not earlier:
        return kept, a
    t0 = max(a, max(map(_grant_of, earlier)))
    if len(earlier) < cap:
        return kept, t0
    releases = sorted(map(_release_of, earlier))
    return kept, max(t0, releases[-cap])  # the cap-th latest release


_grant_of, _release_of = itemgetter(1), itemgetter(2)
