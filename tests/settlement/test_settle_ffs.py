"""Fee-for-service: payers pay the claims at their prices; MIPS-style P4P on FFS revenue."""

from __future__ import annotations

import numpy as np
import pytest
from settle_support import PROVIDERS_2PC, TWO_PAYERS, close, run, scenario

from sim.contracts.ffs.rules import budget_neutral_scaling, mips_adjustment
from sim.replication import simulate_replication


def test_default_plan_medicare_pays_exactly_the_allowed_amounts():
    sc = scenario(size=1500, horizon=2)  # default payer (Medicare, price factor 1), FFS
    out = simulate_replication(sc, 0, np.random.SeedSequence(3))
    r = out.results
    for year in range(sc.horizon_years):
        ry = r[(r.year == year) & (r.entity == "population")].set_index("metric")["value"]
        assert ry["payer_spend_usd"] > 0
        assert close(ry["payer_spend_usd"], ry["spend_total_usd"])
        settled = r[(r.year == year) & (r.metric == "settlement_usd")]["value"]
        assert (settled == 0).all()  # no P4P, no reconciliation


def test_second_payer_pays_its_price_factor_times_its_patients_claims():
    sc = scenario(size=2000, horizon=2, providers=PROVIDERS_2PC, payers=TWO_PAYERS,
                  plan=[{"years": "all", "contracts": [{"type": "ffs", "payer": "medicare"},
                                                       {"type": "ffs", "payer": "commercial"}]}])
    r = run(sc, seed=5)
    for year in range(sc.horizon_years):
        c = r.claims(year)
        for payer, factor in (("medicare", 1.0), ("commercial", 1.4)):
            mine = c["payer"] == r.payer_index(payer)
            expected = factor * float(c["amount"][mine].sum())
            assert expected > 0
            assert close(r.metric(payer, "payer_spend_usd", year), expected)
            # ... and each provider gets its own claims of those patients
            f = r.flows[(r.flows.year == year) & (r.flows.source == payer)]
            for name in ("pc_a", "hospital"):
                own = mine & (c["provider"] == r.pindex(name))
                assert close(float(f.loc[f.target == name, "amount_usd"].sum()),
                             factor * float(c["amount"][own].sum()))
        # the commercial share of the panel is about 40%
        members = r.members(year)
        share = (members & (r.payer_of == 1)).sum() / members.sum()
        assert share == pytest.approx(0.4, abs=0.04)  # binomial SD ~0.011 at n ~ 2,000


P4P_PROVIDERS = [
    {"name": "pc_a", "kind": "primary_care", "panel_share": 0.5,
     "levers": {"prevention_effort": 0.9, "transitional_care_effort": 0.9}},
    {"name": "pc_b", "kind": "primary_care", "panel_share": 0.5,
     "levers": {"prevention_effort": 0.0, "transitional_care_effort": 0.0}},
    {"name": "specialists", "kind": "specialist"},
    {"name": "hospital", "kind": "hospital"},
]


@pytest.fixture(scope="module")
def p4p_run():
    sc = scenario(size=2000, horizon=3, providers=P4P_PROVIDERS,
                  plan=[{"years": "all", "contracts": [
                      {"type": "ffs", "pay_for_performance": True}]}])
    return run(sc, seed=1)


def test_p4p_adjusts_each_providers_ffs_revenue_by_its_score(p4p_run):
    r = p4p_run
    providers = r.run.providers.names  # incl. the implicit unlisted post-acute and other
    signs = set()
    for year in range(r.sc.horizon_years):
        for name in providers:
            score = r.metric(name, "quality_score", year)
            revenue = r.metric(name, "ffs_revenue_usd", year)
            expected = mips_adjustment(score) * revenue
            assert close(r.metric(name, "settlement_usd", year), expected), (year, name)
            signs.add(np.sign(expected))
        # the group that manages care scores higher than the one that does not
        assert r.metric("pc_a", "quality_score", year) > r.metric("pc_b", "quality_score", year)
    assert -1 in signs  # some adjustment was a penalty


def test_p4p_budget_neutral_adjustments_sum_to_zero_unless_the_cap_binds():
    # Score on the annual-visit share only, on a scale where the managed group and the
    # population land above the 75-point threshold and the unmanaged group below.
    quality = {"annual_visit_share": {"floor": 0.5, "ceiling": 0.85},
               **{m: {"weight": 0.0} for m in ("readmission_rate_30d",
                                               "diabetes_controlled_share",
                                               "ed_visits_per_1000",
                                               "acsc_admissions_per_1000")}}
    sc = scenario(size=2000, horizon=2, providers=P4P_PROVIDERS, quality=quality,
                  plan=[{"years": "all", "contracts": [
                      {"type": "ffs", "pay_for_performance": True, "budget_neutral": True}]}])
    r = run(sc, seed=1)
    providers = r.run.providers.names
    neutral_years = 0
    for year in range(sc.horizon_years):
        scores = np.array([r.metric(n, "quality_score", year) for n in providers])
        revenue = np.array([r.metric(n, "ffs_revenue_usd", year) for n in providers])
        settled = np.array([r.metric(n, "settlement_usd", year) for n in providers])
        scaling = budget_neutral_scaling(scores, revenue)
        assert np.allclose(settled, mips_adjustment(scores, 0.09, scaling) * revenue,
                           rtol=1e-9, atol=1e-6)
        assert settled.min() < 0 < settled.max()
        if scaling < 3.0:
            assert abs(settled.sum()) <= 1e-9 * np.abs(settled).sum()
            neutral_years += 1
        else:  # the 3.0 limit binds: the payer keeps the rest of the penalties
            assert settled.sum() < 0
    assert neutral_years >= 1
