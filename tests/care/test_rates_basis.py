"""``sim.care.model.RatesBasis.steady`` (the behaviour model's fast path, issue 16) equals
the mixture over diabetic control states of :func:`sim.care.model.year_rates`' tables that
the direct expectation (``sim.behaviour.expected.expected_panels_direct``) takes, to
floating-point rounding, at lever settings that exercise every lever effect (below and above
the FFS norm, zero and full efforts) and with non-default lever effects."""

import numpy as np
import pytest

from sim.care.model import (
    H_ACSC,
    H_DEATH,
    H_DM,
    H_ELECTIVE,
    H_OTHER,
    H_READMIT,
    ROUTINE,
    LeverArrays,
    RatesBasis,
    year_rates,
)
from sim.scenario import scenario_from_dict

SETTINGS = [(1.0, 0.0, 0.0), (0.6, 0.3, 0.7), (1.7, 1.0, 1.0), (0.3, 0.9, 0.05)]


@pytest.fixture(scope="module", params=["default", "effects"])
def case(request):
    cfg = {"population": {"size": 100}}
    if request.param == "effects":  # every lever effect away from its default
        cfg["lever_effects"] = {"underuse_harm": 0.4, "underuse_harm_mortality": 0.2,
                                "prevention_control_gain": 1.5, "transitional_snf_rr": 0.6}
    sc = scenario_from_dict(cfg)
    n = 400
    rng = np.random.default_rng(3)
    age = rng.uniform(65, 100, n)
    morb = rng.lognormal(0, 0.9, n)
    conditions = rng.random((n, 5)) < 0.35
    return sc, age, morb, conditions


def _direct(sc, age, morb, conditions, d, p, t):
    """The mixtures as expected_panels_direct takes them from year_rates."""
    n = len(age)
    r = year_rates(sc, age, morb, conditions, LeverArrays(*(np.full(n, x) for x in (d, p, t, 0.5))))
    dm = conditions[:, 0]
    to_ctl, to_unc = r.hazards[:, 2, H_DM], r.hazards[:, 0, H_DM]
    p_unc = np.where(dm, to_unc / np.maximum(to_unc + to_ctl, 1e-12), 0.0)
    w0, w2 = 1.0 - p_unc, p_unc

    def mix(arr, window=0):
        return w0 * arr[:, 0 + window] + w2 * arr[:, 2 + window]

    hz = r.hazards
    return {
        "p_unc": p_unc, "death": mix(hz[..., H_DEATH]), "acsc": mix(hz[..., H_ACSC]),
        "other": mix(hz[..., H_OTHER]), "elective": mix(hz[..., H_ELECTIVE]),
        "window": mix(hz[..., H_ACSC] + hz[..., H_OTHER] + hz[..., H_READMIT], 1),
        "routine": np.stack([mix(r.routine[..., k]) for k in range(len(ROUTINE))]),
        "p_snf": r.p_snf, "p_home_health": r.p_home_health,
        "labs_per_visit": r.labs_per_visit, "imaging_per_visit": r.imaging_per_visit,
        "utility": np.where(dm, w0 * r.utility[:, 0] + w2 * r.utility[:, 1], r.utility[:, 0]),
    }


@pytest.mark.parametrize("setting", SETTINGS)
def test_steady_rates_equal_the_mixture_of_year_rates(case, setting):
    sc, age, morb, conditions = case
    got = RatesBasis(sc, age, morb, conditions).steady(*setting)
    want = _direct(sc, age, morb, conditions, *setting)
    assert want["p_unc"].max() > 0.05  # diabetics present, control mixture exercised
    for name, ref in want.items():
        np.testing.assert_allclose(np.broadcast_to(getattr(got, name), np.shape(ref)), ref,
                                   rtol=1e-13, atol=1e-300, err_msg=name)
