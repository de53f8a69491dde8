"""A blend and a payer mix: primary-care capitation inside an MSSP ACO for Medicare (60%),
commercial fee-for-service at 1.4x (40%). Each contract sees only its payer's patients."""

from __future__ import annotations

import numpy as np
import pytest
from settle_support import PROVIDERS_2PC, TWO_PAYERS, assigned_aggregates, close, run, scenario

from sim.replication import simulate_replication

PLAN = [{"years": "all", "contracts": [
    {"type": "ffs", "payer": "medicare"},
    {"type": "ffs", "payer": "commercial"},
    {"type": "capitation", "payer": "medicare", "provider": "pc_a", "scope": "primary_care"},
    {"type": "mssp", "payer": "medicare", "aco": "pc_a", "track": "BASIC_A"},
]}]


@pytest.fixture(scope="module")
def blend():
    sc = scenario(size=3000, horizon=3, providers=PROVIDERS_2PC, payers=TWO_PAYERS, plan=PLAN)
    return run(sc, seed=21)


def test_blend_runs_end_to_end_and_conserves_money():
    sc = scenario(size=1500, horizon=2, providers=PROVIDERS_2PC, payers=TWO_PAYERS, plan=PLAN)
    out = simulate_replication(sc, 0, np.random.SeedSequence(2))
    r = out.results
    for year in range(sc.horizon_years):
        ry = r[r.year == year]
        spend = ry[(ry.entity.isin(["medicare", "commercial"]))
                   & (ry.metric == "payer_spend_usd")]["value"].sum()
        prov = ry[ry.entity.isin([p.name for p in sc.providers])].pivot_table(
            index="entity", columns="metric", values="value")
        assert close(spend, float((prov["revenue_usd"] - prov["paid_to_providers_usd"]).sum()))
    labels = set(out.tables["settlements"]["label"])
    assert labels == {"ffs:medicare:all", "ffs:commercial:all", "capitation:medicare:pc_a",
                      "mssp:medicare:pc_a"}


def test_each_contract_covers_only_its_payers_patients(blend):
    r = blend
    for year in range(r.sc.horizon_years):
        medicare_pc_a = r.members(year, "medicare", "pc_a")
        py = r.pyear("person_years", year)
        cap = r.statement(year, "capitation", "pc_a")
        assert close(cap["member_months"], 12.0 * float(py[medicare_pc_a].sum()))
        mssp = r.statement(year, "mssp", "pc_a")
        assert mssp["assigned_beneficiaries"] == int(medicare_pc_a.sum())
        assert int(medicare_pc_a.sum()) < int(r.members(year, pc="pc_a").sum())
        # MSSP expenditure counts the capitated primary care at its fee-schedule value
        pc, total_py, _, _ = assigned_aggregates(r, year)
        assert close(mssp["expenditure_usd"], pc * total_py)


def test_commercial_pays_fee_for_service_only(blend):
    r = blend
    for year in range(r.sc.horizon_years):
        c = r.claims(year)
        commercial = c["payer"] == r.payer_index("commercial")
        f = r.flows[(r.flows.year == year) & (r.flows.source == "commercial")]
        assert set(f["kind"]) == {"ffs_claims"}
        assert close(r.metric("commercial", "payer_spend_usd", year),
                     1.4 * float(c["amount"][commercial].sum()))
        # pc_a: FFS from commercial for its primary care, capitation + savings from Medicare
        own = r.own_primary_care(c, "pc_a")
        assert close(r.metric("pc_a", "ffs_revenue_usd", year),
                     float(c["paid"][own & commercial].sum()))
        m = r.flows[(r.flows.year == year) & (r.flows.source == "medicare")
                    & (r.flows.target == "pc_a")]
        assert set(m["kind"]) <= {"capitation", "capitation_settlement", "shared_savings"}
        assert "capitation" in set(m["kind"])


def test_mssp_participant_revenue_counts_the_capitated_own_services(monkeypatch):
    """With primary-care capitation inside the ACO its Medicare FFS revenue is ~0; the
    revenue-based loss limit and the low-revenue test use the capitated services at their
    FFS value (as the expenditure does), not zero."""
    import sim.contracts.mssp.settler as settler

    seen: list[float] = []
    real = settler.settle_performance_year

    def spy(**kw):
        seen.append(kw["participant_revenue_usd"])
        return real(**kw)

    monkeypatch.setattr(settler, "settle_performance_year", spy)
    plan = [{"years": "all", "contracts": [
        {"type": "ffs"}, {"type": "capitation", "provider": "pc_a"},
        {"type": "mssp", "aco": "pc_a", "track": "BASIC_E"}]}]
    sc = scenario(size=1500, horizon=1, providers=PROVIDERS_2PC, plan=plan)
    r = run(sc, seed=3)
    c = r.claims(0)
    own = c["provider"] == r.pindex("pc_a")
    assert r.metric("pc_a", "ffs_revenue_usd", 0) == 0.0
    assert seen and close(seen[0], float(c["paid"][own].sum()))
    assert seen[0] > 100_000
