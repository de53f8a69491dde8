"""The contracts' expected payoffs are exact and smooth (sim.contracts.expectation).

* the closed-form mean and variance of a piecewise linear rule under normal spending
  agree with numerical integration of the same function to 1e-9 of its scale;
* unlike 12-point quadrature, the mean has no kink where a node would cross a knot:
  its second difference in the mean stays below the normal density's bound;
* tables interpolated between grid points of a coordinate (``grid_corners``) are exact at
  grid points and linear between them (continuous: no step where a rounded key used to
  change);
* tables are filled only near the mean, and with fewer knots for a wide spread.
"""

import numpy as np
import pytest
from scipy import integrate, stats

from sim.contracts import expectation as ex


class Ctx:
    def __init__(self) -> None:
        self.store: dict = {}
        self.built = 0

    def memo(self, key, compute):
        if key not in self.store:
            self.built += 1
            self.store[key] = compute()
        return self.store[key]


KNOTS = np.linspace(-0.2, 0.2, 81)


def _rule(r: np.ndarray | float) -> np.ndarray:
    """A two-sided ACO-like rule per dollar of benchmark: 50% of savings above a 2% MSR,
    capped at 10% of the benchmark; 40% of losses beyond -2%, capped at 5%."""
    r = np.asarray(r, dtype=float)
    gain = np.where(r >= 0.02, np.minimum(0.5 * r, 0.10), 0.0)
    loss = np.where(r <= -0.02, np.maximum(0.4 * r, -0.05), 0.0)
    return gain + loss


TABLE = _rule(KNOTS)


def _numeric(mean: float, sd: float) -> tuple[float, float]:
    pdf = stats.norm(mean, sd).pdf
    g = lambda r: float(np.interp(r, KNOTS, TABLE))  # noqa: E731
    pts = list(KNOTS[(KNOTS > mean - 12 * sd) & (KNOTS < mean + 12 * sd)])
    lo, hi = mean - 12 * sd, mean + 12 * sd
    m = integrate.quad(lambda r: g(r) * pdf(r), lo, hi, points=pts, limit=500)[0]
    m2 = integrate.quad(lambda r: g(r) ** 2 * pdf(r), lo, hi, points=pts, limit=500)[0]
    return m, m2 - m * m


@pytest.mark.parametrize("mean,sd", [(0.0, 0.01), (0.03, 0.02), (-0.04, 0.015),
                                     (0.25, 0.05), (-0.3, 0.1), (0.021, 0.001)])
def test_closed_form_matches_numerical_integration(mean, sd):
    m, v = ex.piecewise_normal_moments(KNOTS, TABLE, mean, sd)
    m_ref, v_ref = _numeric(mean, sd)
    assert m == pytest.approx(m_ref, abs=1e-9)
    assert v == pytest.approx(v_ref, abs=1e-9)
    assert v >= 0


def test_no_spread_is_the_rule_itself():
    assert ex.piecewise_normal_moments(KNOTS, TABLE, 0.07, 0.0) == (
        pytest.approx(float(_rule(0.07))), 0.0)


def test_expected_payoff_is_smooth_in_the_mean():
    # The derivative of E[g(R)] in the mean is E[g'(R)], a smooth function: its change over
    # a step h is at most h x sum |jump of g'| x max normal density. 12-point quadrature
    # broke this wherever a node crossed a knot (a kink in the mean).
    sd = 0.01
    h = 1e-4
    means = np.arange(-0.05, 0.05, h)
    vals = np.array([ex.piecewise_normal_moments(KNOTS, TABLE, m, sd)[0] for m in means])
    second = np.abs(np.diff(vals, 2)) / h**2
    jumps = np.abs(np.diff(np.diff(TABLE) / np.diff(KNOTS))).sum()
    bound = jumps / (sd * np.sqrt(2 * np.pi))
    assert second.max() <= bound * 1.01
    # and the 12-point Gauss-Hermite quadrature it replaced had kinks: its second
    # differences spike far above
    x, w = np.polynomial.hermite.hermgauss(12)
    quad = np.array([float(np.sum(w * np.interp(m + np.sqrt(2.0) * sd * x, KNOTS, TABLE))
                           / np.sqrt(np.pi)) for m in means])
    assert (np.abs(np.diff(quad, 2)) / h**2).max() > 3 * bound


def _interpolated(coords, build):
    """The multilinear interpolation the expected payoffs apply to tables built at the grid
    points (``grid_corners``)."""
    return sum(w * build(*nodes) for nodes, w in ex.grid_corners(coords))


def test_grid_interpolation_is_exact_at_grid_points_and_linear_between():
    def build(q: float, s: float) -> np.ndarray:
        return np.array([q * 2.0 + s * 100.0, q * q])

    assert ex.grid_corners(((81.5, 0.5), (0.02, 0.005))) == [((81.5, 0.02), 1.0)]
    at = _interpolated(((81.5, 0.5), (0.02, 0.005)), build)
    assert at == pytest.approx(build(81.5, 0.02), abs=1e-12)
    mid = _interpolated(((81.75, 0.5), (0.0225, 0.005)), build)
    corners = [build(q, s) for q in (81.5, 82.0) for s in (0.02, 0.025)]
    assert mid == pytest.approx(np.mean(corners, axis=0), abs=1e-9)
    assert sum(w for _, w in ex.grid_corners(((81.7, 2.0), (0.031, 0.05)))) == pytest.approx(1)
    # continuity across a grid line (no step where a rounded key changed)
    below = _interpolated(((81.9999999, 0.5), (0.02, 0.005)), build)
    above = _interpolated(((82.0000001, 0.5), (0.02, 0.005)), build)
    assert np.abs(below - above).max() < 1e-4  # slope (<= 170) x 2e-7


def test_expected_by_savings_rate_scales_with_the_benchmark():
    # Per-dollar tables: a rule proportional to the benchmark gives a payoff proportional
    # to it, with the variance in its square.
    def rule(e: float, q: float) -> float:
        return float(_rule((b - e) / b)) * b * q / 80.0

    out = []
    for b in (1e7, 3e7):
        ctx = Ctx()
        out.append(ex.expected_by_savings_rate(ctx, ("r",), KNOTS, rule, b, 0.97 * b,
                                               0.01 * b, coords=((80.0, 0.5),)))
    assert out[1][0] == pytest.approx(3 * out[0][0], rel=1e-12)
    assert out[1][1] == pytest.approx(9 * out[0][1], rel=1e-12)


def test_only_rates_near_the_mean_are_tabulated_and_the_answer_is_unchanged():
    b = 2e7
    calls = []

    def rule(e: float) -> float:
        calls.append(e)
        return float(_rule((b - e) / b)) * b

    ctx = Ctx()
    ex.expected_by_savings_rate(ctx, ("w",), KNOTS, rule, b, 0.98 * b, 0.01 * b)
    full = np.array([rule(b * (1 - r)) / b for r in KNOTS])  # every rate, as before
    calls.clear()
    m, v = ex.expected_by_savings_rate(Ctx(), ("w",), KNOTS, rule, b, 0.98 * b, 0.01 * b)
    full_m, full_v = ex.piecewise_normal_moments(KNOTS, full, 0.02, 0.01)
    assert m == pytest.approx(b * full_m, rel=1e-12)
    assert v == pytest.approx(b * b * full_v, rel=1e-10)
    assert len(calls) < len(KNOTS) / 2  # +-8 SD of a 1% SD: 34 of 81 rates
    n = len(calls)
    ex.expected_by_savings_rate(ctx, ("w",), KNOTS, rule, b, 0.981 * b, 0.01 * b)
    assert len(calls) - n <= 1  # the next candidate reuses the cached entries


def test_a_wide_spread_uses_fewer_knots_within_a_thousandth_of_the_benchmark():
    # Small panels: spending SD 9-15% of the benchmark. Every k-th rate serves as a knot
    # (k = SD / 8 steps); against all 161 knots the mean and SD of the payoff move by
    # less than 0.1% of the benchmark (the MSR cliff of _rule is the worst case).
    rates = np.linspace(-0.4, 0.4, 161)
    b = 1e7
    calls = []

    def rule(e: float) -> float:
        calls.append(e)
        return float(_rule((b - e) / b)) * b

    table = np.array([rule(b * (1 - r)) / b for r in rates])
    for sd in (0.09, 0.15):
        for m in np.linspace(-0.1, 0.1, 11):
            calls.clear()
            full = ex.piecewise_normal_moments(rates, table, m, sd)
            got = ex.expected_by_savings_rate(Ctx(), ("x",), rates, rule, b, b * (1 - m), sd * b)
            assert abs(got[0] / b - full[0]) < 1e-3
            assert abs(np.sqrt(got[1]) / b - np.sqrt(full[1])) < 1e-3
            assert len(calls) <= 161 // 2 + 2  # k = 2 or more


def test_quadrature_for_custom_contracts_is_exact_for_a_smooth_payoff():
    # normal_expectation (public, used by notebooks/03_custom_contract.ipynb): exact for
    # polynomials of low degree, e.g. a linear payoff a + b X: mean a + b m, variance b^2 s^2
    m, v = ex.normal_expectation(lambda x: 3.0 + 0.4 * x, 100.0, 7.0)
    assert m == pytest.approx(43.0, rel=1e-12)
    assert v == pytest.approx(0.16 * 49.0, rel=1e-10)
    assert ex.normal_expectation(lambda x: x * x, 2.0, 0.0) == (4.0, 0.0)
