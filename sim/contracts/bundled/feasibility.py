"""Before simulating: can the population produce the episodes a bundle's target needs?

A bundle's target price is the mean of the episodes that ended in the three baseline
years; a population too small for its triggers had none ("no baseline episodes ... to set
a target price", after simulating) or a handful (a target price from noise).
:func:`expected_baseline_episodes` estimates them from the trigger rates at average
morbidity without conditions (conditions raise most rates, so this errs low for admissions)
and the payer's and initiator's share of the panel. A bundle is refused below
:data:`MIN_BASELINE_EPISODES` expected: the chance that a replication meets none is then
about ``exp(-10)`` (Poisson), 5 in 100,000. The scenario is duck-typed (this package sits
below :mod:`sim.scenario`).
"""

from __future__ import annotations

import math
from typing import Any

from sim.constants import DAYS_PER_YEAR, READMISSION_WINDOW_DAYS
from sim.contracts.config import BASELINE_YEARS

#: Refuse a bundle expected to have fewer baseline episodes than this.
MIN_BASELINE_EPISODES = 10.0


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
        * READMISSION_WINDOW_DAYS / DAYS_PER_YEAR,
    }


def clinical_episode_rates(sc: Any) -> dict[str, float]:
    """Anchor stays of each clinical episode per patient-year, at average morbidity without
    conditions except the episode's own (heart failure, COPD: with the condition's
    prevalence and admission rate ratio), from the ``clinical.stay_groups`` shares."""
    rates = trigger_rates(sc)
    g, ad, cond = sc.clinical.stay_groups, sc.clinical.admissions, sc.population.conditions
    unplanned = rates["acsc"] + rates["other_unplanned"]
    return {
        "major_joint_lower_extremity": rates["joint_replacement"],
        "spinal_fusion": rates["elective"] * g.spinal_fusion_share,
        "sepsis": unplanned * g.sepsis_share,
        "heart_failure": unplanned * cond.heart_failure.prevalence * ad.rr_heart_failure
        * g.heart_failure_share,
        "copd": unplanned * cond.copd.prevalence * ad.rr_copd * g.copd_share,
    }


def expected_baseline_episodes_by_type(sc: Any, contract: Any) -> dict[str, float]:
    """Expected episodes of each episode type of a bundled ``contract`` in its three
    baseline years."""
    share = next((p.share for p in sc.payers if p.name == contract.payer), 1.0)
    initiator = next((p for p in sc.providers if p.name == contract.provider), None)
    if initiator is not None and initiator.kind == "primary_care":
        share *= initiator.panel_share
    scale = sc.population.size * share * BASELINE_YEARS
    if getattr(contract, "episodes", None):
        rates = clinical_episode_rates(sc)
        return {e: scale * rates[e] for e in contract.episodes}
    rates = trigger_rates(sc)
    return {contract.episode_types[0] if hasattr(contract, "episode_types") else "stays":
            scale * sum(rates.get(t, 0.0) for t in set(contract.trigger_kinds))}


def expected_baseline_episodes(sc: Any, contract: Any) -> float:
    """Expected episodes of a bundled ``contract`` in its three baseline years (the
    rarest episode type's when it selects clinical episodes, each needing its own
    target price)."""
    return min(expected_baseline_episodes_by_type(sc, contract).values())


def check_bundle_has_episodes(sc: Any, c: Any, where: str) -> None:
    """Refuse (``ValueError``) a bundle ``c`` (at ``where`` in the file) whose baseline
    years would have (almost) no episode of a type it reconciles."""
    by_type = expected_baseline_episodes_by_type(sc, c)
    kind, expected = min(by_type.items(), key=lambda kv: kv[1])
    if expected >= MIN_BASELINE_EPISODES:
        return
    needed = math.ceil(sc.population.size * MIN_BASELINE_EPISODES / expected) \
        if expected > 0 else None
    fix = (f"population.size >= {needed:,}" if needed is not None
           else "episodes that occur (their rates are zero)")
    what = (f"clinical episode {kind}" if getattr(c, "episodes", None)
            else f"triggers {', '.join(c.trigger_kinds)}")
    raise ValueError(
        f"population.size: {sc.population.size:,} patients give {where} "
        f"(bundled, {what}, payer {c.payer}, initiator "
        f"{c.provider}) about {expected:.2g} expected episodes in its "
        f"{BASELINE_YEARS} baseline years; its target price needs at least "
        f"{MIN_BASELINE_EPISODES:g} (with fewer, most replications have none or a "
        f"target from a handful): use {fix}, or more frequent triggers")
