"""Vectorised generation of a patient population.

Each patient has an age, a sex, a latent morbidity burden (lognormal, mean 1), chronic
conditions that cluster with age and morbidity (a probit liability model: condition ``c``
is present when ``a_c + loading_c * z + gradient_c * (age - 75) / 10 + e_c > 0`` with
``z`` the patient's latent morbidity score and ``e_c`` independent noise; ``a_c`` is solved
so that the starting prevalence matches the scenario), whether a diabetic patient's HbA1c
is controlled, and the fixed random "coding draws" that decide which present conditions
get coded at a given coding intensity.

The population is a struct of arrays (:class:`Population`); the first ``size`` rows are
the starting panel and the remaining rows a reserve of future entrants (new Medicare
enrollees aged 65-69) that take the place of patients who die.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from sim.scenario.schema import CONDITIONS, RiskScore
from sim.scenario.schema import Population as PopulationParams

#: Index of each condition in the ``conditions`` matrix.
COND_INDEX = {name: i for i, name in enumerate(CONDITIONS)}

ENTRANT_AGE_RANGE = (65.0, 70.0)


@dataclass
class Population:
    """Patients as columns. Rows ``[0, n_start)`` start in the panel; the rest are entrants."""

    n_start: int
    age0: np.ndarray  # age in years when the patient joins (float64)
    female: np.ndarray  # bool
    z: np.ndarray  # latent morbidity score at joining (standard normal)
    conditions: np.ndarray  # bool (n, 5), columns in CONDITIONS order
    dm_controlled0: np.ndarray  # bool: HbA1c controlled at joining (diabetics)
    coding_u: np.ndarray  # uniform (n, 5): condition coded if u < completeness
    provider: np.ndarray  # int16: index of the attributed primary-care provider
    payer: np.ndarray | None = None  # int16: index of the patient's payer (set by the engine)
    # Set by the engine from their own streams (:func:`draw_enrolment`; sim.coding.hcc):
    segment: np.ndarray | None = None  # int8: 0 non-dual, 1 full-benefit, 2 partial dual
    orig_disabled: np.ndarray | None = None  # bool: originally entitled by disability
    hcc_draws: np.ndarray | None = None  # (n, 9) fixed normal draws of the HCC states

    def __len__(self) -> int:
        return len(self.age0)


def _age_grid(params: PopulationParams, n: int = 400) -> np.ndarray:
    """Deterministic ages representing the starting age distribution (for solving a_c)."""
    rng = np.random.default_rng(0)
    return _draw_ages(params, rng, n)


def _draw_ages(params: PopulationParams, rng: np.random.Generator, n: int) -> np.ndarray:
    bands = params.age_bands
    shares = np.array([bands.age_65_74, bands.age_75_84, bands.age_85_plus])
    lows = np.array([65.0, 75.0, 85.0])
    # Within 85+, ages thin out: a truncated exponential over 85-100 with mean ~89.
    band = rng.choice(3, size=n, p=shares / shares.sum())
    u = rng.random(n)
    age = lows[band] + 10.0 * u
    old = band == 2
    scale = 4.5
    age[old] = 85.0 - scale * np.log1p(-u[old] * (1 - np.exp(-15.0 / scale)))
    return age


def condition_intercepts(params: PopulationParams) -> np.ndarray:
    """Probit intercepts ``a_c`` so that each condition's prevalence matches the scenario.

    Marginally over ``z`` and ``e``, the liability given age is normal with mean
    ``a + g x`` and variance ``1 + loading**2``; ``a`` is solved by bisection so that the
    mean over the starting age distribution equals the prevalence.
    """
    ages = _age_grid(params)
    x = (ages - 75.0) / 10.0
    out = np.empty(len(CONDITIONS))
    for i, name in enumerate(CONDITIONS):
        c = getattr(params.conditions, name)
        s = np.sqrt(1.0 + c.morbidity_loading**2)
        if c.prevalence <= 0.0:
            out[i] = -np.inf
            continue
        if c.prevalence >= 1.0:
            out[i] = np.inf
            continue
        lo, hi = -10.0, 10.0
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            if ndtr((mid + c.age_gradient * x) / s).mean() < c.prevalence:
                lo = mid
            else:
                hi = mid
        out[i] = 0.5 * (lo + hi)
    return out


def _draw_block(
    params: PopulationParams,
    rng: np.random.Generator,
    ages: np.ndarray,
    intercepts: np.ndarray,
    dm_controlled_share: float,
    provider_shares: np.ndarray,
) -> dict[str, np.ndarray]:
    n = len(ages)
    z = rng.standard_normal(n)
    loadings = np.array([getattr(params.conditions, c).morbidity_loading for c in CONDITIONS])
    gradients = np.array([getattr(params.conditions, c).age_gradient for c in CONDITIONS])
    liability = (
        intercepts[None, :]
        + loadings[None, :] * z[:, None]
        + gradients[None, :] * ((ages[:, None] - 75.0) / 10.0)
        + rng.standard_normal((n, len(CONDITIONS)))
    )
    conditions = liability > 0.0
    female = rng.random(n) < params.female_share
    dm_controlled = rng.random(n) < dm_controlled_share
    coding_u = rng.random((n, len(CONDITIONS)))
    provider = rng.choice(len(provider_shares), size=n, p=provider_shares).astype(np.int16)
    return {
        "age0": ages,
        "female": female,
        "z": z,
        "conditions": conditions,
        "dm_controlled0": dm_controlled,
        "coding_u": coding_u,
        "provider": provider,
    }


def generate_population(
    params: PopulationParams,
    rng: np.random.Generator,
    *,
    n_entrants: int,
    dm_controlled_share: float,
    provider_shares: np.ndarray,
) -> Population:
    """Draw the starting panel of ``params.size`` patients and ``n_entrants`` future entrants."""
    intercepts = condition_intercepts(params)
    start = _draw_block(params, rng, _draw_ages(params, rng, params.size), intercepts,
                        dm_controlled_share, provider_shares)
    lo, hi = ENTRANT_AGE_RANGE
    entrant_ages = lo + (hi - lo) * rng.random(n_entrants)
    new = _draw_block(params, rng, entrant_ages, intercepts, dm_controlled_share,
                      provider_shares)
    cols = {k: np.concatenate([start[k], new[k]]) for k in start}
    return Population(n_start=params.size, **cols)


def morbidity(z: np.ndarray, sd: float) -> np.ndarray:
    """Latent morbidity burden from its score: lognormal with mean 1."""
    return np.exp(sd * z - 0.5 * sd * sd)


def evolve_morbidity(z: np.ndarray, rng: np.random.Generator, persistence: float) -> np.ndarray:
    """One year of AR(1) drift of the latent morbidity score (keeps it standard normal)."""
    return persistence * z + np.sqrt(1.0 - persistence**2) * rng.standard_normal(len(z))


def draw_enrolment(params: PopulationParams, rng: np.random.Generator, n: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Medicaid dual status (CMS-HCC segment: 0 non-dual, 1 full-benefit, 2 partial-benefit
    dual) and originally-disabled status of ``n`` patients, independent of health (an
    approximation: duals are sicker on average). Drawn from its own stream, so the
    population's other draws do not move."""
    u = rng.random((n, 2))
    segment = np.where(u[:, 0] < params.dual_full_share, 1,
                       np.where(u[:, 0] < params.dual_full_share + params.dual_partial_share,
                                2, 0)).astype(np.int8)
    return segment, u[:, 1] < params.originally_disabled_share


def raw_risk_score(
    pop: Population,
    age: np.ndarray,
    morb: np.ndarray,
    params: RiskScore,
    coding_intensity: np.ndarray,
) -> np.ndarray:
    """Legacy concurrent score (``risk_score.model: legacy_concurrent``; the default is the
    prospective CMS-HCC score of :mod:`sim.coding.hcc`): demographics + coded conditions +
    other coded morbidity proportional to the current latent morbidity, which a real score
    cannot see.

    A present condition is coded when its fixed coding draw is below the completeness,
    which rises from ``coding_completeness`` to 1 with coding intensity; on top of that,
    marginal codes add ``coding_intensity_uplift * coding_intensity`` of the score.
    """
    demo = np.where(age < 75, params.demographic_65_74,
                    np.where(age < 85, params.demographic_75_84, params.demographic_85_plus))
    completeness = params.coding_completeness + (1.0 - params.coding_completeness) * coding_intensity
    coded = pop.conditions & (pop.coding_u < completeness[:, None])
    coefs = np.array([getattr(params, f"hcc_{c}") for c in CONDITIONS])
    score = demo + coded @ coefs + params.other_morbidity_weight * morb
    return score * (1.0 + params.coding_intensity_uplift * coding_intensity)


def probit(p: float) -> float:
    """Inverse of the standard normal CDF (exposed for tests)."""
    return float(ndtri(p))
