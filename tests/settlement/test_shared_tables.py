"""Per-year tables of closed years are computed once per ledger and shared by contexts.

Every settled year and every behaviour decision builds a SettlementContext that looks at
several closed years; their claims (with payer, attribution, payer prices), spending per
patient and truncated spending are shared, not recomputed: the same arrays, so results
are unchanged (checked bit for bit on four shipped scenarios when introduced).
"""

import numpy as np

from sim.settlement.context import SettlementContext
from tests.settlement.settle_support import run, scenario


def test_contexts_of_one_ledger_share_closed_years_tables_and_agree():
    r = run(scenario(size=300, horizon=2), seed=3)
    a = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    b = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    year = r.run.ledger.years[-1]
    ca, cb = a.claims(year), b.claims(year)
    assert ca is not cb  # each context its own dict...
    assert ca["paid"] is cb["paid"]  # ...of the same columns
    assert a.spend_per_patient(year) is b.spend_per_patient(year)
    assert a.truncated_spend(year, 0)[0] is b.truncated_spend(year, 0)[0]
    # Other patients' providers: not shared, computed for that context.
    other = SettlementContext(scenario=r.sc, ledger=r.run.ledger,
                              patient_payer=r.run.population.payer,
                              patient_provider=np.full_like(r.run.population.provider, -1),
                              provider_names=a.provider_names, provider_kinds=a.provider_kinds,
                              payer_names=a.payer_names)
    # (``paid`` is the ledger's amount column itself when every price factor is 1, as here:
    # the derived columns that depend on the patients' providers tell the tables apart)
    assert other.claims(year)["attributed"] is not ca["attributed"]
    assert other.claims(year)["payer"] is not ca["payer"]
    np.testing.assert_array_equal(other.claims(year)["amount"], ca["amount"])
    np.testing.assert_array_equal(other.claims(year)["paid"], ca["paid"])


def test_paid_at_price_factor_one_is_the_amount_itself():
    r = run(scenario(size=300, horizon=1), seed=3)
    ctx = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    year = r.run.ledger.years[-1]
    c = ctx.claims(year)
    assert (ctx.price_factor == 1.0).all()
    assert c["paid"] is c["amount"] and not c["paid"].flags.writeable
    # spending at payer prices and at the fee schedule: one table, the same sums
    assert ctx.spend_per_patient(year) is ctx.spend_per_patient(year, paid=False)
    np.testing.assert_array_equal(
        ctx.spend_per_patient(year),
        np.bincount(c["patient"], weights=c["amount"], minlength=len(ctx.patient_payer)))


def test_a_year_not_closed_is_not_shared():
    r = run(scenario(size=300, horizon=1), seed=4)
    a = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    b = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    future = max(r.run.ledger.years) + 1
    assert len(a.claims(future)["amount"]) == 0
    assert a.spend_per_patient(future) is not b.spend_per_patient(future)


def test_shared_tables_go_with_their_ledger():
    import gc

    from sim.settlement import context

    r = run(scenario(size=200, horizon=1), seed=5)
    ctx = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    year = r.run.ledger.years[-1]
    ctx.spend_per_patient(year)
    key = id(r.run.ledger.claims_in(year)["amount"])
    assert key in context._SHARED
    del ctx, r
    gc.collect()
    assert key not in context._SHARED
