"""The behaviour model's panel expectation (issue 16): the fast path
(``sim.behaviour.expected.expected_panels``: the care model's lever-free rates once per
sample, care parts kept by (d, p, t), coding and prices by what they read) equals the plain
definition (``expected_panels_direct``: ``year_rates`` on the sample at each setting) within
a relative difference of 1e-9 in every field (measured: ~1e-15, rounding of sums taken in
another order), on shipped scenarios and with coding fees, CDI, several payers (one empty),
the legacy and the CMS-HCC risk score and another fee schedule; and its caches never leak
between settings, scenarios or callers that scale the results in place."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from sim.behaviour.expected import (
    HccSample,
    PanelSample,
    expected_panel,
    expected_panels,
    expected_panels_direct,
)
from sim.coding import hcc
from sim.scenario import load_scenario, scenario_from_dict

RTOL = 1e-9
SCEN = Path(__file__).resolve().parents[2] / "scenarios"
# (d, p, t, c): the first repeats (d, p, t) with another c (a cached care part), the others
# move every lever (below and above the FFS norm, zero and full efforts)
SETTINGS = [(1.0, 0.2, 0.3, 0.1), (1.0, 0.2, 0.3, 0.7), (0.5, 0.0, 1.0, 0.0),
            (1.6, 1.0, 0.0, 1.0), (0.85, 0.55, 0.4, 0.35)]


def _sample(n: int, seed: int, with_hcc: bool, n_payers: int = 2) -> PanelSample:
    rng = np.random.default_rng(seed)
    hs = None
    if with_hcc:
        hs = HccSample(female=rng.random(n) < 0.55, segment=np.zeros(n, np.int8),
                       orig_disabled=rng.random(n) < 0.1,
                       draws=rng.standard_normal((n, len(hcc.LIABILITIES))),
                       z=rng.standard_normal(n), norms={"V24": 1.05, "V28": 1.1}, w28=0.67)
    return PanelSample(age=rng.uniform(65, 98, n), morb=rng.lognormal(0, 0.8, n),
                       conditions=rng.random((n, 5)) < 0.3, coding_u=rng.random((n, 5)),
                       payer=rng.integers(0, n_payers, n).astype(np.int64),
                       weight=rng.uniform(2.0, 5.0, n), risk_norm=1.07, hcc=hs)


def _copy(sample: PanelSample) -> PanelSample:
    """A fresh copy (no caches: neither the fast path's basis nor a fitted CMS-HCC quartic)."""
    out = dataclasses.replace(sample)
    if sample.hcc is not None:
        out.hcc = dataclasses.replace(sample.hcc)
    return out


def _assert_close(old, new) -> None:
    for f in dataclasses.fields(old):
        x, y = getattr(old, f.name), getattr(new, f.name)
        if isinstance(x, dict):
            assert x.keys() == y.keys()
            x, y = np.array(list(x.values())), np.array([y[k] for k in x])
        if f.name == "coding_uplift":
            # None means zeros (its one reader, ProviderProblem.money, subtracts it): the
            # direct batch gives a setting at reference coding zeros when another setting of
            # the batch codes, alone None; the fast path gives each setting its own (None).
            zeros = np.zeros_like(old.spend)
            x, y = (zeros if x is None else x), (zeros if y is None else y)
        x, y = np.asarray(x, float), np.asarray(y, float)
        scale = max(float(np.max(np.abs(x))), 1e-300)
        assert float(np.max(np.abs(x - y))) <= RTOL * scale, f.name


SCENARIOS = {
    "mssp_two_sided": lambda: load_scenario(SCEN / "mssp_two_sided.yaml"),
    "bundled_cdi": lambda: load_scenario(SCEN / "bundled_joint_replacement.yaml")
    .model_copy(update={"coding_fees": load_scenario(
        SCEN / "bundled_joint_replacement.yaml").coding_fees.model_copy(
            update={"hospital_cdi_effort": 0.6})}),
    "no_em_pricing": lambda: scenario_from_dict({"population": {"size": 100},
                                                 "coding_fees": {"em_level_pricing": False}}),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("with_hcc", [True, False])
def test_fast_path_equals_the_plain_definition(name, with_hcc):
    sc = SCENARIOS[name]()
    sample = _sample(300, 1, with_hcc, n_payers=2)
    other_prices = sc.prices.model_copy(update={"pcp_visit_usd": 150.0,
                                                "admission_mean_usd": 17000.0})
    fast = _copy(sample)
    for prices, n_payers in ((None, 3), (other_prices, 3)):  # payer 2 has no members
        old = expected_panels_direct(sc, sample, SETTINGS, prices, n_payers)
        new = expected_panels(sc, fast, SETTINGS, prices, n_payers)
        for a, b in zip(old, new, strict=True):
            _assert_close(a, b)
        assert new[0].spend[2].sum() == 0.0
    # at the reference coding nothing is coding's uplift (without CDI)
    assert new[2].coding_uplift is None or sc.coding_fees.hospital_cdi_effort > 0


def test_caches_do_not_leak_between_settings_scenarios_or_callers():
    sc = scenario_from_dict({"population": {"size": 100}})
    cdi = scenario_from_dict({"population": {"size": 100},
                              "coding_fees": {"hospital_cdi_effort": 1.0}})
    sample = _sample(200, 2, True)
    rng = np.random.default_rng(5)
    many = [tuple(rng.uniform([0.3, 0, 0, 0], [2, 1, 1, 1])) for _ in range(20)]  # > cache
    first = expected_panels(sc, sample, SETTINGS + many, None, 2)
    for exp in first:  # ProviderProblem.panels scales its results in place (the anchor)
        exp.spend *= 3.0
        exp.count *= 3.0
        exp.person_years *= 3.0
        exp.risk *= 3.0
    # again, in another order, after the care cache evicted the first settings
    again = expected_panels(sc, sample, (SETTINGS + many)[::-1], None, 2)[::-1]
    ref = expected_panels_direct(sc, _copy(sample), SETTINGS + many, None, 2)
    for a, b in zip(ref, again, strict=True):
        _assert_close(a, b)
    # the same sample under another scenario (the CDI factor): a new basis, the right prices
    _assert_close(expected_panels_direct(cdi, _copy(sample), SETTINGS[:1], None, 2)[0],
                  expected_panel(cdi, sample, SETTINGS[0], None, 2))


def test_fast_path_reads_the_sample_cdi_effort():
    sc = load_scenario(SCEN / "bundled_joint_replacement.yaml")
    sample = _sample(200, 3, False)
    fast = _copy(sample)
    for effort in (None, 0.8, 0.0):
        sample.cdi_effort = fast.cdi_effort = effort
        for a, b in zip(expected_panels_direct(sc, sample, SETTINGS, None, 2),
                        expected_panels(sc, fast, SETTINGS, None, 2), strict=True):
            _assert_close(a, b)
