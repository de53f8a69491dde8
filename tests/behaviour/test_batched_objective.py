"""The behaviour objective evaluated at several lever points in one call (issue 16) gives
each point the numbers it gets alone, bit for bit:

* the care model's rates (``RatesBasis.steady_many``) and the panel's care parts
  (``expected._care_parts``) of a batch, row by row, equal those of each setting alone;
* the expected payoffs' moments (``expectation.piecewise_normal_moments_many``,
  ``expected_by_savings_rate_many``) equal one call per candidate;
* ``ProviderProblem.utility_many`` and ``HospitalProblem.utility_many`` equal
  ``utility`` of each point, whatever the batch (MSSP and REACH problems captured from
  small replications);
* ``maximise`` with ``fn_many`` takes the same path and answer as without it.

(Measured before the change against the commit it started from: every field of
``expected_panels`` on the samples of ``test_panel_expectation.py`` and every decision of
three 10,000-patient PSA replications identical.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim.behaviour.hospital as hospital
import sim.behaviour.model as bm
from sim.behaviour import expected as E
from sim.care.model import RatesBasis
from sim.contracts.expectation import (
    expected_by_savings_rate,
    expected_by_savings_rate_many,
    piecewise_normal_moments,
    piecewise_normal_moments_many,
)
from sim.replication import simulate_replication
from sim.rng import replication_seeds
from sim.scenario import load_scenario

SCEN = Path(__file__).resolve().parents[2] / "scenarios"
SETTINGS = [(1.0, 0.2, 0.3), (0.5, 0.0, 1.0), (1.6, 1.0, 0.0), (0.85, 0.55, 0.4),
            (1.00001, 0.2, 0.3)]


def _patients(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.uniform(65, 98, n), rng.lognormal(0, 0.8, n), rng.random((n, 5)) < 0.3


def test_steady_rates_of_a_batch_are_those_of_each_setting():
    sc = load_scenario(SCEN / "mssp_two_sided.yaml")
    rb = RatesBasis(sc, *_patients(400, 0))
    batch = rb.steady_many(SETTINGS)
    for k, setting in enumerate(SETTINGS):
        one = rb.steady_many([setting])
        alone = rb.steady(*setting)
        for f in alone.__dataclass_fields__:
            row = np.asarray(getattr(batch, f))[k]
            assert np.array_equal(row, np.asarray(getattr(one, f))[0]), f
            assert np.array_equal(np.broadcast_to(getattr(alone, f), row.shape), row), f


@pytest.mark.parametrize("n_payers", [1, 3])
def test_care_parts_of_a_batch_are_those_of_each_setting(n_payers):
    sc = load_scenario(SCEN / "mssp_two_sided.yaml")
    age, morb, cond = _patients(300, 1)
    rng = np.random.default_rng(2)
    sample = E.PanelSample(age=age, morb=morb, conditions=cond, coding_u=rng.random((300, 5)),
                           payer=rng.integers(0, n_payers, 300).astype(np.int64),
                           weight=rng.uniform(2, 5, 300), risk_norm=1.07)
    b = E._basis(sc, sample, n_payers)
    batch = E._care_parts(b, sc, SETTINGS)
    for setting, part in zip(SETTINGS, batch, strict=True):
        alone = E._care_part(b, sc, *setting)
        for f in ("sums", "total", "p_encounter_rate"):
            assert np.array_equal(getattr(part, f), getattr(alone, f)), f


def test_payoff_moments_of_a_batch_are_those_of_each_candidate():
    rng = np.random.default_rng(3)
    for n_knots in (2, 9, 64, 161, 241):  # pairwise sums: below 8, blocks of 8, above 128
        knots = np.sort(rng.uniform(-0.5, 0.5, n_knots))
        values = rng.normal(size=(4, n_knots))
        mean, sd = rng.normal(0, 0.1, 4), rng.uniform(0.001, 0.2, 4)
        m, v = piecewise_normal_moments_many(knots, values, mean, sd)
        for j in range(4):
            assert (m[j], v[j]) == piecewise_normal_moments(knots, values[j], float(mean[j]),
                                                            float(sd[j]))

    class Ctx:  # the payoff tables' memo (sim.settlement.context.SettlementContext.memo)
        def __init__(self) -> None:
            self.d: dict = {}

        def memo(self, key, make):
            if key not in self.d:
                self.d[key] = make()
            return self.d[key]

    rates = np.linspace(-0.4, 0.4, 161)

    def rule(benchmark):
        def earned(e, q, r):
            s = benchmark - e
            return np.where(s > 0.02 * benchmark, 0.5 * s * (q / 100) * (1 + r), 0.3 * s)
        return earned

    cands = [(1e7 * (1 + 0.01 * j), 1e7 * (0.97 + 0.01 * j), 2e5 * (1 + j % 2),
              ((80.0 + 0.7 * j, 2.0), (0.3 + 0.01 * j, 0.05))) for j in range(6)]
    one = Ctx()
    alone = [expected_by_savings_rate(one, ("k",), rates, rule(b), b, mu, sd, xy,
                                      vectorised=True) for b, mu, sd, xy in cands]
    many = expected_by_savings_rate_many(
        Ctx(), [("k",)] * 6, rates, [rule(c[0]) for c in cands], [c[0] for c in cands],
        [c[1] for c in cands], [c[2] for c in cands], [c[3] for c in cands], vectorised=True)
    assert many == alone


@pytest.fixture(scope="module")
def problems():
    """The group's and the hospital's problems at their first solve in small MSSP, REACH and
    bundle (the hospital's own contract) replications (2 plan years, 600 patients, fast
    engine)."""
    got = {}
    orig_solve, orig_all = bm.ProviderProblem.solve_exact, hospital.HospitalProblem.solve_all

    def solve_exact(self, start, warm=None):
        got.setdefault(("group", self.sc.name), (self, start))
        return orig_solve(self, start, warm)

    def solve_all(self, start=None):
        got.setdefault(("hospital", self.group.sc.name), (self, start))
        return orig_all(self, start)

    bm.ProviderProblem.solve_exact = solve_exact
    hospital.HospitalProblem.solve_all = solve_all
    try:
        for name in ("mssp_two_sided", "reach_global", "bundled_joint_replacement"):
            sc = load_scenario(SCEN / f"{name}.yaml")
            sc = sc.model_copy(update={
                "name": name, "horizon_years": 2, "engine": "fast",
                "population": sc.population.model_copy(update={"size": 600}),
                "attribution": sc.attribution.model_copy(update={"enforce_minimum": False})})
            simulate_replication(sc, 0, replication_seeds(3, 1)[0])
    finally:
        bm.ProviderProblem.solve_exact = orig_solve
        hospital.HospitalProblem.solve_all = orig_all
    return got


def _near(start, rng, n, lo, hi):
    return [tuple(float(v) for v in np.clip(np.asarray(start, float)
                                            + rng.normal(0, 0.05, len(lo)), lo, hi))
            for _ in range(n)]


def test_the_objective_of_a_batch_is_that_of_each_point(problems):
    rng = np.random.default_rng(4)
    lo = [b[0] for b in bm.BOUNDS]
    hi = [b[1] for b in bm.BOUNDS]
    groups = [k for k in problems if k[0] == "group"]
    assert len(groups) >= 2
    for key in groups:
        prob, start = problems[key]
        for x in _near(start, rng, 3, lo, hi):
            pts = [x] + [y for _, y in bm.stencil(x)]  # a point and its stencil
            batch = prob.utility_many(pts)
            assert batch == [prob.utility(p) for p in pts]
            assert prob.utility_many(pts[::-1])[::-1] == batch
            # without contracts and at other prices (the calibration's objective)
            up = bm._scale_prices(prob.sc.fee_reference, 1.01)
            assert prob.utility_many(pts, up, contracts=False, norms=False) == [
                prob.utility(p, up, contracts=False, norms=False) for p in pts]


def test_the_hospitals_objective_of_a_batch_is_that_of_each_point(problems):
    rng = np.random.default_rng(5)
    lo = [b[0] for b in hospital.BOUNDS]
    hi = [b[1] for b in hospital.BOUNDS]
    keys = [k for k in problems if k[0] == "hospital"]
    assert keys
    for key in keys:
        hp, start = problems[key]
        x = _near(start if start is not None else hp.reference, rng, 1, lo, hi)[0]
        pts = [x] + [y for _, y in bm.stencil(x, bounds=hospital.BOUNDS)]
        assert hp.utility_many(pts) == [hp.utility(p) for p in pts]


def test_maximise_takes_the_same_path_with_a_batched_objective():
    centre = np.array([0.9, 0.3, 0.6, 0.15])
    kappa = np.array([1000.0, 150.0, 150.0, 150.0])

    def fn(x):
        d = np.asarray(x) - centre
        return float(-1000.0 * (0.5 * np.sum(kappa * d * d) + 40.0 * d[1] * d[2]
                                + 400.0 * abs(d[3])))

    for curvature in (None, kappa):
        calls: list = []

        def counted(x, calls=calls):
            calls.append(x)
            return fn(x)

        plain = bm.maximise(counted, np.array([1.0, 0.1, 0.1, 0.3]), 1000.0,
                            curvature=curvature)
        n_plain, calls[:] = list(calls), []
        batched = bm.maximise(counted, np.array([1.0, 0.1, 0.1, 0.3]), 1000.0,
                              curvature=curvature,
                              fn_many=lambda xs: [counted(x) for x in xs])
        assert batched == plain
        assert calls == n_plain  # the same points, in the same order


def test_an_empty_batch_is_empty(problems):
    for key in problems:
        if key[0] == "group":
            prob, _ = problems[key]
            assert prob.utility_many([]) == []
            assert prob.money_many([]) == []


def test_maximise_with_every_lever_held_at_a_kink_asks_for_no_empty_batch(monkeypatch):
    """A replication of a 10,000-patient PSA (mssp_two_sided, seed 99) found kinks in all
    four levers of one solve, one after another; L-BFGS-B then ran with every bound fixed,
    and the objective asked the batched function for the stencil of no lever, which
    ProviderProblem answered with a broadcasting error. Here any sign change of a
    derivative counts as a kink, so a V-shaped objective holds every lever at once."""
    monkeypatch.setattr(bm, "_KINK_USD_PER_PY", 1e-9)
    monkeypatch.setattr(bm, "_KINK_STEP", 10.0)
    held: list[int] = []
    kink_init = bm._Kink.__init__

    def noted(self, index):
        held.append(index)
        kink_init(self, index)

    monkeypatch.setattr(bm._Kink, "__init__", noted)
    centre = np.array([0.9, 0.3, 0.4, 0.2])
    py = 1000.0

    def fn(x):
        return float(-py * 1000.0 * np.abs(np.asarray(x) - centre).sum())

    def fn_many(xs):
        assert xs, "the batched objective was asked for no point"
        return [fn(x) for x in xs]

    x0 = centre + 0.02 * np.array([1.0, -1.0, 1.0, -1.0])
    x = bm.maximise(fn, x0, py, curvature=np.array([1000.0, 150.0, 150.0, 150.0]),
                    fn_many=fn_many)
    assert sorted(held) == [0, 1, 2, 3]  # every lever held: the path of the failure
    assert fn(x) >= fn(x0)  # the best point seen, inside the bounds
    assert all(lo <= v <= hi for v, (lo, hi) in zip(x, bm.BOUNDS, strict=True))
