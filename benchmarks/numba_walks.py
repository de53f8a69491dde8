"""Does numba earn its place in the fast executor? (issue 16 item 1: "with NumPy (or numba,
if it earns its place)"). The executor's Python walks — the bed walk
(``FastState._grant_beds`` with ``_fifo_grant``), the waiting-stay queue (``_Waiting.add``)
and the clinic walk (``_run_clinic``) — compiled as numba kernels (``_walks_nb.py`` beside
this script) and measured against the pure-Python/NumPy executor of this tree.

    pip install numba      # 0.68.1 with NumPy 2.4 (not a dependency of vbcsim)
    python benchmarks/numba_walks.py [--size 10000] [--reps 8] [--repeat 4]
        [--scenario mssp_two_sided] [--seed 7] [--skip-oneoff]

``NumbaFastState`` below is :class:`sim.care.fast.FastState` with those walks replaced
(``_advance`` is a copy of the tree's with two lines changed: the queue is the array queue,
bed counts by ``np.searchsorted``): if ``sim/care/fast.py`` changes, the digests below
tell whether this copy still matches it.

Measured, each printed:

1. **Same bits**: ``tests/care/test_fast_equivalence.py``'s four synthetic cases (beds
   binding hard or never, clinics binding with deaths in the queue and requests given up,
   several clinics, queues carried over) run with both executors, every output compared
   byte for byte; and every replication below digested (result rows and side tables).
2. **One-off costs**, each in a fresh process (CPU s): ``import sim.care.fast``, ``import
   numba``, the kernels' first calls with an empty on-disk cache (JIT compile,
   ``NUMBA_CACHE_DIR`` a new temporary directory) and with that cache filled (load).
3. **The executor** (``benchmarks/fast_year.py``'s ``run``: the 10 simulated years of the
   scenario at ``--size``, fixed levers), both executors alternately in one process, the
   minimum of ``--repeat`` runs after one warm-up run each (kernels compiled or loaded).
4. **A replication** (``sim.replication.simulate_replication``, behaviour on, warm-up reuse
   off), both executors alternately in one process after one warm-up replication each:
   CPU s per replication (mean over ``--reps``; the saving as the mean paired difference
   and its standard error), i.e. with a warm cache and the one-off
   costs excluded — the best case for numba (a worker runs many replications).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from sim.care.fast import FastState  # noqa: E402
from sim.care.model import H_DEATH, H_DM  # noqa: E402
from sim.constants import DAYS_PER_YEAR  # noqa: E402
from sim.rng import stream  # noqa: E402


class _ArrayWaiting:
    """The waiting stays as columns ``p`` (rows arrival day, length of stay, patient,
    kind; patient and kind as exact floats), in the order of ``sim.care.fast._Waiting``."""

    __slots__ = ("merge", "p")

    def __init__(self, merge: Any) -> None:
        self.p = np.empty((4, 0))
        self.merge = merge

    @property
    def n(self) -> int:
        return self.p.shape[1]

    @property
    def first_arrival(self) -> float:
        return float(self.p[0, 0])

    def add(self, arrival: np.ndarray, los: np.ndarray, pid: np.ndarray,
            kind: np.ndarray) -> None:
        self.p = self.merge(self.p, arrival, los, pid, kind)


class NumbaFastState(FastState):
    """The fast executor with its walks compiled (``_walks_nb``); the same bits."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        import _walks_nb as k

        self._k = k
        self._bed_starts, self._bed_ends = np.empty(0), np.empty(0)
        self._bed_live = np.empty((3, 0))  # rows arrival, grant, release

    def _advance(self) -> dict[str, list[np.ndarray]]:
        """``FastState._advance`` with the array queue and ``np.searchsorted``."""
        ye = min(self.year_end, self.horizon_days)
        rng = stream(self.seed_seq, "fast", self.year)
        packed = self.packed
        alive, clock, window_end, blocked = self.alive, self.clock, self.window_end, \
            self._blocked
        iv: dict[str, list[np.ndarray]] = {"pid": [], "t0": [], "t1": [], "state": []}
        pend = _ArrayWaiting(self._k.merge_stays)
        total_all = packed[:, :, 0]
        total_all = np.where(total_all > 0.0, total_all, 0.0)
        dm_unc = self.dm_uncontrolled
        act = np.flatnonzero(alive & ~blocked & (clock < ye))
        with np.errstate(divide="ignore", invalid="ignore"):
            while True:
                if pend.n:
                    c = clock[act]
                    first = pend.first_arrival
                    before = int(np.count_nonzero(c < first))
                    in_use = int(np.searchsorted(self._bed_starts, first, side="right")
                                 - np.searchsorted(self._bed_ends, first, side="right"))
                    if before == 0 or before + in_use < self.beds:
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
                stay[fi[~dm]] = False
                act = act[stay]
                if entrants is not None and len(entrants):
                    act = np.concatenate([act, entrants])
        return iv

    def _grant_beds(self, pend: _ArrayWaiting, clocks: np.ndarray) -> np.ndarray:  # type: ignore[override]
        granted, rest, starts, ends, live, waited = self._k.grant_beds(
            pend.p, clocks, self._bed_starts, self._bed_ends, self._bed_live, self.beds)
        if not granted.shape[1]:
            return np.empty(0, np.int64)
        pend.p, self._bed_starts, self._bed_ends, self._bed_live = rest, starts, ends, live
        self.capacity_stats["stays_waited_for_bed"] += waited
        pid = granted[0].astype(np.int64)
        self._blocked[pid] = False
        self._discharge_at(pid, pid.tolist(), granted[1].tolist(), granted[2].tolist(),
                           granted[4].astype(np.int64).tolist(), granted[3].tolist())
        return pid

    def _run_clinic(self, clinic: Any, r_pid: np.ndarray, r_off: np.ndarray, first: int,
                    rng: np.random.Generator) -> None:
        spd, cap_carry = clinic.slots_per_day, max(clinic.slots_per_day, 1.0)
        patience, carry = clinic.patience_days, clinic.carry
        if not all(type(x) is float for x in (spd, carry, patience)):
            return super()._run_clinic(clinic, r_pid, r_off, first, rng)
        log = self.log
        order = np.argsort(r_off.astype(np.int16), kind="stable")
        counts = np.bincount(r_off, minlength=DAYS_PER_YEAR)
        new_day = np.repeat(np.arange(first, first + DAYS_PER_YEAR, dtype=float), counts)
        n_old = len(clinic.queue_pid)
        if n_old:
            r_pid = np.concatenate([clinic.queue_pid.astype(np.int64), r_pid[order]])
            q_day = np.concatenate([clinic.queue_day, new_day])
        else:
            r_pid, q_day = r_pid[order], new_day
        exit_a = self.exited[r_pid]
        cand = np.flatnonzero(exit_a <= first + DAYS_PER_YEAR)
        by_exit = np.argsort(exit_a[cand], kind="stable")
        (served, skipped, lost_all, lost_day, given_up, binding, carry, head,
         tail) = self._k.clinic_walk(counts, q_day, exit_a, exit_a[cand][by_exit],
                                     cand[by_exit], first, n_old, spd, cap_carry, patience,
                                     carry)
        # the rest as FastState._run_clinic's
        self.capacity_stats["clinic_days_binding"] += binding
        clinic.carry = carry
        keep = np.arange(head, tail)
        keep = keep[exit_a[keep] > first + DAYS_PER_YEAR]
        clinic.queue_pid, clinic.queue_day = r_pid[keep], q_day[keep]
        if len(served):
            runs = served
            lengths = runs[:, 1] - runs[:, 0]
            sday = np.repeat(runs[:, 2].astype(float), lengths)
            offset = np.repeat(runs[:, 0] - np.cumsum(lengths) + lengths, lengths)
            pos = offset + np.arange(len(sday))
            if len(skipped):
                ok = np.ones(len(pos), bool)
                ok[np.searchsorted(pos, skipped)] = False
                pos, sday = pos[ok], sday[ok]
            log.pcp_served.append(r_pid[pos])
            log.pcp_served_day.append(sday + rng.random(len(pos)))
            log.pcp_wait.append(sday - q_day[pos])
        if len(lost_all):
            to_ed = rng.random(len(lost_all)) < clinic.unmet_to_ed_share
            if to_ed.any():
                log.unmet_ed.append(r_pid[lost_all[to_ed]])
                log.unmet_ed_day.append(lost_day[to_ed].astype(float) + 0.5)
        log.given_up += given_up


# ------------------------------------------------------------------------- measurements
def _module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, mod)
    spec.loader.exec_module(mod)
    return mod


def same_bits() -> list[str]:
    """The equivalence test's cases with both executors; the cases whose outputs differ."""
    eq = _module(ROOT / "tests" / "care" / "test_fast_equivalence.py", "_fast_eq")
    import sim.care.fast as fast

    nb = SimpleNamespace(FastState=NumbaFastState)
    bad = []
    for name, case in eq.CASES.items():
        try:
            eq._assert_same(eq._run(nb, **case), eq._run(fast, **case), name)  # noqa: SLF001
        except AssertionError:
            bad.append(name)
    return bad


_ONEOFF = r"""
import json, os, sys, time
sys.path[:0] = [{root!r}, {here!r}]
out = {{}}
t = time.process_time(); import sim.care.fast; out["import sim.care.fast"] = time.process_time() - t
t = time.process_time(); import numba; out["import numba"] = time.process_time() - t
import numpy as np
t = time.process_time(); import _walks_nb as k; out["import kernels"] = time.process_time() - t
e = np.empty(0)
t = time.process_time()
k.grant_beds(np.array([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0], [1.0, 1.0]]), np.array([0.5, 3.0]),
             e, e, np.empty((3, 0)), 2)
k.merge_stays(np.empty((4, 0)), np.array([1.0]), np.array([2.0]), np.array([3]), np.array([1]))
k.clinic_walk(np.zeros(365, np.int64), e, e, e, np.empty(0, np.int64), 0, 0, 1.5, 1.5, 14.0,
              0.0)
out["first calls"] = time.process_time() - t
print(json.dumps(out))
"""


def one_off(cache: str) -> dict[str, float]:
    """One-off CPU s in a fresh process with ``NUMBA_CACHE_DIR=cache``."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    out = subprocess.run([sys.executable, "-c", _ONEOFF.format(root=str(ROOT), here=str(HERE))],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _digest(v: Any) -> str:
    m = hashlib.sha256()
    for name, t in [("results", v.results), *sorted(v.tables.items())]:
        m.update(name.encode())
        m.update(repr(list(t.columns)).encode())
        for c in t.columns:
            a = t[c].to_numpy()
            m.update(repr(a.tolist()).encode() if a.dtype == object else a.tobytes())
    return m.hexdigest()[:16]


def replications(scenario: str, size: int, seed: int, reps: int
                 ) -> dict[str, tuple[list[float], list[str]]]:
    """CPU s and digest of replications 1..reps with each executor, alternately (one warm-up
    replication 0 each first, not counted; which runs first alternates)."""
    import sim.care.engine as engine
    import sim.replication as rep
    from sim.run_setup import run_overrides
    from sim.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / f"{scenario}.yaml", overrides=run_overrides(
        [f"population.size={size}", "engine=fast"], False))
    out: dict[str, tuple[list[float], list[str]]] = {"python": ([], []), "numba": ([], [])}
    pair = (("python", FastState), ("numba", NumbaFastState))
    for r in range(reps + 1):
        for name, cls in pair if r % 2 else pair[::-1]:  # which goes first alternates
            engine.FastState = cls
            t = time.process_time()
            v = rep.simulate_replication(sc, r, np.random.SeedSequence([seed, r]))
            dt = time.process_time() - t
            if r:
                out[name][0].append(dt)
                out[name][1].append(_digest(v))
    engine.FastState = FastState
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="mssp_two_sided")
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-oneoff", action="store_true")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    os.environ["VBCSIM_WARMUP_REUSE"] = "0"
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numba

    print(f"numba {numba.__version__}, NumPy {np.__version__}, Python "
          f"{sys.version.split()[0]}; load average {os.getloadavg()[0]:.1f}")
    if not args.skip_oneoff:
        with tempfile.TemporaryDirectory() as cache:
            cold, warm = one_off(cache), one_off(cache)
        print("one-off CPU s, fresh process: " + ", ".join(
            f"{k} {cold[k]:.3f}" for k in ("import sim.care.fast", "import numba",
                                            "import kernels"))
              + f"; kernels' first calls: empty cache (compile) {cold['first calls']:.2f}, "
              f"filled cache (load) {warm['first calls']:.3f} (+ import kernels "
              f"{warm['import kernels']:.3f})")
    bad = same_bits()
    print("same bits on the equivalence cases: " + (f"NO: {bad}" if bad else "yes (4 cases)"))
    import fast_year

    ex: dict[str, list[float]] = {"python": [], "numba": []}
    digests = set()
    for i in range(args.repeat + 1):
        for name, cls in (("python", FastState), ("numba", NumbaFastState)):
            d, adv, rec = fast_year.run(cls, args.scenario, args.size, args.seed, [])
            digests.add(d)
            if i:
                ex[name].append(adv + rec)
    a, b = min(ex["python"]), min(ex["numba"])
    print(f"executor, {args.size:,} patients, 10 years (min of {args.repeat}): python "
          f"{a:.3f}, numba {b:.3f} CPU s (saves {a - b:.3f}); outputs "
          f"{'the same' if len(digests) == 1 else 'DIFFERENT'}")
    reps = replications(args.scenario, args.size, args.seed, args.reps)
    p, n = (statistics.fmean(reps[k][0]) for k in ("python", "numba"))
    diff = [x - y for x, y in zip(reps["python"][0], reps["numba"][0], strict=True)]
    se = statistics.stdev(diff) / math.sqrt(len(diff)) if len(diff) > 1 else math.nan
    same = reps["python"][1] == reps["numba"][1]
    print(f"replication ({args.scenario}, {args.size:,} patients, behaviour on; mean of "
          f"{args.reps}, warm): python {p:.3f}, numba {n:.3f} CPU s; numba saves "
          f"{p - n:.3f} +- {se:.3f} (paired, s.e.) = {100 * (p - n) / p:.1f}%; results "
          f"{'the same' if same else 'DIFFERENT'}")
    if not args.skip_oneoff:
        once = warm["import numba"] + warm["import kernels"] + warm["first calls"]
        print(f"break-even: the one-off {once:.2f} CPU s (warm cache) is repaid after "
              f"{math.ceil(once / max(p - n, 1e-9))} replications in a process")
    return 0 if not bad and same and len(digests) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
