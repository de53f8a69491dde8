"""Scenario configuration of attribution: who CMS assigns to an ACO, leakage, churn, MA.

``attribution:`` in a scenario. Off (``enabled: false``), every patient counts for the
primary-care group whose panel it belongs to, every year (the stylised panel of earlier
versions; nothing below is drawn). On, :mod:`sim.attribution` assigns beneficiaries each
year by the plurality of allowed charges for primary-care services (42 CFR 425.402), some
of each patient's care is given by providers outside the simulated ones (leakage, which the
groups' levers do not reach), patients change their usual source of primary care, and some
enrol in Medicare Advantage in a year (excluded from assignment). See docs/architecture.md
("Attribution") for the model and the sources.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

from pydantic import Field

from sim.fields import StrictModel, param

#: 42 CFR 425.110(a): an MSSP ACO must have at least 5,000 assigned beneficiaries.
MSSP_MINIMUM_ASSIGNED = 5_000


class Attribution(StrictModel):
    """How beneficiaries are assigned to ACOs and how much of their care the ACO reaches."""

    enabled: bool = Field(
        False, description="Assign beneficiaries to ACOs by the CMS plurality rule each year "
        "(with leakage, churn and Medicare Advantage); false: every patient counts for its "
        "panel's group every year (no leakage, no churn).")
    method: Literal["prospective", "retrospective"] = Field(
        "retrospective", description="MSSP assignment method the ACO elects (42 CFR "
        "425.400(a)(4)): retrospective = preliminary prospective with retrospective "
        "reconciliation (the year's own claims decide); prospective = the claims of the "
        "year before decide, with the exclusions (Medicare Advantage enrolment) applied "
        "during the year. ACO REACH aligns prospectively.")
    primary_care_outside_share: float = param(
        0.15, unit="share 0-1 of primary-care visits",
        source="McWilliams et al. 2014 JAMA Intern Med 174(6):938 (leakage of PCP office "
        "visits of ACO-assigned patients 'minimal'); Lin et al. 2020 (out-of-network primary "
        "care of ACO beneficiaries); 0.15 is a judgement within that evidence",
        ge=0, le=1, description="Mean share of each patient's primary-care visits with "
        "primary-care clinicians outside the simulated groups (billed by "
        "`outside_primary_care`). Patients differ (see `usual_source_concentration`).")
    usual_source_concentration: float = param(
        0.3, unit="beta concentration (a + b)",
        source="assumption (most patients keep one usual source of primary care), set with "
        "usual_source_switch_rate (see the churn sources there)", gt=0, le=1000,
        description="Each patient's outside share of primary care is Beta-distributed with "
        "the mean above and this concentration: small values = most patients see either the "
        "group or an outside clinician (stable assignment), large = everyone splits visits "
        "alike (assignment decided by chance visits).")
    usual_source_switch_rate: float = param(
        0.03, unit="share of patients per year",
        source="assumption, checked against churn: over one third of beneficiaries assigned "
        "in 2010 or 2011 were not assigned to the same ACO in both years, i.e. at least ~20% "
        "leave a year (McWilliams et al. 2014 JAMA Intern Med 174(6):938); 84.4% stayed with "
        "the same MSSP ACO 2013-14 (AJMC 2019;25(9)). With deaths, MA and years without a "
        "primary-care visit the shipped scenarios lose ~29% of assigned beneficiaries a year "
        "(tests/test_attribution.py)", ge=0, le=1,
        description="Probability a patient changes usual source of primary care in a year "
        "(its outside share is drawn anew).")
    outside_share: float = param(
        0.30, unit="share 0-1 of non-primary-care services",
        source="McWilliams et al. 2014 JAMA Intern Med (66.7% of specialist office visits of "
        "ACO-assigned patients outside the ACO); Barnett & McWilliams 2018 AJMC 24(5) "
        "(leakage stable 2010-14; contract penetration 47-85%); 0.30 is a judgement at the "
        "low end of the published 30-67% for the share the ACO's practice does not reach",
        ge=0, le=1, description="Share of every other service (specialist, hospital, "
        "post-acute, other) given by providers outside the simulated ones (billed by "
        "`outside_<kind>`) at reference practice: the groups' levers do not reach it. Its "
        "spending counts in the ACO's expenditure.")
    medicare_advantage_rate: float = param(
        0.05, unit="share of beneficiaries per year",
        source="switching traditional Medicare -> MA 4.1% (2016) to 6.8% (2020), MBSF "
        "2014-2020 (JAMA Health Forum 2023, KNG Health)", ge=0, le=1,
        description="Share of beneficiaries enrolled in Medicare Advantage in a year, drawn "
        "anew each year (a stationary flow: the simulated patient stands for the one who "
        "left and the one who replaced it): they are excluded from assignment that year.")
    enforce_minimum: bool = Field(
        True, description="Refuse a scenario whose ACO (MSSP, REACH) cannot reach the "
        "programme's 5,000 assigned beneficiaries (42 CFR 425.110): population.size x payer "
        "share x panel share must be at least 5,000. false (small test and demo scenarios): "
        "a warning instead.")


class ScenarioCheckWarning(UserWarning):
    """A scenario check that warns instead of refusing (e.g. an ACO below its programme's
    floor with ``attribution.enforce_minimum: false``). Shown when the scenario is loaded;
    re-validating the same scenario in a replication's worker does not show it again
    (:func:`sim.experiment.execute_task`)."""


def check_minimum_assigned(sc: Any) -> None:
    """Attribution's cross-field checks (see :func:`_check_floor`): outside providers' names
    are reserved, and an ACO must be able to reach its programme's floor."""
    if not sc.attribution.enabled:
        return
    taken = [p.name for p in sc.providers if p.name.startswith("outside_")]
    if taken:
        raise ValueError(f"providers: the names {', '.join(taken)} start with 'outside_', "
                         "which attribution.enabled reserves for the outside providers; "
                         "rename them")
    _check_floor(sc)


def _check_floor(sc: Any) -> None:
    """Refuse (``ValueError``, naming the fields) an ACO whose assignable population is below
    its programme's floor, when attribution is on; a warning with ``enforce_minimum: false``.

    The assignable population is ``population.size`` x the payer's share x the ACO's panel
    share: the patients who could be assigned; fewer are (leakage, MA), so this is the
    lenient check a scenario must pass before anything runs."""
    att = sc.attribution
    if not att.enabled:
        return
    shares = {p.name: p.share for p in sc.payers}
    total = sum(shares.values()) or 1.0
    panel = {p.name: p.panel_share for p in sc.providers}
    for i, period in enumerate(sc.plan):
        for j, c in enumerate(period.contracts):
            floor = getattr(c, "minimum_assigned_beneficiaries", None)
            if not floor or c.holder not in panel:
                continue
            n = sc.population.size * shares.get(c.payer, 0.0) / total * panel[c.holder]
            if n >= floor:
                continue
            msg = (f"plan[{i}].contracts[{j}] ({c.type} ACO {c.holder}): at most {n:,.0f} "
                   f"beneficiaries can be assigned (population.size {sc.population.size:,} x "
                   f"payer share x panel share), below the programme's minimum of {floor:,} "
                   "assigned beneficiaries (42 CFR 425.110); raise population.size, or set "
                   "attribution.enforce_minimum: false for a test or demo scenario")
            if att.enforce_minimum:
                raise ValueError(msg)
            warnings.warn(msg.split("; raise")[0] + " (attribution.enforce_minimum: false)",
                          ScenarioCheckWarning, stacklevel=2)
