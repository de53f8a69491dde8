"""Capitation in a run: what leaves FFS, the PMPM, the historical rate, stop-loss, corridors.

Two payers (Medicare 60%, commercial 40% at 1.4x) and two primary-care groups; the
capitation contract is Medicare's with ``pc_a``, so ``pc_b``'s patients and commercial
patients stay fee-for-service.
"""

from __future__ import annotations

import numpy as np
import pytest
from settle_support import FFS_ALL, PROVIDERS_2PC, TWO_PAYERS, close, run, scenario

from sim.coding.fees import resource_amount

COMMERCIAL_FFS = {"type": "ffs", "payer": "commercial"}


def _cap_run(contract: dict, seed: int = 2, horizon: int = 2):
    sc = scenario(size=2500, horizon=horizon, providers=PROVIDERS_2PC, payers=TWO_PAYERS,
                  plan=[{"years": "all", "contracts": [FFS_ALL, COMMERCIAL_FFS, contract]}])
    return run(sc, seed=seed)


def _risk_member_months(r, year: int) -> float:
    m = r.members(year, "medicare", "pc_a")
    return float((12.0 * r.pyear("person_years", year)[m] * r.pyear("risk_score", year)[m]).sum())


@pytest.fixture(scope="module")
def pc_cap():
    return _cap_run({"type": "capitation", "provider": "pc_a", "scope": "primary_care"})


def test_primary_care_capitation_takes_the_groups_own_primary_care_out_of_ffs(pc_cap):
    r = pc_cap
    for year in range(r.sc.horizon_years):
        c = r.claims(year)
        own_pc = r.own_primary_care(c, "pc_a")
        medicare = c["payer"] == r.payer_index("medicare")
        assert (own_pc & medicare).sum() > 1000  # there is primary care to capitate
        # pc_a's FFS revenue: only its commercial patients' primary care, at 1.4x
        expected_ffs = float(c["paid"][own_pc & ~medicare].sum())
        assert close(r.metric("pc_a", "ffs_revenue_usd", year), expected_ffs)
        f = r.flows[(r.flows.year == year)]
        assert f[(f.source == "medicare") & (f.target == "pc_a")
                 & (f.kind == "ffs_claims")].empty
        # pc_b (not capitated) is still paid FFS by Medicare
        assert close(float(f.loc[(f.source == "medicare") & (f.target == "pc_b"),
                                 "amount_usd"].sum()),
                     float(c["paid"][medicare & (c["provider"] == r.pindex("pc_b"))].sum()))
        # no other provider was paid by pc_a: the scope is its own services
        assert r.metric("pc_a", "paid_to_providers_usd", year) == 0.0


def test_capitation_members_are_the_payers_patients_of_the_group(pc_cap):
    r = pc_cap
    for year in range(r.sc.horizon_years):
        st = r.statement(year, "capitation", "pc_a")
        members = r.members(year, "medicare", "pc_a")
        mm = 12.0 * float(r.pyear("person_years", year)[members].sum())
        assert close(st["member_months"], mm)
        assert close(st["mean_risk_score"], _risk_member_months(r, year) / mm)
        # about 60% x 60% of the panel
        assert mm / 12.0 == pytest.approx(0.36 * 2500, rel=0.1)


CODING = 0.059  # the default coding-intensity adjustment


def test_auto_rate_is_the_ffs_equivalent_benchmark_with_normalised_coding_adjusted_risk(pc_cap):
    r = pc_cap
    spend = mm = risk_mm = 0.0
    for year in (-3, -2, -1):
        c = r.claims(year)
        in_scope = r.own_primary_care(c, "pc_a") & (c["payer"] == r.payer_index("medicare"))
        spend += float(c["paid"][in_scope].sum())
        m = r.members(year, "medicare", "pc_a")
        mm += 12.0 * float(r.pyear("person_years", year)[m].sum())
        risk_mm += _risk_member_months(r, year)
    benchmark = spend / mm  # what FFS paid per member-month
    normaliser = risk_mm / mm  # base-period mean score: factor 1 on average
    assert 30 < benchmark < 150  # ~5 visits x $125 + labs a year: ~$65 per member-month
    for year in range(r.sc.horizon_years):
        st = r.statement(year, "capitation", "pc_a")
        assert close(st["benchmark_pmpm_usd"], benchmark)
        assert close(st["risk_normaliser"], normaliser)
        assert close(r.metric("pc_a", "capitation_revenue_usd", year),
                     benchmark / normaliser * (1 - CODING) * _risk_member_months(r, year))


def test_an_area_rate_is_used_at_risk_factor_one():
    r = _cap_run({"type": "capitation", "provider": "pc_a", "area_rate_pmpm_usd": 40.0})
    for year in range(r.sc.horizon_years):
        assert close(r.metric("pc_a", "capitation_revenue_usd", year),
                     40.0 * (1 - CODING) * _risk_member_months(r, year))
        assert r.statement(year, "capitation", "pc_a")["benchmark_source"] == "area rate"


BANDS = [(0.02, 1.0), (0.05, 0.5), (100.0, 0.2)]


@pytest.fixture(scope="module")
def global_cap():
    return _cap_run({"type": "capitation", "provider": "pc_a", "scope": "total_cost",
                     "discount": 0.3, "stop_loss": {"attachment_usd": 50_000, "coinsurance": 0.2},
                     "corridors": [{"upper": u, "provider_share": s} for u, s in BANDS]},
                    seed=4, horizon=3)


def _in_scope_cost(r, year: int) -> tuple[np.ndarray, float, np.ndarray]:
    """Per-patient in-scope cost, paid to other providers, and the scope mask."""
    c = r.claims(year)
    a = r.pindex("pc_a")
    scope = (c["payer"] == r.payer_index("medicare")) & (c["attributed"] == a)
    own = scope & (c["provider"] == a)
    others = scope & ~own
    n = len(r.payer_of)
    # own claims cost 0.90 x their amount, office visits at the flat visit price whatever
    # E/M level they were paid at (sim.coding.fees.resource_amount)
    care = resource_amount(c["service"], c["amount"], r.sc.prices)
    cost = np.bincount(c["patient"][own], weights=0.90 * care[own], minlength=n)
    cost += np.bincount(c["patient"][others], weights=c["paid"][others], minlength=n)
    return cost, float(c["paid"][others].sum()), scope


def test_global_capitation_pays_other_providers_and_replaces_payer_ffs(global_cap):
    r = global_cap
    for year in range(r.sc.horizon_years):
        c = r.claims(year)
        _, to_others, scope = _in_scope_cost(r, year)
        assert close(r.metric("pc_a", "paid_to_providers_usd", year), to_others)
        f = r.flows[r.flows.year == year]
        # Medicare pays FFS only for the claims of patients pc_a does not hold.
        medicare = c["payer"] == r.payer_index("medicare")
        ffs = f[(f.source == "medicare") & (f.kind == "ffs_claims")]
        assert close(float(ffs["amount_usd"].sum()), float(c["paid"][medicare & ~scope].sum()))
        for name in ("hospital", "specialists"):
            got = f[(f.source == "pc_a") & (f.target == name)]["amount_usd"].sum()
            assert close(float(got), float(c["paid"][scope & (c["provider"] == r.pindex(name))]
                                               .sum()))


def test_stop_loss_reimburses_80_percent_above_the_attachment(global_cap):
    r = global_cap
    hit = 0
    for year in range(r.sc.horizon_years):
        cost, _, _ = _in_scope_cost(r, year)
        members = r.members(year, "medicare", "pc_a")
        above = np.maximum(cost[members] - 50_000.0, 0.0)
        hit += int((above > 0).sum())
        st = r.statement(year, "capitation", "pc_a")
        assert close(st["in_scope_cost_usd"], float(cost[members].sum()))
        assert close(st["stop_loss_usd"], 0.8 * float(above.sum()))
    assert hit >= 5  # some patients cost more than $50,000 a year


def test_corridors_keep_the_providers_share_of_each_band(global_cap):
    r = global_cap
    widest = 0.0
    for year in range(r.sc.horizon_years):
        st = r.statement(year, "capitation", "pc_a")
        revenue = st["capitation_usd"]
        result = revenue + st["stop_loss_usd"] - st["in_scope_cost_usd"]
        assert close(st["result_before_corridors_usd"], result)
        kept, lower = 0.0, 0.0
        for upper, share in BANDS:
            part = min(max(abs(result) - lower * revenue, 0.0), (upper - lower) * revenue)
            kept += share * part
            lower = upper
        kept = np.sign(result) * kept
        assert close(st["provider_margin_usd"], kept, rel=1e-9, abs_usd=1e-4)
        assert close(st["corridor_settlement_usd"], kept - result, rel=1e-9, abs_usd=1e-4)
        # cash: capitation + (stop-loss + corridor) from Medicare, nothing else
        assert close(r.metric("pc_a", "capitation_revenue_usd", year), revenue)
        f = r.flows[(r.flows.year == year) & (r.flows.kind == "capitation_settlement")]
        assert close(float(f["amount_usd"].sum()), st["stop_loss_usd"] + kept - result)
        widest = max(widest, abs(result) / revenue)
    assert widest > 0.05  # the run reached the last band


def test_the_stop_loss_premium_is_the_base_years_tail_times_the_loading(global_cap):
    """Recomputed from the ledger: 80% of each base-year patient's in-scope cost above
    $50,000, per base member-month, x 1.25; deducted from the capitation every year."""
    r = global_cap
    recovered = mm = 0.0
    for year in (-3, -2, -1):
        cost, _, _ = _in_scope_cost(r, year)
        members = r.members(year, "medicare", "pc_a")
        recovered += 0.8 * float(np.maximum(cost[members] - 50_000.0, 0.0).sum())
        mm += 12.0 * float(r.pyear("person_years", year)[members].sum())
    assert recovered > 0
    premium_pmpm = 1.25 * recovered / mm
    for year in range(r.sc.horizon_years):
        st = r.statement(year, "capitation", "pc_a")
        assert close(st["stop_loss_premium_pmpm_usd"], premium_pmpm)
        assert close(st["stop_loss_premium_usd"], premium_pmpm * st["member_months"])
        assert close(st["capitation_usd"], st["gross_capitation_usd"] - st["stop_loss_premium_usd"])
        assert st["stop_loss_pricing"] == "premium"


def test_a_carved_out_stop_loss_lowers_the_benchmark_by_the_base_years_tail():
    r = _cap_run({"type": "capitation", "provider": "pc_a", "scope": "total_cost",
                  "stop_loss": {"attachment_usd": 50_000, "pricing": "carve_out"}}, seed=4)
    recovered = mm = spend = 0.0
    for year in (-3, -2, -1):
        cost, _, scope = _in_scope_cost(r, year)
        members = r.members(year, "medicare", "pc_a")
        recovered += 0.8 * float(np.maximum(cost[members] - 50_000.0, 0.0).sum())
        mm += 12.0 * float(r.pyear("person_years", year)[members].sum())
        spend += float(r.claims(year)["paid"][scope].sum())
    for year in range(r.sc.horizon_years):
        st = r.statement(year, "capitation", "pc_a")
        assert close(st["ffs_pmpm_usd"], spend / mm)
        assert close(st["benchmark_pmpm_usd"], (spend - recovered) / mm)
        assert st["stop_loss_premium_usd"] == 0.0


def test_the_old_rate_field_is_refused_with_its_replacement():
    with pytest.raises(Exception, match="base_pmpm_usd was replaced by area_rate_pmpm_usd"):
        scenario(plan=[{"years": "all", "contracts": [FFS_ALL, {
            "type": "capitation", "provider": "pc_a", "base_pmpm_usd": 40.0}]}],
            providers=PROVIDERS_2PC)
