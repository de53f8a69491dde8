"""The speed-ups after the care model (issue 16) compute exactly what they replace.

Each fast path is checked bit for bit against a plain form of the same computation: the
dense plurality against the sparse one, the per-table caches against a fresh computation
on writeable copies (which are never cached), the cash book read as rows against its
DataFrame, the professional-claims sums against boolean masks, the typed results table
against ``tidy(DataFrame(rows))``, the cached SciPy distributions against fresh ones. The
whole replication is checked by the fast-path fingerprints (tests/care/fast_path) and the
seed-pinned baseline.
"""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pytest

from sim.attribution import _plurality_sparse, plurality
from sim.ledger import _FROZEN, frozen_memo, patient_sums
from sim.quality_measures import measure_counts, readmitted_within_30d
from sim.results.table import RESULT_COLUMNS, results_frame, tidy
from sim.settlement.book import CashBook
from sim.settlement.revenue_cycle import days_in_ar


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("seed", range(40))
def test_dense_plurality_equals_the_sparse_form_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    n_claims, n_prov, n_pat = int(rng.integers(1, 600)), int(rng.integers(1, 9)), 60
    patient = rng.integers(0, n_pat, n_claims).astype(np.int32)
    provider = rng.integers(0, n_prov, n_claims).astype(np.int64)
    if seed % 2:  # few providers with claims (as primary-care visits: two of ten)
        provider = rng.choice([0, n_prov - 1], n_claims).astype(np.int64)
    amount = rng.choice([10.0, 20.0, 30.005, 7.5, 0.1 + 0.2], n_claims)  # sums that tie
    day = rng.integers(0, 20, n_claims).astype(np.float32)  # days that tie
    dense = plurality(patient, provider, amount, day, n_pat, n_prov)
    sparse = _plurality_sparse(patient, provider, amount, day, n_pat, n_prov,
                               np.full(n_pat, -1, np.int64))
    np.testing.assert_array_equal(dense, sparse)
    assert dense.dtype == np.int64


def test_frozen_memo_caches_frozen_arrays_only_and_forgets_them():
    calls = []
    a, b = _frozen(np.arange(5)), _frozen(np.ones(5))
    for _ in range(2):
        assert frozen_memo((a, b), "k", lambda: calls.append(1) or 7) == 7
    assert len(calls) == 1
    w = np.arange(5)  # writeable: nothing proves it unchanged, computed every time
    for _ in range(2):
        frozen_memo((w,), "k", lambda: calls.append(1))
    assert len(calls) == 3
    key = (id(a), id(b))
    assert key in _FROZEN
    del a
    gc.collect()
    assert key not in _FROZEN


def test_patient_sums_is_bincount_and_shared():
    rng = np.random.default_rng(1)
    patient, amount = _frozen(rng.integers(0, 50, 400)), _frozen(rng.gamma(1.0, 100.0, 400))
    s = patient_sums(patient, amount, 60)
    np.testing.assert_array_equal(s, np.bincount(patient, weights=amount, minlength=60))
    assert patient_sums(patient, amount, 60) is s and not s.flags.writeable


class _Ledger:
    """The parts of a ledger measure_counts reads."""

    def __init__(self, rng: np.random.Generator, n: int, frozen: bool,
                 claims: dict, adm: dict) -> None:
        fix = _frozen if frozen else np.array
        self.claims = {k: fix(v) for k, v in claims.items()}
        self.admissions = {k: fix(v) for k, v in adm.items()}
        self.rows = {k: rng.random(n) < 0.5 for k in (
            "member", "diabetic_alive_end", "dm_uncontrolled_end")}
        self.rows["person_years"] = rng.random(n)

    def claims_in(self, _year: int) -> dict:
        return self.claims

    def pyear(self, key: str, _year: int) -> np.ndarray:
        return self.rows[key]


def test_measure_counts_cached_equal_uncached():
    from sim.services import Service

    rng = np.random.default_rng(2)
    n, k, s = 80, 900, 60
    claims = {"patient": rng.integers(0, n, k).astype(np.int32),
              "service": rng.choice([Service.PCP_VISIT, Service.ED_FACILITY, Service.LAB],
                                    k).astype(np.int8)}
    admit = rng.uniform(0, 700, s)
    adm = {"patient": rng.integers(0, n // 4, s).astype(np.int32), "admit": admit,
           "discharge": admit + rng.uniform(1, 9, s), "kind": rng.integers(1, 5, s),
           "year": rng.integers(0, 2, s), "via_ed": rng.random(s) < 0.5}
    cached = _Ledger(np.random.default_rng(3), n, True, claims, adm)
    fresh = _Ledger(np.random.default_rng(3), n, False, claims, adm)
    np.testing.assert_array_equal(readmitted_within_30d(cached.admissions),
                                  readmitted_within_30d(fresh.admissions))
    assert readmitted_within_30d(cached.admissions) is readmitted_within_30d(cached.admissions)
    mask = np.random.default_rng(4).random(n) < 0.4
    for m in (None, mask):
        for _ in range(2):  # the second time from the cache
            assert measure_counts(cached, 1, m) == measure_counts(fresh, 1, m)


def test_days_in_ar_from_the_cash_book_rows_equals_its_frame():
    book = CashBook()
    rng = np.random.default_rng(5)
    for i in range(60):
        book.pay(int(rng.integers(0, 3)), "medicare", ["pc", "hosp", "x"][i % 3],
                 float(rng.normal(500, 400)), ["ffs_claims", "capitated_claims", "cap"][i % 3],
                 "c", delay_days=float(rng.integers(0, 90)))
    for year in range(3):
        a = days_in_ar(book, year, ["pc", "hosp", "none"], np.array([50.0, 0.0, 0.0]), 90.0)
        b = days_in_ar(book.timed(), year, ["pc", "hosp", "none"], np.array([50.0, 0, 0]), 90.0)
        np.testing.assert_array_equal(a, b)


def test_results_frame_equals_tidy_of_the_rows():
    rows = [(0, "s", y, e, m, v) for y in range(3) for e in ("population", "pc")
            for m, v in (("a", 1.5), ("b", np.nan), ("c", np.float64(2.0)), ("d", 3),
                         ("e", True))]
    pd.testing.assert_frame_equal(results_frame(rows),
                                  tidy(pd.DataFrame(rows, columns=RESULT_COLUMNS)),
                                  check_exact=True)
    pd.testing.assert_frame_equal(results_frame([]),
                                  tidy(pd.DataFrame([], columns=RESULT_COLUMNS)))


def test_cached_distributions_give_scipy_s_quantiles():
    from scipy import stats

    from sim.uncertainty.distributions import Beta, Gamma, LogNormal, Normal

    u = np.array([1e-4, 0.1, 0.5, 0.77, 0.9999])
    cases = [(Beta(2.0, 5.0), stats.beta(2.0, 5.0)),
             (Gamma(3.0, 0.5), stats.gamma(3.0, scale=0.5)),
             (LogNormal(0.1, 0.3), stats.lognorm(0.3, scale=np.exp(0.1))),
             (Normal(1.0, 0.2, 0.5, 2.0), stats.truncnorm(-2.5, 5.0, loc=1.0, scale=0.2))]
    for dist, ref in cases:
        for _ in range(2):
            np.testing.assert_array_equal(dist.ppf(u), ref.ppf(u))
        assert dist.mean() == float(ref.mean())


def test_professional_sums_equal_the_masked_sums():
    from sim.contracts.ffs.settler import PROFESSIONAL, professional
    from sim.settlement.context import SettlementContext
    from tests.settlement.settle_support import run, scenario

    r = run(scenario(size=300, horizon=1), seed=3)
    ctx = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    for year in r.run.ledger.years[-2:]:
        c = ctx.claims(year)
        for provider in range(len(ctx.provider_names)):
            m = PROFESSIONAL[c["service"]] & (c["provider"] == provider) & (c["payer"] == 0)
            paid = c["paid"][m]
            own = ctx.patient_provider[c["patient"][m]] == provider
            want = (float(paid.sum()), int(np.unique(c["patient"][m]).size),
                    int(np.count_nonzero(m)), float(paid[own].sum()))
            assert professional(ctx, year, 0, provider, ffs_only=False) == want


def test_ledger_counts_claims_by_service_at_close():
    from sim.ledger import Ledger
    from sim.services import Service

    rng = np.random.default_rng(6)
    led = Ledger()
    want = np.zeros(len(Service), np.int64)
    for year in range(2):
        year_want = np.zeros(len(Service), np.int64)
        for _ in range(5):
            n = int(rng.integers(0, 30))
            svc = rng.integers(0, len(Service), n) if rng.random() < 0.5 else int(
                rng.integers(0, len(Service)))
            led.add_claims(year, rng.integers(0, 9, n), 1, svc, np.zeros(n), np.ones(n))
            year_want += np.bincount(np.broadcast_to(svc, (n,)), minlength=len(Service))
        mid = led.count_by_service()  # claims appended but not closed count too
        assert [mid[s.name.lower()] for s in Service] == list(want + year_want)
        led.close_year(year)
        want += year_want
        np.testing.assert_array_equal(led.service_counts(year), year_want)
        np.testing.assert_array_equal(led.only_year(year).service_counts(year), year_want)
    assert [led.count_by_service()[s.name.lower()] for s in Service] == list(want)
    np.testing.assert_array_equal(led.service_counts(7), np.zeros(len(Service)))


@pytest.mark.parametrize("em_level_pricing", [True, False])
def test_own_cost_equals_the_resource_amount_formula(em_level_pricing):
    from sim.coding.fees import resource_amount
    from sim.settlement.context import SettlementContext
    from tests.settlement.settle_support import run, scenario

    r = run(scenario(size=300, horizon=1), seed=3)
    sc = r.sc.model_copy(update={"coding_fees": r.sc.coding_fees.model_copy(
        update={"em_level_pricing": em_level_pricing})})
    ctx = SettlementContext.of(sc, r.run.ledger, r.run.population, r.run.providers)
    c = ctx.claims(r.run.ledger.years[-1])
    amount = resource_amount(c["service"], c["amount"], sc.prices) if em_level_pricing \
        else c["amount"]
    want = amount * ctx.reference_ratio[c["service"]] * ctx.cost_to_charge[c["provider"]]
    np.testing.assert_array_equal(ctx.own_cost(c), want)
    np.testing.assert_array_equal(ctx.variable_cost(c),
                                  want * ctx.variable_share[c["provider"]])


def test_year_memo_is_per_year_and_shared_between_contexts_of_a_closed_year():
    """SettlementContext.year_memo: a closed year's value is computed once for two contexts
    of the same run, each year keeps its own value under the same key, and a year not
    closed is computed per context. The capitation's scope cost uses it, and equals its
    plain computation for every closed year."""
    from sim.contracts.capitation.settler import in_scope, scope_cost
    from sim.settlement.context import SettlementContext
    from tests.settlement.settle_support import run, scenario

    r = run(scenario(size=300, horizon=2), seed=3)
    years = r.run.ledger.years
    assert len(years) >= 2

    def ctx():
        return SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)

    a, b = ctx(), ctx()
    calls: list[int] = []

    def make(year):
        def compute():
            calls.append(year)
            return float(year)
        return compute

    for c in (a, b):
        for year in years:
            assert c.year_memo(year, ("probe",), make(year)) == float(year)
    assert calls == list(years)  # once per closed year, for both contexts
    calls.clear()
    open_year = max(years) + 1
    for c in (a, b):
        assert c.year_memo(open_year, ("probe",), make(open_year)) == float(open_year)
    assert calls == [open_year, open_year]  # not closed: per context
    c = ctx()
    for year in years:
        cl = c.claims(year)
        m = in_scope(c, cl, 0, 0, "total_cost")
        own = m & (cl["provider"] == 0)
        n = len(c.patient_payer)
        want = np.bincount(cl["patient"][own], weights=c.own_cost(cl)[own], minlength=n)
        want += np.bincount(cl["patient"][m & ~own], weights=cl["paid"][m & ~own], minlength=n)
        for ctx_ in (a, c):  # shared or first computed, the same doubles
            got = scope_cost(ctx_, year, 0, 0, "total_cost")
            np.testing.assert_array_equal(got[0], want)
            assert not got[0].flags.writeable
