"""The fast executor's year (``sim.care.fast``: the rounds, the bed walk, the waiting
stays, the clinics) gives the same bits as its plain form before the speed-ups
(``fast_path/plain.py``, frozen at commit 150cf05), on inputs that make every path run:
beds that bind hard (FIFO grants, long queues) or never, clinics that bind with patients
dying in the queue and requests given up, several clinics, queues carried into the next
year, deaths replaced by entrants. Cheap: a few hundred patients, two years (~1 CPU-s).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim.care.engine as engine
from sim.care import fast
from sim.care.clinic import Clinic
from sim.care.des import QUANTILES, StayTables
from sim.care.engine import simulate_population
from sim.care.model import HAZARDS
from sim.constants import DAYS_PER_YEAR
from sim.scenario import scenario_from_dict

_spec = importlib.util.spec_from_file_location(
    "fast_path_plain", Path(__file__).parent / "fast_path" / "plain.py")
plain = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("fast_path_plain", plain)
_spec.loader.exec_module(plain)


def _packed(rng: np.random.Generator, n: int, scale: float, death: float) -> np.ndarray:
    """Per-patient, per-state hazards (per year) packed as the stepper packs them:
    total, cumulative hazards, primary-care request rate."""
    h = rng.gamma(2.0, 0.5, (n, 4, len(HAZARDS))) * scale
    h[:, :, 0] *= death
    h[rng.random(n) < 0.05] = 0.0  # some patients with no events at all
    packed = np.zeros((n, 4, 8))
    packed[:, :, 0] = h.sum(axis=2)
    packed[:, :, 1:7] = np.cumsum(h, axis=2)
    packed[:, :, 7] = rng.gamma(3.0, 2.0, (n, 4))  # requests a year
    return packed


def _run(mod: Any, *, n: int, beds: int, slots: float, patience: float, clinics: int,
         seed: int, death: float = 0.15, years: int = 2) -> list[Any]:
    """Everything the executor leaves behind, year by year."""
    rng = np.random.default_rng(seed)  # the inputs (the same for both executors)
    n_start = n * 3 // 4
    table = np.sort(rng.gamma(2.0, 0.5, QUANTILES)).tolist()
    st = mod.FastState(
        n=n, n_start=n_start, provider=rng.integers(0, clinics, n).astype(np.int16),
        dm_uncontrolled=rng.random(n) < 0.3, horizon_days=float(years * DAYS_PER_YEAR),
        beds=beds, replace_deaths=True, stays=StayTables(5.0, 3.0, 20.0, table, table),
        seed_seq=np.random.SeedSequence(seed))
    books: dict[int, Clinic] = {}
    out: list[Any] = []
    for year in range(years):
        packed = _packed(rng, n, 1.0 + year, death)
        new = {}
        for i in range(clinics):
            c = Clinic(slots, patience, 0.4)
            if i in books:  # the queue carried over, as the stepper does
                c.queue_pid, c.queue_day = books[i].queue_pid, books[i].queue_day
            new[i] = c
        books = new
        st.begin_year(year, packed, None, rng.random(n) * 0.4, rng.random(n) * 0.5, books,
                      np.random.default_rng([seed, year]))
        st.run_to_year_end()
        log = st.log
        out += [np.asarray(log.iv_pid), np.asarray(log.iv_t0), np.asarray(log.iv_t1),
                np.asarray(log.iv_state), {k: list(v) for k, v in log.adm.items()},
                list(log.pcp_served), list(log.pcp_served_day), list(log.pcp_wait),
                list(log.unmet_ed), list(log.unmet_ed_day), log.given_up,
                list(st.deaths), list(st.control), dict(st.capacity_stats), st.events,
                st.rounds]
        for name in ("clock", "window_end", "discharge_at", "alive", "exited", "entered",
                     "stay_admit", "dm_uncontrolled"):
            out.append(getattr(st, name).copy())
        out += [(c.queue_pid.copy(), c.queue_day.copy(), c.carry) for c in books.values()]
        log.clear()
        st.closing = False
    return out


def _assert_same(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        assert a.tobytes() == b.tobytes(), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert type(a) is type(b) and repr(a) == repr(b), (where, a, b)


CASES = {
    # beds that bind hard: long queues, FIFO grants; clinics short, patients die waiting
    "tight": dict(n=500, beds=2, slots=2.0, patience=20.0, clinics=2, seed=1, death=3.0),
    "one-bed-one-clinic": dict(n=300, beds=1, slots=1.3, patience=30.0, clinics=1, seed=2),
    "near-full": dict(n=600, beds=6, slots=2.5, patience=3.0, clinics=3, seed=3, death=0.6),
    "ample": dict(n=400, beds=10_000, slots=50.0, patience=14.0, clinics=2, seed=4),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_fast_year_equals_the_plain_form(case: str) -> None:
    got = _run(fast, **CASES[case])
    want = _run(plain, **CASES[case])
    _assert_same(got, want, case)
    stats = got[13]  # the cases do make the paths run
    if case != "ample":
        assert stats["stays_waited_for_bed"] > 0 and stats["clinic_days_binding"] > 0
    if case == "one-bed-one-clinic":
        assert got[10] > 0  # requests given up (the first year's)


def test_waiting_stays_match_the_plain_queue() -> None:
    """Random batches (many equal days, big and small) added and dropped: the same stays
    in the same order as the plain array queue."""
    rng = np.random.default_rng(5)
    for trial in range(60):
        w, ref = fast._Waiting(), plain._Waiting()  # noqa: SLF001
        for _ in range(int(rng.integers(1, 8))):
            k = int(rng.integers(0, 40))
            arr = rng.choice(np.arange(6.0), k)
            los, pid, kind = rng.random(k), rng.integers(0, 1000, k), rng.integers(0, 5, k)
            w.add(arr, los, pid, kind)
            ref.add(arr, los, pid, kind)
            assert np.array_equal(w.p, ref.p), trial
            assert w.n == ref.n and (not w.n or w.first_arrival == ref.first_arrival)
            if ref.n and rng.random() < 0.5:
                idx = np.unique(rng.integers(0, ref.n, 3))
                w.drop(idx)
                ref.drop(idx)


def test_care_model_run_equals_the_plain_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole care-model run (stepper, claims, ledger) with beds and clinics short."""
    sc = scenario_from_dict({"population": {"size": 600}, "horizon_years": 1,
                             "warmup_years": 1, "engine": "fast",
                             "capacity": {"beds_per_1000": 2.0, "pcp_fte_per_1000": 0.3,
                                          "patience_days": 5.0}})
    runs = []
    for mod in (fast, plain):
        monkeypatch.setattr(engine, "FastState", mod.FastState)
        runs.append(simulate_population(sc, np.random.SeedSequence(8)))
    a, b = (r.ledger for r in runs)
    for name in ("claims", "admissions", "patient_year"):
        _assert_same(dict(getattr(a, name)), dict(getattr(b, name)), name)
    assert runs[0].stats == runs[1].stats
