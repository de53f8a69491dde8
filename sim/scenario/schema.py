"""The scenario schema: every parameter of a run, with its unit, bounds and source.

A scenario is validated before anything runs. Sections:

* ``population`` — who the patients are (age, sex, chronic conditions, morbidity);
* ``risk_score`` — how the coded risk score is built (prospective CMS-HCC, sim.coding.hcc);
* ``clinical`` — event rates, transition rates, lengths of stay, utilities;
* ``levers`` — the documented effect sizes of provider practice levers;
* ``prices`` — the fee schedule (allowed amounts) for each service;
* ``capacity`` — primary-care appointment slots and hospital beds;
* ``providers`` — provider organisations, what they bill and their practice levers.

Sources are abbreviated; ``docs/scenario-reference.md`` lists them in full.
PUF2024 = CMS Medicare Shared Savings Program ACO public use file, performance year
2024 (``shared/data/cms``), N_AB-weighted means over all ACOs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.contracts.ffs.config import FFSContract
from sim.fields import StrictModel, param
from sim.scenario.attribution import Attribution, check_minimum_assigned
from sim.scenario.behaviour import BehaviourParams
from sim.scenario.coding_fees import CodingFees
from sim.scenario.feasibility import check_panel_survives
from sim.scenario.payment import (
    BOUND_NOTE,
    MAX_FEE_USD,
    TRANSIENT_YEARS,
    Economics,
    Investment,
    Payer,
    PlanPeriod,
    ProviderCosts,
    Quality,
    _default_payers,
    check_history_years,
    check_payment_refs,
)
from sim.scenario.revenue_cycle import RevenueCycle

PUF = "CMS MSSP ACO PUF PY2024 (N_AB-weighted mean)"
CCW = "CMS Chronic Conditions Data Warehouse, Medicare FFS 65+, 2018"
HCC = "CMS-HCC V24 community non-dual aged relative factors (CY2020 rate announcement), rounded"
ASSUMPTION = "assumption"


# --------------------------------------------------------------------------- population


class Condition(StrictModel):
    """A chronic condition: prevalence and how it clusters with age and morbidity."""

    prevalence: float = param(
        0.25, unit="share 0-1", source=CCW, ge=0.0, le=1.0,
        description="Share of the starting population with the condition.",
    )
    morbidity_loading: float = param(
        0.6, unit="probit units per SD of latent morbidity", source=ASSUMPTION, ge=0.0, le=3.0,
        description="How strongly the condition co-occurs with the latent morbidity burden "
        "(drives co-occurrence between conditions).",
    )
    age_gradient: float = param(
        0.15, unit="probit units per 10 years of age", source=ASSUMPTION, ge=-2.0, le=2.0,
        description="Change in the condition's liability per 10 years of age above 75.",
    )


def _cond(prev: float, loading: float, age: float) -> Condition:
    return Condition(prevalence=prev, morbidity_loading=loading, age_gradient=age)


class Conditions(StrictModel):
    """The chronic conditions every patient is screened for."""

    diabetes: Condition = Field(default_factory=lambda: _cond(0.27, 0.45, 0.0),
                                description=f"Diabetes mellitus. Prevalence: {CCW}.")
    heart_failure: Condition = Field(default_factory=lambda: _cond(0.14, 0.85, 0.35),
                                     description=f"Heart failure. Prevalence: {CCW}.")
    copd: Condition = Field(default_factory=lambda: _cond(0.11, 0.7, 0.1),
                            description=f"Chronic obstructive pulmonary disease. {CCW}.")
    ckd: Condition = Field(default_factory=lambda: _cond(0.24, 0.7, 0.35),
                           description=f"Chronic kidney disease. Prevalence: {CCW}.")
    hypertension: Condition = Field(default_factory=lambda: _cond(0.58, 0.4, 0.25),
                                    description=f"Hypertension. Prevalence: {CCW}.")


CONDITIONS = ("diabetes", "heart_failure", "copd", "ckd", "hypertension")


class AgeBands(StrictModel):
    """Starting age distribution (aged beneficiaries, 65+)."""

    age_65_74: float = param(0.512, unit="share 0-1", source=PUF + ", aged only", ge=0, le=1,
                             description="Share aged 65-74.")
    age_75_84: float = param(0.361, unit="share 0-1", source=PUF + ", aged only", ge=0, le=1,
                             description="Share aged 75-84.")
    age_85_plus: float = param(0.127, unit="share 0-1", source=PUF + ", aged only", ge=0, le=1,
                               description="Share aged 85 and over (drawn over 85-99).")

    @model_validator(mode="after")
    def _sum_to_one(self) -> AgeBands:
        total = self.age_65_74 + self.age_75_84 + self.age_85_plus
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"age band shares must sum to 1, got {total:.6g}")
        return self


class Population(StrictModel):
    """The starting panel and the members who join it."""

    size: int = param(10_000, unit="patients", source=ASSUMPTION, ge=10, le=5_000_000,
                      description="Number of patients at the start; deaths are replaced by "
                      "new 65-69-year-old members so the panel keeps its size.")
    female_share: float = param(0.566, unit="share 0-1", source=PUF, ge=0, le=1,
                                description="Share of women.")
    age_bands: AgeBands = Field(default_factory=AgeBands, description="Starting age mix.")
    conditions: Conditions = Field(default_factory=Conditions,
                                   description="Chronic conditions and their co-occurrence.")
    morbidity_sd: float = param(
        1.1, unit="SD of log morbidity", source="calibrated to Wallis et al. 2021 concentration",
        ge=0.0, le=3.0,
        description="Spread of the latent morbidity burden (lognormal, mean 1): the main "
        "driver of how concentrated spending is.",
    )
    morbidity_age_gradient: float = param(
        0.03, unit="log-morbidity per year of age", source="assumption; MedPAC Data Book "
        "(FFS spending per capita rises ~3-4% per year of age from 65 to 85)", ge=0.0, le=0.2,
        description="Morbidity rises with age: multiplier exp(gradient * (age - 75)).",
    )
    morbidity_persistence: float = param(
        0.7, unit="year-to-year correlation of log morbidity", source="assumption (high-cost "
        "persistence; cf. Riley 2007: ~1/3 of top-decile spenders stay there)", ge=0.0, le=1.0,
        description="AR(1) persistence of the latent morbidity score from one year to the next.",
    )

    @model_validator(mode="after")
    def _dual_shares(self) -> Population:
        if self.dual_full_share + self.dual_partial_share > 1.0:
            raise ValueError("dual_full_share + dual_partial_share must be at most 1, got "
                             f"{self.dual_full_share + self.dual_partial_share:.6g}")
        return self
    dual_full_share: float = param(
        0.040, unit="share 0-1", source="CMS MSSP ACO PUF PY2024: aged dual 5.7% of aged "
        "person-years (N_AB_Year_AGED_Dual_PY / aged); x 0.70 full-benefit (MACPAC/MedPAC "
        "data books: ~70% of duals are full-benefit, judgement)", ge=0, le=1,
        description="Share of patients who are full-benefit Medicaid duals (CMS-HCC "
        "community full-benefit dual aged segment, CFA).")
    dual_partial_share: float = param(
        0.017, unit="share 0-1", source="CMS MSSP ACO PUF PY2024 aged dual 5.7% x 0.30 "
        "partial-benefit (judgement)", ge=0, le=1,
        description="Share of patients who are partial-benefit duals (segment CPA).")
    originally_disabled_share: float = param(
        0.10, unit="share 0-1", source="assumption (aged beneficiaries whose original "
        "Medicare entitlement was disability; order of magnitude of CMS-HCC OREC=1)", ge=0,
        le=1, description="Share of patients originally entitled by disability (CMS-HCC "
        "originally-disabled factor).")
    replace_deaths: bool = Field(True, description="Replace each death by a new member "
                                 "(new Medicare enrollee aged 65-69) at the same moment.")


# --------------------------------------------------------------------------- risk score


LEGACY = "legacy concurrent model only (model: legacy_concurrent)"
HCC_LEGACY = HCC + "; " + LEGACY
LEGACY_ASSUMED = ASSUMPTION + "; " + LEGACY
CODING = ("docs/coding.md: industry recapture of chronic HCCs 65-75% without a continuous "
          "programme, 85-92% for top performers (e.g. Henry Ford Health 2019 67.7%)")


class RiskScore(StrictModel):
    """The risk score: prospective CMS-HCC from last year's documented diagnoses
    (``model: cms_hcc``, sim.coding.hcc, docs/coding.md) or the legacy concurrent score
    (``model: legacy_concurrent``: demographics + coded conditions + 0.35 x the current
    latent morbidity; it sees hidden illness, kept for comparison). Mean 1.0 in plan year 0
    at reference (coding intensity 0) coding."""

    model: Literal["cms_hcc", "legacy_concurrent"] = Field(
        "cms_hcc", description="cms_hcc: prospective CMS-HCC V24/V28 score from the "
        "diagnoses documented the year before (sim.coding.hcc); legacy_concurrent: the "
        "earlier concurrent score (fields marked legacy).")
    recapture_rate: float = param(
        0.76, unit="probability per encounter year", source=CODING + "; with ~92% of "
        "patients seen in a year this gives ~75% of chronic conditions documented (diabetes, "
        "heart failure and COPD more: sim.coding.hcc.RECAPTURE_MISS)", ge=0,
        le=1, description="Probability that a present chronic condition is documented in a "
        "year in which the patient had an encounter, at coding intensity 0.")
    recapture_rate_full: float = param(
        0.95, unit="probability per encounter year", source=CODING, ge=0, le=1,
        description="The same at coding intensity 1 (a continuous recapture programme).")
    specificity: float = param(
        0.60, unit="probability", source="assumption (specificity gaps: unspecified codes "
        "such as E11.9, N18.9, E66.9 that map to a lower HCC or none; docs/coding.md)",
        ge=0, le=1, description="Probability that a documented condition gets its specific, "
        "higher-severity code, at coding intensity 0.")
    specificity_full: float = param(
        0.90, unit="probability", source=ASSUMPTION, ge=0, le=1,
        description="The same at coding intensity 1.")
    unsupported_rate: float = param(
        0.02, unit="probability", source="assumption (FFS coding has few unsupported "
        "codes; CMS RADV and OIG audits find them concentrated in MA-style coding)", ge=0,
        le=1, description="Probability that a documented lower-severity condition is coded "
        "at its family's highest severity without support in the record, at intensity 0.")
    unsupported_rate_full: float = param(
        0.15, unit="probability", source="assumption (OIG MA audits 2019-2024 find a "
        "large share of targeted high-risk codes unsupported; docs/coding.md)", ge=0, le=1,
        description="The same at coding intensity 1.")
    phantom_share: float = param(
        0.04, unit="ratio", source="assumption (with unsupported_rate_full, ~10% of coded "
        "HCCs unsupported at coding intensity 1, the order of RADV/OIG findings)", ge=0, le=1,
        description="Codes for a condition family the patient does not have (history-of, "
        "problem-list codes), per encounter year: this times the unsupported rate.")
    v28_phase_in_years: list[int] = Field(
        default_factory=lambda: [2023, 2024, 2025, 2026],
        description="Payment (calendar) years of the V24 -> V28 phase-in, increasing; the "
        "payment year of plan year y is economics.first_calendar_year + y. Source: CMS "
        "CY2024 Rate Announcement.")
    v28_phase_in_shares: list[float] = Field(
        default_factory=lambda: [0.0, 0.33, 0.67, 1.0],
        description="Share of the score from CMS-HCC V28 (the rest V24) in each of "
        "v28_phase_in_years (before the first: its share; after the last: its share; in "
        "between: the last year's at or before). Source: CMS CY2024 Rate Announcement (2024 "
        "67% V24 / 33% V28; 2025 33% / 67%; 2026 100% V28).")

    @model_validator(mode="after")
    def _phase_in(self) -> RiskScore:
        years, shares = self.v28_phase_in_years, self.v28_phase_in_shares
        if not years or len(years) != len(shares):
            raise ValueError("v28_phase_in_years and v28_phase_in_shares must be non-empty "
                             f"and of the same length, got {len(years)} and {len(shares)}")
        if any(b <= a for a, b in zip(years, years[1:], strict=False)):
            raise ValueError(f"v28_phase_in_years must increase, got {years}")
        if any(not 0.0 <= w <= 1.0 for w in shares):
            raise ValueError(f"v28_phase_in_shares must be in [0, 1], got {shares}")
        return self

    @property
    def v28_phase_in(self) -> dict[int, float]:
        """The phase-in schedule: payment year -> V28 share."""
        return dict(zip(self.v28_phase_in_years, self.v28_phase_in_shares, strict=True))

    demographic_65_74: float = param(0.40, unit="relative factor", source=HCC_LEGACY, ge=0, le=5,
                                     description="Demographic factor, age 65-74.")
    demographic_75_84: float = param(0.55, unit="relative factor", source=HCC_LEGACY, ge=0, le=5,
                                     description="Demographic factor, age 75-84.")
    demographic_85_plus: float = param(0.70, unit="relative factor", source=HCC_LEGACY, ge=0, le=5,
                                       description="Demographic factor, age 85+.")
    hcc_diabetes: float = param(0.17, unit="relative factor", source=HCC_LEGACY, ge=0, le=5,
                                description="Diabetes (blend of HCC 18/19).")
    hcc_heart_failure: float = param(0.33, unit="relative factor", source=HCC_LEGACY, ge=0, le=5,
                                     description="Heart failure (HCC 85).")
    hcc_copd: float = param(0.34, unit="relative factor", source=HCC_LEGACY, ge=0, le=5,
                            description="COPD (HCC 111).")
    hcc_ckd: float = param(0.14, unit="relative factor", source=HCC_LEGACY, ge=0, le=5,
                           description="CKD (blend of HCC 136-138).")
    hcc_hypertension: float = param(0.0, unit="relative factor", source=HCC_LEGACY, ge=0, le=5,
                                    description="Hypertension is not a payment HCC in V24.")
    other_morbidity_weight: float = param(
        0.35, unit="relative factor per unit of morbidity", source=LEGACY_ASSUMED, ge=0, le=5,
        description="Other coded HCCs, proportional to the latent morbidity burden.")
    coding_completeness: float = param(
        0.85, unit="share 0-1", source=LEGACY_ASSUMED, ge=0, le=1,
        description="Probability that a present condition is coded at zero coding intensity.")
    coding_intensity_uplift: float = param(
        0.15, unit="share of score", source="MedPAC March 2024, ch. 12 (MA coding ~ +15-20%); " + LEGACY,
        ge=0, le=1,
        description="Score uplift from marginal codes at full coding intensity (on top of "
        "complete coding of present conditions).")


# --------------------------------------------------------------------------- clinical


class Mortality(StrictModel):
    """Death hazard: Gompertz in age times condition and morbidity hazard ratios."""

    rate_at_65_per_year: float = param(
        0.0095, unit="per patient-year", source="SSA 2020 period life table, calibrated", ge=0,
        le=1, description="Death hazard of a condition-free 65-year-old of average morbidity.")
    gompertz_slope_per_year: float = param(
        0.085, unit="log-hazard per year of age", source="SSA 2020 period life table", ge=0,
        le=0.3, description="Growth of the death hazard with age.")
    hr_heart_failure: float = param(2.0, unit="hazard ratio", source=ASSUMPTION, ge=0.1, le=20,
                                    description="Hazard ratio for heart failure.")
    hr_copd: float = param(1.6, unit="hazard ratio", source=ASSUMPTION, ge=0.1, le=20,
                           description="Hazard ratio for COPD.")
    hr_ckd: float = param(1.4, unit="hazard ratio", source=ASSUMPTION, ge=0.1, le=20,
                          description="Hazard ratio for CKD.")
    hr_diabetes: float = param(1.3, unit="hazard ratio", source=ASSUMPTION, ge=0.1, le=20,
                               description="Hazard ratio for diabetes (controlled).")
    hr_diabetes_uncontrolled: float = param(
        1.25, unit="hazard ratio", source=ASSUMPTION, ge=0.1, le=20,
        description="Extra hazard ratio while diabetes is uncontrolled (HbA1c > 8%).")
    morbidity_exponent: float = param(
        0.6, unit="elasticity", source=ASSUMPTION, ge=0, le=3,
        description="Death hazard scales with morbidity**exponent.")
    post_discharge_hr: float = param(
        3.0, unit="hazard ratio", source="assumption (30-day post-discharge mortality)", ge=1,
        le=20, description="Hazard ratio in the 30 days after a discharge.")


class Admissions(StrictModel):
    """Unplanned (emergency) hospital admissions and readmissions."""

    rate_per_year: float = param(
        0.155, unit="per patient-year", source="calibrated to PUF2024 ADM (258 per 1,000)",
        ge=0, le=10, description="Unplanned admission hazard at morbidity 1 with no conditions.")
    morbidity_exponent: float = param(
        1.0, unit="elasticity", source="calibrated to Wallis et al. 2021", ge=0, le=3,
        description="Admission hazard scales with morbidity**exponent.")
    rr_heart_failure: float = param(1.9, unit="rate ratio", source=ASSUMPTION, ge=0.1, le=20,
                                    description="Rate ratio for heart failure.")
    rr_copd: float = param(1.6, unit="rate ratio", source=ASSUMPTION, ge=0.1, le=20,
                           description="Rate ratio for COPD.")
    rr_ckd: float = param(1.4, unit="rate ratio", source=ASSUMPTION, ge=0.1, le=20,
                          description="Rate ratio for CKD.")
    rr_diabetes: float = param(1.2, unit="rate ratio", source=ASSUMPTION, ge=0.1, le=20,
                               description="Rate ratio for diabetes (controlled).")
    rr_diabetes_uncontrolled: float = param(
        1.3, unit="rate ratio", source="assumption (uncontrolled HbA1c raises admissions)",
        ge=0.1, le=20, description="Extra rate ratio while diabetes is uncontrolled.")
    acsc_share: float = param(
        0.17, unit="share 0-1", source="AHRQ PQI overall composite, Medicare 65+ (~15-20%)",
        ge=0, le=1, description="Share of unplanned admissions that are ambulatory-care "
        "sensitive (preventable) at zero prevention effort.")
    via_ed_share: float = param(
        0.72, unit="share 0-1", source="PUF2024 P_EDV_Vis_HOSP / ADM", ge=0, le=1,
        description="Share of unplanned admissions that come through the emergency department.")
    readmission_rate_per_year: float = param(
        1.2, unit="per patient-year (during the 30-day window)",
        source="calibrated to a 30-day readmission rate of ~17% (CMS HRRP era)", ge=0, le=50,
        description="Extra unplanned-admission hazard in the 30 days after a discharge, "
        "at morbidity 1.")
    readmission_morbidity_exponent: float = param(
        0.5, unit="elasticity", source=ASSUMPTION, ge=0, le=3,
        description="Readmission hazard scales with morbidity**exponent.")
    los_mean_days: float = param(5.0, unit="days", source="HCUP 2019 Medicare mean LOS ~5.0",
                                 ge=0.5, le=60, description="Mean length of stay (gamma).")
    los_shape: float = param(1.6, unit="gamma shape", source=ASSUMPTION, ge=0.2, le=50,
                             description="Shape of the length-of-stay distribution.")


class Electives(StrictModel):
    """Elective procedures (joint replacement and other planned surgery) with their stay."""

    rate_per_year: float = param(
        0.030, unit="per patient-year", source="assumption (TKA+THA ~1.2%/yr in Medicare, "
        "plus other elective surgery)", ge=0, le=2,
        description="Elective inpatient procedure rate at discretionary intensity 1.")
    joint_replacement_share: float = param(
        0.4, unit="share 0-1", source=ASSUMPTION, ge=0, le=1,
        description="Share of elective procedures that are lower-extremity joint replacements "
        "(the BPCI-A episode trigger).")
    los_mean_days: float = param(2.5, unit="days", source="CJR evaluation (LOS ~2-3 days)",
                                 ge=0.5, le=30, description="Mean length of stay.")
    max_morbidity: float = param(
        4.0, unit="morbidity multiple", source=ASSUMPTION, ge=0.1, le=100,
        description="Patients above this morbidity are not offered elective surgery.")


class Diabetes(StrictModel):
    """HbA1c control transitions for patients with diabetes."""

    controlled_share_start: float = param(
        0.70, unit="share 0-1", source="NCQA HEDIS Medicare HbA1c<8% (~65-72%)", ge=0, le=1,
        description="Share of diabetics controlled at the start.")
    rate_to_uncontrolled_per_year: float = param(
        0.30, unit="per patient-year", source=ASSUMPTION, ge=0, le=20,
        description="Hazard of losing control at zero prevention effort.")
    rate_to_controlled_per_year: float = param(
        0.70, unit="per patient-year", source="assumption (steady state ~70% controlled)",
        ge=0, le=20, description="Hazard of regaining control at zero prevention effort.")


class Utilisation(StrictModel):
    """Routine services drawn between a patient's state changes (Poisson processes)."""

    pcp_visits_per_year: float = param(
        3.3, unit="per patient-year", source="calibrated to PUF2024 P_EM_PCP_Vis (4,133/1,000)",
        ge=0, le=100, description="Primary-care visit demand at morbidity 1, no conditions.")
    pcp_visits_per_condition: float = param(
        0.55, unit="per patient-year per condition", source=ASSUMPTION, ge=0, le=20,
        description="Extra primary-care demand per chronic condition.")
    specialist_visits_per_year: float = param(
        4.3, unit="per patient-year", source="calibrated to PUF2024 P_EM_SP_Vis (5,095/1,000)",
        ge=0, le=100, description="Specialist visit rate at morbidity 1, no conditions.")
    specialist_visits_per_condition: float = param(
        0.9, unit="per patient-year per condition", source=ASSUMPTION, ge=0, le=20,
        description="Extra specialist visits per chronic condition.")
    visit_morbidity_exponent: float = param(
        1.3, unit="elasticity", source=ASSUMPTION, ge=0, le=3,
        description="Routine visit rates scale with morbidity**exponent.")
    labs_per_visit: float = param(1.4, unit="tests per visit", source=ASSUMPTION, ge=0, le=20,
                                  description="Laboratory tests ordered per office visit.")
    imaging_per_visit: float = param(
        0.16, unit="studies per visit", source="PUF2024 CT+MRI ~1,040/1,000 plus other imaging",
        ge=0, le=5, description="Imaging studies ordered per office visit.")
    ed_visits_per_year: float = param(
        0.58, unit="per patient-year", source="calibrated to PUF2024 P_EDV_Vis (627/1,000)",
        ge=0, le=20, description="Treat-and-release ED visit rate at morbidity 1.")
    ed_morbidity_exponent: float = param(0.8, unit="elasticity", source=ASSUMPTION, ge=0, le=3,
                                         description="ED rate scales with morbidity**exponent.")
    ed_rr_diabetes_uncontrolled: float = param(
        1.3, unit="rate ratio", source=ASSUMPTION, ge=0.1, le=20,
        description="ED rate ratio while diabetes is uncontrolled.")
    outpatient_procedures_per_year: float = param(
        0.55, unit="per patient-year", source=ASSUMPTION, ge=0, le=20,
        description="Ambulatory procedures (endoscopy, cataract, minor surgery) at intensity 1.")
    chronic_services_per_year: float = param(
        1.9, unit="claims per patient-year at morbidity 1",
        source="calibrated to PUF2024 outpatient + professional spending", ge=0, le=100,
        description="Outpatient drugs, infusions, dialysis and therapy claims: the part of "
        "spending that tracks chronic morbidity.")
    chronic_services_morbidity_exponent: float = param(
        1.35, unit="elasticity", source="calibrated to Wallis et al. 2021", ge=0, le=4,
        description="Chronic-service rate scales with morbidity**exponent.")
    other_claims_per_year: float = param(
        0.9, unit="claims per patient-year at morbidity 1", source=ASSUMPTION, ge=0, le=100,
        description="DME, hospice and other claims.")
    other_claims_morbidity_exponent: float = param(
        1.2, unit="elasticity", source="calibrated to Wallis et al. 2021", ge=0, le=4,
        description="Other-claim rate scales with morbidity**exponent (hospice, DME).")


class JointReplacementPostAcute(StrictModel):
    """Post-acute care after a lower-extremity joint replacement stay (LEJR, MS-DRG 469/470)
    as Medicare sees it: the discharge destination, the SNF stay, the IRF stay and home
    health. Replaces the generic post-acute draw for these stays only (``sim.care.claims``,
    its own random stream ``joint_post_acute``). The institutional shares (SNF, IRF) are
    scaled by the same practice levers as the generic SNF probability (discretionary
    intensity ** ``elasticity_post_acute`` x the transitional-care SNF rate ratio); the
    share diverted goes home with home health, as under CJR."""

    snf_share: float = param(
        0.27, unit="share of LEJR discharges",
        source="Finkelstein et al., JAMA 2018;320(9):892 (CJR randomised evaluation: 33.7% "
        "of control-MSA LEJR discharges to institutional post-acute care) minus the IRF "
        "share; Middleton et al., J Arthroplasty 2017 (SNF use ~34% within 90 days, "
        "2013-14)", ge=0, le=1,
        description="LEJR stays discharged to a skilled nursing facility at discretionary "
        "intensity 1 and no transitional-care effort (at the FFS reference effort 0.1 the "
        "SNF and IRF shares are x0.985).")
    irf_share: float = param(
        0.07, unit="share of LEJR discharges",
        source="Middleton et al., J Arthroplasty 2017;32(9):2639 (IRF use 6.0% knee, 6.7% "
        "elective hip, Medicare FFS 2013-14)", ge=0, le=1,
        description="LEJR stays discharged to an inpatient rehabilitation facility.")
    home_health_share: float = param(
        0.43, unit="share of LEJR discharges",
        source="CJR evaluation (Lewin Group, PY1-2 reports 2018-19), as quoted by NJHA "
        "(2019): 42.6% of CJR patients first discharged to a home health agency before "
        "the model; rounded", ge=0, le=1,
        description="LEJR stays discharged home with home health (the rest go home without "
        "post-acute services).")
    snf_los_mean_days: float = param(
        24.0, unit="days", source="Haghverdian et al., J Arthroplasty 2017;32(2):367 "
        "(Medicare SNF stay after joint arthroplasty 24 +/- 22 days); CJR cut it by 2.3 "
        "days (Lewin Group PY2 report, 2019)", ge=1, le=100,
        description="Mean SNF length of stay after LEJR (gamma, shape 2, as other SNF stays).")
    home_health_periods: int = param(
        2, unit="30-day periods per home-health user",
        source="assumption: a 60-day home-health certification = two 30-day PDGM periods "
        "(CMS HH PPS from CY2020)", ge=1, le=6,
        description="Home-health periods billed after an LEJR discharge home with home "
        "health or after an institutional stay.")
    home_health_after_institutional: float = param(
        0.70, unit="share of SNF/IRF users",
        source="Wang et al., J Am Geriatr Soc 2020 (PMC7363542: 69.6% of post-acute SNF "
        "discharges to the community received home health within 7 days); rounded",
        ge=0, le=1, description="SNF or IRF users who get home health after their stay.")

    @model_validator(mode="after")
    def _shares_fit(self) -> JointReplacementPostAcute:
        total = self.snf_share + self.irf_share + self.home_health_share
        if total > 1.0 + 1e-12:
            raise ValueError(f"snf_share + irf_share + home_health_share = {total:g} exceeds 1 "
                             f"(the rest of LEJR discharges go home without services)")
        return self


class PostAcute(StrictModel):
    """Skilled nursing and home health after a discharge."""

    snf_probability: float = param(
        0.14, unit="share of discharges", source="calibrated to PUF2024 P_SNF_ADM (44/1,000)",
        ge=0, le=1, description="Probability of a SNF stay after a discharge, morbidity 1.")
    snf_morbidity_exponent: float = param(0.5, unit="elasticity", source=ASSUMPTION, ge=0, le=3,
                                          description="SNF probability scales with morbidity.")
    snf_los_mean_days: float = param(26.8, unit="days", source="PUF2024 SNF_LOS", ge=1, le=100,
                                     description="Mean SNF length of stay (gamma, shape 2).")
    home_health_probability: float = param(
        0.25, unit="share of discharges not going to a SNF", source=ASSUMPTION, ge=0, le=1,
        description="Probability of a home-health period after a discharge.")
    home_health_chronic_per_year: float = param(
        0.15, unit="periods per patient-year at morbidity 1", source=ASSUMPTION, ge=0, le=10,
        description="Community-referred home-health periods.")
    after_joint_replacement: JointReplacementPostAcute = Field(
        default_factory=JointReplacementPostAcute,
        description="Post-acute care after lower-extremity joint replacement (replaces the "
        "generic draw above for those stays).")


class Utility(StrictModel):
    """Health utilities for QALYs (EQ-5D scale)."""

    base_65_74: float = param(
        0.881, unit="utility 0-1", source="condition-free baseline: the US EQ-5D-5L norm for "
        "65-74 (0.824; Jiang, Janssen & Pickard, Qual Life Res 2021) plus the mean condition "
        "decrement of the default 65-74 panel (0.057), so the panel's mean matches the norm",
        ge=0, le=1, description="Utility of a condition-free patient aged 65-74 (the "
        "condition decrements below come off it; population norms already include people "
        "with conditions and are not a baseline).")
    base_75_plus: float = param(
        0.885, unit="utility 0-1", source="condition-free baseline: US EQ-5D-5L norm for 75+ "
        "(0.811; Jiang, Janssen & Pickard 2021) plus the mean decrement of the default 75+ "
        "panel (0.074)", ge=0, le=1,
        description="Utility of a condition-free patient aged 75 or over.")
    decrement_diabetes: float = param(0.06, unit="utility", source="Sullivan et al. 2011 "
                                      "catalogue", ge=0, le=1, description="Diabetes decrement.")
    decrement_diabetes_uncontrolled: float = param(
        0.02, unit="utility", source=ASSUMPTION, ge=0, le=1,
        description="Extra decrement while diabetes is uncontrolled.")
    decrement_heart_failure: float = param(0.11, unit="utility", source="Sullivan 2011", ge=0,
                                           le=1, description="Heart failure decrement.")
    decrement_copd: float = param(0.09, unit="utility", source="Sullivan 2011", ge=0, le=1,
                                  description="COPD decrement.")
    decrement_ckd: float = param(0.05, unit="utility", source="Sullivan 2011", ge=0, le=1,
                                 description="CKD decrement.")
    decrement_hypertension: float = param(0.02, unit="utility", source="Sullivan 2011", ge=0,
                                          le=1, description="Hypertension decrement.")
    admission_qaly_loss: float = param(
        0.01, unit="QALY per admission", source=ASSUMPTION, ge=0, le=1,
        description="QALYs lost per unplanned admission (acute disutility).")


class StayGroups(StrictModel):
    """Clinical groups of stays (MS-DRG-like families, with/without MCC) that bundles'
    clinical episodes are opened by (``sim.stay_groups``; issue 13 replaces it with full
    MS-DRG coding). Labels only: a stay's group does not change what it costs, except that
    a hospital's documentation effort pays captured MCCs more (``coding_fees``)."""

    spinal_fusion_share: float = param(
        0.08, unit="share of elective stays", source="assumption (MedPAR: "
        "spinal fusion MS-DRGs about a fifth of the volume of LEJR 469/470)", ge=0, le=1,
        description="Elective stays that are spinal fusion (MS-DRGs 402, 426-428, 447/448, "
        "450/451, 456-458 since v41; 453-460 before).")
    sepsis_share: float = param(
        0.08, unit="share of unplanned stays", source="approx. MedPAR national discharges "
        "(MS-DRG 871/872, the largest medical family, ~8% of Medicare IPPS stays)", ge=0,
        le=1, description="Unplanned stays that are septicemia / severe sepsis (871/872).")
    heart_failure_share: float = param(
        0.20, unit="share of unplanned stays of HF patients", source="assumption (HF is the "
        "principal diagnosis of about 1 in 6 stays of patients with HF; Dunlay et al., "
        "J Am Coll Cardiol 2009; rounded up)", ge=0, le=1,
        description="Unplanned stays of patients with heart failure grouped as heart "
        "failure and shock (291-293).")
    copd_share: float = param(
        0.15, unit="share of unplanned stays of COPD patients", source=ASSUMPTION, ge=0,
        le=1, description="Unplanned stays of patients with COPD grouped as COPD (190-192).")
    mcc_share_major_joint: float = param(
        0.05, unit="share 0-1", source="approx. MedPAR FY2013 (DRG 469 ~5% of 469+470; "
        "470: 446,148 discharges)", ge=0, le=1,
        description="Joint-replacement stays with MCC (469/521 vs 470/522).")
    mcc_share_spinal_fusion: float = param(
        0.08, unit="share 0-1", source="approx. MedPAR national discharges "
        "(453/456/459, the with-MCC DRGs before v41)",
        ge=0, le=1, description="Spinal-fusion stays with MCC.")
    mcc_share_sepsis: float = param(
        0.78, unit="share 0-1", source="approx. MedPAR national discharges (871 ~3.5x 872)",
        ge=0, le=1, description="Sepsis stays with MCC (871 vs 872).")
    mcc_share_heart_failure: float = param(
        0.60, unit="share 0-1", source="approx. MedPAR national discharges (291 vs 292/293)",
        ge=0, le=1, description="Heart-failure stays with MCC (291 vs 292/293).")
    mcc_share_copd: float = param(
        0.40, unit="share 0-1", source="approx. MedPAR national discharges (190 vs 191/192)",
        ge=0, le=1, description="COPD stays with MCC (190 vs 191/192).")
    mcc_share_other_surgical: float = param(
        0.15, unit="share 0-1", source=ASSUMPTION, ge=0, le=1,
        description="Other elective stays with MCC.")
    mcc_share_other_medical: float = param(
        0.35, unit="share 0-1", source=ASSUMPTION, ge=0, le=1,
        description="Other unplanned stays with MCC.")
    mcc_payment_correlation: float = param(
        0.7, unit="correlation 0-1", source="assumption (with-MCC MS-DRGs pay ~1.6-1.8x the "
        "without-MCC ones, e.g. MS-DRG 871 vs 872 relative weights ~1.9 vs ~1.1)", ge=0, le=1,
        description="Gaussian-copula correlation between a stay's DRG-like payment and its "
        "MCC flag (1: the costliest stays of a family are the MCC ones).")

    @model_validator(mode="after")
    def _unplanned_shares_fit(self) -> StayGroups:
        total = self.sepsis_share + self.heart_failure_share + self.copd_share
        if total > 1.0:
            raise ValueError(f"sepsis_share + heart_failure_share + copd_share = {total:g} "
                             f"exceeds 1 (a patient with HF and COPD draws from all three)")
        return self


class Clinical(StrictModel):
    """Event rates, transitions and utilities of the care model."""

    mortality: Mortality = Field(default_factory=Mortality, description="Death hazard.")
    admissions: Admissions = Field(default_factory=Admissions, description="Unplanned stays.")
    electives: Electives = Field(default_factory=Electives, description="Elective surgery.")
    diabetes: Diabetes = Field(default_factory=Diabetes, description="HbA1c control.")
    utilisation: Utilisation = Field(default_factory=Utilisation,
                                     description="Routine services.")
    post_acute: PostAcute = Field(default_factory=PostAcute, description="SNF and home health.")
    utility: Utility = Field(default_factory=Utility, description="Health utilities.")
    stay_groups: StayGroups = Field(default_factory=StayGroups,
                                    description="Clinical groups of stays (bundles' episodes).")

    @model_validator(mode="after")
    def _spinal_fusion_fits(self) -> Clinical:
        free = 1.0 - self.electives.joint_replacement_share
        if self.stay_groups.spinal_fusion_share > free + 1e-12:
            raise ValueError(
                f"stay_groups.spinal_fusion_share {self.stay_groups.spinal_fusion_share:g} "
                f"exceeds the elective stays left by electives.joint_replacement_share "
                f"({free:g})")
        return self


# --------------------------------------------------------------------------- levers


class LeverEffects(StrictModel):
    """Documented effect sizes of the four practice levers.

    ``discretionary_intensity`` is a multiplier (1 = FFS norm); each discretionary service
    rate is scaled by ``intensity ** elasticity``. ``prevention_effort`` and
    ``transitional_care_effort`` run from 0 (none) to 1 (a full programme); ``coding_intensity``
    from 0 (FFS-like coding) to 1 (MA-like coding).
    """

    elasticity_specialist: float = param(0.6, unit="elasticity", source=ASSUMPTION, ge=0, le=5,
                                         description="Specialist visits vs intensity.")
    elasticity_tests: float = param(1.0, unit="elasticity", source=ASSUMPTION, ge=0, le=5,
                                    description="Labs and imaging per visit vs intensity.")
    elasticity_outpatient_procedures: float = param(
        1.5, unit="elasticity", source="assumption; Clemens & Gottlieb 2014 (procedures most "
        "responsive)", ge=0, le=5, description="Ambulatory procedures vs intensity.")
    elasticity_electives: float = param(
        1.8, unit="elasticity", source="assumption; Clemens & Gottlieb 2014 (elective care "
        "most responsive)", ge=0, le=5, description="Elective inpatient procedures vs intensity.")
    elasticity_ed: float = param(
        1.0, unit="elasticity", source="assumption; about a third of ED visits are non-urgent "
        "(CDC NHAMCS) and respond to access and care management", ge=0, le=5,
        description="Treat-and-release ED visits vs intensity (low-acuity ED use).")
    elasticity_post_acute: float = param(
        1.0, unit="elasticity", source="assumption; post-acute is the most discretionary "
        "spending (IOM 2013 geographic variation report)", ge=0, le=5,
        description="SNF and home-health use after discharge vs intensity.")
    elasticity_pcp_followup: float = param(0.3, unit="elasticity", source=ASSUMPTION, ge=0,
                                           le=5, description="Primary-care visits vs intensity.")
    prevention_acsc_rr: float = param(
        0.60, unit="rate ratio at full effort",
        source="McAlister et al. 2004 (HF programmes: HF admissions RR 0.73); assumption",
        ge=0, le=1, description="ACSC admissions at full prevention effort relative to none.")
    prevention_ed_rr: float = param(0.75, unit="rate ratio at full effort", source=ASSUMPTION,
                                    ge=0, le=1, description="ED visits at full prevention effort.")
    prevention_control_gain: float = param(
        1.0, unit="relative increase at full effort",
        source="assumption; Shojania et al. 2006 (case management largest HbA1c effect)",
        ge=0, le=10, description="Relative increase of the rate of regaining diabetic control "
        "(and decrease of losing it, halved) at full prevention effort.")
    prevention_pcp_visits: float = param(
        1.0, unit="visits per patient-year at full effort", source=ASSUMPTION, ge=0, le=20,
        description="Extra primary-care contacts from care management at full effort.")
    transitional_readmission_rr: float = param(
        0.70, unit="rate ratio at full effort",
        source="Leppin et al. 2014 JAMA Intern Med (RR 0.82 overall; 0.63 intensive)",
        ge=0, le=1, description="Readmission hazard at full transitional-care effort.")
    underuse_harm: float = param(
        2.0, unit="relative hazard increase per squared unit of intensity below 1",
        source="assumption; RAND HIE: cutting discretionary care cut effective and "
        "ineffective care alike (Lohr et al. 1986)", ge=0, le=50,
        description="Below the FFS norm (intensity < 1), needed care is cut too: ACSC "
        "admissions rise by underuse_harm x (1 - intensity)^2 (+8% at 0.8, +18% at 0.7).")
    underuse_harm_mortality: float = param(
        0.3, unit="relative hazard increase per squared unit of intensity below 1",
        source=ASSUMPTION, ge=0, le=50,
        description="Death hazard rises by this x (1 - intensity)^2 below the norm.")
    transitional_snf_rr: float = param(
        0.85, unit="rate ratio at full effort", source=ASSUMPTION, ge=0, le=1,
        description="SNF discharge probability at full transitional-care effort.")
    hospital_snf_los_elasticity: float = param(
        1.0, unit="elasticity", source="judgement: under CJR institutional discharge after "
        "LEJR fell ~9% (33.7% to ~30.7%, Finkelstein et al., JAMA 2018) and SNF stays "
        "~10% (-2.3 of ~24 days, Lewin Group CJR PY2 report 2019) together", ge=0, le=5,
        description="SNF length of stay after joint replacement vs the hospital's "
        "post_acute_intensity lever.")


class Levers(StrictModel):
    """A provider's practice levers."""

    discretionary_intensity: float = param(
        1.0, unit="multiplier (1 = FFS norm)", source=ASSUMPTION, ge=0.3, le=2.0,
        description="Intensity of discretionary services (specialist referrals, tests, imaging, "
        "ambulatory and elective procedures, post-acute use).")
    prevention_effort: float = param(
        0.1, unit="effort 0-1", source="assumption (little care management under FFS)",
        ge=0, le=1, description="Care-management and prevention effort.")
    transitional_care_effort: float = param(
        0.1, unit="effort 0-1", source=ASSUMPTION, ge=0, le=1,
        description="Transitional-care effort after discharge.")
    coding_intensity: float = param(
        0.0, unit="intensity 0-1", source=ASSUMPTION, ge=0, le=1,
        description="Diagnosis-coding intensity: moves the recapture rate, specificity and "
        "unsupported-code rate of risk_score linearly from their values at 0 to those at 1, "
        "at a cash cost of costs.documentation_usd_per_patient_year x intensity.")
    elective_volume: float = param(
        1.0, unit="multiplier (1 = FFS norm)", source="assumption (the hospital's FFS practice)",
        ge=0.3, le=2.0,
        description="The hospital's elective inpatient volume (scheduling, indications): "
        "scales elective admissions by this ** lever_effects.elasticity_electives. Chosen by "
        "a hospital that holds a contract of its own (docs/behaviour.md, section 4); on a "
        "group's panel the value in force is that hospital's, else the group's reference "
        "value.")
    post_acute_intensity: float = param(
        1.0, unit="multiplier (1 = FFS norm)", source="assumption (the hospital's FFS practice)",
        ge=0.3, le=2.0,
        description="The hospital's discharge planning after joint replacement: scales "
        "discharge to SNF and IRF by this and the SNF length of stay by this ** "
        "lever_effects.hospital_snf_los_elasticity (joint-replacement stays only). Chosen "
        "like elective_volume.")
    specialist_volume: float = param(
        1.0, unit="multiplier (1 = at the default fee schedule)",
        source="Clemens & Gottlieb, AER 2014 (supply elasticity ~1.5)", ge=0.3, le=2.0,
        description="The specialists' own volume response to their fees (visits and "
        "ambulatory procedures of a group's panel; sim.behaviour.specialists): set each year "
        "by their rule under behavior: incentives; otherwise the group's reference value.")
    cdi_effort: float | None = param(
        None, unit="effort 0-1", source="assumption (none: the scenario's "
        "coding_fees.hospital_cdi_effort, 0 by default: today's documentation, which the MCC "
        "shares of clinical.stay_groups already reflect)", ge=0, le=1,
        description="The hospital's clinical documentation improvement (CDI) effort on the "
        "stays of this panel it bills (sim.coding.fees: stays without MCC gain one with "
        "probability coding_fees.cdi_mcc_capture_at_full x effort, at a cash cost of "
        "coding_fees.cdi_cost_per_discharge_usd x effort per discharge). Chosen each year by "
        "the hospital under behavior: incentives (docs/behaviour.md, section 4; "
        "docs/coding.md: full effort where fee-for-service pays the uplift, none where a "
        "contract takes it back); unset (null): coding_fees.hospital_cdi_effort applies. Set "
        "on a primary-care group: the effort its patients' stays are coded at under "
        "behavior: fixed; set on a hospital: its starting effort under behavior: "
        "incentives.")


# --------------------------------------------------------------------------- prices


class Prices(StrictModel):
    """Fee schedule: allowed amount per service (what the payer's schedule allows)."""

    pcp_visit_usd: float = param(125.0, unit="USD per visit", source="CMS PFS 2024, 99214 "
                                 "non-facility ~$128", ge=0, le=MAX_FEE_USD,
                                 description="Primary-care visit. " + BOUND_NOTE)
    specialist_visit_usd: float = param(150.0, unit="USD per visit", source="CMS PFS 2024 "
                                        "(99204/99214 mix)", ge=0, le=MAX_FEE_USD,
                                        description="Specialist visit. " + BOUND_NOTE)
    lab_test_usd: float = param(22.0, unit="USD per test", source="CMS CLFS 2024 (panel mix)",
                                ge=0, le=MAX_FEE_USD, description="Laboratory test. " + BOUND_NOTE)
    imaging_usd: float = param(310.0, unit="USD per study", source="CMS OPPS/PFS 2024 (X-ray, "
                               "CT, MRI mix)", ge=0, le=MAX_FEE_USD,
                               description="Imaging study (facility + read). " + BOUND_NOTE)
    imaging_facility_share: float = param(0.75, unit="share 0-1", source=ASSUMPTION, ge=0, le=1,
                                          description="Facility (outpatient) share of imaging.")
    ed_facility_usd: float = param(780.0, unit="USD per visit", source="CMS OPPS 2024 "
                                   "(99284/99285 APC mix)", ge=0, le=MAX_FEE_USD,
                                   description="ED facility fee. " + BOUND_NOTE)
    ed_professional_usd: float = param(150.0, unit="USD per visit", source="CMS PFS 2024",
                                       ge=0, le=MAX_FEE_USD, description="ED physician fee. " + BOUND_NOTE)
    admission_mean_usd: float = param(
        13_000.0, unit="USD per unplanned admission", source="calibrated to PUF2024 "
        "CapAnn_INP_All / ADM (~$13,800)", ge=0, le=MAX_FEE_USD,
        description="Mean DRG payment (lognormal). " + BOUND_NOTE)
    admission_cost_sd_log: float = param(
        0.9, unit="SD of log payment", source="assumption (DRG weight spread, outliers)",
        ge=0, le=3, description="Spread of the DRG payment.")
    admission_los_elasticity: float = param(
        0.5, unit="elasticity", source=ASSUMPTION, ge=0, le=3,
        description="DRG payment scales with (LOS / mean LOS)**elasticity (outlier stays).")
    inpatient_professional_usd: float = param(
        1_600.0, unit="USD per admission", source=ASSUMPTION, ge=0, le=MAX_FEE_USD,
        description="Physician services during an unplanned stay. " + BOUND_NOTE)
    elective_admission_usd: float = param(
        14_500.0, unit="USD per elective admission", source="CMS IPPS FY2024 MS-DRG 470 "
        "(~$14,000-15,000)", ge=0, le=MAX_FEE_USD,
        description="Elective procedure stay (DRG payment). " + BOUND_NOTE)
    elective_professional_usd: float = param(1_450.0, unit="USD per procedure", source="CMS "
                                             "PFS 2024 27447 ~$1,400", ge=0, le=MAX_FEE_USD,
                                             description="Surgeon and anaesthesia fee. " + BOUND_NOTE)
    outpatient_procedure_usd: float = param(
        1_500.0, unit="USD per procedure", source="CMS OPPS/ASC 2024 (endoscopy, cataract mix)",
        ge=0, le=MAX_FEE_USD, description="Ambulatory procedure facility fee. " + BOUND_NOTE)
    outpatient_procedure_professional_usd: float = param(
        330.0, unit="USD per procedure", source="CMS PFS 2024", ge=0, le=MAX_FEE_USD,
        description="Ambulatory procedure professional fee. " + BOUND_NOTE)
    chronic_service_usd: float = param(
        1_050.0, unit="USD per claim (mean)", source="calibrated to PUF2024 CapAnn_OPD+PB",
        ge=0, le=MAX_FEE_USD,
        description="Mean allowed amount of a chronic-service claim (lognormal). " + BOUND_NOTE)
    chronic_service_sd_log: float = param(0.8, unit="SD of log amount", source=ASSUMPTION,
                                          ge=0, le=3, description="Spread of chronic claims.")
    chronic_service_professional_share: float = param(
        0.45, unit="share 0-1", source="assumption (Part B drugs billed by physicians vs HOPD)",
        ge=0, le=1, description="Share of chronic-service claims billed as professional.")
    snf_per_day_usd: float = param(610.0, unit="USD per day", source="PUF2024 SNF_PayperStay / "
                                   "SNF_LOS ($16,368 / 26.8 days)", ge=0, le=MAX_FEE_USD,
                                   description="SNF per diem. " + BOUND_NOTE)
    home_health_period_usd: float = param(2_050.0, unit="USD per 30-day period",
                                          source="CMS HH PPS CY2024 national rate", ge=0, le=MAX_FEE_USD,
                                          description="Home-health period. " + BOUND_NOTE)
    irf_stay_usd: float = param(
        14_000.0, unit="USD per IRF stay",
        source="assumption anchored on MedPAC (March 2015 report, ch. 10: $6.8 billion for "
        "373,000 IRF stays = ~$18,200 per stay, all case-mix groups); joint-replacement "
        "cases are shorter (mean IRF stay 8.9 days, Granger et al., Am J Phys Med Rehabil "
        "2010) and pay less", ge=0, le=MAX_FEE_USD,
        description="Inpatient rehabilitation facility stay (IRF PPS case payment), paid "
        "after lower-extremity joint replacement. " + BOUND_NOTE)
    other_claim_usd: float = param(
        850.0, unit="USD per claim (mean)", source="calibrated to PUF2024 CapAnn_HSP+DME",
        ge=0, le=MAX_FEE_USD,
        description="DME, hospice and other claims (lognormal, SD log 1.0). " + BOUND_NOTE)


# --------------------------------------------------------------------------- capacity


class Capacity(StrictModel):
    """Primary-care appointment capacity and hospital beds."""

    pcp_fte_per_1000: float = param(
        1.35, unit="FTE per 1,000 attributed patients", source="assumption (Medicare-heavy panel "
        "~750 patients per FTE)", ge=0.01, le=50,
        description="Primary-care clinician FTEs per 1,000 attributed patients.")
    visits_per_fte_per_year: float = param(
        3_900.0, unit="visits per FTE-year", source="MGMA 2023 (~18 visits/day, 217 days)",
        ge=1, description="Appointment slots per clinician FTE per year.")
    patience_days: float = param(
        14.0, unit="days", source=ASSUMPTION, ge=1, le=365,
        description="A primary-care request not served within this many days is given up.")
    unmet_to_ed_share: float = param(
        0.25, unit="share 0-1", source="assumption; cf. O'Malley 2013 (access and ED use)",
        ge=0, le=1, description="Share of given-up primary-care requests that become ED visits.")
    beds_per_1000: float = param(
        5.0, unit="beds per 1,000 patients", source="assumption (sized for ~75% occupancy)",
        ge=0.01, le=100, description="Hospital beds available to this panel.")


# --------------------------------------------------------------------------- providers


ProviderKind = Literal["primary_care", "specialist", "hospital", "post_acute", "other"]


class Provider(StrictModel):
    """A provider organisation: what it bills, its panel share and its practice levers."""

    name: str = Field(description="Name used as the results `entity`.", min_length=1,
                      pattern=r"^[A-Za-z0-9_.\-]+$")
    kind: ProviderKind = Field(description="primary_care groups hold attributed patients and "
                               "their levers steer care; the others bill services routed to "
                               "their kind.")
    panel_share: float = param(
        0.0, unit="share 0-1", source=ASSUMPTION, ge=0, le=1,
        description="Share of patients attributed to this primary-care group (must sum to 1 "
        "over primary_care providers).")
    levers: Levers = Field(default_factory=Levers, description="Reference practice levers: "
                           "what the provider does under FFS at the default fee schedule (used "
                           "every year with `behavior: fixed`).")
    behavior: BehaviourParams = Field(default_factory=BehaviourParams,
                                      description="How a primary-care provider responds to "
                                      "incentives (ignored for other kinds).")
    costs: ProviderCosts = Field(default_factory=ProviderCosts,
                                 description="Unit costs, fixed costs and the cost of effort.")


def _default_providers() -> list[Provider]:
    return [
        Provider(name="primary_care_group", kind="primary_care", panel_share=1.0),
        Provider(name="specialists", kind="specialist"),
        Provider(name="community_hospital", kind="hospital"),
        Provider(name="post_acute", kind="post_acute"),
        Provider(name="other_suppliers", kind="other"),
    ]


# --------------------------------------------------------------------------- scenario


class Scenario(StrictModel):
    """Everything a run needs; built from a YAML file by :func:`sim.scenario.load_scenario`."""

    name: str = Field("scenario", description="Scenario name (the results `scenario`).",
                      pattern=r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,99}$")
    description: str = Field("", description="What question the scenario answers.")
    horizon_years: int = param(5, unit="years", source=ASSUMPTION, ge=1, le=30,
                               description="Number of plan years simulated.")
    replications: int = param(5, unit="replications", source=ASSUMPTION, ge=1, le=100_000,
                              description="Monte Carlo replications.")
    seed: int = param(20_240_101, unit="integer", source=ASSUMPTION, ge=0,
                      description="Root seed of numpy.random.SeedSequence.")
    warmup_years: int = param(
        5, unit="years", source="assumption (lets frailty selection and queues settle)", ge=0,
        le=10, description="Years simulated before plan year 0 and not reported: the starting "
        "panel is drawn from cross-sectional prevalence, and the first two simulated years "
        "remove the start-up transient (frailty selection, empty queues, no recent "
        "discharges); the last three serve as baseline history when contracts need it.")
    behavior: Literal["incentives", "fixed"] = Field(
        "incentives", description="incentives: primary-care providers re-choose their levers "
        "each year from their contracts (docs/behaviour.md); fixed: the reference levers "
        "every year (pure payment effect).")
    parameter_uncertainty: bool = Field(
        True, description="true: each replication draws the uncertain parameters (every "
        "{dist: ...} and the uncertainty: block); false: every replication uses their means, "
        "so intervals show patient-level chance alone (--no-parameter-uncertainty).")
    population: Population = Field(default_factory=Population, description="The panel.")
    risk_score: RiskScore = Field(default_factory=RiskScore, description="Coded risk score.")
    clinical: Clinical = Field(default_factory=Clinical, description="Care model rates.")
    lever_effects: LeverEffects = Field(default_factory=LeverEffects,
                                        description="Effect sizes of practice levers.")
    prices: Prices = Field(default_factory=Prices, description="Fee schedule.")
    reference_prices: Prices | None = Field(
        None, description="The fee schedule at which providers' unit costs (cost-to-charge x "
        "amount at this schedule) and, under behavior: incentives, the practice norms are "
        "set. Unset: the schema's default schedule, so a price different from the default is "
        "a fee change that moves margins and practice (docs/behaviour.md). `vbcsim init "
        "--from-puf` sets it to the fitted prices: they are the ACO's own price level "
        "(region, case mix), not a fee change (docs/puf.md).")
    capacity: Capacity = Field(default_factory=Capacity, description="Capacity.")
    providers: list[Provider] = Field(default_factory=_default_providers, min_length=1,
                                      description="Provider organisations.")
    payers: list[Payer] = Field(default_factory=_default_payers, min_length=1,
                                description="Payers and their share of the panel.")
    plan: list[PlanPeriod] = Field(
        default_factory=lambda: [PlanPeriod(years="all", contracts=[FFSContract()])],
        description="Contracts in force by plan year (a transition plan). Every claim not "
        "covered by a capitation contract is paid fee-for-service by the patient's payer.")
    investments: list[Investment] = Field(default_factory=list,
                                          description="One-off and running investment costs.")
    quality: Quality = Field(default_factory=Quality, description="Quality score scale.")
    economics: Economics = Field(default_factory=Economics, description="Calendar, discounting.")
    attribution: Attribution = Field(default_factory=Attribution,
                                     description="Assignment of beneficiaries to ACOs (CMS "
                                     "plurality rule), leakage, churn, Medicare Advantage.")
    revenue_cycle: RevenueCycle = Field(
        default_factory=RevenueCycle, description="Claim denials, rework and RADV-style "
        "audits (off by default; sim.scenario.revenue_cycle).")
    coding_fees: CodingFees = Field(
        default_factory=CodingFees, description="How coding changes fee-for-service "
        "payment: E/M level intensity and DRG CC/MCC capture (sim.scenario.coding_fees).")
    engine: Literal["des", "fast", "auto"] = Field(
        "des", description="Executor of the care model: des, the SimPy discrete-event model "
        "(one process per patient); fast, the vectorised executor (sim/care/fast.py: the same "
        "hazards, stays, FIFO beds and clinic capacity, all patients at once with NumPy; "
        "equal in distribution, not draw for draw: benchmarks/README.md, Fast engine "
        "equivalence); auto, fast (it models every queue of the DES). Default des: "
        "judgement, so seed-pinned results stay as they were (--engine on the command line).")

    @model_validator(mode="after")
    def _check_providers(self) -> Scenario:
        names = [p.name for p in self.providers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"provider names must be unique; repeated: {', '.join(dup)}")
        pcs = [p for p in self.providers if p.kind == "primary_care"]
        if not pcs:
            raise ValueError("at least one provider of kind 'primary_care' is required")
        total = sum(p.panel_share for p in pcs)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"panel_share of primary_care providers must sum to 1, got {total:.6g}")
        for kind in ("specialist", "hospital", "post_acute", "other"):
            if sum(p.kind == kind for p in self.providers) > 1:
                raise ValueError(f"at most one provider of kind '{kind}' (services of a kind "
                                 "are routed to one provider)")
        check_payment_refs(self.payers, self.plan, {p.name: p.kind for p in self.providers},
                           self.investments, self.horizon_years)
        check_history_years(self.plan, self.horizon_years, self.warmup_years)
        self._check_spending_contracts_have_prices()
        self._check_contract_years()
        check_panel_survives(self)
        check_minimum_assigned(self)
        return self

    def _check_contract_years(self) -> None:
        """Each contract refuses plan years its rules cannot settle in this scenario (e.g.
        an MSSP alternative quality standard before PY2023)."""
        for i, period in enumerate(self.plan):
            for j, c in enumerate(period.contracts):
                c.check_years(f"plan[{i}].contracts[{j}]", period.year_list(self.horizon_years),
                              self)

    def _check_spending_contracts_have_prices(self) -> None:
        """Contracts that reconcile against spending need some positive price (else the
        benchmark or target price is zero and the settlement divides by it)."""
        if any(v > 0 for name, v in self.prices if name.endswith("_usd")):
            return
        for i, period in enumerate(self.plan):
            for j, c in enumerate(period.contracts):
                if c.reconciles_spending:
                    raise ValueError(
                        f"prices: every *_usd price is 0, but plan[{i}].contracts[{j}] (a {c.type} "
                        f"contract) reconciles against spending, which would be zero; give "
                        f"some service a positive price")

    @property
    def fee_reference(self) -> Prices:
        """The reference fee schedule: ``reference_prices``, else the default schedule."""
        return self.reference_prices if self.reference_prices is not None else Prices()

    @property
    def history_years(self) -> int:
        """Warm-up years whose claims are kept as history (plan years -k..-1): the three
        baseline years that benchmarks and target prices need, when a contract needs them."""
        needs = any(c.requires_history() for period in self.plan for c in period.contracts)
        return min(max(self.warmup_years - TRANSIENT_YEARS, 0), 3) if needs else 0
