"""Checks, before simulating, that the population can produce what the scenario needs.

Scenarios can pass field-by-field validation and then crash, or lie, after simulating:

* **an emptied panel**: with ``population.replace_deaths: false`` the panel only shrinks;
  an extreme mortality leaves nobody alive and the run failed with "Weights sum to zero"
  (issue 18). :func:`expected_survivors` bounds from above the expected number of patients
  alive at the end of the last plan year: every patient is taken as a condition-free
  65-year-old (the youngest age; hazard ratios below 1 are applied as if every patient had
  them) keeping the morbidity it starts with (a fixed frailty survives best); the care
  model's other factors (underuse harm, post-discharge window) only raise the hazard.
* **bundles without baseline episodes**: checked by the bundled contract itself
  (:mod:`sim.contracts.bundled.feasibility`, through its ``check_years``).

A panel is refused below :data:`MIN_SURVIVORS` expected survivors: the chance that a
replication keeps nobody is then about ``exp(-10)`` (Poisson), 5 in 100,000.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Refuse a shrinking panel expected (at best) to keep fewer patients than this.
MIN_SURVIVORS = 10.0
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(60)  # E over a standard normal
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def expected_survivors(sc: Any) -> float:
    """Upper bound of the expected number of the starting patients alive at the end of the
    last plan year (warm-up years included), ignoring new members."""
    mo, pop = sc.clinical.mortality, sc.population
    years = sc.warmup_years + sc.horizon_years
    ratio = math.prod(min(1.0, hr) for hr in (mo.hr_heart_failure, mo.hr_copd, mo.hr_ckd,
                                              mo.hr_diabetes, mo.hr_diabetes_uncontrolled))
    t = np.arange(years)
    age = 65.0 + t
    morb = np.exp(pop.morbidity_sd * _NODES - 0.5 * pop.morbidity_sd**2)  # lognormal, mean 1
    morb_t = morb[:, None] * np.exp(pop.morbidity_age_gradient * (age - 75.0))[None, :]
    hazard = (mo.rate_at_65_per_year * np.exp(mo.gompertz_slope_per_year * (age - 65.0))
              * ratio * morb_t**mo.morbidity_exponent)
    return float(pop.size * (_WEIGHTS * np.exp(-hazard.sum(axis=1))).sum())


def check_panel_survives(sc: Any) -> None:
    """Refuse (``ValueError``) a panel that deaths would empty (``replace_deaths: false``)."""
    if sc.population.replace_deaths:
        return
    alive = expected_survivors(sc)
    if alive >= MIN_SURVIVORS:
        return
    years = sc.warmup_years + sc.horizon_years
    mo = sc.clinical.mortality
    raise ValueError(
        f"population.replace_deaths: false with this mortality (clinical.mortality."
        f"rate_at_65_per_year {mo.rate_at_65_per_year:g}, gompertz_slope_per_year "
        f"{mo.gompertz_slope_per_year:g}) would leave at most ~{alive:.2g} of the "
        f"{sc.population.size:,} patients alive after {years} simulated years (warmup_years "
        f"{sc.warmup_years} + horizon_years {sc.horizon_years}); the panel would be empty. "
        f"Expected at least {MIN_SURVIVORS:g}: set replace_deaths: true, lower the mortality, "
        f"shorten the horizon or warm-up, or enlarge population.size")


__all__ = ["MIN_SURVIVORS", "check_panel_survives", "expected_survivors"]
