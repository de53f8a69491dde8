"""Money adds up, for every contract type and a blend, in every plan year.

Three views of the same cash must agree: the results table (payer spending, provider
revenue and payments to other providers), the cash-flow table (every dollar once, from a
source to a target) and the itemised statements (each counts its cash from the payer's
and from the provider's side). All are sums of the same float64 amounts in different
orders, so they must agree to rounding: 1e-9 relative (the brief asks 1e-6).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from settle_support import FFS_ALL, PROVIDERS_2PC, TWO_PAYERS, close, run, scenario

from sim.settlement import active_contracts

CORRIDORS = [{"upper": 0.02, "provider_share": 1.0}, {"upper": 0.05, "provider_share": 0.5},
             {"upper": 100.0, "provider_share": 0.2}]
COMMERCIAL_FFS = {"type": "ffs", "payer": "commercial"}


def _plan(*contracts: dict) -> list[dict]:
    return [{"years": "all", "contracts": [FFS_ALL, COMMERCIAL_FFS, *contracts]}]


PLANS: dict[str, list[dict]] = {
    "ffs": _plan(),
    "ffs_p4p": [{"years": "all", "contracts": [
        {**FFS_ALL, "pay_for_performance": True},
        {**COMMERCIAL_FFS, "pay_for_performance": True, "budget_neutral": True}]}],
    "capitation_primary_care": _plan({"type": "capitation", "provider": "pc_a"}),
    "capitation_global": _plan({"type": "capitation", "provider": "pc_a", "scope": "total_cost",
                                "discount": 0.1, "stop_loss": {"attachment_usd": 50_000},
                                "corridors": CORRIDORS}),
    "capitation_commercial_given_rate": _plan({"type": "capitation", "provider": "pc_b",
                                               "payer": "commercial", "scope": "total_cost",
                                               "area_rate_pmpm_usd": 1_300.0}),
    "bundled": _plan({"type": "bundled", "provider": "hospital"}),
    "global_budget": _plan({"type": "global_budget", "provider": "hospital",
                            "growth_rate": 0.01}),
    "mssp_basic_e": _plan({"type": "mssp", "aco": "pc_a", "track": "BASIC_E"}),
    "mssp_enhanced": _plan({"type": "mssp", "aco": "pc_a", "track": "ENHANCED"}),
    "reach_global_pcc": _plan({"type": "reach", "aco": "pc_a", "option": "global",
                               "primary_care_capitation": True}),
    "reach_professional": _plan({"type": "reach", "aco": "pc_b", "option": "professional"}),
    "blend": [
        {"years": "all", "contracts": [
            FFS_ALL, {**COMMERCIAL_FFS, "pay_for_performance": True},
            {"type": "capitation", "provider": "pc_a", "scope": "primary_care"},
            {"type": "mssp", "aco": "pc_a", "track": "BASIC_A"},
            {"type": "bundled", "provider": "hospital"}]}],
    "transition": [
        {"years": "all", "contracts": [FFS_ALL, COMMERCIAL_FFS]},
        {"years": [1], "contracts": [{"type": "mssp", "aco": "pc_a", "track": "BASIC_C"}]},
        {"years": [2], "contracts": [{"type": "capitation", "provider": "pc_a",
                                      "scope": "total_cost", "stop_loss": {}}]},
    ],
}


@pytest.fixture(scope="module", params=sorted(PLANS))
def output(request):
    """The settlement's results rows and tables (as ``simulate_replication`` returns them;
    levers fixed, so that the run is the same whatever behaviour model is in use)."""
    sc = scenario(size=1500, plan=PLANS[request.param], providers=PROVIDERS_2PC,
                  payers=TWO_PAYERS, investments=[{"provider": "pc_a", "one_off_usd": 1e5,
                                                   "running_usd_per_year": 5e4}])
    r = run(sc, seed=11)
    return sc, SimpleNamespace(results=r.rows, tables={"settlements": r.statements,
                                                       "cash_flows": r.flows})


def _wide(results: pd.DataFrame) -> pd.DataFrame:
    return results.pivot_table(index=["year", "entity"], columns="metric", values="value")


def test_payers_pay_what_providers_net_receive(output):
    sc, out = output
    w = _wide(out.results)
    payers = [p.name for p in sc.payers]
    for year in range(sc.horizon_years):
        wy = w.loc[year]
        providers = [e for e in wy.index if e not in payers and e != "population"]
        assert len(providers) == len(sc.providers)  # no unlisted provider here
        paid = float(wy.loc[payers, "payer_spend_usd"].sum())
        net = float((wy.loc[providers, "revenue_usd"]
                     - wy.loc[providers, "paid_to_providers_usd"]).sum())
        assert close(paid, net), (year, paid, net)
        assert close(float(wy.loc["population", "payer_spend_usd"]), paid)
        person_years = float(wy.loc[payers, "payer_person_years"].sum())
        assert close(float(wy.loc["population", "payer_spend_per_capita_usd"]),
                     paid / person_years)


def test_cash_flows_balance_and_match_the_results(output):
    sc, out = output
    flows, w = out.tables["cash_flows"], _wide(out.results)
    payers = {p.name for p in sc.payers}
    providers = {p.name for p in sc.providers}
    assert set(flows["source"]) <= payers | providers
    assert set(flows["target"]) <= providers
    # Providers pay only other providers, for claims a capitation contract covers.
    from_providers = flows[flows["source"].isin(providers)]
    assert set(from_providers["kind"]) <= {"capitated_claims"}
    for year in range(sc.horizon_years):
        fy = flows[flows["year"] == year]
        out_of_payers = float(fy.loc[fy["source"].isin(payers), "amount_usd"].sum())
        into_providers = fy[fy["target"].isin(providers)]
        from_payers = float(into_providers.loc[into_providers["source"].isin(payers),
                                               "amount_usd"].sum())
        assert close(out_of_payers, from_payers)
        for name in providers:
            assert close(w.loc[(year, name), "revenue_usd"],
                         float(fy.loc[fy["target"] == name, "amount_usd"].sum()))
            assert close(w.loc[(year, name), "paid_to_providers_usd"],
                         float(fy.loc[fy["source"] == name, "amount_usd"].sum()))
        for name in payers:
            assert close(w.loc[(year, name), "payer_spend_usd"],
                         float(fy.loc[fy["source"] == name, "amount_usd"].sum()))


def test_every_statement_balances_and_matches_its_flows(output):
    sc, out = output
    st, flows = out.tables["settlements"], out.tables["cash_flows"]
    cash = st[st["kind"] == "cash"].reset_index(drop=True)
    paid, received = cash.iloc[0::2], cash.iloc[1::2]
    assert (paid["item"] == "payer_paid_usd").all()
    assert (received["item"] == "provider_received_usd").all()
    assert np.allclose(paid["value"].to_numpy(), received["value"].to_numpy(), rtol=1e-12,
                       atol=1e-6)
    for year in range(sc.horizon_years):
        fy, sy = flows[flows["year"] == year], paid[paid["year"] == year]
        for label, cfg in active_contracts(sc, year):
            assert label in set(sy["label"]), (year, label)  # every contract settled
            stated = float(sy.loc[sy["label"] == label, "value"].sum())
            moved = float(fy.loc[fy["contract"] == label, "amount_usd"].sum())
            if cfg.type == "ffs":  # the FFS statements also itemise the claims paid
                moved += float(fy.loc[(fy["kind"] == "ffs_claims")
                                      & (fy["source"] == cfg.payer), "amount_usd"].sum())
            assert close(stated, moved), (year, label, stated, moved)


def test_provider_margin_is_revenue_minus_itemised_cost(output):
    sc, out = output
    w = _wide(out.results)
    for name in (p.name for p in sc.providers):
        for year in range(sc.horizon_years):
            r = w.loc[(year, name)]
            cost = (r["own_service_cost_usd"] + r["paid_to_providers_usd"]
                    + r["investment_cost_usd"] + r["effort_cost_usd"] + r["fixed_cost_usd"]
                    + r["capacity_cost_usd"])
            assert close(r["cost_usd"], cost)
            assert close(r["margin_usd"], r["revenue_usd"] - r["cost_usd"])
            parts = r["ffs_revenue_usd"] + r["capitation_revenue_usd"] + r["settlement_usd"]
            assert close(r["revenue_usd"], parts)
    # The one-off investment in year 0, running costs every year.
    assert w.loc[(0, "pc_a"), "investment_cost_usd"] == pytest.approx(1.5e5)
    assert w.loc[(1, "pc_a"), "investment_cost_usd"] == pytest.approx(5e4)


def test_money_adds_up_across_time(output):
    """By payment date nothing is lost or created: each provider's net cash over the plan
    years plus the plan's money paid after the horizon is its plan-total margin; every
    flow is paid on or after the start of its plan year."""
    sc, out = output
    w = _wide(out.results)
    last = sc.horizon_years - 1
    for name in (p.name for p in sc.providers):
        cash = sum(w.loc[(y, name), "cash_net_usd"] for y in range(sc.horizon_years))
        cash += w.loc[(last, name), "cash_after_horizon_usd"]
        margin = sum(w.loc[(y, name), "margin_usd"] for y in range(sc.horizon_years))
        assert close(cash, margin), (name, cash, margin)
    flows = out.tables["cash_flows"]
    start = pd.to_datetime(flows["year"].map(lambda y: f"{2025 + y}-01-01"))
    assert (flows["paid_date"] >= start).all()
