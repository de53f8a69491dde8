"""The fast executor as it was before the speed-ups of its year (commit 150cf05,
``sim/care/fast.py`` verbatim below this docstring's first paragraph): the reference
``tests/care/test_fast_equivalence.py`` runs beside ``sim.care.fast`` on the same inputs,
which must give the same bits. Frozen: do not edit (it is the plain form, not the code).

The vectorised executor of the care model (``engine: fast``).

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
    """The admitted stays waiting for a bed, one column each (rows arrival day, length of
    stay, patient, kind; patient and kind as exact floats), kept in arrival order (ties:
    in the order they were admitted, as a stable sort of them all would give)."""

    def __init__(self) -> None:
        self.p = np.empty((4, 0))

    @property
    def n(self) -> int:
        return self.p.shape[1]

    @property
    def first_arrival(self) -> float:
        return float(self.p[_ARR, 0])

    def add(self, arrival: np.ndarray, los: np.ndarray, pid: np.ndarray,
            kind: np.ndarray) -> None:
        """Stays admitted at ``arrival`` join the queue, after waiting ones of equal day."""
        order = np.argsort(arrival, kind="stable")
        new = np.stack([arrival, los, pid.astype(float), kind.astype(float)])[:, order]
        at = np.searchsorted(self.p[_ARR], new[_ARR], side="right")
        # = np.insert(self.p, at, new, axis=1), without its overhead: new item j goes to
        # at[j] + j, old item i to i + (new items inserted at or before i)
        m, k = self.p.shape[1], new.shape[1]
        out = np.empty((4, m + k))
        out[:, at + np.arange(k)] = new
        old = np.arange(m)
        out[:, old + np.searchsorted(at, old, side="right")] = self.p
        self.p = out

    def drop(self, idx: np.ndarray) -> None:
        """Remove the stays in columns ``idx``."""
        keep = np.ones(self.p.shape[1], bool)
        keep[idx] = False
        self.p = self.p[:, keep]


_IV_FIELDS = ("iv_pid", "iv_t0", "iv_t1", "iv_state")


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
        # Stays granted but not yet recorded (recorded in the year of their discharge)
        self._stays: dict[str, list[np.ndarray]] = {
            k: [] for k in ("pid", "admit", "discharge", "wait", "kind")}
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
        act = np.flatnonzero(alive & ~blocked & (clock < ye))  # free, before the year end
        while True:
            if pend.n:
                c = clock[act]
                first = pend.first_arrival
                before = int(np.count_nonzero(c < first))
                in_use = (bisect_right(self._bed_starts, first)
                          - bisect_right(self._bed_ends, first))
                if before == 0 or before + in_use < self.beds:  # else no stay can be granted
                    back = self._grant_beds(pend, c)
                    act = np.concatenate([act, back[clock[back] < ye]])
            if not len(act):
                if not pend.n:
                    break
                continue
            self.rounds += 1
            t = clock[act]
            we = window_end[act]
            inw = t < we
            s = 2 * self.dm_uncontrolled[act].astype(np.int64) + inw
            bound = np.where(inw, np.minimum(we, ye), ye)
            total = packed[act, s, 0]
            wait = rng.standard_exponential(len(act)) * DAYS_PER_YEAR
            t_next = t + np.where(total > 0.0, wait / np.where(total > 0, total, 1.0), np.inf)
            fire = t_next < bound
            t1 = np.where(fire, t_next, bound)
            iv["pid"].append(act)
            iv["t0"].append(t)
            iv["t1"].append(t1)
            iv["state"].append(s)
            clock[act] = t1
            if not fire.any():
                act = act[t1 < ye]
                continue
            ev, t_ev, s_ev = act[fire], t_next[fire], s[fire]
            self.events += len(ev)
            x = rng.random(len(ev)) * total[fire]
            cum = packed[ev, s_ev, 1:6]
            k = (x[:, None] > cum).sum(axis=1)
            entrants = self._deaths(ev[k == H_DEATH], t_ev[k == H_DEATH])
            dm = k == H_DM
            if dm.any():
                who = ev[dm]
                unc = ~self.dm_uncontrolled[who]
                self.dm_uncontrolled[who] = unc
                self.control.extend(zip(who.tolist(), t_ev[dm].tolist(), unc.tolist(),
                                        strict=True))
            adm = (k != H_DEATH) & ~dm
            if adm.any():
                self._admit(ev[adm], t_ev[adm], k[adm], rng, pend)
            act = np.concatenate([act, entrants])
            act = act[alive[act] & ~blocked[act] & (clock[act] < ye)]
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

    def _discharge_at(self, pid: np.ndarray, arrival: np.ndarray, discharge: np.ndarray,
                      kind: np.ndarray, wait: np.ndarray | None = None) -> None:
        """Stays of ``pid`` (admitted at ``arrival``) end at ``discharge``: the patients
        come back then, in their post-discharge window; the stays wait to be recorded."""
        self.clock[pid] = discharge
        self.window_end[pid] = discharge + READMISSION_WINDOW_DAYS
        self.discharge_at[pid] = discharge
        st = self._stays
        st["pid"].append(pid)
        st["admit"].append(arrival)
        st["discharge"].append(discharge)
        st["wait"].append(np.zeros(len(pid)) if wait is None else wait)
        st["kind"].append(np.asarray(kind, np.int64))

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
        p = pend.p
        m = p.shape[1]
        # before: free patients whose clock is before an arrival (bisect on the sorted
        # clocks); the arrivals are walked in arrival order, in chunks (the walk usually
        # stops long before the last waiting stay)
        clocks_sorted = np.sort(clocks)
        clock_min = float(clocks_sorted[0]) if len(clocks) else math.inf
        cap = self.beds
        starts, ends, live = self._bed_starts, self._bed_ends, self._bed_live
        back: list[float] = []  # discharge days of the stays granted in this pass
        ok: list[int] = []
        grants: list[float] = []
        waiting = 0
        lo, size, done = 0, 64, False
        while lo < m and not done:
            hi = min(m, lo + size)
            size *= 2
            arr_l = p[_ARR, lo:hi].tolist()
            los_l = p[_LOS, lo:hi].tolist()
            before_l = np.searchsorted(clocks_sorted, p[_ARR, lo:hi], side="left").tolist()
            for j, (a, length, before) in enumerate(zip(arr_l, los_l, before_l, strict=True)):
                possible = before + bisect_left(back, a) + waiting
                if possible >= cap:  # and for every later arrival too: nothing more to grant
                    waiting += m - (lo + j)
                    done = True
                    break
                in_use = bisect_right(starts, a) - bisect_right(ends, a)
                if in_use + possible < cap:
                    g = a
                elif possible == 0:
                    # every later query is for an arrival after a: stays ended by a are done
                    live = self._bed_live = [x for x in live if x[2] > a]
                    g = _fifo_grant(live, a, cap)
                else:
                    waiting += 1
                    continue
                r = g + length
                insort(starts, g)
                insort(ends, r)
                live.append((a, g, r))
                insort(back, r)
                ok.append(lo + j)
                grants.append(g)
            lo = hi
        if not ok:
            return np.empty(0, np.int64)
        # Stays that ended before every future arrival no longer matter (pairs of a start
        # and an end both before every future query cancel in the bed count).
        floor = min(clock_min, back[0], float(p[_ARR, 0]) if waiting else math.inf)
        k = bisect_right(ends, floor)
        del starts[:k], ends[:k]
        self._bed_live = [x for x in live if x[2] > floor]
        idx = np.asarray(ok)
        grant = np.asarray(grants)
        granted = p[:, idx]
        pid = granted[_PID].astype(np.int64)
        arrival = granted[_ARR]
        dis = grant + granted[_LOS]
        wait = grant - arrival
        self.capacity_stats["stays_waited_for_bed"] += int(np.count_nonzero(wait > 0))
        self._blocked[pid] = False
        self._discharge_at(pid, arrival, dis, granted[_KIND], wait)
        pend.drop(idx)
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
        st = self._stays
        if st["pid"]:
            a = {k: np.concatenate(v) for k, v in st.items()}
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
        counts = rng.poisson(rate * (t1 - t0) / DAYS_PER_YEAR)
        idx = np.repeat(np.arange(len(pid)), counts)
        when = t0[idx] + rng.random(len(idx)) * (t1[idx] - t0[idx])
        first = self.year * DAYS_PER_YEAR
        day = first + np.clip(np.floor(when).astype(np.int64) - first, 0, DAYS_PER_YEAR - 1)
        req = pid[idx]
        prov = self.provider[req]
        for i, clinic in self.clinics.items():
            mine = prov == i
            self._run_clinic(clinic, req[mine], day[mine], first, rng)

    def _run_clinic(self, clinic: Clinic, r_pid: np.ndarray, r_day: np.ndarray, first: int,
                    rng: np.random.Generator) -> None:
        """One clinic's year, with the arithmetic of :meth:`Clinic.day` on the FIFO queue of
        requests (sorted by day, the carried-over queue first): days on which the queue
        empties are done by counts alone; only while requests wait is the queue walked
        day by day (requests of patients no longer alive at the daily tick are dropped,
        requests waiting ``patience_days`` are given up, a share of them to the ED)."""
        log = self.log
        # days of the year as int16: NumPy's stable sort is then a radix sort (the same
        # permutation as sorting the days themselves)
        order = np.argsort((r_day - first).astype(np.int16), kind="stable")
        r_pid = np.concatenate([clinic.queue_pid.astype(np.int64), r_pid[order]])
        q_day = np.concatenate([clinic.queue_day, r_day[order].astype(float)])
        per_day = np.bincount(r_day - first, minlength=DAYS_PER_YEAR).tolist()
        n_old = len(clinic.queue_pid)
        exit_l = self.exited[r_pid].tolist()
        day_l = q_day.tolist()
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
            if k and head < tail:
                if min(exit_l[head:min(head + k, tail)]) > tick:  # nobody dead: a slice
                    n = min(k, tail - head)
                    head += n
                else:
                    while n < k and head < tail:
                        if exit_l[head] > tick:
                            n += 1
                        else:
                            skipped.append(head)
                        head += 1
            if head > start:
                served.append((start, head, d))
            carry -= n
            carry = min(carry, cap_carry)
            while head < tail and d - day_l[head] >= patience:
                if exit_l[head] > tick:
                    lost_all.append(head)
                    lost_day.append(d)
                    given_up += 1.0
                head += 1
            j += 1
        self.capacity_stats["clinic_days_binding"] += binding
        clinic.carry = carry
        keep = np.arange(head, tail)
        keep = keep[self.exited[r_pid[keep]] > first + DAYS_PER_YEAR]
        clinic.queue_pid, clinic.queue_day = r_pid[keep], q_day[keep]
        if served:
            runs = np.asarray(served, np.int64)
            lengths = runs[:, 1] - runs[:, 0]
            sday = np.repeat(runs[:, 2].astype(float), lengths)
            offset = np.repeat(runs[:, 0] - np.cumsum(lengths) + lengths, lengths)
            pos = offset + np.arange(len(sday))
            ok = np.ones(len(pos), bool)
            if skipped:
                ok = ~np.isin(pos, np.asarray(skipped))
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


def _fifo_grant(live: list[tuple[float, float, float]], a: float, cap: int) -> float:
    """FIFO grant of a stay arriving at ``a`` when every earlier arrival is granted
    (``live``: (arrival, grant, release) of the stays that may still hold a bed): not
    before ``a`` nor an earlier arrival's grant ``t0``; from ``t0`` on every earlier stay
    has begun, so the beds they hold at ``t`` are their releases after ``t``, fewer than
    ``cap`` from the ``cap``-th latest release on."""
    t0 = a
    releases = []
    for s_a, g, r in live:
        if s_a < a and r > a:
            releases.append(r)
            if g > t0:
                t0 = g
    if len(releases) < cap:
        return t0
    releases.sort()
    return max(t0, releases[-cap])  # the cap-th latest release

