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

Hospital beds are FIFO with ``capacity`` servers, as :class:`sim.care.des.Beds`: a stay's
bed is granted at ``max(arrival, earliest bed release)`` taken over the stays in arrival
order (Kiefer-Wolfowitz recursion, a heap of release times). A stay is only granted once
no earlier arrival can still appear: once every other patient's clock has passed its
arrival (and every stay granted before it has been discharged or passed it too), so the
order — and with it every wait — is exactly the DES's queue discipline, whether or not
beds bind.

Primary-care demand does not feed back into the state events, so the clinics are run
after the state events of a year: requests are drawn from the recorded intervals
(Poisson at the state's ``pcp`` rate, uniform within the interval, batched by day as the
daily clinic tick does), and each clinic-day is granted by :class:`sim.care.clinic.Clinic`
itself — only from the first day on which demand exceeds the slots (a count-only pass
finds it); before that every request is served the same day with no wait, which is what
``Clinic.day`` would do. So capacity is modelled when it binds, never silently ignored;
``capacity_stats`` counts the stays that waited for a bed and the clinic-days on which
demand exceeded the slots.

Random numbers come from the engine's own named streams (``fast``, ``fast-discharge``;
the clinics use the year's ``clinic`` stream the stepper passes in): runs are
reproducible for a seed and equal in distribution to the DES, not draw for draw.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from sim.care.clinic import Clinic
from sim.care.des import QUANTILES, EventLog, StayTables
from sim.care.model import H_DEATH, H_DM, H_ELECTIVE
from sim.constants import DAYS_PER_YEAR, READMISSION_WINDOW_DAYS
from sim.rng import stream

ENGINES = ("des", "fast", "auto")


class _AliveAt:
    """``alive`` as the daily clinic tick at time ``t`` sees it (indexed by patient rows)."""

    __slots__ = ("entered", "exited", "t")

    def __init__(self, entered: np.ndarray, exited: np.ndarray, t: float) -> None:
        self.entered, self.exited, self.t = entered, exited, t

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        return (self.entered[idx] <= self.t) & (self.exited[idx] > self.t)


class FastState:
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
        self.env = None  # no SimPy environment (the stepper frees these names at the end)
        self.beds = beds
        self.year_end_event = None
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
        self.pcp_rate = np.zeros(n)  # kept for the interface; demand is drawn per interval
        self.stay_admit = np.full(n, np.inf)
        self.next_entrant = n_start
        self.log = EventLog()
        self.deaths: list[tuple[int, float]] = []
        self.control: list[tuple[int, float, bool]] = []
        self.uniform_overflows = 0
        self.year = 0
        self.year_end = float(DAYS_PER_YEAR)
        self.closing = False
        self.packed: np.ndarray | None = None
        self.u: np.ndarray | None = None
        self.p_snf: np.ndarray | None = None
        self.p_home_health: np.ndarray | None = None
        self.clinics: dict[int, Clinic] = {}
        self.clinic_rng: np.random.Generator | None = None
        # Executor state
        self.clock = np.full(n, np.inf)
        self.clock[:n_start] = 0.0
        self.window_end = np.full(n, -1.0)
        self.discharge_at = np.full(n, -np.inf)  # discharge day of the patient's last stay
        self._blocked = np.zeros(n, bool)  # admitted, bed not yet granted
        self._bed_release: list[float] = []  # heap: release days of the beds in use
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

    _ARRAYS = ("alive", "exited", "entered", "dm_uncontrolled", "stay_admit", "clock",
               "window_end", "discharge_at")

    def run_to_year_end(self) -> None:
        """Advance every patient to the end of the current year, then run the clinics.

        First with every bed granted on arrival (no ordering of stays needed: few rounds);
        if the year's bed occupancy then ever exceeds the beds, the year is run again from
        its start with the FIFO queue (:meth:`_grant_beds`), which is exact either way.
        """
        snap = {k: getattr(self, k).copy() for k in self._ARRAYS}
        counters = (self.next_entrant, len(self.deaths), len(self.control), self.events,
                    dict(self.capacity_stats), list(self._bed_release),
                    {k: list(v) for k, v in self._stays.items()})
        iv = self._advance(queue=False)
        if iv is None:  # beds bind this year: again, with the queue
            for k, v in snap.items():
                getattr(self, k)[:] = v
            (self.next_entrant, n_deaths, n_control, self.events, self.capacity_stats,
             self._bed_release, self._stays) = counters
            del self.deaths[n_deaths:]
            del self.control[n_control:]
            self.capacity_stats["years_beds_bind"] = (
                self.capacity_stats.get("years_beds_bind", 0) + 1)
            iv = self._advance(queue=True)
        self._record_year(iv)

    def _advance(self, queue: bool) -> dict[str, list[np.ndarray]] | None:
        """Advance all patients to the year end in rounds; the intervals recorded. Without
        ``queue``, beds are granted on arrival and None is returned if that overfills
        them (nothing else is undone: the caller restores the state)."""
        ye = min(self.year_end, self.horizon_days)
        ys = float(self.year * DAYS_PER_YEAR)
        rng = stream(self.seed_seq, "fast", self.year)
        packed = self.packed
        alive, clock, window_end, blocked = self.alive, self.clock, self.window_end, \
            self._blocked
        iv: dict[str, list[np.ndarray]] = {"pid": [], "t0": [], "t1": [], "state": []}
        pend = {k: np.empty(0) for k in ("pid", "arrival", "los", "kind")}
        pend["pid"] = pend["pid"].astype(np.int64)
        arrivals: list[np.ndarray] = []
        releases: list[np.ndarray] = []
        while True:
            if len(pend["pid"]):
                pend = self._grant_beds(pend)
            act = np.flatnonzero(alive & ~blocked & (clock < ye))
            if not len(act):
                if not len(pend["pid"]):
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
                continue
            ev, t_ev, s_ev = act[fire], t_next[fire], s[fire]
            self.events += len(ev)
            x = rng.random(len(ev)) * total[fire]
            cum = packed[ev, s_ev, 1:6]
            k = (x[:, None] > cum).sum(axis=1)
            self._deaths(ev[k == H_DEATH], t_ev[k == H_DEATH])
            dm = k == H_DM
            if dm.any():
                who = ev[dm]
                unc = ~self.dm_uncontrolled[who]
                self.dm_uncontrolled[who] = unc
                self.control.extend(zip(who.tolist(), t_ev[dm].tolist(), unc.tolist(),
                                        strict=True))
            adm = (k != H_DEATH) & ~dm
            if not adm.any():
                continue
            who, arr, kind = ev[adm], t_ev[adm], k[adm]
            mean = np.where(kind == H_ELECTIVE, self.stays.elective_mean,
                            self.stays.unplanned_mean)
            q = (rng.random(len(who)) * QUANTILES).astype(np.int64)
            los = mean * self._los_table[q]
            self.stay_admit[who] = arr
            if queue:
                blocked[who] = True
                pend = {"pid": np.concatenate([pend["pid"], who]),
                        "arrival": np.concatenate([pend["arrival"], arr]),
                        "los": np.concatenate([pend["los"], los]),
                        "kind": np.concatenate([pend["kind"], kind.astype(float)])}
            else:
                self._discharge_at(who, arr, arr + los, kind)
                arrivals.append(arr)
                releases.append(arr + los)
        if queue:
            return iv
        # Beds granted on arrival: did the occupancy ever exceed the beds?
        carried = np.asarray(self._bed_release)
        carried = carried[carried > ys]
        arr = np.concatenate(arrivals) if arrivals else np.empty(0)
        rel = np.concatenate([carried, *releases])
        if len(arr):
            times = np.concatenate([arr, rel])
            delta = np.concatenate([np.ones(len(arr)), -np.ones(len(rel))])
            order = np.lexsort((delta, times))  # releases first at equal times
            in_use = len(carried) + np.cumsum(delta[order])
            if (in_use[delta[order] > 0] > self.beds).any():
                return None
        self._bed_release = sorted(rel[rel > ye].tolist())  # a valid heap
        return iv

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

    def _deaths(self, who: np.ndarray, when: np.ndarray) -> None:
        """Patients ``who`` die at days ``when``; entrants take their places (in order of
        death, as long as the reserve lasts)."""
        if not len(who):
            return
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

    def _grant_beds(self, pend: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Grant beds, in arrival order, to the waiting stays whose order is decided; the
        stays still undecided are returned."""
        free = self.alive & ~self._blocked
        horizon = float(self.clock[free].min()) if free.any() else math.inf
        order = np.argsort(pend["arrival"], kind="stable")
        pend = {k: v[order] for k, v in pend.items()}
        arrival = pend["arrival"]
        n_ok = int(np.searchsorted(arrival, horizon, side="right"))
        if not n_ok:
            return pend
        cap = self.beds
        heap = self._bed_release
        los = pend["los"]
        grants: list[float] = []
        arr_l = arrival[:n_ok].tolist()
        los_l = los[:n_ok].tolist()
        limit = horizon
        for a, length in zip(arr_l, los_l, strict=True):
            if a > limit:
                break
            if len(heap) < cap:
                g = a
                heapq.heappush(heap, a + length)
            else:
                g = a if heap[0] <= a else heap[0]
                heapq.heapreplace(heap, g + length)
            grants.append(g)
            # The discharged patient may come back before the next arrival: its new clock
            # bounds what can be decided now.
            limit = min(limit, g + length)
        n_ok = len(grants)
        if not n_ok:
            return pend
        grant = np.asarray(grants)
        pid = pend["pid"][:n_ok]
        dis = grant + los[:n_ok]
        wait = grant - arrival[:n_ok]
        self.capacity_stats["stays_waited_for_bed"] += int(np.count_nonzero(wait > 0))
        self._blocked[pid] = False
        self._discharge_at(pid, arrival[:n_ok], dis, pend["kind"][:n_ok], wait)
        return {k: v[n_ok:] for k, v in pend.items()}

    def _record_year(self, iv: dict[str, list[np.ndarray]]) -> None:
        """Write the year's intervals and discharges into the event log; run the clinics."""
        ye = self.year_end
        log = self.log
        pid = np.concatenate(iv["pid"]) if iv["pid"] else np.empty(0, np.int64)
        t0 = np.concatenate(iv["t0"]) if iv["t0"] else np.empty(0)
        t1 = np.concatenate(iv["t1"]) if iv["t1"] else np.empty(0)
        state = np.concatenate(iv["state"]) if iv["state"] else np.empty(0, np.int64)
        log.iv_pid.extend(pid.tolist())
        log.iv_t0.extend(t0.tolist())
        log.iv_t1.extend(t1.tolist())
        log.iv_state.extend(state.tolist())
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
        if not self.clinics or not len(pid):
            return
        rng = self.clinic_rng
        rate = self.packed[pid, state, 7]
        counts = rng.poisson(rate * (t1 - t0) / DAYS_PER_YEAR)
        idx = np.repeat(np.arange(len(pid)), counts)
        when = t0[idx] + rng.random(len(idx)) * (t1[idx] - t0[idx])
        first = self.year * DAYS_PER_YEAR
        day = np.clip(np.floor(when).astype(np.int64) - first, 0, DAYS_PER_YEAR - 1)
        req = pid[idx]
        prov = self.provider[req]
        log = self.log
        for i, clinic in self.clinics.items():
            mine = prov == i
            r_pid, r_day = req[mine], day[mine]
            order = np.argsort(r_day, kind="stable")
            r_pid, r_day = r_pid[order], r_day[order]
            per_day = np.bincount(r_day, minlength=DAYS_PER_YEAR).tolist()
            # Count-only pass (Clinic.day's arithmetic on counts): the first day on which
            # requests are left waiting, i.e. capacity binds
            spd = clinic.slots_per_day
            carry = clinic.carry
            bind = 0 if clinic.backlog else None
            if bind is None:
                for j, c in enumerate(per_day):
                    after = carry + spd
                    if c > int(after):
                        bind = j
                        break
                    carry = min(after - c, max(spd, 1.0))
            clinic.carry = carry
            j0 = DAYS_PER_YEAR if bind is None else bind
            n_same = int(np.searchsorted(r_day, j0))
            if n_same:
                log.pcp_served.append(r_pid[:n_same])
                log.pcp_served_day.append(first + r_day[:n_same] + rng.random(n_same))
                log.pcp_wait.append(np.zeros(n_same))
            if bind is None:
                continue
            self.capacity_stats["clinic_days_binding"] += DAYS_PER_YEAR - j0
            starts = np.searchsorted(r_day, np.arange(j0, DAYS_PER_YEAR + 1)).tolist()
            for j in range(j0, DAYS_PER_YEAR):
                d = first + j
                new = r_pid[starts[j - j0]:starts[j - j0 + 1]]
                served, waits, ed, lost = clinic.day(
                    float(d), new, _AliveAt(self.entered, self.exited, d + 1.0), rng)
                if len(served):
                    log.pcp_served.append(served)
                    log.pcp_served_day.append(np.full(len(served), d + rng.random()))
                    log.pcp_wait.append(waits)
                if len(ed):
                    log.unmet_ed.append(ed)
                    log.unmet_ed_day.append(np.full(len(ed), float(d) + 0.5))
                log.given_up += lost

    def drain(self) -> int:
        """After the last year: nothing is left to run; the number of state events."""
        return self.events


def resolve_engine(sc: object) -> str:
    """The executor a scenario runs on: ``des`` or ``fast``.

    ``auto`` resolves to ``fast``: the fast engine models both queues of the DES (FIFO
    beds exactly, clinic capacity clinic-day by clinic-day from the first day it binds),
    so there is no case in which it must fall back to the SimPy executor; runs record how
    often capacity bound (``stays_waited_for_bed``, ``clinic_days_binding`` in the care
    statistics).
    """
    engine = getattr(sc, "engine", "des")
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {', '.join(ENGINES)}, got {engine!r}")
    return "fast" if engine == "auto" else engine
