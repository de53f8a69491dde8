"""Scenario schema of provider behaviour: how a primary-care group chooses its levers.

The group's ``levers`` (in ``providers``) are its *reference practice*: what it does under
fee-for-service at the default fee schedule. With ``behavior: incentives`` (the default)
it re-chooses its levers every year by maximising the objective of
``docs/behaviour.md``; with ``behavior: fixed`` the reference levers are used every year
(a pure payment effect, no response).
"""

from __future__ import annotations

from sim.fields import StrictModel, param

ASSUMPTION = "assumption"


class BehaviourParams(StrictModel):
    """Behaviour parameters of one primary-care provider."""

    fee_elasticity: float = param(
        1.5, unit="elasticity of discretionary volume to fees",
        source="Clemens & Gottlieb, AER 2014 (a 2% fee rise raised care ~3%)", gt=0, le=10,
        description="Sets how costly it is to depart from the reference discretionary "
        "intensity, so that FFS fee changes move volume with this elasticity.")
    prevention_effort_cost_usd: float = param(
        150.0, unit="USD per patient-year per unit effort squared", source=ASSUMPTION, gt=0,
        description="Non-cash cost (disutility, organisation) of departing from the reference "
        "prevention effort: cost = value x (effort - norm)^2 / 2 per attributed patient-year.")
    transitional_effort_cost_usd: float = param(
        150.0, unit="USD per patient-year per unit effort squared", source=ASSUMPTION, gt=0,
        description="Same for transitional-care effort.")
    coding_effort_cost_usd: float = param(
        150.0, unit="USD per patient-year per unit intensity squared",
        source="assumption (coding reviews, audit risk)", gt=0,
        description="Same for coding intensity.")
    altruism_weight: float = param(
        0.5, unit="share of patient benefit valued", source=ASSUMPTION, ge=0, le=5,
        description="Weight of patients' QALYs in the provider's objective.")
    qaly_value_usd: float = param(
        100_000.0, unit="USD per QALY", source="Neumann, Cohen & Weinstein, NEJM 2014 "
        "($100,000-150,000 per QALY)", ge=0, description="Value of a QALY to patients.")
    qalys_lost_per_death: float | None = param(
        None, unit="QALYs", source="None: the shared rule of docs/economics.md (SSA 2021 "
        "period life table x the patient's utility, discounted at economics.discount_rate: "
        "sim.economics.qalys_lost_per_death), the same value the closed cohort's outcomes "
        "use", ge=0, le=30,
        description="QALYs lost by a death the provider's practice could have prevented; a "
        "number replaces the shared rule (for sensitivity analyses only: outcomes keep the "
        "life table).")
    risk_aversion: float = param(
        2e-7, unit="per USD (absolute risk aversion)", source="assumption (relative risk "
        "aversion ~2 for an organisation with ~$10M of capital)", ge=0, le=1e-3,
        description="Certainty equivalent = mean - risk_aversion/2 x variance of the year's "
        "net revenue.")
    pass_through: float = param(
        0.60, unit="share 0-1",
        source="calibrated (with startup_capability, learning_years and the ratchet) to "
        "the first-year one-sided MSSP effect, about -1 to -2% of spending (McWilliams et "
        "al., NEJM 2016: -1.4% in the 2012 cohort's first full year), with the fee "
        "elasticity above (vbcsim calibrate scenarios/calibration/behaviour_first_year.yaml, "
        "2026-12-07 after the smooth expected payoffs and coding revenue: 0.639; re-run "
        "after the hospital's CDI choice and the warm-started optimiser: 0.597); "
        "docs/validation.md",
        ge=0, le=1,
        description="Share of organisation-level payments (shared savings and losses, "
        "capitation margins, reconciliations) that reaches clinical decisions once the "
        "organisation is mature (see startup_capability); fees reach the billing clinician "
        "in full.")
    specialist_margin_weight: float = param(
        1.0, unit="share 0-1", source="assumption (a multispecialty physician group)", ge=0,
        le=1, description="Share of the specialists' fee-for-service margins the group counts "
        "as its own (1 = one physician organisation; 0 = independent primary care).")
    adaptation_rate: float = param(
        0.5, unit="share of the gap closed per year",
        source="assumption (ACO savings grew with years in the programme, McWilliams 2016)",
        gt=0, le=1, description="Each year levers move this share of the way to the optimum.")
    spend_cv: float = param(
        2.5, unit="coefficient of variation of annual per-patient spending",
        source="assumption (Medicare FFS; used before any year was observed)", gt=0, le=20,
        description="Spread of one patient's annual spending, for the variance of contract "
        "payoffs when no realised year is available.")
    startup_capability: float = param(
        0.4, unit="share 0-1 of organisation-level incentives acted on in the first year",
        source="judgement, calibrated with pass_through to first-year MSSP savings of ~1-2% "
        "growing to ~2-4% (McWilliams et al., NEJM 2016, 2018); NAACOS/Dobson DaVanzo 2015: "
        "ACO start-up ~$2M and 1-3 years to build care-management capacity", ge=0, le=1,
        description="Capability in the first year of a value-based contract: the share of the "
        "contract's incentive the organisation can turn into practice before it has built "
        "care-management, data and referral infrastructure (docs/behaviour.md, section 4).")
    learning_years: float = param(
        2.0, unit="years (time constant)", source="judgement (McWilliams et al., NEJM 2016: "
        "savings grew over the first three performance years)", gt=0, le=50,
        description="Capability approaches 1 as 1 - exp(-experience / learning_years), "
        "experience = years already spent in a value-based contract the provider holds.")
    ratchet_discount: float = param(
        0.85, unit="discount factor per year", source="judgement (a 10% organisational "
        "discount rate times a ~95% chance of renewing the agreement)", ge=0, le=1,
        description="Discount applied to future agreements' shared savings when the "
        "decision anticipates the rebasing ratchet (0: myopic).")
    ratchet_offset: float = param(
        0.5, unit="share 0-1", source="judgement: the regional adjustment (up to 50% weight "
        "on regional spending, 42 CFR 425.601(a)(8)) and the prior savings adjustment "
        "(42 CFR 425.658) undo part of the ratchet", ge=0, le=1,
        description="Share of a rebased benchmark's fall that does not come from the ACO's "
        "own spending in the benchmark years.")
    estimate_sd: float = param(
        0.015, unit="log-SD of the estimated spending level", source="judgement (claims "
        "run-out and the retrospective national/regional trend make an ACO's position "
        "against its benchmark uncertain by ~1-2% when it plans)", ge=0, le=0.5,
        description="Error of the spending level the provider plans against, drawn each year "
        "from the named stream behaviour:estimate (0: known exactly).")
    elective_price_elasticity: float = param(
        0.1, unit="elasticity of elective volume to facility prices",
        source="Dafny, AER 2005 (little volume response of US hospitals to DRG price "
        "changes); Januleviciute et al., Health Econ 2016 (+10% DRG price: +0.8-1.3% medical "
        "volume, none surgical)", gt=0, le=10,
        description="A hospital's: sets how costly it is to depart from its reference "
        "elective volume, so that facility price changes move elective volume with this "
        "elasticity (docs/behaviour.md, section 4). Unused by primary-care groups.")
    post_acute_effort_cost_usd: float = param(
        15000.0, unit="USD per joint-replacement episode per unit squared",
        source="judgement: a 10% cut (0.9) costs $75 per episode, the order of the "
        "care-redesign spending (navigators, pre-operative planning) CJR hospitals reported",
        gt=0, description="A hospital's non-cash cost of departing from its reference "
        "post-acute discharge planning: value x (post_acute_intensity - norm)^2 / 2 per "
        "expected joint-replacement episode. Unused by primary-care groups.")
    prior_experience_years: float = param(
        0.0, unit="years", source="assumption (a group new to value-based payment)", ge=0,
        le=50, description="Years of value-based experience before plan year 0 (e.g. a mature "
        "Medicare Advantage or capitated group); adds to the experience that sets capability.")
