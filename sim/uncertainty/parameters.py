"""The uncertain parameters of a scenario and the correlation groups they are drawn in.

An :class:`Uncertainty` is what the scenario loader extracts from a file (every
``{dist: ...}`` written in place of a number, and the ``correlation_groups:`` section);
:mod:`sim.uncertainty.draw` draws from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.uncertainty.distributions import Dirichlet, Distribution, SpecError

GROUPS_KEY = "correlation_groups"


@dataclass(frozen=True)
class CorrelationGroup:
    """Parameters drawn jointly (Gaussian copula with correlation matrix ``correlation``)."""

    name: str
    parameters: tuple[str, ...]
    correlation: tuple[tuple[float, ...], ...]

    @classmethod
    def parse(cls, name: str, spec: Any) -> CorrelationGroup:
        if not isinstance(spec, Mapping) or set(spec) != {"parameters", "correlation"}:
            raise SpecError("expected a mapping with keys 'parameters' (a list of parameter "
                            "paths) and 'correlation' (a number or a square matrix)")
        params = spec["parameters"]
        if (not isinstance(params, list) or len(params) < 2
                or not all(isinstance(p, str) and p for p in params)):
            raise SpecError("'parameters' must be a list of at least two parameter paths")
        if len(set(params)) != len(params):
            raise SpecError("'parameters' lists a parameter twice")
        n = len(params)
        corr = spec["correlation"]
        if isinstance(corr, int | float) and not isinstance(corr, bool):
            matrix = np.full((n, n), float(corr))
            np.fill_diagonal(matrix, 1.0)
        elif isinstance(corr, list):
            try:
                matrix = np.array(corr, dtype=float)
            except (TypeError, ValueError):
                raise SpecError("'correlation' must be a number or a square matrix of "
                                "numbers") from None
            if matrix.shape != (n, n):
                raise SpecError(f"'correlation' must be a {n} x {n} matrix (one row per "
                                f"parameter), got shape {matrix.shape}")
        else:
            raise SpecError("'correlation' must be a number or a square matrix of numbers")
        if not np.all(np.isfinite(matrix)) or np.any(np.abs(matrix) > 1):
            raise SpecError("correlations must lie between -1 and 1")
        if not np.allclose(np.diag(matrix), 1.0):
            raise SpecError("the diagonal of the correlation matrix must be 1")
        if not np.allclose(matrix, matrix.T):
            raise SpecError("the correlation matrix must be symmetric")
        try:
            np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            raise SpecError("the correlation matrix is not positive definite") from None
        return cls(str(name), tuple(params), tuple(tuple(float(x) for x in row) for row in matrix))

    def cholesky(self) -> np.ndarray:
        return np.linalg.cholesky(np.array(self.correlation))

    def spec(self) -> dict[str, Any]:
        return {"parameters": list(self.parameters),
                "correlation": [list(row) for row in self.correlation]}


@dataclass(frozen=True)
class UncertainParameter:
    """An uncertain parameter: its path (list items by name), where it sits in the data
    (list items by index) and its distribution."""

    path: str
    keys: tuple[str, ...]
    dist: Distribution | Dirichlet

    def components(self) -> list[tuple[str, tuple[str, ...]]]:
        """(path, data keys) of each drawn value: one, or one per Dirichlet share."""
        if isinstance(self.dist, Dirichlet):
            return [(f"{self.path}.{k}", (*self.keys, k)) for k in self.dist.keys]
        return [(self.path, self.keys)]


@dataclass(frozen=True)
class Uncertainty:
    """The uncertain parameters and correlation groups of a scenario."""

    parameters: tuple[UncertainParameter, ...] = ()
    groups: tuple[CorrelationGroup, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.parameters)

    def get(self, path: str) -> UncertainParameter | None:
        for p in self.parameters:
            if p.path == path:
                return p
        return None

    def paths(self) -> list[str]:
        """Paths of every drawn value (Dirichlet shares one by one)."""
        return [c for p in self.parameters for c, _ in p.components()]

    def spec(self) -> dict[str, Any]:
        """A plain, canonical description (for hashing and manifests)."""
        return {"parameters": {p.path: p.dist.spec() for p in self.parameters},
                GROUPS_KEY: {g.name: g.spec() for g in self.groups}}



__all__ = ["GROUPS_KEY", "CorrelationGroup", "UncertainParameter", "Uncertainty"]
