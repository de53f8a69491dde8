"""Probabilistic sensitivity analysis: draw the uncertain parameters of a replication.

Drawing is a step of its own, before simulating (hesim's "draw, simulate, decide"):

* :func:`draw_parameters` turns an :class:`~sim.uncertainty.parameters.Uncertainty` and a
  replication's ``SeedSequence`` into ``{parameter path: value}``;
* :func:`sim.scenario.uncertain.apply_values` substitutes values into a scenario and
  validates the result, giving a new, plain :class:`~sim.scenario.Scenario`.

Random numbers: every drawn value ``p`` takes one standard normal score from its own stream
``stream(seed_seq, "parameters:" + p)`` (:func:`sim.rng.stream`), and its value is the
distribution's quantile at ``Phi(score)``. Members of a correlation group get the scores
``L @ z`` (``L`` the Cholesky factor of the group's correlation matrix: a Gaussian copula).
A Dirichlet draws one gamma per share from the share's own stream and normalises. Hence:

* two scenarios of an experiment that declare the same parameter with the same
  distribution draw the *same value* in a replication (and with different distributions,
  the same quantile) — parameter draws are common random numbers too;
* adding or removing an uncertain parameter does not change the draws of the others.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from sim.rng import stream
from sim.uncertainty.distributions import EDGE, Dirichlet
from sim.uncertainty.parameters import Uncertainty

DRAW_COLUMNS = ["replication", "scenario", "parameter", "value"]


def _score(seed_seq: np.random.SeedSequence, path: str) -> float:
    return float(stream(seed_seq, f"parameters:{path}").standard_normal())


def _uniform(z: float) -> float:
    return float(np.clip(ndtr(z), EDGE, 1 - EDGE))


@lru_cache(maxsize=1024)
def _unit_gamma(shape: float) -> Any:
    """SciPy's gamma(shape) frozen, built once per shape (the same quantiles)."""
    from scipy.stats import gamma

    return gamma(shape)


def draw_parameters(
    uncertainty: Uncertainty, seed_seq: np.random.SeedSequence
) -> dict[str, float]:
    """One draw of every uncertain parameter: ``{path: value}`` (Dirichlet shares as
    ``path.share``), in declaration order."""
    scores: dict[str, float] = {}
    for p in uncertainty.parameters:
        if not isinstance(p.dist, Dirichlet):
            scores[p.path] = _score(seed_seq, p.path)
    for group in uncertainty.groups:
        z = np.array([scores[path] for path in group.parameters])
        for path, value in zip(group.parameters, group.cholesky() @ z, strict=True):
            scores[path] = float(value)
    values: dict[str, float] = {}
    for p in uncertainty.parameters:
        if isinstance(p.dist, Dirichlet):
            g = {k: float(_unit_gamma(a).ppf(_uniform(_score(seed_seq, f"{p.path}.{k}"))))
                 for k, a in zip(p.dist.keys, p.dist.alpha, strict=True)}
            total = sum(g.values())
            values.update({f"{p.path}.{k}": v / total for k, v in g.items()})
        else:
            values[p.path] = float(p.dist.ppf(_uniform(scores[p.path])))
    return values


def mean_values(uncertainty: Uncertainty) -> dict[str, float]:
    """Every uncertain parameter at its mean (the base case)."""
    out: dict[str, float] = {}
    for p in uncertainty.parameters:
        if isinstance(p.dist, Dirichlet):
            out.update({f"{p.path}.{k}": v for k, v in p.dist.mean_shares().items()})
        else:
            out[p.path] = p.dist.mean()
    return out


def draws_frame(records: list[tuple[int, str, str, float]]) -> pd.DataFrame:
    """The draws table: ``replication, scenario, parameter, value``."""
    frame = pd.DataFrame(records, columns=DRAW_COLUMNS)
    return frame.astype({"replication": "int64", "scenario": "string", "parameter": "string",
                         "value": "float64"})


def describe(uncertainty: Uncertainty) -> pd.DataFrame:
    """One row per uncertain parameter: path, distribution, mean and 95% interval."""
    rows: list[dict[str, Any]] = []
    for p in uncertainty.parameters:
        if isinstance(p.dist, Dirichlet):
            from scipy.stats import beta

            total = sum(p.dist.alpha)
            for k, a in zip(p.dist.keys, p.dist.alpha, strict=True):
                lo, hi = beta(a, total - a).ppf([0.025, 0.975])
                rows.append({"parameter": f"{p.path}.{k}", "dist": "dirichlet",
                             "mean": a / total, "p2.5": float(lo), "p97.5": float(hi)})
        else:
            lo, hi = p.dist.interval(0.95)
            rows.append({"parameter": p.path, "dist": p.dist.kind, "mean": p.dist.mean(),
                         "p2.5": lo, "p97.5": hi})
    return pd.DataFrame(rows, columns=["parameter", "dist", "mean", "p2.5", "p97.5"])


__all__ = [
    "DRAW_COLUMNS",
    "describe",
    "draw_parameters",
    "draws_frame",
    "mean_values",
]
