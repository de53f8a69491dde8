"""The care model's rates respond to state and levers with the documented effect sizes."""

import numpy as np
import pytest

from sim.care.model import (
    H_ACSC,
    H_DEATH,
    H_DM,
    H_ELECTIVE,
    H_OTHER,
    H_READMIT,
    R_ED,
    R_OPPROC,
    R_PCP,
    R_SPEC,
    LeverArrays,
    year_rates,
)
from sim.scenario import Scenario

SC = Scenario()


def rates(n=3, d=1.0, p=0.0, t=0.0, c=0.0, conditions=None, morb=None, age=None):
    conditions = np.zeros((n, 5), bool) if conditions is None else conditions
    lv = LeverArrays(*(np.full(n, x) for x in (d, p, t, c)))
    return year_rates(SC, np.full(n, 70.0) if age is None else age,
                      np.ones(n) if morb is None else morb, conditions, lv)


def test_state_codes_switch_readmission_and_electives():
    r = rates()
    # state = 2 * diabetes_uncontrolled + window
    assert np.all(r.hazards[:, 0, H_READMIT] == 0) and np.all(r.hazards[:, 1, H_READMIT] > 0)
    assert np.all(r.hazards[:, 1, H_ELECTIVE] == 0) and np.all(r.hazards[:, 0, H_ELECTIVE] > 0)
    assert r.hazards[0, 1, H_DEATH] == pytest.approx(
        SC.clinical.mortality.post_discharge_hr * r.hazards[0, 0, H_DEATH])
    np.testing.assert_allclose(r.total, r.hazards.sum(-1))


def test_uncontrolled_diabetes_raises_admissions_and_ed():
    cond = np.zeros((1, 5), bool)
    cond[0, 0] = True
    r = rates(n=1, conditions=cond)
    ad = SC.clinical.admissions
    assert r.hazards[0, 2, H_OTHER] == pytest.approx(ad.rr_diabetes_uncontrolled * r.hazards[0, 0, H_OTHER])
    assert r.routine[0, 2, R_ED] > r.routine[0, 0, R_ED]
    # Diabetics transition between control states; others never do.
    assert r.hazards[0, 0, H_DM] == pytest.approx(SC.clinical.diabetes.rate_to_uncontrolled_per_year)
    assert rates(n=1).hazards[0, 0, H_DM] == 0


def test_prevention_effort_effect_sizes():
    le = SC.lever_effects
    r0, r1 = rates(p=0.0), rates(p=1.0)
    assert r1.hazards[0, 0, H_ACSC] / r0.hazards[0, 0, H_ACSC] == pytest.approx(le.prevention_acsc_rr)
    assert r1.hazards[0, 0, H_OTHER] == pytest.approx(r0.hazards[0, 0, H_OTHER])  # not preventable
    assert r1.routine[0, 0, R_ED] / r0.routine[0, 0, R_ED] == pytest.approx(le.prevention_ed_rr)
    assert r1.routine[0, 0, R_PCP] - r0.routine[0, 0, R_PCP] == pytest.approx(le.prevention_pcp_visits)
    half = rates(p=0.5)
    assert half.hazards[0, 0, H_ACSC] / r0.hazards[0, 0, H_ACSC] == pytest.approx(
        1 - 0.5 * (1 - le.prevention_acsc_rr))


def test_transitional_care_effect_size():
    le = SC.lever_effects
    r0, r1 = rates(t=0.0), rates(t=1.0)
    assert r1.hazards[0, 1, H_READMIT] / r0.hazards[0, 1, H_READMIT] == pytest.approx(
        le.transitional_readmission_rr)
    assert r1.p_snf[0] / r0.p_snf[0] == pytest.approx(le.transitional_snf_rr)


def test_discretionary_intensity_elasticities():
    le = SC.lever_effects
    r0, r1 = rates(d=1.0), rates(d=1.1)
    # Elective inpatient volume is the hospital's lever since issue 14 (elective_volume,
    # tests/behaviour/test_hospital_levers.py), not the group's intensity.
    assert r1.hazards[0, 0, H_ELECTIVE] == pytest.approx(r0.hazards[0, 0, H_ELECTIVE])
    assert r1.routine[0, 0, R_OPPROC] / r0.routine[0, 0, R_OPPROC] == pytest.approx(
        1.1**le.elasticity_outpatient_procedures)
    assert r1.routine[0, 0, R_SPEC] / r0.routine[0, 0, R_SPEC] == pytest.approx(
        1.1**le.elasticity_specialist)
    assert r1.labs_per_visit[0] / r0.labs_per_visit[0] == pytest.approx(1.1**le.elasticity_tests)
    # Non-discretionary care does not move.
    assert r1.hazards[0, 0, H_OTHER] == pytest.approx(r0.hazards[0, 0, H_OTHER])


def test_morbidity_and_age_raise_hazards():
    r = rates(n=2, morb=np.array([1.0, 4.0]))
    assert r.hazards[1, 0, H_OTHER] / r.hazards[0, 0, H_OTHER] == pytest.approx(
        4.0**SC.clinical.admissions.morbidity_exponent)
    r = rates(n=2, age=np.array([65.0, 85.0]))
    assert r.hazards[1, 0, H_DEATH] / r.hazards[0, 0, H_DEATH] == pytest.approx(
        np.exp(20 * SC.clinical.mortality.gompertz_slope_per_year))
    assert np.all((r.utility > 0) & (r.utility <= 1))


def test_cutting_discretionary_care_below_the_norm_harms():
    le = SC.lever_effects
    r1, r7 = rates(d=1.0), rates(d=0.7)
    assert r7.hazards[0, 0, H_ACSC] / r1.hazards[0, 0, H_ACSC] == pytest.approx(1 + 0.09 * le.underuse_harm)
    assert r7.hazards[0, 0, H_DEATH] / r1.hazards[0, 0, H_DEATH] == pytest.approx(
        1 + 0.09 * le.underuse_harm_mortality)
    # Above the norm there is no extra benefit or harm on these hazards.
    assert rates(d=1.3).hazards[0, 0, H_ACSC] == pytest.approx(r1.hazards[0, 0, H_ACSC])
