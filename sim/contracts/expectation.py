"""What a contract needs to report its expected payoff for a candidate lever setting.

Behaviour (``sim.behaviour``, a higher layer) computes the expected year of a provider's
panel under a lever setting and hands it to every contract through :class:`PayoffInputs`;
each contract answers with the mean and variance of its payoff to that provider, applying its own
rules (for nonlinear rules, by Gauss-Hermite quadrature over the year's spending). The
contracts' marginal incentives are differences of these payoffs between lever settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.contracts.quality import score_measures
from sim.contracts.settler import Context

#: The expected year of a provider's panel (``sim.behaviour.expected.ExpectedPanel``:
#: ``person_years``, ``risk``, ``measures``, ``episodes`` by payer, ``total(payer)``...).
ExpectedPanel = Any

_X, _W = np.polynomial.hermite.hermgauss(12)


def normal_expectation(payoff: Callable[[float], float], mean: float, sd: float
                       ) -> tuple[float, float]:
    """Mean and variance of ``payoff(X)`` for ``X ~ Normal(mean, sd)`` (12-point quadrature)."""
    if sd <= 0:
        v = payoff(mean)
        return v, 0.0
    vals = np.array([payoff(mean + np.sqrt(2.0) * sd * x) for x in _X])
    m = float(np.sum(_W * vals) / np.sqrt(np.pi))
    var = float(np.sum(_W * (vals - m) ** 2) / np.sqrt(np.pi))
    return m, var


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

    def quality(self, ctx: Context) -> float:
        """Expected quality score of the panel."""
        return float(score_measures(self.exp.measures, ctx.quality_scale)["score"])

    def spending(self, ctx: Context, payer: int) -> tuple[float, float]:
        """Mean and SD of the payer's truncated spending on the panel (payer prices)."""
        mu = self.exp.total(payer) * ctx.price_factor[payer] * self.truncation[payer]
        sd = self.sd_per_patient[payer] * np.sqrt(max(self.exp.person_years[payer], 0.0))
        return float(mu), float(sd)


def expected_by_savings_rate(ctx: Context, key: tuple, rates: np.ndarray,
                             rule: Callable[[float], float], benchmark: float, mean: float,
                             sd: float) -> tuple[float, float]:
    """Mean and variance of an ACO rule's payoff when spending is ``Normal(mean, sd)``.

    ACO settlement rules are piecewise linear in the savings rate and, with everything
    else fixed, proportional to the benchmark: the rule's payoff per dollar of benchmark
    is tabulated once at the savings ``rates`` (cached in the context under ``key``,
    which must name everything else the rule depends on) and interpolated at the
    quadrature nodes.
    """
    table = ctx.memo(key, lambda: np.array([rule(benchmark * (1 - r)) / benchmark
                                            for r in rates]))
    if sd <= 0:
        return benchmark * float(np.interp((benchmark - mean) / benchmark, rates, table)), 0.0
    # normal_expectation with every quadrature node interpolated at once (the same
    # arithmetic, element by element: bit-identical, without a Python call per node).
    e = mean + np.sqrt(2.0) * sd * _X
    vals = benchmark * np.interp((benchmark - e) / benchmark, rates, table)
    m = float(np.sum(_W * vals) / np.sqrt(np.pi))
    var = float(np.sum(_W * (vals - m) ** 2) / np.sqrt(np.pi))
    return m, var
