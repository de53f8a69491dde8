"""ACO REACH Global with primary-care capitation (PCC) in a run.

The ACO ``pc_a`` is aligned with Medicare's patients attributed to it; its own primary
care of them is paid by PCC instead of FFS, and PCC counts as expenditure. Corridors,
discount and withhold are recomputed from the statement's inputs.
"""

from __future__ import annotations

import math

import pytest
from settle_support import (
    FFS_ALL,
    PROVIDERS_2PC,
    TWO_PAYERS,
    assigned_aggregates,
    close,
    hand_benchmark,
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


def _pcc_rate(r) -> float:
    """The ACO's primary care per aligned member-month in the year before it joined."""
    c = r.claims(-1)
    covered = r.own_primary_care(c, "pc_a") & (c["payer"] == r.payer_index("medicare"))
    mm = 12.0 * float(r.pyear("person_years", -1)[r.members(-1, "medicare", "pc_a")].sum())
    return float(c["paid"][covered].sum()) / mm


def test_aco_primary_care_is_paid_by_pcc_not_ffs(reach):
    r = reach
    rate = _pcc_rate(r)
    assert 30 < rate < 150  # ~5 visits x $125 + labs a year
    for year in range(r.sc.horizon_years):
        c = r.claims(year)
        own = r.own_primary_care(c, "pc_a")
        commercial = c["payer"] == r.payer_index("commercial")
        assert close(r.metric("pc_a", "ffs_revenue_usd", year),
                     float(c["paid"][own & commercial].sum()))
        st = r.statement(year, "reach", "pc_a")
        _, py, _, _ = assigned_aggregates(r, year)
        assert close(st["pcc_usd"], rate * 12.0 * py)
        assert close(r.metric("pc_a", "capitation_revenue_usd", year), st["pcc_usd"])
        assert close(r.metric("pc_a", "settlement_usd", year), st["shared_savings_usd"])


def test_benchmark_expenditure_and_corridors_recomputed(reach):
    r = reach
    ctx = SettlementContext.of(r.sc, r.run.ledger, r.run.population, r.run.providers)
    for year in range(r.sc.horizon_years):
        st = r.statement(year, "reach", "pc_a")
        # benchmark: historical as MSSP (first-agreement weights), 3.5% discount (PY2025+),
        # 2% withhold earned back by the quality score
        benchmark = hand_benchmark(r, year, regional=(1.0, 0.0))
        assert close(st.lines[0].amount_usd, benchmark)
        # the aligned patients' quality score (its measures are not under test here)
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
        assert close(st["shared_savings_usd"], math.copysign(kept, gross))
        assert close(st["shared_savings_usd"], apply_corridors(gross, final, CORRIDORS["global"])[0])
