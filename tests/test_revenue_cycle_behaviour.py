"""The revenue cycle as behaviour expects it (sim.behaviour.revenue_cycle), days in accounts
receivable (sim.settlement.revenue_cycle.days_in_ar), and coded HCC prevalence near CMS's
(sim.coding.hcc): hand-computed cases and one small care run."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from sim.behaviour import revenue_cycle as rc
from sim.coding import hcc
from sim.scenario.revenue_cycle import Denials
from sim.scenario.schema import Scenario
from sim.services import Service
from sim.settlement.book import CashBook
from sim.settlement.revenue_cycle import days_in_ar

REPO = Path(__file__).resolve().parents[1]
V24 = hcc.load_tables()["V24"]
N_SERVICES = len(Service)


def test_expected_denial_loss_by_hand():
    # One PCP visit ($100, professional: 6% denied, 35% of them reworked at $25) and one
    # stay ($10,000, inpatient: 8.4% denied, 47.9% reworked at $118), two payers.
    cfg = Denials(enabled=True)
    revenue = np.zeros((2, N_SERVICES))
    count = np.zeros((2, N_SERVICES))
    revenue[0, Service.PCP_VISIT], count[0, Service.PCP_VISIT] = 100.0, 1.0
    revenue[1, Service.INPATIENT_FACILITY], count[1, Service.INPATIENT_FACILITY] = 1e4, 1.0
    off, rework = rc.expected_denial_loss(revenue, count, cfg)
    assert off == pytest.approx([100 * 0.06 * 0.65, 1e4 * 0.084 * (1 - 0.479)])
    assert rework == pytest.approx([0.06 * 0.35 * 25.0, 0.084 * 0.479 * 118.0])


def _problem(sc: Scenario, covered: bool) -> SimpleNamespace:
    own = np.zeros(N_SERVICES)
    own[Service.PCP_VISIT] = 1.0
    spec = np.zeros(N_SERVICES)
    spec[Service.SPECIALIST_VISIT] = 1.0
    return SimpleNamespace(
        sc=sc, n_payers=1, coverage={0: "primary_care"} if covered else {},
        ctx=SimpleNamespace(price_factor=np.array([1.1])), _shares=lambda exp: (own, spec),
        params=SimpleNamespace(specialist_margin_weight=0.5), settlers=[],
        organisation_weight=0.8, ratchet={})


def test_money_adjustment_by_hand_and_a_no_op_when_off():
    exp = SimpleNamespace(spend=np.zeros((1, N_SERVICES)), count=np.zeros((1, N_SERVICES)))
    exp.spend[0, Service.PCP_VISIT], exp.count[0, Service.PCP_VISIT] = 1000.0, 10.0
    exp.spend[0, Service.SPECIALIST_VISIT], exp.count[0, Service.SPECIALIST_VISIT] = 2000.0, 10.0
    off_sc = Scenario()
    ffs, mean, face = 123.456, 7.0, 8.0
    out = rc.adjust(_problem(off_sc, False), exp, True, ffs, mean, face)
    assert out[0] is ffs and out[1] is mean and out[2] is face  # untouched: bit-identical
    on = Scenario.model_validate({"revenue_cycle": {"denials": {"enabled": True}}})
    # Own visits billed at price factor 1.1, the specialists' at half weight; professional
    # claims: 3.9% written off, 2.1% reworked at $25.
    billed = 1.1 * (1000.0 + 0.5 * 2000.0)
    claims = 10.0 + 0.5 * 10.0
    loss = billed * 0.06 * 0.65 + claims * 0.06 * 0.35 * 25.0
    got = rc.adjust(_problem(on, False), exp, True, 1000.0, 0.0, 0.0)
    assert got == pytest.approx((1000.0 - loss, 0.0, 0.0))
    # Own services covered by a contract submit no claims: only the specialists' remain.
    loss_cov = 1.1 * 0.5 * 2000.0 * 0.06 * 0.65 + 5.0 * 0.06 * 0.35 * 25.0
    assert rc.denial_loss(_problem(on, True), exp, True) == pytest.approx(loss_cov)
    assert rc.denial_loss(_problem(on, True), exp, False) == pytest.approx(loss)


def test_radv_expectation_by_hand():
    # Expected recovery = P(audit) x gross capitation x unsupported share.
    assert rc.expected_radv_recovery(1e6, 0.05, 1.0) == pytest.approx(5e4)
    assert rc.expected_radv_recovery(np.array([1e6, 2e6]), 0.05, 0.11) == pytest.approx(
        [5.5e3, 1.1e4])
    # One diabetic without complications, always documented, specifically, and always
    # upcoded (deterministic rates): coded HCC18, the record supports HCC19 (V24 only).
    sc = Scenario.model_validate({"risk_score": {
        "recapture_rate": 1.0, "recapture_rate_full": 1.0, "specificity": 1.0,
        "specificity_full": 1.0, "unsupported_rate": 1.0, "unsupported_rate_full": 1.0,
        "phantom_share": 0.0}})
    conditions = np.zeros((1, 5), bool)
    conditions[0, 0] = True
    draws = np.full((1, len(hcc.LIABILITIES)), -5.0)  # no severity, no other state
    hs = SimpleNamespace(z=np.array([-3.0]), draws=draws, female=np.array([True]),
                         segment=np.array([0]), orig_disabled=np.array([False]),
                         norms=None, w28=0.0)
    share = rc.unsupported_share_hcc(sc, hs, conditions, np.array([72.0]), np.ones(1),
                                     np.ones(1), [0.0, 1.0])
    c = {k: float(V24.coef[k][0]) for k in ("F70_74", "HCC18", "HCC19", "D1")}
    coded = c["F70_74"] + c["HCC18"] + c["D1"]
    assert share == pytest.approx([(c["HCC18"] - c["HCC19"]) / coded] * 2)
    # With the default rates the share rises with coding intensity (the lever RADV taxes).
    rng = np.random.default_rng(4)
    n = 400
    hs2 = SimpleNamespace(z=rng.standard_normal(n), draws=rng.standard_normal((n, 12)),
                          female=rng.random(n) < 0.5, segment=np.zeros(n, np.int8),
                          orig_disabled=np.zeros(n, bool), norms=None, w28=0.67)
    s = rc.unsupported_share_hcc(Scenario(), hs2, rng.random((n, 5)) < 0.3,
                                 rng.uniform(65, 95, n), np.full(n, 0.9), np.ones(n),
                                 [0.0, 0.5, 1.0])
    assert 0.0 < s[0] < s[1] < s[2] < 0.15


def test_days_in_ar_on_a_hand_made_ledger():
    book = CashBook()
    book.pay(0, "medicare", "pc", 900.0, "ffs_claims", "fee_for_service")  # 30 days
    book.pay(0, "medicare", "pc", 100.0, "ffs_claims", "fee_for_service", delay_days=60.0)
    book.pay(0, "medicare", "pc", 500.0, "capitation", "cap")  # not a claim: ignored
    book.pay(1, "medicare", "pc", 700.0, "ffs_claims", "fee_for_service")  # next year
    book.pay(0, "medicare", "hosp", 400.0, "ffs_claims", "fee_for_service")
    flows = book.timed()
    # pc: $900 at 30 days, $100 reworked at 90, $50 written off after 90 days in A/R.
    days = days_in_ar(flows, 0, ["pc", "hosp", "none"], np.array([50.0, 0.0, 0.0]), 90.0)
    assert days[0] == pytest.approx((900 * 30 + 100 * 90 + 50 * 90) / 1050)
    assert days[1] == pytest.approx(30.0)
    assert np.isnan(days[2])
    assert days_in_ar(flows, 1, ["pc"], np.zeros(1), 90.0)[0] == pytest.approx(30.0)


def test_coded_hcc_prevalence_near_cms_on_a_small_population():
    """FFS coding, 3,000 patients (fast engine, after the 5 warm-up years), plan year 0's
    documentation. Targets (benchmarks/hcc_check.py): CCW FFS 2019 diabetes 27.5%, heart
    failure 14.6%, COPD ~11% over 1-2 years of claims; one year's coding catches ~75-85%.
    Measured here 0.207 / 0.099 / 0.100 (5,000 patients, DES: 0.214 / 0.097 / 0.097).
    Tolerance: the target band, >= 2.5 binomial SE (~0.007 at p = 0.1, ~3,100
    person-years) from the measured values; the seed is fixed."""
    from sim.care.engine import CareSimulation
    from sim.scenario import load_scenario

    sc = load_scenario(REPO / "scenarios" / "ffs_baseline.yaml")
    sc = sc.model_copy(update={"population": sc.population.model_copy(update={"size": 3000}),
                               "horizon_years": 1, "behavior": "fixed", "engine": "fast"})
    care = CareSimulation(sc, np.random.SeedSequence(1))
    for _ in range(care.sim_years):  # the warm-up years, then plan year 0
        care.start_year(None)
        care.run_to_year_end()
        care.close_year()
    w = care.ledger.pyear("person_years", 0)
    mat = hcc.hcc_matrix(care.hcc.codes, V24)
    col = {h: i for i, h in enumerate(V24.hccs)}

    def prev(*h: int) -> float:
        return float(np.average(mat[:, [col[x] for x in h]].any(axis=1), weights=w))

    assert 0.19 <= prev(18, 19) <= 0.25
    assert 0.08 <= prev(85) <= 0.12
    assert 0.08 <= prev(111) <= 0.12
