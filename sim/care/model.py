"""The care model: hazards, rates and probabilities as functions of patient state and levers.

Plain, vectorised NumPy — no SimPy here — so the same model can be run by the discrete-
event executor (``sim.care.des``) and by a vectorised executor, and cross-checked.

Every rate is per patient-year and piecewise constant: it changes only when a patient's
*state* changes or at the start of a plan year (ageing, morbidity drift, new levers). The
state of a living patient outside hospital is one of four codes::

    state = 2 * diabetes_uncontrolled + in_post_discharge_window

so ``year_rates`` returns per-patient tables indexed ``[patient, state, ...]``.

Competing state events (the DES clock), in this order (``HAZARDS``):

* ``death``
* ``acsc_admission`` — unplanned, ambulatory-care-sensitive (preventable) admission
* ``other_admission`` — other unplanned admission
* ``readmission`` — the extra unplanned-admission hazard of the 30-day post-discharge window
* ``elective`` — elective inpatient procedure (not during the window)
* ``diabetes_transition`` — HbA1c control lost (if controlled) or regained (if not)

Routine services (``ROUTINE``) are Poisson processes at the state's rate, drawn between
state changes in one vectorised step; primary-care demand (``pcp``) goes through the
clinic's appointment capacity.

Lever effects (see ``LeverEffects`` in the schema for values and sources):

* discretionary intensity ``d`` (1 = FFS norm) scales a discretionary rate by ``d**e``;
  below the norm, needed care is cut too: ACSC admissions rise by
  ``underuse_harm * (1 - d)**2``, deaths by ``underuse_harm_mortality * (1 - d)**2``
  (quadratic: a small cut removes mostly low-value care, a deep cut needed care);
* prevention effort ``p`` in [0, 1] scales ACSC admissions by ``1 - (1 - RR) p``, ED visits
  likewise, raises the rate of regaining diabetic control by ``(1 + gain p)``, lowers the
  rate of losing it by ``1 / (1 + gain p / 2)`` and adds care-management PCP contacts;
* transitional-care effort ``t`` scales the readmission hazard by ``1 - (1 - RR) t`` and the
  SNF discharge probability likewise; the same factor (with ``d**elasticity_post_acute``)
  scales discharge to SNF and IRF after joint replacement (``institutional_pac_factor``,
  used by ``sim.care.claims``);
* coding intensity acts on the coded risk score only (``sim.coding.hcc``; legacy:
  ``sim.population.raw_risk_score``);
* the hospital's levers (issue 14): elective volume ``v`` scales the elective hazard by
  ``v**elasticity_electives`` (the group's ``d`` no longer does); post-acute intensity
  ``a`` scales discharge to SNF/IRF after joint replacement by ``a`` and its SNF length of
  stay by ``a**hospital_snf_los_elasticity`` (``episode_snf_los_factor``).
* the specialists' volume factor (``sim.behaviour.specialists``) scales specialist visits
  and ambulatory procedures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import CONDITIONS, Scenario

HAZARDS = ("death", "acsc_admission", "other_admission", "readmission", "elective",
           "diabetes_transition")
H_DEATH, H_ACSC, H_OTHER, H_READMIT, H_ELECTIVE, H_DM = range(len(HAZARDS))

ROUTINE = ("pcp", "specialist", "ed", "outpatient_procedure", "chronic", "other",
           "home_health")
R_PCP, R_SPEC, R_ED, R_OPPROC, R_CHRONIC, R_OTHER, R_HH = range(len(ROUTINE))

N_STATES = 4
_DM_UNC = np.array([0, 0, 1, 1], dtype=bool)  # state -> diabetes uncontrolled
_WINDOW = np.array([0, 1, 0, 1], dtype=bool)  # state -> in post-discharge window

_CI = {name: i for i, name in enumerate(CONDITIONS)}


@dataclass
class LeverArrays:
    """Practice levers per patient (those of the patient's attributed provider)."""

    discretionary_intensity: np.ndarray
    prevention_effort: np.ndarray
    transitional_care_effort: np.ndarray
    coding_intensity: np.ndarray
    #: The hospital's levers (docs/behaviour.md, section 4); None: 1 (the FFS norm).
    elective_volume: np.ndarray | None = None
    post_acute_intensity: np.ndarray | None = None
    #: The specialists' own volume response to their fees (sim.behaviour.specialists);
    #: None: 1.
    specialist_volume: np.ndarray | None = None
    #: The hospital's CDI effort on the patient's stays (sim.coding.fees; it moves payment,
    #: not care, so year_rates ignores it); None, or NaN for a patient: the scenario's
    #: coding_fees.hospital_cdi_effort.
    cdi_effort: np.ndarray | None = None


@dataclass
class YearRates:
    """Rates of one plan year for every patient."""

    hazards: np.ndarray  # (n, 4, len(HAZARDS)) per year
    total: np.ndarray  # (n, 4) sum of hazards
    routine: np.ndarray  # (n, 4, len(ROUTINE)) per year
    p_snf: np.ndarray  # (n,) probability of a SNF stay after a discharge
    p_home_health: np.ndarray  # (n,) probability of home health after a non-SNF discharge
    institutional_pac_factor: np.ndarray  # (n,) lever factor on SNF/IRF discharge (1 at FFS)
    labs_per_visit: np.ndarray  # (n,)
    imaging_per_visit: np.ndarray  # (n,)
    utility: np.ndarray  # (n, 2) annual utility by diabetes-uncontrolled flag
    #: (n,) factor on the SNF length of stay after joint replacement (the hospital's
    #: post-acute lever; None: 1)
    episode_snf_los_factor: np.ndarray | None = None


_CODE_CONDITIONS = ("heart_failure", "copd", "ckd", "diabetes")  # bits 0..3 of the code


def _condition_code(conditions: np.ndarray) -> np.ndarray:
    """Per patient, ``hf + 2 copd + 4 ckd + 8 diabetes`` (an index into :func:`_ratio_table`)."""
    code = conditions[:, _CI["heart_failure"]].astype(np.intp)
    for bit, name in enumerate(_CODE_CONDITIONS[1:], start=1):
        code |= conditions[:, _CI[name]].astype(np.intp) << bit
    return code


def _ratio_table(hr_hf: float, hr_copd: float, hr_ckd: float, hr_dm: float) -> np.ndarray:
    """Rate ratio by condition code: ``hr_hf^hf x hr_copd^copd x hr_ckd^ckd x hr_dm^dm``,
    multiplied in that order (as the per-patient product of the four factors)."""
    bits = np.arange(16)
    out = np.where(bits & 1, hr_hf, 1.0)
    for bit, hr in enumerate((hr_copd, hr_ckd, hr_dm), start=1):
        out = out * np.where(bits & (1 << bit), hr, 1.0)
    return out


def _linear_rr(rr_full: float, effort: np.ndarray) -> np.ndarray:
    """Rate ratio that falls linearly from 1 at zero effort to ``rr_full`` at full effort."""
    return 1.0 - (1.0 - rr_full) * effort


@dataclass
class _LeverFree:
    """The parts of the care model's rates no lever changes, per patient: computed by one
    function for :func:`year_rates` and :class:`RatesBasis` (each multiplies its levers
    onto them, so the two cannot drift apart)."""

    dm: np.ndarray  # (n,) bool: diabetic
    death: np.ndarray  # mortality hazard before the levers and diabetic control
    admit: np.ndarray  # unplanned admission rate before them
    readmit: np.ndarray  # readmission rate in the post-discharge window before them
    vm: np.ndarray  # the visit morbidity factor
    pcp: np.ndarray  # primary-care visits before discretionary intensity and prevention
    spec: np.ndarray  # specialist visits before discretionary intensity
    ed: np.ndarray  # ED visits before prevention and discretionary intensity
    chronic: np.ndarray  # chronic services
    oth: np.ndarray  # other claims
    hh: np.ndarray  # chronic home health before the post-acute elasticity
    snf: np.ndarray  # SNF discharge probability before the levers
    utility: np.ndarray  # annual utility with controlled (or no) diabetes, before clipping


def _lever_free(sc: Scenario, age: np.ndarray, morb: np.ndarray,
                conditions: np.ndarray) -> _LeverFree:
    """:class:`_LeverFree` of the patients (age in years, latent morbidity, conditions)."""
    cl = sc.clinical
    dm = conditions[:, _CI["diabetes"]]
    ncond = conditions.sum(axis=1)
    # the condition ratios are looked up by a 4-bit condition code in a table of the same
    # products (results bit-identical to multiplying them per patient)
    code = _condition_code(conditions)
    mo, ad, ut, pa, uc = cl.mortality, cl.admissions, cl.utilisation, cl.post_acute, cl.utility
    vm = morb**ut.visit_morbidity_exponent
    base = np.where(age < 75, uc.base_65_74, uc.base_75_plus)
    for name in CONDITIONS:
        base = base - getattr(uc, f"decrement_{name}") * conditions[:, _CI[name]]
    return _LeverFree(
        dm=dm,
        death=(mo.rate_at_65_per_year * np.exp(mo.gompertz_slope_per_year * (age - 65.0))
               * _ratio_table(mo.hr_heart_failure, mo.hr_copd, mo.hr_ckd,
                              mo.hr_diabetes)[code]
               * morb**mo.morbidity_exponent),
        admit=(ad.rate_per_year * morb**ad.morbidity_exponent
               * _ratio_table(ad.rr_heart_failure, ad.rr_copd, ad.rr_ckd, ad.rr_diabetes)[code]),
        readmit=ad.readmission_rate_per_year * morb**ad.readmission_morbidity_exponent,
        vm=vm,
        pcp=(ut.pcp_visits_per_year + ut.pcp_visits_per_condition * ncond) * vm,
        spec=(ut.specialist_visits_per_year + ut.specialist_visits_per_condition * ncond) * vm,
        ed=ut.ed_visits_per_year * morb**ut.ed_morbidity_exponent,
        chronic=ut.chronic_services_per_year * morb**ut.chronic_services_morbidity_exponent,
        oth=ut.other_claims_per_year * morb**ut.other_claims_morbidity_exponent,
        hh=pa.home_health_chronic_per_year * morb,
        snf=pa.snf_probability * morb**pa.snf_morbidity_exponent,
        utility=base)


def year_rates(
    sc: Scenario,
    age: np.ndarray,
    morb: np.ndarray,
    conditions: np.ndarray,
    levers: LeverArrays,
) -> YearRates:
    """Compute every rate of the care model for one plan year.

    ``age`` in years, ``morb`` the latent morbidity multiplier (mean 1), ``conditions`` a
    boolean (n, 5) matrix in ``CONDITIONS`` order, ``levers`` per patient.
    """
    cl, le = sc.clinical, sc.lever_effects
    n = len(age)
    base = _lever_free(sc, age, morb, conditions)
    dm = base.dm
    d = levers.discretionary_intensity
    p = levers.prevention_effort
    t = levers.transitional_care_effort
    dm_unc = _DM_UNC[None, :] & dm[:, None]  # (n, 4)
    # Speed (results bit-identical): a per-state factor is a (4,) row broadcast over the
    # patients, the tables are filled in place (no stack of broadcasts), and each power of
    # a lever is computed once.
    hazards = np.empty((n, N_STATES, len(HAZARDS)))
    mo = cl.mortality
    death = base.death
    underuse = np.maximum(1.0 - d, 0.0) ** 2  # needed care cut below the FFS norm
    death = death * (1.0 + le.underuse_harm_mortality * underuse)
    np.multiply(death[:, None] * np.where(dm_unc, mo.hr_diabetes_uncontrolled, 1.0),
                np.where(_WINDOW, mo.post_discharge_hr, 1.0), out=hazards[:, :, H_DEATH])

    ad = cl.admissions
    admit = base.admit[:, None] * np.where(dm_unc, ad.rr_diabetes_uncontrolled, 1.0)
    np.multiply(admit * ad.acsc_share,
                (_linear_rr(le.prevention_acsc_rr, p)
                 * (1.0 + le.underuse_harm * underuse))[:, None], out=hazards[:, :, H_ACSC])
    np.multiply(admit, 1.0 - ad.acsc_share, out=hazards[:, :, H_OTHER])
    readmit = base.readmit * _linear_rr(le.transitional_readmission_rr, t)
    hazards[:, _WINDOW, H_READMIT] = readmit[:, None]
    hazards[:, ~_WINDOW, H_READMIT] = 0.0

    el = cl.electives
    # Elective volume is the hospital's lever (issue 14), not the group's intensity.
    v = np.ones(n) if levers.elective_volume is None else levers.elective_volume
    elective = el.rate_per_year * v**le.elasticity_electives * (morb <= el.max_morbidity)
    hazards[:, _WINDOW, H_ELECTIVE] = 0.0
    hazards[:, ~_WINDOW, H_ELECTIVE] = elective[:, None]

    db = cl.diabetes
    gain = le.prevention_control_gain * p
    to_unc = db.rate_to_uncontrolled_per_year / (1.0 + 0.5 * gain)
    to_ctl = db.rate_to_controlled_per_year * (1.0 + gain)
    np.multiply(np.where(dm_unc, to_ctl[:, None], to_unc[:, None]), dm[:, None],
                out=hazards[:, :, H_DM])

    ut = cl.utilisation
    routine = np.empty((n, N_STATES, len(ROUTINE)))
    vm = base.vm
    pcp = base.pcp * d**le.elasticity_pcp_followup + le.prevention_pcp_visits * p
    spec = base.spec * d**le.elasticity_specialist
    ed = base.ed * _linear_rr(le.prevention_ed_rr, p) * d**le.elasticity_ed
    np.multiply(ed[:, None], np.where(dm_unc, ut.ed_rr_diabetes_uncontrolled, 1.0),
                out=routine[:, :, R_ED])
    opproc = ut.outpatient_procedures_per_year * d**le.elasticity_outpatient_procedures * vm
    if levers.specialist_volume is not None:  # the specialists' response to their fees
        spec = spec * levers.specialist_volume
        opproc = opproc * levers.specialist_volume
    chronic = base.chronic
    oth = base.oth
    d_pac = d**le.elasticity_post_acute
    hh = base.hh * d_pac
    for k, x in ((R_PCP, pcp), (R_SPEC, spec), (R_OPPROC, opproc), (R_CHRONIC, chronic),
                 (R_OTHER, oth), (R_HH, hh)):
        routine[:, :, k] = x[:, None]

    pa = cl.post_acute
    # What practice does to discharge to institutional post-acute care (SNF, IRF)
    snf_rr = _linear_rr(le.transitional_snf_rr, t)
    institutional = d_pac * snf_rr
    a = levers.post_acute_intensity  # the hospital's discharge planning (joint replacement)
    if a is not None:
        institutional = institutional * a
    p_snf = np.clip(base.snf * d_pac * snf_rr, 0.0, 1.0)
    p_hh = np.clip(pa.home_health_probability * d_pac, 0.0, 1.0)
    d_tests = d**le.elasticity_tests
    labs = ut.labs_per_visit * d_tests
    imaging = ut.imaging_per_visit * d_tests

    u = base.utility
    utility = np.stack([u, u - cl.utility.decrement_diabetes_uncontrolled * dm], axis=-1)
    utility = np.clip(utility, 0.05, 1.0)

    return YearRates(
        hazards=hazards,
        total=hazards.sum(axis=-1),
        routine=routine,
        p_snf=p_snf,
        p_home_health=p_hh,
        institutional_pac_factor=institutional,
        labs_per_visit=labs,
        imaging_per_visit=imaging,
        utility=utility,
        episode_snf_los_factor=None if a is None
        else np.asarray(a, float) ** le.hospital_snf_los_elasticity,
    )


class RatesBasis:
    """:func:`year_rates` for many lever settings of the same patients (the behaviour
    model's candidate levers, ``sim.behaviour.expected``), in two parts: what does not
    depend on the levers is computed once here (Gompertz mortality, morbidity powers,
    condition ratios, base rates, utilities), and :meth:`steady` applies one lever setting.
    The lever-free parts are :func:`_lever_free`'s, shared with :func:`year_rates`; a change
    to how :func:`year_rates` applies the levers must be made in :meth:`steady` too
    (``tests/care/test_rates_basis.py`` compares the two)."""

    def __init__(self, sc: Scenario, age: np.ndarray, morb: np.ndarray,
                 conditions: np.ndarray) -> None:
        cl, self.le = sc.clinical, sc.lever_effects
        self.cl = cl
        b = _lever_free(sc, age, morb, conditions)
        dm = b.dm
        self.dm = dm.astype(float)
        self.death, self.readmit, self.vm = b.death, b.readmit, b.vm
        self.pcp, self.spec, self.ed = b.pcp, b.spec, b.ed
        self.chronic, self.oth, self.hh, self.snf = b.chronic, b.oth, b.hh, b.snf
        ad = cl.admissions
        self.acsc = b.admit * ad.acsc_share
        self.other = b.admit * (1.0 - ad.acsc_share)
        el = cl.electives
        self.elective = el.rate_per_year * (morb <= el.max_morbidity)  # v = 1
        uc = cl.utility
        base = b.utility
        self.u0 = np.clip(base, 0.05, 1.0)  # controlled (or not diabetic)
        # what uncontrolled diabetes takes away (0 without diabetes)
        self.du = np.clip(base - uc.decrement_diabetes_uncontrolled * dm, 0.05, 1.0) - self.u0

    def steady(self, d: float, p: float, t: float) -> SteadyRates:
        """The rates at one lever setting (discretionary intensity ``d``, prevention ``p``,
        transitional care ``t``, the same for every patient; the hospital's and the
        specialists' levers at 1) with each diabetic patient's control state at its steady
        state under the levers: ``p_unc = to_uncontrolled / (to_uncontrolled +
        to_controlled)``, a rate outside the post-discharge window being ``(1 - p_unc)`` x
        its state-0 value + ``p_unc`` x its state-2 value in :func:`year_rates`' tables.

        Equal to those mixtures of :func:`year_rates`' tables to floating-point rounding
        (the same factors, multiplied in another order), and much cheaper: with one value of
        each lever for everybody, a lever factor is a number, and the mixture over the
        control states one factor ``1 + p_unc (hr - 1)`` per rate."""
        r = self.steady_many([(d, p, t)])
        return SteadyRates(
            p_unc=r.p_unc[0], death=r.death[0], acsc=r.acsc[0], other=r.other[0],
            elective=self.elective, window=r.window[0], routine=r.routine[0],
            p_snf=r.p_snf[0], p_home_health=float(r.p_home_health[0]),
            labs_per_visit=float(r.labs_per_visit[0]),
            imaging_per_visit=float(r.imaging_per_visit[0]), utility=r.utility[0])

    def steady_many(self, settings: list[tuple[float, float, float]]) -> SteadyRates:
        """:meth:`steady` at several settings ``(d, p, t)`` in one vectorised pass: every
        per-patient field gains a leading axis, one row per setting ((K, n); ``routine``
        (K, len(ROUTINE), n); ``p_home_health``, ``labs_per_visit`` and
        ``imaging_per_visit`` (K,)). A setting's lever factors are Python floats (one
        column per setting), multiplied onto the patients' arrays element by element, so
        every row is bit-identical to the setting alone (:meth:`steady` is the batch of
        one; ``tests/behaviour/test_batched_objective.py``)."""
        le, cl = self.le, self.cl
        mo, ad, ut = cl.mortality, cl.admissions, cl.utilisation
        f = []
        for d, p, t in settings:
            underuse = max(1.0 - d, 0.0) ** 2
            gain = le.prevention_control_gain * p
            to_unc = cl.diabetes.rate_to_uncontrolled_per_year / (1.0 + 0.5 * gain)
            to_ctl = cl.diabetes.rate_to_controlled_per_year * (1.0 + gain)
            s = to_unc / max(to_unc + to_ctl, 1e-12)
            d_pac = d**le.elasticity_post_acute
            d_tests = d**le.elasticity_tests
            f.append((
                s,
                s * (ad.rr_diabetes_uncontrolled - 1.0),
                s * (mo.hr_diabetes_uncontrolled - 1.0),
                s * (ut.ed_rr_diabetes_uncontrolled - 1.0),
                1.0 + le.underuse_harm_mortality * underuse,
                _linear_rr(le.prevention_acsc_rr, p) * (1.0 + le.underuse_harm * underuse),
                _linear_rr(le.transitional_readmission_rr, t),
                d**le.elasticity_pcp_followup,
                le.prevention_pcp_visits * p,
                d**le.elasticity_specialist,
                _linear_rr(le.prevention_ed_rr, p) * d**le.elasticity_ed,
                ut.outpatient_procedures_per_year * d**le.elasticity_outpatient_procedures,
                d_pac,
                _linear_rr(le.transitional_snf_rr, t),
                min(max(cl.post_acute.home_health_probability * d_pac, 0.0), 1.0),
                ut.labs_per_visit * d_tests,
                ut.imaging_per_visit * d_tests,
            ))
        c = np.array(f).T[:, :, None]  # (factors, K, 1): one column per setting
        (s, s_admit, s_death, s_ed, f_death, f_acsc, f_readmit, f_pcp, pcp_add, f_spec, f_ed,
         f_op, d_pac, snf_rr, p_hh, labs, imaging) = c
        k, n = len(settings), len(self.dm)
        p_unc = s * self.dm
        f_admit = 1.0 + s_admit * self.dm
        death = self.death * f_death * (1.0 + s_death * self.dm)
        acsc = self.acsc * f_acsc * f_admit
        other = self.other * f_admit
        readmit = self.readmit * f_readmit
        routine = np.empty((k, len(ROUTINE), n))
        routine[:, R_PCP] = self.pcp * f_pcp + pcp_add
        routine[:, R_SPEC] = self.spec * f_spec
        routine[:, R_ED] = self.ed * f_ed * (1.0 + s_ed * self.dm)
        routine[:, R_OPPROC] = f_op * self.vm
        routine[:, R_CHRONIC] = self.chronic
        routine[:, R_OTHER] = self.oth
        routine[:, R_HH] = self.hh * d_pac
        return SteadyRates(
            p_unc=p_unc, death=death, acsc=acsc, other=other,
            elective=np.broadcast_to(self.elective, (k, n)),
            window=acsc + other + readmit, routine=routine,
            p_snf=np.clip(self.snf * d_pac * snf_rr, 0.0, 1.0),
            p_home_health=p_hh[:, 0], labs_per_visit=labs[:, 0],
            imaging_per_visit=imaging[:, 0], utility=self.u0 + p_unc * self.du)


@dataclass
class SteadyRates:
    """The rates of one plan year at one lever setting (:meth:`RatesBasis.steady`), each
    diabetic patient's control state at its steady state; per patient and year, outside the
    post-discharge window unless said otherwise."""

    p_unc: np.ndarray  # (n,) probability of uncontrolled diabetes (0: not diabetic)
    death: np.ndarray  # (n,) hazards
    acsc: np.ndarray
    other: np.ndarray
    elective: np.ndarray
    window: np.ndarray  # (n,) unplanned admissions in the window: acsc + other + readmission
    routine: np.ndarray  # (len(ROUTINE), n) routine services (rows in ROUTINE order)
    p_snf: np.ndarray  # (n,)
    p_home_health: float
    labs_per_visit: float
    imaging_per_visit: float
    utility: np.ndarray  # (n,) annual utility
