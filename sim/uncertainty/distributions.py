"""Uncertain scenario parameters: distributions written in place of numbers.

Any real-valued scenario parameter may be written as a distribution instead of a number::

    clinical:
      admissions:
        rate_per_year: {dist: gamma, mean: 0.15, sd: 0.02}
    lever_effects:
      prevention_acsc_rr: {dist: beta, mean: 0.6, sd: 0.08}
    prices:
      admission_mean_usd: {dist: normal, mean: 13000, sd: 1500, low: 8000}
    population:
      age_bands: {dist: dirichlet, mean: {age_65_74: .512, age_75_84: .361, age_85_plus: .127},
                  concentration: 400}
    correlation_groups:
      hospital_use:
        parameters: [clinical.admissions.rate_per_year, clinical.admissions.los_mean_days]
        correlation: 0.5          # one number for every pair, or a full matrix

Distributions (``mean``/``sd`` or the native parameters):

=========== ============================================ ==============================
``dist``    parameters                                   support
=========== ============================================ ==============================
beta        mean, sd  |  alpha, beta                     0 to 1
gamma       mean, sd  |  shape, scale                    above 0
lognormal   mean, sd  |  meanlog, sdlog                  above 0
normal      mean, sd, optional low / high (truncation)   low to high
uniform     low, high                                    low to high
triangular  low, mode, high                              low to high
dirichlet   mean (shares) + concentration  |  alpha      shares summing to 1
=========== ============================================ ==============================

A ``dirichlet`` stands for a whole mapping of shares (e.g. ``population.age_bands``); its
keys must be exactly the mapping's fields. Members of a correlation group are drawn
jointly through a Gaussian copula with the given correlation matrix.

This module parses and checks the specifications of single distributions
(:mod:`sim.uncertainty.parameters` holds the correlation groups, :mod:`sim.uncertainty.draw`
draws). The scenario validated by the loader is the one with every distribution replaced by
its mean (:meth:`Distribution.mean`; for a Dirichlet, the mean shares).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

DIST_KEY = "dist"
#: Draws are quantiles at probabilities clipped to [EDGE, 1 - EDGE].
EDGE = 1e-12


class SpecError(ValueError):
    """A distribution or correlation-group specification is refused (message says why)."""


def _real(spec: Mapping[str, Any], key: str) -> float:
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"'{key}' must be a number, got {value!r}")
    if not math.isfinite(value):
        raise SpecError(f"'{key}' must be a finite number, got {value!r}")
    return float(value)


def _num(x: float) -> str:
    return f"{x:.6g}"


# --------------------------------------------------------------------------- distributions


@dataclass(frozen=True)
class Distribution:
    """A univariate distribution (frozen, picklable, comparable)."""

    kind: ClassVar[str] = ""

    def ppf(self, u: Any) -> Any:
        """The quantile function at ``u`` (0 < u < 1)."""
        return _frozen(self).ppf(u)

    def mean(self) -> float:
        """The expected value."""
        return float(_frozen(self).mean())

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The central interval holding ``level`` of the probability."""
        lo, hi = self.ppf([(1 - level) / 2, (1 + level) / 2])
        return float(lo), float(hi)

    def support(self) -> tuple[float, float]:
        """Smallest and largest values the distribution can take."""
        raise NotImplementedError

    def draw_range(self) -> tuple[float, float]:
        """Smallest and largest values a draw can take: draws are quantiles at
        probabilities within [EDGE, 1 - EDGE] (see :mod:`sim.uncertainty.draw`)."""
        lo, hi = self.support()
        qlo, qhi = (float(x) for x in self.ppf([EDGE, 1 - EDGE]))
        return max(lo, qlo), min(hi, qhi)

    def spec(self) -> dict[str, Any]:
        """The specification as written in a scenario file."""
        raise NotImplementedError

    def _frozen(self) -> Any:
        raise NotImplementedError


@lru_cache(maxsize=4096)
def _frozen_of(dist: Distribution) -> Any:
    """The SciPy frozen distribution of ``dist``, built once per distinct distribution
    (building one costs far more than a quantile: every replication draws each parameter
    once); the same parameters, so the same quantiles."""
    return dist._frozen()  # noqa: SLF001 - the class's own builder


def _frozen(dist: Distribution) -> Any:
    try:
        return _frozen_of(dist)
    except TypeError:  # an unhashable field (a subclass elsewhere): built each time
        return dist._frozen()  # noqa: SLF001


@dataclass(frozen=True)
class Beta(Distribution):
    kind: ClassVar[str] = "beta"
    alpha: float
    beta: float
    written: tuple[tuple[str, float], ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Beta:
        if "mean" in spec:
            mean, sd = _real(spec, "mean"), _real(spec, "sd")
            if not 0 < mean < 1:
                raise SpecError(f"a beta needs 0 < mean < 1, got mean {_num(mean)}")
            limit = math.sqrt(mean * (1 - mean))
            if not 0 < sd < limit:
                raise SpecError(
                    f"sd {_num(sd)} is too large for a beta with mean {_num(mean)}: expected "
                    f"0 < sd < sqrt(mean * (1 - mean)) = {_num(limit)}")
            k = mean * (1 - mean) / sd**2 - 1
            return cls(mean * k, (1 - mean) * k, (("mean", mean), ("sd", sd)))
        a, b = _real(spec, "alpha"), _real(spec, "beta")
        if a <= 0 or b <= 0:
            raise SpecError(f"a beta needs alpha > 0 and beta > 0, got {_num(a)}, {_num(b)}")
        return cls(a, b, (("alpha", a), ("beta", b)))

    def _frozen(self) -> Any:
        from scipy.stats import beta

        return beta(self.alpha, self.beta)

    def support(self) -> tuple[float, float]:
        return 0.0, 1.0

    def spec(self) -> dict[str, Any]:
        return {DIST_KEY: self.kind, **dict(self.written or (("alpha", self.alpha),
                                                             ("beta", self.beta)))}


@dataclass(frozen=True)
class Gamma(Distribution):
    kind: ClassVar[str] = "gamma"
    shape: float
    scale: float
    written: tuple[tuple[str, float], ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Gamma:
        if "mean" in spec:
            mean, sd = _real(spec, "mean"), _real(spec, "sd")
            if mean <= 0 or sd <= 0:
                raise SpecError(f"a gamma needs mean > 0 and sd > 0, got {_num(mean)}, {_num(sd)}")
            return cls((mean / sd) ** 2, sd**2 / mean, (("mean", mean), ("sd", sd)))
        shape, scale = _real(spec, "shape"), _real(spec, "scale")
        if shape <= 0 or scale <= 0:
            raise SpecError(f"a gamma needs shape > 0 and scale > 0, got {_num(shape)}, "
                            f"{_num(scale)}")
        return cls(shape, scale, (("shape", shape), ("scale", scale)))

    def _frozen(self) -> Any:
        from scipy.stats import gamma

        return gamma(self.shape, scale=self.scale)

    def support(self) -> tuple[float, float]:
        return 0.0, math.inf

    def spec(self) -> dict[str, Any]:
        return {DIST_KEY: self.kind, **dict(self.written or (("shape", self.shape),
                                                             ("scale", self.scale)))}


@dataclass(frozen=True)
class LogNormal(Distribution):
    kind: ClassVar[str] = "lognormal"
    meanlog: float
    sdlog: float
    written: tuple[tuple[str, float], ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> LogNormal:
        if "mean" in spec:
            mean, sd = _real(spec, "mean"), _real(spec, "sd")
            if mean <= 0 or sd <= 0:
                raise SpecError(f"a lognormal needs mean > 0 and sd > 0, got {_num(mean)}, "
                                f"{_num(sd)}")
            s2 = math.log1p((sd / mean) ** 2)
            return cls(math.log(mean) - s2 / 2, math.sqrt(s2), (("mean", mean), ("sd", sd)))
        mu, sigma = _real(spec, "meanlog"), _real(spec, "sdlog")
        if sigma <= 0:
            raise SpecError(f"a lognormal needs sdlog > 0, got {_num(sigma)}")
        return cls(mu, sigma, (("meanlog", mu), ("sdlog", sigma)))

    def _frozen(self) -> Any:
        from scipy.stats import lognorm

        return lognorm(self.sdlog, scale=math.exp(self.meanlog))

    def support(self) -> tuple[float, float]:
        return 0.0, math.inf

    def spec(self) -> dict[str, Any]:
        return {DIST_KEY: self.kind, **dict(self.written or (("meanlog", self.meanlog),
                                                             ("sdlog", self.sdlog)))}


@dataclass(frozen=True)
class Normal(Distribution):
    """A normal distribution, truncated to ``[low, high]`` when bounds are given."""

    kind: ClassVar[str] = "normal"
    mu: float
    sd: float
    low: float = -math.inf
    high: float = math.inf

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Normal:
        mu, sd = _real(spec, "mean"), _real(spec, "sd")
        if sd <= 0:
            raise SpecError(f"a normal needs sd > 0, got {_num(sd)}")
        low = _real(spec, "low") if "low" in spec else -math.inf
        high = _real(spec, "high") if "high" in spec else math.inf
        if not low < high:
            raise SpecError(f"expected low < high, got low {_num(low)}, high {_num(high)}")
        if (low - mu) / sd > 5 or (high - mu) / sd < -5:
            raise SpecError(f"the bounds [{_num(low)}, {_num(high)}] lie more than 5 sd away "
                            f"from the mean {_num(mu)}")
        return cls(mu, sd, low, high)

    def _frozen(self) -> Any:
        from scipy.stats import norm, truncnorm

        if math.isinf(self.low) and math.isinf(self.high):
            return norm(self.mu, self.sd)
        return truncnorm((self.low - self.mu) / self.sd, (self.high - self.mu) / self.sd,
                         loc=self.mu, scale=self.sd)

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {DIST_KEY: self.kind, "mean": self.mu, "sd": self.sd}
        if math.isfinite(self.low):
            out["low"] = self.low
        if math.isfinite(self.high):
            out["high"] = self.high
        return out


@dataclass(frozen=True)
class Uniform(Distribution):
    kind: ClassVar[str] = "uniform"
    low: float
    high: float

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Uniform:
        low, high = _real(spec, "low"), _real(spec, "high")
        if not low < high:
            raise SpecError(f"expected low < high, got low {_num(low)}, high {_num(high)}")
        return cls(low, high)

    def _frozen(self) -> Any:
        from scipy.stats import uniform

        return uniform(self.low, self.high - self.low)

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def spec(self) -> dict[str, Any]:
        return {DIST_KEY: self.kind, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Triangular(Distribution):
    kind: ClassVar[str] = "triangular"
    low: float
    mode: float
    high: float

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Triangular:
        low, mode, high = _real(spec, "low"), _real(spec, "mode"), _real(spec, "high")
        if not (low <= mode <= high and low < high):
            raise SpecError(f"expected low <= mode <= high and low < high, got {_num(low)}, "
                            f"{_num(mode)}, {_num(high)}")
        return cls(low, mode, high)

    def _frozen(self) -> Any:
        from scipy.stats import triang

        width = self.high - self.low
        return triang((self.mode - self.low) / width, loc=self.low, scale=width)

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def spec(self) -> dict[str, Any]:
        return {DIST_KEY: self.kind, "low": self.low, "mode": self.mode, "high": self.high}


@dataclass(frozen=True)
class Dirichlet:
    """Shares over the fields of one mapping (e.g. ``population.age_bands``)."""

    kind: ClassVar[str] = "dirichlet"
    keys: tuple[str, ...]
    alpha: tuple[float, ...]
    written: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Dirichlet:
        if "alpha" in spec:
            alpha = _shares(spec, "alpha")
            if any(a <= 0 for a in alpha.values()):
                raise SpecError("every alpha of a dirichlet must be > 0")
            return cls(tuple(alpha), tuple(alpha.values()), (("alpha", dict(alpha)),))
        mean = _shares(spec, "mean")
        conc = _real(spec, "concentration")
        if conc <= 0:
            raise SpecError(f"concentration must be > 0, got {_num(conc)}")
        total = sum(mean.values())
        if abs(total - 1) > 1e-6 or any(m <= 0 for m in mean.values()):
            raise SpecError(f"the mean shares of a dirichlet must be > 0 and sum to 1, got sum "
                            f"{_num(total)}")
        return cls(tuple(mean), tuple(m * conc for m in mean.values()),
                   (("mean", dict(mean)), ("concentration", conc)))

    def mean_shares(self) -> dict[str, float]:
        total = sum(self.alpha)
        return {k: a / total for k, a in zip(self.keys, self.alpha, strict=True)}

    def spec(self) -> dict[str, Any]:
        written = dict(self.written) if self.written else {"alpha": dict(zip(self.keys,
                                                                             self.alpha,
                                                                             strict=True))}
        return {DIST_KEY: self.kind, **written}


def _shares(spec: Mapping[str, Any], key: str) -> dict[str, float]:
    value = spec[key]
    if not isinstance(value, Mapping) or not value:
        raise SpecError(f"'{key}' must be a mapping of share name to number")
    return {str(k): _real(value, k) for k in value}


_KINDS: dict[str, tuple[type, list[list[str]], list[str]]] = {
    # kind: (class, accepted required-key sets, optional keys)
    "beta": (Beta, [["mean", "sd"], ["alpha", "beta"]], []),
    "gamma": (Gamma, [["mean", "sd"], ["shape", "scale"]], []),
    "lognormal": (LogNormal, [["mean", "sd"], ["meanlog", "sdlog"]], []),
    "normal": (Normal, [["mean", "sd"]], ["low", "high"]),
    "uniform": (Uniform, [["low", "high"]], []),
    "triangular": (Triangular, [["low", "mode", "high"]], []),
    "dirichlet": (Dirichlet, [["mean", "concentration"], ["alpha"]], []),
}
KINDS = tuple(_KINDS)


def parse_distribution(spec: Mapping[str, Any]) -> Distribution | Dirichlet:
    """A distribution from its specification (a mapping with a ``dist`` key)."""
    kind = spec.get(DIST_KEY)
    if not isinstance(kind, str) or kind not in _KINDS:
        raise SpecError(f"unknown distribution {kind!r}; expected one of {', '.join(KINDS)}")
    cls, key_sets, optional = _KINDS[kind]
    given = set(spec) - {DIST_KEY}
    for keys in key_sets:
        if set(keys) <= given and given <= set(keys) | set(optional):
            try:
                return cls.parse(spec)
            except OverflowError:  # e.g. a gamma whose mean/sd ratio overflows a float
                raise SpecError(f"the {kind} parameters are out of the range a float can "
                                f"hold: {', '.join(f'{k}={spec[k]!r}' for k in keys)}") from None
    forms = " or ".join("{" + ", ".join(k + [f"{o}?" for o in optional]) + "}"
                        for k in key_sets)
    raise SpecError(f"a {kind} distribution takes {forms}; got {{{', '.join(sorted(given))}}}")


__all__ = [
    "DIST_KEY",
    "EDGE",
    "KINDS",
    "Beta",
    "Dirichlet",
    "Distribution",
    "Gamma",
    "LogNormal",
    "Normal",
    "SpecError",
    "Triangular",
    "Uniform",
    "parse_distribution",
]
