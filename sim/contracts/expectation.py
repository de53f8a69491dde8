"""What a contract needs to report its expected payoff for a candidate lever setting.

Behaviour (``sim.behaviour``, a higher layer) computes the expected year of a provider's
panel under a lever setting and hands it to every contract through :class:`PayoffInputs`;
each contract answers with the mean and variance of its payoff to that provider, applying
its own rules. The contracts' marginal incentives are differences of these payoffs between
lever settings, so the payoffs are made smooth functions of the expected panel:

* a nonlinear ACO rule is tabulated per dollar of benchmark on a grid of savings rates
  (piecewise linear between grid points, as the rules themselves are) and its mean and
  variance under normally distributed spending are computed **in closed form**
  (:func:`piecewise_normal_moments`), not by quadrature, whose nodes crossing a kink
  made the expectation kinked;
* what else the rule depends on (the quality score, revenue or capitation as a share of
  the benchmark) is not rounded into the table's key: tables are built at the grid
  points around the value and interpolated linearly (:func:`grid_corners`), so
  the payoff is continuous in it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
from scipy.special import ndtr

from sim.contracts.quality import score_value
from sim.contracts.settler import Context

#: The expected year of a provider's panel (``sim.behaviour.expected.ExpectedPanel``:
#: ``person_years``, ``risk``, ``measures``, ``episodes`` by payer, ``total(payer)``...).
ExpectedPanel = Any

_SQRT_2PI = math.sqrt(2.0 * math.pi)


_X, _W = np.polynomial.hermite.hermgauss(12)


def normal_expectation(payoff: Callable[[float], float], mean: float, sd: float
                       ) -> tuple[float, float]:
    """Mean and variance of ``payoff(X)`` for ``X ~ Normal(mean, sd)`` by 12-point
    Gauss-Hermite quadrature: for a custom contract's smooth payoff
    (notebooks/03_custom_contract.ipynb). A piecewise linear payoff is exact and smooth
    with :func:`piecewise_normal_moments` (quadrature is kinked where a node crosses a
    kink)."""
    if sd <= 0:
        return payoff(mean), 0.0
    vals = np.array([payoff(mean + np.sqrt(2.0) * sd * x) for x in _X])
    m = float(np.sum(_W * vals) / np.sqrt(np.pi))
    var = float(np.sum(_W * (vals - m) ** 2) / np.sqrt(np.pi))
    return m, var


def piecewise_normal_moments(knots: np.ndarray, values: np.ndarray, mean: float, sd: float
                             ) -> tuple[float, float]:
    """Exact mean and variance of ``g(R)``, ``R ~ Normal(mean, sd)``, where ``g`` is the
    linear interpolation of ``values`` at the increasing ``knots`` and constant beyond
    them (``np.interp``).

    On a segment ``[r_i, r_i+1]`` ``g(r) = a + b r`` and, with ``z = (r - mean) / sd``,
    the partial moments of the normal are ``E[1] = dPhi``, ``E[R] = mean dPhi - sd dphi``,
    ``E[R^2] = mean^2 dPhi - 2 mean sd dphi + sd^2 (dPhi - d(z phi))``. Smooth in
    ``mean`` and ``sd`` (the quadrature it replaces was kinked wherever a node crossed a
    knot).
    """
    if sd <= 0:
        return float(np.interp(mean, knots, values)), 0.0
    z = (knots - mean) / sd
    cdf = ndtr(z)
    pdf = np.exp(-0.5 * z * z) / _SQRT_2PI
    zpdf = z * pdf
    d_cdf = np.diff(cdf)
    d_pdf = np.diff(pdf)
    d_zpdf = np.diff(zpdf)
    b = np.diff(values) / np.diff(knots)
    a = values[:-1] - b * knots[:-1]
    e1 = mean * d_cdf - sd * d_pdf  # E[R; segment]
    e2 = mean * mean * d_cdf - 2.0 * mean * sd * d_pdf + sd * sd * (d_cdf - d_zpdf)
    lo, hi = float(values[0]), float(values[-1])
    p_lo, p_hi = float(cdf[0]), float(1.0 - cdf[-1])
    m = lo * p_lo + hi * p_hi + float(np.sum(a * d_cdf + b * e1))
    m2 = (lo * lo * p_lo + hi * hi * p_hi
          + float(np.sum(a * a * d_cdf + 2.0 * a * b * e1 + b * b * e2)))
    return m, max(m2 - m * m, 0.0)


def piecewise_normal_moments_many(knots: np.ndarray, values: np.ndarray, mean: np.ndarray,
                                  sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`piecewise_normal_moments` of several rows at once: ``values`` (P, len(knots))
    at the same ``knots``, ``mean`` and ``sd`` (P,) (each > 0). The same operations element
    by element and the same row sums (NumPy's pairwise sum of each contiguous row), so
    each row's mean and variance are bit-identical to :func:`piecewise_normal_moments` of
    the row alone (``tests/contracts/test_expectation_closed_form.py``)."""
    mean = np.asarray(mean, dtype=float)[:, None]
    sd = np.asarray(sd, dtype=float)[:, None]
    z = (knots - mean) / sd
    cdf = ndtr(z)
    pdf = np.exp(-0.5 * z * z) / _SQRT_2PI
    zpdf = z * pdf
    d_cdf = np.diff(cdf, axis=1)
    d_pdf = np.diff(pdf, axis=1)
    d_zpdf = np.diff(zpdf, axis=1)
    b = np.diff(values, axis=1) / np.diff(knots)
    a = values[:, :-1] - b * knots[:-1]
    e1 = mean * d_cdf - sd * d_pdf  # E[R; segment]
    e2 = mean * mean * d_cdf - 2.0 * mean * sd * d_pdf + sd * sd * (d_cdf - d_zpdf)
    lo, hi = values[:, 0], values[:, -1]
    p_lo, p_hi = cdf[:, 0], 1.0 - cdf[:, -1]
    m = lo * p_lo + hi * p_hi + np.sum(a * d_cdf + b * e1, axis=1)
    m2 = (lo * lo * p_lo + hi * hi * p_hi
          + np.sum(a * a * d_cdf + 2.0 * a * b * e1 + b * b * e2, axis=1))
    return m, np.maximum(m2 - m * m, 0.0)


def grid_corners(coords: Sequence[tuple[float, float]]
                 ) -> list[tuple[tuple[float, ...], float]]:
    """The grid points around continuous ``coords`` (``(value, grid step)`` pairs) and
    their multilinear interpolation weights (one point per coordinate on the grid)."""
    axes = []
    for value, step in coords:
        i = math.floor(value / step)
        w = value / step - i
        lo = round(i * step, 12)
        axes.append([(lo, 1.0 - w)] if w <= 1e-12 else
                    [(lo, 1.0 - w), (round((i + 1) * step, 12), w)])
    return [(tuple(c[0] for c in corner), math.prod(c[1] for c in corner))
            for corner in product(*axes)]


@dataclass
class PayoffInputs:
    """A provider's expected year, as the contracts need it."""

    provider: int
    exp: ExpectedPanel
    sd_per_patient: np.ndarray  # (payers,) SD of one member's annual spending (payer prices)
    truncation: np.ndarray  # (payers,) truncated / untruncated spending, last observed year
    ffs_revenue: np.ndarray  # (payers,) expected FFS revenue of the provider's own services
    scope_cost: Callable[[int, str], tuple[float, float, float]]  # (payer, scope) ->
    # (own services at unit cost, others' claims at payer prices, all covered at payer prices)
    #: (payers,) members the contract counts (person-years at the provider's current
    #: levers): fixed while the levers are searched, so a rule's step in the head count
    #: (the MSR by ACO size) is not a step of the objective. None: the candidate's own.
    members: np.ndarray | None = None

    def quality(self, ctx: Context) -> float:
        """Expected quality score of the panel (computed once per scale: every contract
        of the candidate asks for it)."""
        scale = ctx.quality_scale
        cached = self.__dict__.get("_quality")
        if cached is None or cached[0] is not scale:
            cached = (scale, score_value(self.exp.measures, scale))
            self.__dict__["_quality"] = cached
        return cached[1]

    def spending(self, ctx: Context, payer: int) -> tuple[float, float]:
        """Mean and SD of the payer's truncated spending on the panel (payer prices)."""
        mu = self.exp.total(payer) * ctx.price_factor[payer] * self.truncation[payer]
        sd = self.sd_per_patient[payer] * np.sqrt(max(self.exp.person_years[payer], 0.0))
        return float(mu), float(sd)

    def head_count(self, payer: int) -> int:
        """Members counted by a rule that needs a whole number (at least 1)."""
        py = (self.members if self.members is not None else self.exp.person_years)[payer]
        return max(int(round(float(py))), 1)


def expected_by_savings_rate(ctx: Context, key: tuple, rates: np.ndarray,
                             rule: Callable[..., float], benchmark: float, mean: float,
                             sd: float, coords: Sequence[tuple[float, float]] = (),
                             vectorised: bool = False) -> tuple[float, float]:
    """Mean and variance of an ACO rule's payoff when spending is ``Normal(mean, sd)``.

    ACO settlement rules are piecewise linear in the savings rate and, with everything
    else fixed, proportional to the benchmark: the rule's payoff per dollar of benchmark
    is tabulated at the savings ``rates`` (cached in the context under ``key``, which
    must name everything else the rule depends on, except the continuous ``coords``:
    ``rule(expenditure, *grid values)`` is tabulated at their grid points and
    interpolated, :func:`grid_corners`), and its moments under the savings rate
    ``(benchmark - X) / benchmark`` are computed exactly (:func:`piecewise_normal_moments`)
    on the rates within 8 SD of the mean (the only ones tabulated). With ``vectorised``
    the rule takes an array of expenditures and returns their payoffs (the table entries
    missing are then filled in one call, e.g. :func:`sim.contracts.mssp.rules.
    earned_by_expenditure`; the same values as one call per entry).
    """
    return expected_by_savings_rate_many(ctx, [key], rates, [rule], [benchmark], [mean],
                                         [sd], [coords], vectorised)[0]


def expected_by_savings_rate_many(ctx: Context, keys: Sequence[tuple], rates: np.ndarray,
                                  rules: Sequence[Callable[..., float]],
                                  benchmarks: Sequence[float], means: Sequence[float],
                                  sds: Sequence[float],
                                  coords: Sequence[Sequence[tuple[float, float]]],
                                  vectorised: bool = False) -> list[tuple[float, float]]:
    """:func:`expected_by_savings_rate` of several candidates at once (one entry of each
    argument per candidate, ``rates`` shared): the table entries each needs are filled in
    the candidates' order, as one call after the other would (an entry, once filled, is
    never changed), and the moments of the candidates with the same knots and grid points
    computed in one vectorised pass (:func:`piecewise_normal_moments_many`): each
    candidate's numbers bit-identical to its own call (issue 16)."""
    prepared = []
    spans: dict[tuple[int, int, int], np.ndarray] = {}  # knots' indices by (lo, hi, k)
    filled: set[tuple[int, tuple[int, int, int]]] = set()  # (table, span) complete
    for key, rule, benchmark, mean, sd, xy in zip(keys, rules, benchmarks, means, sds, coords,
                                                  strict=True):
        m = (benchmark - mean) / benchmark
        s = sd / benchmark
        # Only the savings rates within 8 SD of the mean carry probability (beyond them
        # less than 1e-15, where the table's end values stand for the rule): table entries
        # are computed when first needed and cached, per grid point of the coordinates.
        lo = max(int(np.searchsorted(rates, m - 8.0 * s, side="right")) - 1, 0)
        hi = min(int(np.searchsorted(rates, m + 8.0 * s, side="left")), len(rates) - 1)
        if hi <= lo:
            lo, hi = max(hi - 1, 0), max(hi, 1)
        # A wide spread (a small panel) smooths over many grid steps: every k-th rate then
        # serves as a knot, k up to the spread / 8 grid steps (the interpolation error of a
        # kink is then below ~1e-3 of the benchmark, tests/contracts; panels of more than
        # about 1,500 members keep every rate).
        k = int(min(max(s // (8.0 * (rates[1] - rates[0])), 1), 8))
        span = (lo, hi, k)
        idx = spans.get(span)
        if idx is None:
            idx = np.arange(lo, hi + 1, k)
            if idx[-1] != hi:
                idx = np.append(idx, hi)
            spans[span] = idx
        corners = grid_corners(xy)
        tables = []
        for nodes, _ in corners:
            table = ctx.memo((*key, nodes), lambda: np.full(len(rates), np.nan))
            tables.append(table)
            if (id(table), span) in filled:  # an earlier candidate filled these entries
                continue
            filled.add((id(table), span))
            todo = idx[np.isnan(table[idx])]
            if vectorised and len(todo):
                table[todo] = rule(benchmark * (1 - rates[todo]), *nodes) / benchmark
            else:
                for i in todo:
                    table[i] = rule(benchmark * (1 - rates[i]), *nodes) / benchmark
        prepared.append((m, s, idx, corners, tables, span))
    # candidates with the same knots and the same tables: one vectorised pass
    groups: dict[tuple, list[int]] = {}
    for j, (_, _, _, _, tables, span) in enumerate(prepared):
        groups.setdefault((span, *map(id, tables)), []).append(j)
    out: list[tuple[float, float]] = [(0.0, 0.0)] * len(prepared)
    for members in groups.values():
        idx, tables = prepared[members[0]][2], prepared[members[0]][4]
        combined = np.zeros((len(members), len(idx)))
        for c, table in enumerate(tables):
            weight = np.array([prepared[j][3][c][1] for j in members])[:, None]
            combined += weight * table[idx]
        knots = rates[idx]
        spread = [prepared[j][1] for j in members]
        if min(spread) > 0:
            mu, var = piecewise_normal_moments_many(
                knots, combined, np.array([prepared[j][0] for j in members]),
                np.array(spread))
            res = zip(mu.tolist(), var.tolist(), strict=True)
        else:
            res = (piecewise_normal_moments(knots, row, prepared[j][0], prepared[j][1])
                   for j, row in zip(members, combined, strict=True))
        for j, (mu_j, var_j) in zip(members, res, strict=True):
            b = benchmarks[j]
            out[j] = (b * mu_j, b * b * var_j)
    return out
