"""The care model's rates in columns (issue 16) are the doubles of the plain forms they
replace: ``year_rates`` and ``_lever_free`` as they were, the leakage mixture of the
laid-out tables (``mix_rates``) and the engine's packing of them (``_pack``), all copied
below from commit 150cf05, on random patients and levers, with and without the hospital's
levers."""

from __future__ import annotations

import numpy as np
import pytest

from sim.care.leakage import LeakageYear, _blend, _share, mix_parts
from sim.care.model import (
    _CI,
    _DM_UNC,
    _WINDOW,
    CONDITIONS,
    H_ACSC,
    H_DEATH,
    H_DM,
    H_ELECTIVE,
    H_OTHER,
    H_READMIT,
    HAZARDS,
    N_STATES,
    R_CHRONIC,
    R_ED,
    R_HH,
    R_OPPROC,
    R_OTHER,
    R_PCP,
    R_SPEC,
    ROUTINE,
    LeverArrays,
    YearRates,
    _condition_code,
    _lever_free,
    _LeverFree,
    _linear_rr,
    _ratio_table,
    pack_parts,
    rates_of,
    routine_table,
    year_parts,
    year_rates,
)
from sim.scenario import Scenario

SC = Scenario()


def mix_rates(lev: YearRates, ref: YearRates, pc_share: np.ndarray, other_share: float,
              outside: dict[str, int]) -> tuple[YearRates, LeakageYear]:
    """The leakage mixture of the laid-out tables, as it was (commit 150cf05)."""
    n = len(pc_share)
    w_routine = np.full((n, lev.routine.shape[-1]), other_share)
    w_routine[:, R_PCP] = pc_share
    # Only the shares used are computed (elementwise, so the same numbers): state 0 of
    # the routine services and hazards, state 1 of the readmission hazard.
    routine = _blend(lev.routine, ref.routine, w_routine[:, None, :])
    share_r = _share(routine[:, 0, :], ref.routine[:, 0, :], w_routine)
    hazards = _blend(lev.hazards, ref.hazards, other_share)
    p_snf = _blend(lev.p_snf, ref.p_snf, other_share)
    p_hh = _blend(lev.p_home_health, ref.p_home_health, other_share)
    labs = _blend(lev.labs_per_visit, ref.labs_per_visit, other_share)
    imaging = _blend(lev.imaging_per_visit, ref.imaging_per_visit, other_share)
    pac_factor = _blend(lev.institutional_pac_factor, ref.institutional_pac_factor,
                        other_share)
    los = lev.episode_snf_los_factor
    if los is not None:
        los = _blend(los, ref.episode_snf_los_factor if ref.episode_snf_los_factor is not None
                     else np.ones_like(los), other_share)
    # State factors multiply lever-free parts: the outside share is the same in every
    # state, except the readmission hazard (zero outside the post-discharge window).
    h_share = _share(hazards[:, 0, :], ref.hazards[:, 0, :], other_share)
    h_share[:, H_READMIT] = _share(hazards[:, 1, H_READMIT], ref.hazards[:, 1, H_READMIT],
                                   other_share)
    total = lev.total if hazards is lev.hazards else hazards.sum(axis=-1)
    rates = YearRates(hazards=np.ascontiguousarray(hazards), total=total,
                      routine=np.ascontiguousarray(routine), p_snf=p_snf, p_home_health=p_hh,
                      labs_per_visit=labs, imaging_per_visit=imaging, utility=lev.utility,
                      institutional_pac_factor=pac_factor, episode_snf_los_factor=los)
    leak = LeakageYear(routine=share_r, hazards=h_share,
                       labs_ref=ref.labs_per_visit, labs_lev=lev.labs_per_visit,
                       imaging_ref=ref.imaging_per_visit, imaging_lev=lev.imaging_per_visit,
                       outside=outside)
    return rates, leak


def _pack(rates: YearRates) -> np.ndarray:
    """``sim.care.engine._pack`` as it was (commit 150cf05): per patient and state, total
    hazard, the cumulative hazards (as ``np.cumsum`` adds them, one after the other) and
    the primary-care demand rate, in one (n, 4, 8) table."""
    h = rates.hazards
    n, states, k = h.shape
    packed = np.empty((n, states, k + 2))
    packed[..., 0] = rates.total
    packed[..., 1] = h[..., 0]
    for j in range(1, k):
        np.add(packed[..., j], h[..., j], out=packed[..., j + 1])
    packed[..., k + 1] = rates.routine[:, :, R_PCP]
    return packed


def _lever_free_plain(sc: Scenario, age: np.ndarray, morb: np.ndarray,
                conditions: np.ndarray) -> _LeverFree:
    """_lever_free as it was (commit 150cf05): per-patient arithmetic."""
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



def year_rates_plain(
    sc: Scenario,
    age: np.ndarray,
    morb: np.ndarray,
    conditions: np.ndarray,
    levers: LeverArrays,
) -> YearRates:
    """year_rates as it was before issue 16's column form (commit 150cf05)."""
    cl, le = sc.clinical, sc.lever_effects
    n = len(age)
    base = _lever_free_plain(sc, age, morb, conditions)
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



def _patients(n: int, seed: int):
    rng = np.random.default_rng(seed)
    age = rng.uniform(64.0, 100.0, n)
    morb = np.exp(rng.normal(0.0, 0.6, n))
    conditions = rng.random((n, len(CONDITIONS))) < 0.3
    return rng, age, morb, conditions


def _levers(rng, n: int, hospital: bool, few: bool = True) -> LeverArrays:
    """Levers per patient: a few distinct settings (as per provider), or any."""
    def pick(lo, hi):
        vals = rng.uniform(lo, hi, 3 if few else n)
        return vals[rng.integers(0, 3, n)] if few else vals
    d = pick(0.6, 1.3)
    d[:5] = 1.0  # the FFS norm exactly
    return LeverArrays(
        discretionary_intensity=d, prevention_effort=pick(0.0, 1.0),
        transitional_care_effort=pick(0.0, 1.0), coding_intensity=pick(0.0, 1.0),
        elective_volume=pick(0.7, 1.2) if hospital else None,
        post_acute_intensity=pick(0.7, 1.2) if hospital else None,
        specialist_volume=pick(0.8, 1.2) if hospital else None)


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


FIELDS = ("hazards", "total", "routine", "p_snf", "p_home_health", "institutional_pac_factor",
          "labs_per_visit", "imaging_per_visit", "utility", "episode_snf_los_factor")


@pytest.mark.parametrize("hospital", [False, True])
@pytest.mark.parametrize("few", [True, False])
def test_year_rates_are_the_plain_forms_doubles(hospital, few):
    rng, age, morb, cond = _patients(1_500, 1 + hospital + 2 * few)
    lv = _levers(rng, len(age), hospital, few)
    plain = year_rates_plain(SC, age, morb, cond, lv)
    new = year_rates(SC, age, morb, cond, lv)
    for f in FIELDS:
        assert _same(getattr(new, f), getattr(plain, f)), f
    base_plain = _lever_free_plain(SC, age, morb, cond)
    base = _lever_free(SC, age, morb, cond)
    for f in base.__dataclass_fields__:
        assert _same(getattr(base, f), getattr(base_plain, f)), f
    # given the lever-free parts, the same
    again = year_rates(SC, age, morb, cond, lv, base)
    assert all(_same(getattr(again, f), getattr(plain, f)) for f in FIELDS)
    assert new.hazards.flags.c_contiguous and new.routine.flags.c_contiguous


@pytest.mark.parametrize("same_levers", [False, True])
def test_mixing_and_packing_the_columns_are_the_laid_out_tables_doubles(same_levers):
    rng, age, morb, cond = _patients(1_200, 7 + same_levers)
    n = len(age)
    lv = _levers(rng, n, True)
    ref_lv = lv if same_levers else _levers(rng, n, False)
    pc_share = rng.uniform(0.0, 0.4, n)
    pc_share[:10] = 0.0
    outside = {"primary_care": 7, "specialist": 8, "hospital": 9}
    lev_r = year_rates(SC, age, morb, cond, lv)
    ref_r = lev_r if same_levers else year_rates(SC, age, morb, cond, ref_lv)
    mixed, leak = mix_rates(lev_r, ref_r, pc_share, 0.17, outside)
    lev_p = year_parts(SC, age, morb, cond, lv)
    ref_p = lev_p if same_levers else year_parts(SC, age, morb, cond, ref_lv)
    parts, leak_p = mix_parts(lev_p, ref_p, pc_share, 0.17, outside)
    got = rates_of(parts)
    for f in FIELDS:
        assert _same(getattr(got, f), getattr(mixed, f)), f
    for f in ("routine", "hazards", "labs_ref", "labs_lev", "imaging_ref", "imaging_lev"):
        assert _same(getattr(leak_p, f), getattr(leak, f)), f
    assert leak_p.outside == leak.outside
    # packing the columns is packing the laid-out table, also into a given buffer
    assert _same(pack_parts(parts), _pack(mixed))
    buf = np.full((n, N_STATES, len(HAZARDS) + 2), np.nan)
    assert pack_parts(parts, buf) is buf and _same(buf, _pack(mixed))
    rbuf = np.full((n, N_STATES, len(ROUTINE)), np.nan)
    assert routine_table(parts, rbuf) is rbuf and _same(rbuf, mixed.routine)
    lean = rates_of(parts, hazards=False)
    assert lean.hazards is None and lean.total is None and _same(lean.routine, mixed.routine)
    with pytest.raises(ValueError, match="out must be float64"):
        pack_parts(parts, np.empty((n, N_STATES, 3)))


def test_totals_and_packing_follow_numpys_sum_with_signed_zeros():
    """A row of -0.0 hazards sums to +0.0 in NumPy; the column totals do the same."""
    rng, age, morb, cond = _patients(400, 11)
    parts = year_parts(SC, age, morb, cond, _levers(rng, 400, False))
    for k in range(len(HAZARDS)):
        for s in range(N_STATES):
            col = np.array(parts.hazards[k][s], dtype=float, copy=True) * np.ones(400)
            col[:40] = -0.0
            col[40:60] = 0.0
            parts.hazards[k][s] = col
    laid = rates_of(parts)
    assert _same(laid.total, laid.hazards.sum(axis=-1))
    assert not np.signbit(laid.total[:40]).any()
    assert _same(pack_parts(parts), _pack(laid))
