"""ACO REACH Global with primary-care capitation (PCC) in a run.

The ACO ``pc_a`` is aligned with Medicare's patients attributed to it; its own primary
care of them is paid by PCC instead of FFS, and PCC counts as expenditure. Corridors,
discount and withhold are recomputed from the statement's inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from settle_support import (
    FFS_ALL,
    PROVIDERS_2PC,
    TWO_PAYERS,
    assigned_aggregates,
    close,
    run,
    scenario,
)

from sim.contracts.capitation.rules import apply_corridors
from sim.contracts.reach.rules import CORRIDORS
from sim.settlement.context import SettlementContext

GLOBAL_BANDS = [(0.25, 1.0), (0.35, 0.5), (0.50, 0.25), (math.inf, 0.10)]


@pytest.fixture(scope="module")
def reach():
    sc = scenario(size=3000, horizon=3, providers=PROVIDERS_2PC, payers=TWO_PAYERS,
                  plan=[{"years": "all", "contracts": [
                      FFS_ALL, {"type": "ffs", "payer": "commercial"},
                      {"type": "reach", "aco": "pc_a", "option": "global",
                       "primary_care_capitation": True}]}])
    return run(sc, seed=12)


def _primary_care_share(r) -> float:
    """Base PCC percentage: the ACO's own primary care of its aligned patients over their
    spending in BY3 (the year before it joined)."""
    c = r.claims(-1)
    covered = r.own_primary_care(c, "pc_a") & (c["payer"] == r.payer_index("medicare"))
    aligned = r.members(-1, "medicare", "pc_a")
    return float(c["paid"][covered].sum()) / float(r.spend(-1)[aligned].sum())


def _hand_benchmark(r, year: int) -> float:
    """REACH benchmark by hand: the historical baseline (as MSSP, 10/30/60% in BY3 risk),
    blended with the regional rate (1.042 x baseline) at the PY's regional weight
    (PY2025 45%, PY2026 and later 50%), risk ratio of normalised scores
    (normalisation factor constant: no reference drift) capped at +-3%, x person-years."""
    base = [assigned_aggregates(r, y) for y in (-3, -2, -1)]
    risk_by3 = base[2][2]
    hist = sum(w * pc * risk_by3 / risk for w, (pc, _, risk, _) in
               zip((0.1, 0.3, 0.6), base, strict=True))
    w = {2025: 0.45}.get(2025 + year, 0.50)
    blended = (1 - w) * hist + w * 1.042 * hist
    _, py, risk, _ = assigned_aggregates(r, year)
    return blended * min(max(risk / risk_by3, 0.97), 1.03) * py


def test_aco_primary_care_is_paid_by_pcc_not_ffs(reach):
    r = reach
    share = _primary_care_share(r)
    assert 0.01 < share < 0.10  # ~5 visits x $125 + labs a year of ~$10-15k spending
    for year in range(r.sc.horizon_years):
        c = r.claims(year)
        own = r.own_primary_care(c, "pc_a")
        commercial = c["payer"] == r.payer_index("commercial")
        assert close(r.metric("pc_a", "ffs_revenue_usd", year),
                     float(c["paid"][own & commercial].sum()))
        st = r.statement(year, "reach", "pc_a")
        # PCC = Base PCC percentage x the benchmark per member-month, for every member-month
        assert close(st["pcc_usd"], share * st.lines[0].amount_usd)
        assert close(r.metric("pc_a", "capitation_revenue_usd", year), st["pcc_usd"])
        assert close(r.metric("pc_a", "settlement_usd", year), st["shared_savings_usd"])


def test_benchmark_expenditure_and_corridors_recomputed(reach):
    r = reach
    ctx = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    for year in range(r.sc.horizon_years):
        st = r.statement(year, "reach", "pc_a")
        benchmark = _hand_benchmark(r, year)
        assert close(st.lines[0].amount_usd, benchmark)
        # 3.5% discount (PY2025+), 2% withhold earned back by the aligned patients' score
        q = ctx.quality(year, r.members(year, "medicare", "pc_a"), "test:aligned")[0] / 100
        final = benchmark * (1 - 0.035) * (1 - 0.02 + 0.02 * q)
        assert close(st["final_benchmark_usd"], final)
        # expenditure: truncated FFS spending of the aligned minus the capitated primary care
        # (its claims were not paid), plus PCC
        pc, py, _, _ = assigned_aggregates(r, year)
        c = r.claims(year)
        covered = r.own_primary_care(c, "pc_a") & (c["payer"] == r.payer_index("medicare"))
        expenditure = pc * py - float(c["paid"][covered].sum()) + st["pcc_usd"]
        assert close(st["total_expenditure_usd"], expenditure)
        gross = final - expenditure
        assert close(st["gross_savings_usd"], gross)
        kept, lower = 0.0, 0.0
        for upper, share in GLOBAL_BANDS:
            part = min(max(abs(gross) - lower * final, 0.0), (upper - lower) * final)
            kept += share * part
            lower = upper
        # 2% sequestration of the shared savings or losses
        assert close(st["shared_savings_usd"], 0.98 * math.copysign(kept, gross))
        assert close(st["shared_savings_usd"],
                     0.98 * apply_corridors(gross, final, CORRIDORS["global"])[0])


def test_stop_loss_charge_and_payouts(reach):
    """Optional stop-loss: the charge (expected payouts from the baseline years, trended)
    comes off the benchmark, the payouts (90% of spending above the attachment) off the
    expenditure; the rest of the reconciliation is unchanged."""
    sc = reach.sc.model_copy(update={"plan": [reach.sc.plan[0].model_copy(update={
        "contracts": [*reach.sc.plan[0].contracts[:2], reach.sc.plan[0].contracts[2].model_copy(
            update={"stop_loss_attachment_usd": 40_000.0})]})]})
    r = run(sc, seed=12)
    def payout(year: int) -> tuple[float, float]:
        spend, py = r.spend(year), r.pyear("person_years", year)
        members = r.members(year, "medicare")
        annual = np.where(py > 0, spend / np.maximum(py, 1e-12), 0.0)
        annual = np.minimum(annual, np.percentile(annual[members], 99))
        m = r.members(year, "medicare", "pc_a")
        return 0.9 * float((np.maximum(annual[m] - 40_000.0, 0.0) * py[m]).sum()), float(py[m].sum())
    expected_pc = float(np.mean([payout(y)[0] / payout(y)[1] for y in (-3, -2, -1)]))
    assert expected_pc > 0
    for year in range(sc.horizon_years):
        st = r.statement(year, "reach", "pc_a")
        plain = reach.statement(year, "reach", "pc_a")
        paid, py = payout(year)
        assert close(st["stop_loss_payout_usd"], paid)
        assert close(st["stop_loss_charge_usd"], expected_pc * py)
        assert close(st["total_expenditure_usd"], plain["total_expenditure_usd"] - paid)


def test_enhanced_pcc_and_rta_in_a_run(reach):
    """An elected PCC percentage (7%) pays 7% of the benchmark; an actual trend 3 points a
    year above the prospective one raises the benchmark by the RTA (1.03^k, limited to
    +5%) and leaves the rest of the benchmark as it was."""
    contract = reach.sc.plan[0].contracts[2].model_copy(
        update={"pcc_percentage": 0.07, "actual_trend_per_year": 0.03})
    sc = reach.sc.model_copy(update={"plan": [reach.sc.plan[0].model_copy(update={
        "contracts": [*reach.sc.plan[0].contracts[:2], contract]})]})
    r = run(sc, seed=12)
    for year in range(sc.horizon_years):
        st = r.statement(year, "reach", "pc_a")
        plain = reach.statement(year, "reach", "pc_a")
        rta = min(1.03 ** (year + 1), 1.05)
        assert close(st.lines[0].amount_usd, rta * plain.lines[0].amount_usd)
        assert close(st["pcc_usd"], 0.07 * st.lines[0].amount_usd)
