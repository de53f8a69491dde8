"""Checks, before simulating, that the population can produce what the scenario needs.

Two scenarios pass field-by-field validation and then crash, or lie, after simulating:

* **an emptied panel**: with ``population.replace_deaths: false`` the panel only shrinks;
  an extreme mortality leaves nobody alive and the run failed with "Weights sum to zero"
  (issue 18). :func:`expected_survivors` bounds from above the expected number of patients
  alive at the end of the last plan year: every patient is taken as a condition-free
  65-year-old (the youngest age; hazard ratios below 1 are applied as if every patient had
  them) keeping the morbidity it starts with (a fixed frailty survives best); the care
  model's other factors (underuse harm, post-discharge window) only raise the hazard.
* **bundles without baseline episodes**: a bundle's target price is the mean of the
  episodes that ended in the three baseline years; a population too small for its triggers
  had none ("no baseline episodes ... to set a target price", after simulating) or a
  handful (a target price from noise). :func:`expected_baseline_episodes` estimates them
  from the trigger rates at average morbidity without conditions (conditions raise most
  rates, so this errs low for admissions) and the payer's and initiator's share of the
  panel.

Both are refused below :data:`MIN_SURVIVORS` / :data:`MIN_BASELINE_EPISODES` expected: the
chance that a replication meets none is then about ``exp(-10)`` (Poisson), 5 in 100,000.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Refuse a shrinking panel expected (at best) to keep fewer patients than this.
MIN_SURVIVORS = 10.0
#: Refuse a bundle expected to have fewer baseline episodes than this.
MIN_BASELINE_EPISODES = 10.0
#: Baseline years of a bundle's target price (sim.settlement.bundled).
BASELINE_YEARS = 3
#: Readmission window of an unplanned admission, days (the care model's 30-day window).
READMISSION_WINDOW_DAYS = 30.0
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


def trigger_rates(sc: Any) -> dict[str, float]:
    """Episodes a trigger opens per patient-year, at average morbidity without conditions."""
    ad, el, pop = sc.clinical.admissions, sc.clinical.electives, sc.population
    sd = pop.morbidity_sd
    offered = (0.5 * math.erfc(-(math.log(el.max_morbidity) + 0.5 * sd * sd) / (sd * math.sqrt(2)))
               if sd > 0 else float(el.max_morbidity >= 1.0))  # P(morbidity <= max_morbidity)
    elective = el.rate_per_year * offered
    return {
        "joint_replacement": elective * el.joint_replacement_share,
        "elective": elective,
        "acsc": ad.rate_per_year * ad.acsc_share,
        "other_unplanned": ad.rate_per_year * (1.0 - ad.acsc_share),
        "readmission": ad.rate_per_year * ad.readmission_rate_per_year
        * READMISSION_WINDOW_DAYS / 365.0,
    }


def expected_baseline_episodes(sc: Any, contract: Any) -> float:
    """Expected episodes of a bundled ``contract`` in its three baseline years."""
    rates = trigger_rates(sc)
    per_year = sum(rates.get(t, 0.0) for t in set(contract.triggers))
    share = next((p.share for p in sc.payers if p.name == contract.payer), 1.0)
    initiator = next((p for p in sc.providers if p.name == contract.provider), None)
    if initiator is not None and initiator.kind == "primary_care":
        share *= initiator.panel_share
    return sc.population.size * share * per_year * BASELINE_YEARS


def check_bundles_have_episodes(sc: Any) -> None:
    """Refuse (``ValueError``) a bundle whose baseline years would have (almost) no episode."""
    for i, period in enumerate(sc.plan):
        for j, c in enumerate(period.contracts):
            if c.type != "bundled":
                continue
            expected = expected_baseline_episodes(sc, c)
            if expected >= MIN_BASELINE_EPISODES:
                continue
            needed = math.ceil(sc.population.size * MIN_BASELINE_EPISODES / expected) \
                if expected > 0 else None
            fix = (f"population.size >= {needed:,}" if needed is not None
                   else "triggers that occur (their rates are zero)")
            raise ValueError(
                f"population.size: {sc.population.size:,} patients give plan[{i}].contracts[{j}] "
                f"(bundled, triggers {', '.join(c.triggers)}, payer {c.payer}, initiator "
                f"{c.provider}) about {expected:.2g} expected episodes in its "
                f"{BASELINE_YEARS} baseline years; its target price needs at least "
                f"{MIN_BASELINE_EPISODES:g} (with fewer, most replications have none or a "
                f"target from a handful): use {fix}, or more frequent triggers")


__all__ = [
    "MIN_BASELINE_EPISODES",
    "MIN_SURVIVORS",
    "check_bundles_have_episodes",
    "check_panel_survives",
    "expected_baseline_episodes",
    "expected_survivors",
    "trigger_rates",
]
