"""The fast paths of the behaviour model give the same numbers as the plain ones.

* ``expected_panels`` (several lever settings in one vectorised pass, totals by
  ``np.bincount``) equals ``expected_panel`` of each setting computed alone the old way
  (``np.add.at``) exactly, bit for bit;
* chosen optima are rounded to the lever grid (cross-CPU robustness).
"""

import numpy as np
import pytest

from sim.behaviour.expected import PanelSample, expected_panel, expected_panels
from sim.behaviour.model import BOUNDS, LEVER_GRID, round_levers
from sim.scenario import scenario_from_dict


@pytest.fixture(scope="module")
def sample_and_scenario():
    sc = scenario_from_dict({"population": {"size": 100}})
    n = 300
    rng = np.random.default_rng(0)
    sample = PanelSample(age=rng.uniform(65, 95, n), morb=rng.lognormal(0, 0.8, n),
                         conditions=rng.random((n, 5)) < 0.3, coding_u=rng.random((n, 5)),
                         payer=rng.integers(0, 2, n), weight=np.full(n, 3.7), risk_norm=1.13)
    return sample, sc


def _fields_equal(a, b) -> bool:
    for f in a.__dataclass_fields__:
        x, y = getattr(a, f), getattr(b, f)
        if isinstance(x, dict):
            if x.keys() != y.keys() or any(x[k] != y[k] for k in x):
                return False
        elif not np.array_equal(np.asarray(x), np.asarray(y)):
            return False
    return True


def test_batched_expectation_is_bit_identical_to_one_setting_at_a_time(sample_and_scenario):
    sample, sc = sample_and_scenario
    rng = np.random.default_rng(1)
    settings = [tuple(rng.uniform([0.3, 0, 0, 0], [2, 1, 1, 1])) for _ in range(4)]
    batch = expected_panels(sc, sample, settings, None, 2)
    for lv, exp in zip(settings, batch, strict=True):
        assert _fields_equal(expected_panel(sc, sample, lv, None, 2), exp)


def test_per_payer_totals_add_up(sample_and_scenario):
    # Person-years: members x exposure (1 - half the death hazard); spending by payer and
    # service sums to the total the contracts read.
    sample, sc = sample_and_scenario
    exp = expected_panel(sc, sample, (1.0, 0.2, 0.3, 0.1), None, 2)
    assert exp.spend.shape == (2, exp.spend.shape[1])
    assert exp.person_years.sum() == pytest.approx(
        float(np.sum(sample.weight)) * 0.97, rel=0.03)
    assert exp.total_by_payer().sum() == pytest.approx(float(exp.spend.sum()), rel=1e-12)
    for p in range(2):
        assert exp.person_years[p] <= float(sample.weight[sample.payer == p].sum())


def test_optimum_is_rounded_to_the_lever_grid_inside_the_bounds():
    x = round_levers((0.912345678, 0.0000049, 1.00004, 0.33336))
    assert x == (0.9123, 0.0, 1.0, 0.3334)
    assert all(abs(v / LEVER_GRID - round(v / LEVER_GRID)) < 1e-6 for v in x)
    assert round_levers((2.5, -0.1, 0.5, 0.5)) == (BOUNDS[0][1], 0.0, 0.5, 0.5)
