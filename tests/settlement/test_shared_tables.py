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
    assert other.claims(year)["paid"] is not ca["paid"]
    np.testing.assert_array_equal(other.claims(year)["amount"], ca["amount"])


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
