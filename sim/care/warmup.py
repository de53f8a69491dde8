"""Warm-up reuse: simulate the warm-up years once and start several scenarios from them.

A replication simulates ``warmup_years`` before plan year 0 (``sim.care.engine``); during
them behaviour does not act (levers are the scenario's provider levers) and no contract
settles, so the warm-up depends only on the settings the care model reads and on the
replication's ``SeedSequence``. In an experiment with common random numbers, every
scenario whose care-model settings are equal therefore simulates an *identical* warm-up
in a replication. This module simulates it once and reuses it:

* :func:`warmup_key` — a hash of everything in a (drawn) scenario except the sections the
  care model does not read (names, contracts, behaviour, economics... see
  :data:`NOT_WARMUP`; and each provider's ``behavior`` and ``costs``). A section not
  listed is in the key, so a new setting can only make
  reuse rarer, never wrong.
* :class:`WarmupSnapshot` — a :class:`~sim.care.engine.CareSimulation` at the boundary
  between the last warm-up year and plan year 0, as bytes (pickled). The SimPy
  environment cannot be copied (its processes are generators), so it is described at the
  boundary instead, where every live patient process is in one of three states: waiting
  for the next year (its open post-discharge window kept), in hospital (the exact day of
  its discharge and the two uniforms its discharge will use) or queueing for a bed; the
  daily process has run a known number of days. :func:`restore` rebuilds the
  environment from that description with the same event order and event ids, so a run
  continued from a snapshot is bit-identical to one that simulated its own warm-up
  (``tests/care/test_warmup_reuse.py``). Anything else found at the boundary (a pending
  event of another kind) makes the snapshot refuse (:class:`NotReusable`) and the run
  simulates its warm-up as before.
* :func:`warmed_up` — the care simulation at the start of plan year 0: restored from this
  process's cache when a snapshot of the same key and seed is there, else simulated (and
  captured when :func:`sharing` says that other scenarios may use it).

History years: a scenario whose contracts need no baseline history (``history_years``
0) can start from a snapshot that recorded history (its recorded years are dropped). The
reverse is not possible, so when snapshots are captured (:func:`sharing`) such a scenario
records the history years anyway (claims of up to three warm-up years, dropped before its
plan year 0), for the scenarios after it that need them.

The cache is per process, least-recently-used, bounded by :data:`CACHE_ENTRIES` snapshots
and ``VBCSIM_WARMUP_CACHE_MB`` (default 256) MB of snapshot bytes; a snapshot larger than
that is not made (estimated before pickling) or not kept. ``VBCSIM_WARMUP_REUSE=0`` turns
reuse off. Scenarios are run replication-major (``sim.run_setup.build_tasks``), so a
serial run reuses every warm-up it can; with worker processes a snapshot is reused only by
the tasks the same worker runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import itertools
import json
import math
import os
import pickle
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT

from sim.care.des import Beds, DesState, UrgentTimeout, daily_process, patient_process
from sim.care.engine import CareSimulation
from sim.constants import READMISSION_WINDOW_DAYS
from sim.scenario.schema import TRANSIENT_YEARS, Scenario

#: Top-level scenario sections the care model does not read during the warm-up (contracts
#: and what is decided or settled from plan year 0 on). ``plan`` enters through
#: ``history_years`` only, handled apart. ``seed`` and ``replications`` are in the seed
#: sequence. Everything else is part of :func:`warmup_key`.
NOT_WARMUP = frozenset({"name", "description", "replications", "seed", "behavior",
                        "parameter_uncertainty", "plan", "investments", "quality",
                        "economics"})
#: Sections of each provider the care model does not read (behaviour and settlement do).
NOT_WARMUP_PROVIDER = frozenset({"behavior", "costs"})
CACHE_ENTRIES = 8


class NotReusable(RuntimeError):
    """The state at the warm-up boundary is not one this module can snapshot."""


def warmup_key(sc: Scenario) -> str:
    """SHA-256 of the settings that shape the warm-up of ``sc`` (see :data:`NOT_WARMUP`)."""
    data = sc.model_dump(mode="json", exclude=set(NOT_WARMUP))
    for p in data.get("providers", []):
        for k in NOT_WARMUP_PROVIDER:
            p.pop(k, None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seed_identity(seed_seq: np.random.SeedSequence) -> tuple[Any, ...]:
    """What identifies a replication's random streams."""
    return (str(seed_seq.entropy), tuple(seed_seq.spawn_key), seed_seq.pool_size)


# --------------------------------------------------------------------------- snapshots


@dataclass(frozen=True)
class _Waiting:
    pid: int
    window_end: float


@dataclass(frozen=True)
class _InStay:
    pid: int
    discharge_at: float  # exact simulation day of the discharge event
    admit_day: float
    wait: float
    kind: int
    u1: float
    u2: float


@dataclass(frozen=True)
class _QueuedForBed:
    pid: int
    admit_day: float
    los: float
    kind: int
    u1: float
    u2: float


@dataclass
class WarmupSnapshot:
    """A care simulation at the start of plan year 0, as bytes, and its SimPy processes."""

    key: str
    seed: tuple[Any, ...]
    history_years: int
    payload: bytes
    now: float
    next_eid: int
    day: int
    beds_in_use: int
    beds_capacity: int
    waiting: list[_Waiting] = field(default_factory=list)
    in_stay: list[_InStay] = field(default_factory=list)
    queued: list[_QueuedForBed] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        """Approximate memory held (the pickled state dominates)."""
        return len(self.payload) + 100 * (len(self.waiting) + len(self.in_stay)
                                          + len(self.queued))


def _frame_locals(proc: simpy.Process) -> dict[str, Any]:
    gen = proc._generator  # noqa: SLF001
    while getattr(gen, "gi_yieldfrom", None) is not None:
        gen = gen.gi_yieldfrom
    frame = gen.gi_frame
    if frame is None:
        raise NotReusable("a finished process is still scheduled")
    return frame.f_locals


def _process_of(event: simpy.Event) -> simpy.Process:
    cbs = event.callbacks or []
    procs = [getattr(cb, "__self__", None) for cb in cbs]
    if len(procs) != 1 or not isinstance(procs[0], simpy.Process):
        raise NotReusable(f"an event of type {type(event).__name__} has callbacks other "
                          "than one process")
    return procs[0]


def _uniforms(loc: dict[str, Any]) -> tuple[float, float]:
    u, ui = loc["u"], loc["ui"]
    return float(u[ui].item()), float(u[ui + 1].item())


def capture(care: CareSimulation, key: str | None = None) -> WarmupSnapshot:
    """Snapshot ``care`` after its last warm-up year closed (plan year 0 not started).

    Raises :class:`NotReusable` if ``care`` is not at that boundary or the DES holds
    something this module does not know how to rebuild."""
    des = care.des
    if care.year != care.warmup - 1 or care.warmup < 1:
        raise NotReusable("not at the end of the warm-up")
    if not isinstance(des, DesState):
        if getattr(des, "env", "no env attribute") is not None:
            raise NotReusable(f"the executor {type(des).__name__} has no snapshot")
        return _capture_plain(care, key)  # no SimPy state: arrays only (the fast engine)
    env = des.env
    if env is None or not des.closing or env.now != des.year_end:
        raise NotReusable("the DES is not stopped at a year boundary")
    waiting = []
    for cb in des.year_end_event.callbacks or []:
        proc = getattr(cb, "__self__", None)
        if not isinstance(proc, simpy.Process):
            raise NotReusable("the year-end event has a callback that is not a process")
        loc = _frame_locals(proc)
        waiting.append(_Waiting(int(loc["pid"]), float(loc["window_end"])))
    in_stay: list[tuple[int, _InStay]] = []
    day = None
    for t, prio, eid, event in env._queue:  # noqa: SLF001
        if isinstance(event, UrgentTimeout):
            if day is not None or prio != URGENT:
                raise NotReusable("more than one daily process")
            day = int(_frame_locals(_process_of(event))["day"])
            continue
        if not isinstance(event, simpy.Timeout) or prio != NORMAL or t <= env.now:
            raise NotReusable(f"a pending {type(event).__name__} at day {t}")
        loc = _frame_locals(_process_of(event))
        pid = int(loc["pid"])
        if not np.isfinite(des.stay_admit[pid]) or des.stay_admit[pid] != loc["admit_day"]:
            raise NotReusable(f"patient {pid} has a pending event and is not in hospital")
        u1, u2 = _uniforms(loc)
        in_stay.append((eid, _InStay(pid, float(t), float(loc["admit_day"]),
                                     float(loc["wait"]), int(loc["k"]), u1, u2)))
    in_stay.sort(key=lambda x: x[0])  # the order they were scheduled in
    queued = []
    for event in des.beds.queue:
        loc = _frame_locals(_process_of(event))
        u1, u2 = _uniforms(loc)
        queued.append(_QueuedForBed(int(loc["pid"]), float(loc["admit_day"]),
                                    float(loc["los"]), int(loc["k"]), u1, u2))
    if day is None:
        raise NotReusable("no daily process")
    pids = sorted([w.pid for w in waiting] + [s.pid for _, s in in_stay]
                  + [q.pid for q in queued])
    if pids != np.flatnonzero(des.alive).tolist():
        raise NotReusable("the live processes are not the living patients")
    next_eid = int(next(env._eid))  # noqa: SLF001
    beds, yee, sc = des.beds, des.year_end_event, care.sc
    des.env = des.beds = des.year_end_event = None
    care.sc = None  # type: ignore[assignment]
    try:
        payload = pickle.dumps(care, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        des.env, des.beds, des.year_end_event, care.sc = env, beds, yee, sc
    return WarmupSnapshot(
        key=key or warmup_key(sc), seed=seed_identity(care.seed_seq),
        history_years=-care.first_year, payload=payload, now=float(env.now),
        next_eid=next_eid, day=day, beds_in_use=beds.in_use, beds_capacity=beds.capacity,
        waiting=waiting, in_stay=[s for _, s in in_stay], queued=queued)


def _capture_plain(care: CareSimulation, key: str | None) -> WarmupSnapshot:
    """Snapshot of a care simulation whose executor holds arrays only (pickled whole)."""
    sc = care.sc
    care.sc = None  # type: ignore[assignment]
    try:
        payload = pickle.dumps(care, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an executor with state that does not pickle
        raise NotReusable(f"the executor's state does not pickle ({exc})") from None
    finally:
        care.sc = sc
    return WarmupSnapshot(key=key or warmup_key(sc), seed=seed_identity(care.seed_seq),
                          history_years=-care.first_year, payload=payload, now=math.nan,
                          next_eid=-1, day=-1, beds_in_use=-1, beds_capacity=-1)


# --------------------------------------------------------------------------- restoring


def _at(env: simpy.Environment, t: float) -> simpy.Event:
    """An event processed at simulation day ``t`` exactly (a timeout computed as
    ``now + (t - now)`` could differ from ``t`` in the last bit)."""
    ev = simpy.Event(env)
    ev._ok = True  # noqa: SLF001
    ev._value = None  # noqa: SLF001
    heapq.heappush(env._queue, (t, NORMAL, next(env._eid), ev))  # noqa: SLF001
    return ev


def _waiting(st: DesState, w: _Waiting) -> Generator[Any, Any, None]:
    yield st.year_end_event
    yield from patient_process(st, w.pid, w.window_end)


def _in_stay(st: DesState, s: _InStay) -> Generator[Any, Any, None]:
    yield _at(st.env, s.discharge_at)
    yield from _after_stay(st, s.pid, s.admit_day, s.wait, s.kind, s.u1, s.u2)


def _queued(st: DesState, q: _QueuedForBed, bed: simpy.Event) -> Generator[Any, Any, None]:
    yield bed
    wait = st.env.now - q.admit_day
    yield st.env.timeout(q.los)
    yield from _after_stay(st, q.pid, q.admit_day, wait, q.kind, q.u1, q.u2)


def _after_stay(st: DesState, pid: int, admit_day: float, wait: float, kind: int, u1: float,
                u2: float) -> Generator[Any, Any, None]:
    """The end of ``sim.care.des.patient_process``'s hospital stay, then its loop (the stay
    began in an earlier year, so the rates of the new year are read at the loop's top)."""
    st.beds.release()
    st.discharge(pid, admit_day, wait, kind, u1, u2)
    yield from patient_process(st, pid, st.env.now + READMISSION_WINDOW_DAYS)


def restore(snap: WarmupSnapshot, sc: Scenario,
            seed_seq: np.random.SeedSequence) -> CareSimulation:
    """A new, independent care simulation of ``sc`` from ``snap`` (same key and seed),
    ready to start plan year 0."""
    care: CareSimulation = pickle.loads(snap.payload)  # noqa: S301 (bytes made here)
    care.sc = sc
    care.seed_seq = seed_seq
    des = care.des
    des.seed_seq = seed_seq
    if sc.history_years != snap.history_years:
        if sc.history_years != 0:
            raise NotReusable("the snapshot lacks the history years the scenario needs")
        _drop_history(care)
    if not isinstance(des, DesState):  # an executor of arrays only: nothing to rebuild
        return care
    extra = (len(snap.waiting) + len(snap.in_stay) + len(snap.queued) + 1  # initialisations
             + len(snap.in_stay) + 1)  # discharges and the daily tick, scheduled again
    env = simpy.Environment(initial_time=snap.now)
    env._eid = itertools.count(snap.next_eid - extra)  # noqa: SLF001  (same ids as before)
    des.env = env
    des.beds = Beds(env, snap.beds_capacity)
    des.beds.in_use = snap.beds_in_use
    des.year_end_event = env.event()
    for w in snap.waiting:
        env.process(_waiting(des, w))
    for s in snap.in_stay:
        env.process(_in_stay(des, s))
    for q in snap.queued:
        bed = env.event()
        des.beds.queue.append(bed)
        env.process(_queued(des, q, bed))
    env.process(daily_process(des, snap.day))
    queue = env._queue  # noqa: SLF001
    while queue and queue[0][0] == snap.now and queue[0][1] == URGENT:
        env.step()  # the initialisations: every process reaches its first wait
    return care


def _drop_history(care: CareSimulation) -> None:
    """Forget the recorded warm-up years (for a scenario that needs none)."""
    care._init_recorded(0)  # noqa: SLF001


def possible_history(sc: Scenario) -> int:
    """The history years a scenario with the warm-up of ``sc`` records when a contract
    needs them (``Scenario.history_years``)."""
    return min(max(sc.warmup_years - TRANSIENT_YEARS, 0), 3)


# --------------------------------------------------------------------------- the cache


@dataclass
class WarmupInfo:
    """How a replication's warm-up was obtained: ``simulated``, ``reused``; ``captured``
    when it was snapshot for other scenarios; ``note`` says why not, if it could not be."""

    source: str = "simulated"
    captured: bool = False
    note: str = ""


_cache: OrderedDict[tuple[Any, ...], WarmupSnapshot] = OrderedDict()
_lock = threading.Lock()  # Dask workers may run tasks in threads
_sharing = False


def cache_limit_bytes() -> int:
    """The cache's bound in bytes (``VBCSIM_WARMUP_CACHE_MB``, default 256: a 10,000-patient
    snapshot with three history years is about 40 MB; one of 100,000 patients, about 400
    MB, is not kept, so that such a run stays within its 1 GB memory target)."""
    try:
        return int(float(os.environ.get("VBCSIM_WARMUP_CACHE_MB", "256")) * 1e6)
    except ValueError:
        return int(256e6)


def reuse_enabled() -> bool:
    """Whether warm-up reuse is on (``VBCSIM_WARMUP_REUSE``, default on)."""
    return os.environ.get("VBCSIM_WARMUP_REUSE", "1").strip().lower() not in (
        "0", "false", "no", "off")


@contextlib.contextmanager
def sharing(on: bool = True) -> Iterator[None]:
    """Within the block, warm-ups simulated here are captured for later scenarios of the
    same replication (the experiment runner turns it on when two of its scenarios have the
    same :func:`warmup_key`)."""
    global _sharing
    before, _sharing = _sharing, on
    try:
        yield
    finally:
        _sharing = before


def clear_cache() -> None:
    """Forget every snapshot held by this process."""
    with _lock:
        _cache.clear()


def any_shared(items: Iterable[tuple[Scenario, np.random.SeedSequence,
                                      Mapping[str, float] | None]]) -> bool:
    """Whether two of the units of work ``(scenario, seed sequence, fixed values)`` may
    start from the same warm-up (same seed and warm-up settings; fixed values of warm-up
    sections compared as given): worth capturing snapshots for. A guess for the capture
    only; reuse itself is decided by the exact :func:`warmup_key`."""
    keys: dict[int, str] = {}
    seen = set()
    for sc, seed_seq, values in items:
        if sc.warmup_years < 1:
            continue
        if id(sc) not in keys:
            keys[id(sc)] = warmup_key(sc)
        fixed = tuple(sorted((p, v) for p, v in (values or {}).items() if _shapes_warmup(p)))
        k = (keys[id(sc)], seed_identity(seed_seq), fixed)
        if k in seen:
            return True
        seen.add(k)
    return False


def _shapes_warmup(path: str) -> bool:
    """Whether a parameter path (``a.b.0.c``) is in a section of :func:`warmup_key`."""
    parts = re.split(r"[.\[\]]+", path)
    if parts[0] in NOT_WARMUP:
        return False
    return not (parts[0] == "providers" and len(parts) > 2
                and parts[2] in NOT_WARMUP_PROVIDER)


def _lookup(key: str, seed: tuple[Any, ...], history: int) -> WarmupSnapshot | None:
    """A snapshot of this key and seed with ``history`` years, or with any if ``history``
    is 0 (the history is dropped on restore)."""
    with _lock:
        for h in ((history,) if history else range(4)):
            snap = _cache.get((key, seed, h))
            if snap is not None:
                _cache.move_to_end((key, seed, h))
                return snap
    return None


def _store(snap: WarmupSnapshot) -> bool:
    limit = cache_limit_bytes()
    if snap.nbytes > limit:
        return False
    with _lock:
        _cache[(snap.key, snap.seed, snap.history_years)] = snap
        while len(_cache) > CACHE_ENTRIES or sum(s.nbytes for s in _cache.values()) > limit:
            _cache.popitem(last=False)
    return True


def _estimated_bytes(care: CareSimulation) -> int:
    """A rough size of a snapshot of ``care`` (claims kept and patient arrays), to skip
    pickling one that could not be kept."""
    return 24 * len(care.ledger) + 1_200 * care.n


def warmed_up(sc: Scenario, seed_seq: np.random.SeedSequence,
              year_closed: Callable[[int], None] | None = None,
              ) -> tuple[CareSimulation, WarmupInfo]:
    """The care simulation of ``sc`` with every warm-up year closed (plan year 0 next),
    restored from a snapshot of this process if one fits, else simulated (levers: the
    scenario's, as :func:`sim.replication.simulate_replication` leaves them during the
    warm-up). ``year_closed(k)`` is called after each of the warm-up years ``k = 1..``."""
    info = WarmupInfo()
    reuse = reuse_enabled() and sc.warmup_years > 0
    key = warmup_key(sc) if reuse else ""
    seed = seed_identity(seed_seq)
    if reuse:
        snap = _lookup(key, seed, sc.history_years)
        if snap is not None:
            try:
                care = restore(snap, sc, seed_seq)
            except NotReusable as exc:
                info.note = str(exc)
            else:
                info.source = "reused"
                if year_closed is not None:
                    for k in range(1, care.warmup + 1):
                        year_closed(k)
                return care, info
    care = CareSimulation(sc, seed_seq)
    capturing = reuse and _sharing
    # a scenario without history records it anyway for the others that need it
    extra_history = capturing and sc.history_years == 0 and possible_history(sc) > 0
    if extra_history:
        care._init_recorded(-possible_history(sc))  # noqa: SLF001
    for k in range(1, care.warmup + 1):
        care.start_year()
        care.run_to_year_end()
        care.close_year()
        if year_closed is not None:
            year_closed(k)
    if capturing and _estimated_bytes(care) > cache_limit_bytes():
        info.note = "snapshot larger than the cache bound (VBCSIM_WARMUP_CACHE_MB)"
    elif capturing:
        try:
            info.captured = _store(capture(care, key))
            if not info.captured:
                info.note = "snapshot larger than the cache bound (VBCSIM_WARMUP_CACHE_MB)"
        except NotReusable as exc:
            info.note = str(exc)
    if extra_history:
        _drop_history(care)
    return care, info


__all__ = [
    "NOT_WARMUP",
    "any_shared",
    "NotReusable",
    "WarmupInfo",
    "WarmupSnapshot",
    "capture",
    "clear_cache",
    "restore",
    "reuse_enabled",
    "sharing",
    "warmed_up",
    "warmup_key",
]
