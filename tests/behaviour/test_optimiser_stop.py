"""The behaviour optimiser's early stop (issue 16): with the norms' curvature it stops once
its gradient is settled, with fewer evaluations and the same answer within the tolerance;
without it (the hospital's problem) it is unchanged."""

from __future__ import annotations

import numpy as np

from sim.behaviour.model import _TOL_USD_PER_PY, BOUNDS, maximise

KAPPA = np.array([1000.0, 150.0, 150.0, 150.0])
PY = 1000.0


def _problem(centre: np.ndarray, kink: float = 0.0):
    calls = []

    def fn(x: tuple[float, ...]) -> float:
        calls.append(x)
        d = np.asarray(x) - centre
        # a concave quadratic (the norms) plus a small kink, as contracts' rules add
        return float(-PY * (0.5 * np.sum(KAPPA * d * d) + kink * abs(d[2])))

    return fn, calls


def test_curvature_stop_is_cheaper_and_as_good() -> None:
    rng = np.random.default_rng(5)
    lo, hi = np.array([b[0] for b in BOUNDS]), np.array([b[1] for b in BOUNDS])
    for kink in (0.0, 2.0):
        for _ in range(4):
            centre = rng.uniform(lo + 0.05, hi - 0.05)
            centre[3] = -0.2 if kink else centre[3]  # an optimum on a bound
            x0 = np.clip(centre + rng.normal(0, 0.1, 4), lo, hi)
            fn, calls = _problem(centre, kink)
            x_plain = maximise(fn, x0, PY)
            n_plain = len(calls)
            calls.clear()
            x_fast = maximise(fn, x0, PY, curvature=KAPPA)
            n_fast = len(calls)
            assert n_fast <= n_plain
            best = max(fn(x_plain), fn(x_fast))
            assert (best - fn(x_fast)) / PY < 2 * _TOL_USD_PER_PY


def test_a_kink_at_the_optimum_is_held_and_the_rest_optimised() -> None:
    """A cap's kink (the risk-score cap in coding intensity) at the optimum: the lever is
    held there and the others optimised (REACH: up to 6 USD per person-year better than
    L-BFGS-B oscillating at the kink, benchmarks/optimiser_evals.py)."""
    centre = np.array([0.9, 0.3, 0.6, 0.15])
    coupling = 40.0  # the kink's lever and transitional care interact (as through risk)

    def make():
        calls = []

        def fn(x: tuple[float, ...]) -> float:
            calls.append(x)
            d = np.asarray(x) - centre
            return float(-PY * (0.5 * np.sum(KAPPA * d * d) + coupling * d[1] * d[2]
                                + 400.0 * abs(d[3])))
        return fn, calls

    x0 = np.array([1.0, 0.1, 0.1, 0.3])
    fn, calls = make()
    x_plain = maximise(fn, x0, PY)
    n_plain = len(calls)
    fn, calls = make()
    x_new = maximise(fn, x0, PY, curvature=KAPPA)
    n_new = len(calls)
    top = fn(tuple(centre))
    assert (top - fn(x_new)) / PY < 2 * _TOL_USD_PER_PY
    assert fn(x_new) >= fn(x_plain) - 1e-4 * PY
    assert abs(x_new[3] - centre[3]) < 1e-3
    assert n_new <= n_plain
