"""Baseline for the care-model benchmark: a plain SimPy model, one timeout per claim.

Every patient is one SimPy process that draws its next claim among all service types
(superposition of independent Poisson processes: the gap is exponential at the total
rate, the type is categorical with probabilities ``rate_k / total``), waits for it with
``yield env.timeout(gap)`` and counts it, until the horizon. All patients live in one
``simpy.Environment`` (``n_envs`` splits them into independent environments, run one
after another, if you want the chunked variant of DESIGN.md's performance facts).

The baseline is deliberately *fair*: it does the least Python work per claim a
per-claim SimPy model can do.

* Random numbers are drawn in NumPy blocks (about 10 ns a number) and handed out from
  Python lists, never as scalar ``Generator`` calls (about 880 ns each).
* One process per patient rather than one per service type, so the event heap holds
  one entry per patient.
* No timeout is scheduled past the horizon: the process checks the next claim time
  first and returns.
* Claims are recorded the cheapest way a ledger can be: appended to ``array`` columns
  (patient, day, service); ``record=False`` only counts them.
* ``gc_off=True`` freezes and disables the cyclic garbage collector during the run
  (restored afterwards), the 1.7x of DESIGN.md.

SimPy events processed are counted exactly without touching SimPy internals: each
patient process contributes one ``Initialize`` event, one ``Timeout`` per claim and one
event when its generator returns, so ``simpy_events = claims + 2 * n_patients``.
"""

from __future__ import annotations

import gc
import math
import time
from array import array
from collections.abc import Iterator, Mapping

import numpy as np
import simpy

DAYS_PER_YEAR = 365.0
BLOCK = 1 << 16  # random numbers per NumPy call


def _claim_draws(
    rng: np.random.Generator, total_rate_per_day: float, cum_p: np.ndarray
) -> Iterator[tuple[float, int]]:
    """Endless ``(gap_days, service_index)`` pairs, drawn from ``rng`` in blocks."""
    scale = 1.0 / total_rate_per_day
    while True:
        gaps = rng.exponential(scale, BLOCK).tolist()
        kinds = np.searchsorted(cum_p, rng.random(BLOCK), side="right").tolist()
        yield from zip(gaps, kinds, strict=True)


def _patient(
    env: simpy.Environment,
    draws: Iterator[tuple[float, int]],
    counts: list[int],
    horizon_days: float,
):
    """One patient: a claim after each exponential gap until the horizon (counted only)."""
    timeout = env.timeout
    t = 0.0
    while True:
        gap, kind = next(draws)
        t += gap
        if t >= horizon_days:
            return
        yield timeout(gap)
        counts[kind] += 1


def _recording_patient(
    env: simpy.Environment,
    draws: Iterator[tuple[float, int]],
    counts: list[int],
    horizon_days: float,
    pid: int,
    ledger: tuple[array, array, array],
):
    """As :func:`_patient`, and each claim is appended to columnar arrays (patient, day,
    service) the way a model that produces a claims ledger must."""
    timeout = env.timeout
    add_pid, add_day, add_kind = (col.append for col in ledger)
    t = 0.0
    while True:
        gap, kind = next(draws)
        t += gap
        if t >= horizon_days:
            return
        yield timeout(gap)
        counts[kind] += 1
        add_pid(pid)
        add_day(t)
        add_kind(kind)


def _run_env(
    n_patients: int,
    horizon_days: float,
    total_rate_per_day: float,
    cum_p: np.ndarray,
    rng: np.random.Generator,
    counts: list[int],
    ledger: tuple[array, array, array] | None,
    first_pid: int,
) -> None:
    env = simpy.Environment()
    draws = _claim_draws(rng, total_rate_per_day, cum_p)
    process = env.process
    if ledger is None:
        for _ in range(n_patients):
            process(_patient(env, draws, counts, horizon_days))
    else:
        for pid in range(first_pid, first_pid + n_patients):
            process(_recording_patient(env, draws, counts, horizon_days, pid, ledger))
    env.run()


def run_baseline(
    n_patients: int,
    years: float,
    rates_per_year: Mapping[str, float],
    seed: int | np.random.SeedSequence = 0,
    *,
    gc_off: bool = True,
    n_envs: int = 1,
    record: bool = True,
) -> dict:
    """Simulate ``n_patients`` for ``years`` with one SimPy timeout per claim.

    ``rates_per_year`` maps a service name to its mean claims per patient-year (the full
    model's ``claims_by_service / patient_years``). Returns a stats dict with
    ``wall_s`` (the simulation only, not setup), ``patient_years``, ``claims``,
    ``claims_by_service``, ``simpy_events`` and the derived per-second rates.
    ``record=True`` (default) stores every claim in columnar arrays (patient, day,
    service), as a model producing a ledger must; ``record=False`` only counts them.
    """
    if n_patients < 1 or years <= 0:
        raise ValueError("n_patients must be >= 1 and years > 0")
    if n_envs < 1:
        raise ValueError("n_envs must be >= 1")
    names = [k for k, v in rates_per_year.items() if v > 0]
    rates = np.array([float(rates_per_year[k]) for k in names])
    if len(names) == 0 or not np.all(np.isfinite(rates)):
        raise ValueError(f"need at least one positive finite rate, got {dict(rates_per_year)}")
    total_per_year = float(rates.sum())
    cum_p = np.cumsum(rates / total_per_year)
    cum_p[-1] = 1.0
    horizon_days = years * DAYS_PER_YEAR
    rng = np.random.default_rng(seed)
    counts = [0] * len(names)
    ledger = (array("l"), array("d"), array("b")) if record else None
    sizes = [n_patients // n_envs + (i < n_patients % n_envs) for i in range(n_envs)]

    gc_was_enabled = gc.isenabled()
    if gc_off:
        gc.collect()
        gc.freeze()
        gc.disable()
    t0 = time.perf_counter()
    try:
        first = 0
        for size in sizes:
            if size:
                _run_env(size, horizon_days, total_per_year / DAYS_PER_YEAR, cum_p, rng,
                         counts, ledger, first)
            first += size
    finally:
        wall = time.perf_counter() - t0
        if gc_off:
            gc.unfreeze()
            if gc_was_enabled:
                gc.enable()

    claims = sum(counts)
    if ledger is not None and len(ledger[0]) != claims:
        raise AssertionError("ledger rows differ from counted claims")
    patient_years = n_patients * years
    events = claims + 2 * n_patients
    return {
        "wall_s": wall,
        "patient_years": patient_years,
        "claims": claims,
        "claims_by_service": dict(zip(names, counts, strict=True)),
        "simpy_events": events,
        "patient_years_per_s": patient_years / wall,
        "events_per_s": events / wall,
        "events_per_patient_year": events / patient_years,
        "claims_per_patient_year": claims / patient_years,
        "expected_claims": total_per_year * patient_years,
        "gc_off": gc_off,
        "n_envs": n_envs,
        "record": record,
    }


def _main() -> None:  # a quick manual check: python benchmarks/baseline_simpy.py
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--claims-per-year", type=float, default=25.0)
    ap.add_argument("--gc", choices=["on", "off"], default="off")
    ap.add_argument("--envs", type=int, default=1)
    ap.add_argument("--count-only", action="store_true", help="do not record claims")
    args = ap.parse_args()
    rates = {"visit": args.claims_per_year * 0.4, "test": args.claims_per_year * 0.6}
    out = run_baseline(args.patients, args.years, rates, 1, gc_off=args.gc == "off",
                       n_envs=args.envs, record=not args.count_only)
    dev = (out["claims"] - out["expected_claims"]) / math.sqrt(out["expected_claims"])
    for k, v in out.items():
        print(f"{k:>26}: {v}")
    print(f"{'claims z-score':>26}: {dev:.2f}")


if __name__ == "__main__":
    _main()
