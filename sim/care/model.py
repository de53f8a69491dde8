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

from collections.abc import Callable
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


#: Per 5-bit condition code (bit ``i``: ``CONDITIONS[i]``): the number of conditions, and
#: the 4-bit code of :func:`_condition_code` (heart failure, COPD, CKD, diabetes).
_BITS = np.arange(2 ** len(CONDITIONS))
_NCOND = sum((_BITS >> i) & 1 for i in range(len(CONDITIONS))).astype(np.int64)
_CODE_OF_BITS = sum(((_BITS >> _CI[name]) & 1) << bit
                    for bit, name in enumerate(_CODE_CONDITIONS)).astype(np.intp)
_CODE_BOOLS = ((_BITS[:, None] >> np.arange(len(CONDITIONS))[None, :]) & 1).astype(bool)


def _condition_bits(conditions: np.ndarray) -> np.ndarray:
    """Per patient, the 5-bit code ``sum_i conditions[:, i] << i`` (intp)."""
    cond = np.ascontiguousarray(conditions, dtype=bool)
    if cond.ndim != 2 or cond.shape[1] != len(CONDITIONS):
        raise ValueError(f"conditions must be a boolean (n, {len(CONDITIONS)}) matrix in "
                         f"CONDITIONS order {CONDITIONS}, got shape {cond.shape}")
    return np.packbits(cond, axis=1, bitorder="little")[:, 0].astype(np.intp)


def _utility_table(uc: object) -> np.ndarray:
    """Annual utility with controlled (or no) diabetes before clipping, by ``32 x (age <
    75) + 5-bit condition code``: the base of the age band minus each condition's
    decrement, subtracted in ``CONDITIONS`` order (as per patient, the same doubles)."""
    young = np.repeat([False, True], len(_BITS))
    cond = np.tile(_CODE_BOOLS, (2, 1))
    base = np.where(young, uc.base_65_74, uc.base_75_plus)  # type: ignore[attr-defined]
    for name in CONDITIONS:
        base = base - getattr(uc, f"decrement_{name}") * cond[:, _CI[name]]
    return base


def _powers_of(x: np.ndarray) -> Callable[[float], np.ndarray]:
    """``e -> x ** e``, each exponent computed once (several rates share an exponent)."""
    powers: dict[float, np.ndarray] = {}

    def power(e: float) -> np.ndarray:
        got = powers.get(e)
        if got is None:
            got = powers[e] = x**e
        return got

    return power


def _lever_free(sc: Scenario, age: np.ndarray, morb: np.ndarray,
                conditions: np.ndarray) -> _LeverFree:
    """:class:`_LeverFree` of the patients (age in years, latent morbidity, conditions).

    Speed (issue 16; the same doubles as per-patient arithmetic): what depends on the
    conditions alone (their number, the condition ratios, the utility decrements) is
    looked up by the patient's 5-bit condition code in tables computed with the same
    operations in the same order; each power of the morbidity is computed once."""
    cl = sc.clinical
    dm = conditions[:, _CI["diabetes"]]
    bits = _condition_bits(conditions)
    ncond = _NCOND[bits]
    code = _CODE_OF_BITS[bits]
    mo, ad, ut, pa, uc = cl.mortality, cl.admissions, cl.utilisation, cl.post_acute, cl.utility
    morb_to = _powers_of(morb)  # morb ** e, once per exponent
    vm = morb_to(ut.visit_morbidity_exponent)
    young = (age < 75).astype(np.intp)
    return _LeverFree(
        dm=dm,
        death=(mo.rate_at_65_per_year * np.exp(mo.gompertz_slope_per_year * (age - 65.0))
               * _ratio_table(mo.hr_heart_failure, mo.hr_copd, mo.hr_ckd,
                              mo.hr_diabetes)[code]
               * morb_to(mo.morbidity_exponent)),
        admit=(ad.rate_per_year * morb_to(ad.morbidity_exponent)
               * _ratio_table(ad.rr_heart_failure, ad.rr_copd, ad.rr_ckd, ad.rr_diabetes)[code]),
        readmit=ad.readmission_rate_per_year * morb_to(ad.readmission_morbidity_exponent),
        vm=vm,
        pcp=(ut.pcp_visits_per_year + ut.pcp_visits_per_condition * ncond) * vm,
        spec=(ut.specialist_visits_per_year + ut.specialist_visits_per_condition * ncond) * vm,
        ed=ut.ed_visits_per_year * morb_to(ut.ed_morbidity_exponent),
        chronic=ut.chronic_services_per_year * morb_to(ut.chronic_services_morbidity_exponent),
        oth=ut.other_claims_per_year * morb_to(ut.other_claims_morbidity_exponent),
        hh=pa.home_health_chronic_per_year * morb,
        snf=pa.snf_probability * morb_to(pa.snf_morbidity_exponent),
        utility=_utility_table(uc)[young * len(_BITS) + bits])


def year_rates(
    sc: Scenario,
    age: np.ndarray,
    morb: np.ndarray,
    conditions: np.ndarray,
    levers: LeverArrays,
    base: _LeverFree | None = None,
) -> YearRates:
    """Compute every rate of the care model for one plan year.

    ``age`` in years, ``morb`` the latent morbidity multiplier (mean 1), ``conditions`` a
    boolean (n, 5) matrix in ``CONDITIONS`` order, ``levers`` per patient; ``base``: the
    patients' :func:`_lever_free` parts if already computed (the same patients, ages and
    morbidity). The tables of :func:`year_parts`, laid out (:func:`rates_of`).
    """
    return rates_of(year_parts(sc, age, morb, conditions, levers, base))


@dataclass
class YearParts:
    """:func:`year_rates`' tables before they are laid out: each (hazard or routine
    service, state) column as an (n,) array, or a float where it is one value for
    everybody. States whose values are equal share one array (the same object), so what is
    done to a column elementwise (the leakage mixture, ``sim.care.leakage.mix_parts``) is
    done once for them; the per-patient rates are those of :class:`YearRates`."""

    n: int
    hazards: list[list[np.ndarray | float]]  # [hazard][state], HAZARDS order
    routine: list[list[np.ndarray]]  # [service][state], ROUTINE order
    p_snf: np.ndarray
    p_home_health: np.ndarray
    institutional_pac_factor: np.ndarray
    labs_per_visit: np.ndarray
    imaging_per_visit: np.ndarray
    utility: np.ndarray
    episode_snf_los_factor: np.ndarray | None = None


def year_parts(
    sc: Scenario,
    age: np.ndarray,
    morb: np.ndarray,
    conditions: np.ndarray,
    levers: LeverArrays,
    base: _LeverFree | None = None,
) -> YearParts:
    """The columns of :func:`year_rates`' tables (arguments as there).

    Speed (issue 16; results bit-identical to the per-state broadcasts this replaces): a
    per-state factor of 1.0 is left out (x * 1.0 is x), so a column is one (n,) product per
    distinct state; each power of a lever is computed once."""
    cl, le = sc.clinical, sc.lever_effects
    n = len(age)
    if base is None:
        base = _lever_free(sc, age, morb, conditions)
    dm = base.dm
    dmf = dm.astype(np.float64)
    d = levers.discretionary_intensity
    p = levers.prevention_effort
    t = levers.transitional_care_effort
    d_to = _powers_of(d)  # d ** e, once per exponent
    hz: list[list[np.ndarray | float]] = [[] for _ in HAZARDS]
    mo = cl.mortality
    underuse = np.maximum(1.0 - d, 0.0) ** 2  # needed care cut below the FFS norm
    death = base.death * (1.0 + le.underuse_harm_mortality * underuse)
    death_unc = death * np.where(dm, mo.hr_diabetes_uncontrolled, 1.0)  # states 2, 3
    phr = mo.post_discharge_hr
    hz[H_DEATH] = [death, death * phr, death_unc, death_unc * phr]
    ad = cl.admissions
    admit = base.admit
    admit_unc = admit * np.where(dm, ad.rr_diabetes_uncontrolled, 1.0)
    acsc_f = _linear_rr(le.prevention_acsc_rr, p) * (1.0 + le.underuse_harm * underuse)
    acsc, acsc_unc = (admit * ad.acsc_share) * acsc_f, (admit_unc * ad.acsc_share) * acsc_f
    hz[H_ACSC] = [acsc, acsc, acsc_unc, acsc_unc]
    other, other_unc = admit * (1.0 - ad.acsc_share), admit_unc * (1.0 - ad.acsc_share)
    hz[H_OTHER] = [other, other, other_unc, other_unc]
    readmit = base.readmit * _linear_rr(le.transitional_readmission_rr, t)
    hz[H_READMIT] = [0.0, readmit, 0.0, readmit]  # only in the post-discharge window

    el = cl.electives
    # Elective volume is the hospital's lever (issue 14), not the group's intensity (none:
    # a volume of 1, and rate * 1.0 is the rate). Not in the post-discharge window.
    v = levers.elective_volume
    rate_v = el.rate_per_year if v is None else el.rate_per_year * v**le.elasticity_electives
    elective = rate_v * (morb <= el.max_morbidity)
    hz[H_ELECTIVE] = [elective, 0.0, elective, 0.0]

    db = cl.diabetes
    gain = le.prevention_control_gain * p
    to_unc = db.rate_to_uncontrolled_per_year / (1.0 + 0.5 * gain)
    to_ctl = db.rate_to_controlled_per_year * (1.0 + gain)
    dm_01 = to_unc * dmf
    dm_23 = np.where(dm, to_ctl, to_unc) * dmf
    hz[H_DM] = [dm_01, dm_01, dm_23, dm_23]

    ut = cl.utilisation
    vm = base.vm
    pcp = base.pcp * d_to(le.elasticity_pcp_followup) + le.prevention_pcp_visits * p
    spec = base.spec * d_to(le.elasticity_specialist)
    ed = base.ed * _linear_rr(le.prevention_ed_rr, p) * d_to(le.elasticity_ed)
    opproc = ut.outpatient_procedures_per_year * d_to(le.elasticity_outpatient_procedures) * vm
    if levers.specialist_volume is not None:  # the specialists' response to their fees
        spec = spec * levers.specialist_volume
        opproc = opproc * levers.specialist_volume
    d_pac = d_to(le.elasticity_post_acute)
    hh = base.hh * d_pac
    ed_unc = ed * np.where(dm, ut.ed_rr_diabetes_uncontrolled, 1.0)
    rt: list[list[np.ndarray]] = [[] for _ in ROUTINE]
    for k, x in ((R_PCP, pcp), (R_SPEC, spec), (R_OPPROC, opproc), (R_CHRONIC, base.chronic),
                 (R_OTHER, base.oth), (R_HH, hh)):
        rt[k] = [x] * N_STATES
    rt[R_ED] = [ed, ed, ed_unc, ed_unc]

    pa = cl.post_acute
    # What practice does to discharge to institutional post-acute care (SNF, IRF)
    snf_rr = _linear_rr(le.transitional_snf_rr, t)
    institutional = d_pac * snf_rr
    a = levers.post_acute_intensity  # the hospital's discharge planning (joint replacement)
    if a is not None:
        institutional = institutional * a
    p_snf = np.clip(base.snf * d_pac * snf_rr, 0.0, 1.0)
    p_hh = np.clip(pa.home_health_probability * d_pac, 0.0, 1.0)
    d_tests = d_to(le.elasticity_tests)
    labs = ut.labs_per_visit * d_tests
    imaging = ut.imaging_per_visit * d_tests

    u = base.utility
    utility = np.empty((n, 2))
    utility[:, 0] = u
    utility[:, 1] = u - cl.utility.decrement_diabetes_uncontrolled * dm
    np.clip(utility, 0.05, 1.0, out=utility)

    return YearParts(
        n=n, hazards=hz, routine=rt, p_snf=p_snf, p_home_health=p_hh,
        institutional_pac_factor=institutional, labs_per_visit=labs,
        imaging_per_visit=imaging, utility=utility,
        episode_snf_los_factor=None if a is None
        else np.asarray(a, float) ** le.hospital_snf_los_elasticity)


def state_totals(parts: YearParts) -> list[np.ndarray]:
    """Per state, the total hazard, added column by column in the order
    ``hazards.sum(axis=-1)`` adds a row of the laid-out table (first to last, then to +0.0:
    a row of -0.0 sums to +0.0), so the same doubles."""
    return [0.0 + _cumulative(parts, s)[-1] for s in range(N_STATES)]


def _cumulative(parts: YearParts, state: int) -> list[np.ndarray]:
    """The partial sums h0, h0 + h1, ... of one state's hazards (as np.cumsum adds them)."""
    cols = [parts.hazards[k][state] for k in range(len(HAZARDS))]
    acc = np.asarray(cols[0], np.float64)
    out = [acc]
    for x in cols[1:]:
        acc = acc + x
        out.append(acc)
    return out


def pack_parts(parts: YearParts, out: np.ndarray | None = None) -> np.ndarray:
    """Per patient and state: the total hazard, the cumulative hazards (as ``np.cumsum``
    adds them, one after the other) and the primary-care demand rate, in one (n, 4, 8)
    table (the old packing of the laid-out rates, the same doubles: the last
    partial sum plus +0.0 is the total hazard); written into ``out`` if given."""
    k = len(HAZARDS)
    shape = (parts.n, N_STATES, k + 2)
    packed = np.empty(shape) if out is None else out
    if packed.shape != shape or packed.dtype != np.float64:
        raise ValueError(f"pack_parts: out must be float64 {shape}, got {packed.dtype} "
                         f"{packed.shape}")
    for s in range(N_STATES):
        sums = _cumulative(parts, s)
        for j, x in enumerate(sums):
            packed[:, s, j + 1] = x
        packed[:, s, 0] = 0.0 + sums[-1]  # the total hazard (state_totals)
        packed[:, s, k + 1] = parts.routine[R_PCP][s]
    return packed


def routine_table(parts: YearParts, out: np.ndarray | None = None) -> np.ndarray:
    """The (n, 4, len(ROUTINE)) routine rates of ``parts`` laid out (into ``out`` if
    given)."""
    n = parts.n
    first = np.empty((n, len(ROUTINE)))
    for k, col in enumerate(parts.routine):
        first[:, k] = col[0]
    if out is None:
        routine = np.repeat(first, N_STATES, axis=0).reshape(n, N_STATES, len(ROUTINE))
    else:
        routine = out
        if routine.shape != (n, N_STATES, len(ROUTINE)) or routine.dtype != np.float64:
            raise ValueError(f"routine_table: out must be float64 "
                             f"{(n, N_STATES, len(ROUTINE))}, got {routine.dtype} "
                             f"{routine.shape}")
        for s in range(N_STATES):
            routine[:, s, :] = first
    for k, col in enumerate(parts.routine):
        for s in range(1, N_STATES):
            if col[s] is not col[0]:
                routine[:, s, k] = col[s]
    return routine


def rates_of(parts: YearParts, hazards: bool = True,
             routine_out: np.ndarray | None = None) -> YearRates:
    """The :class:`YearRates` of ``parts``; without ``hazards``, the hazard table and its
    total are left out (None: the care engine packs them with :func:`pack_parts`);
    ``routine_out``: where to lay out the routine table (:func:`routine_table`)."""
    n = parts.n
    table = total = None
    if hazards:
        table = np.empty((n, N_STATES, len(HAZARDS)))
        total = np.empty((n, N_STATES))
        for k, col in enumerate(parts.hazards):
            for s, x in enumerate(col):
                table[:, s, k] = x
        for s, x in enumerate(state_totals(parts)):
            total[:, s] = x
    return YearRates(
        hazards=table,
        total=total,
        routine=routine_table(parts, routine_out),
        p_snf=parts.p_snf,
        p_home_health=parts.p_home_health,
        institutional_pac_factor=parts.institutional_pac_factor,
        labs_per_visit=parts.labs_per_visit,
        imaging_per_visit=parts.imaging_per_visit,
        utility=parts.utility,
        episode_snf_los_factor=parts.episode_snf_los_factor,
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
