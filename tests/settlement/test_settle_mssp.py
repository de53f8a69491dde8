"""MSSP in a run: one performance year recomputed by hand from the ledger; the ratchet.

The ACO is ``pc_a``; its assigned beneficiaries are Medicare's members attributed to
it (commercial patients and ``pc_b``'s are not). The hand computation follows 42 CFR
425.601-605 as the settler documents it: each beneficiary's spending annualised and
truncated at the 99th percentile of all Medicare members' annualised spending of the
year; per-capita spending of the assigned population in BY1-BY3 restated to BY3 risk,
weighted 10/30/60 (first agreement); the performance-year benchmark times the risk
ratio (growth capped at +3%) times the assigned person-years.
"""

from __future__ import annotations

import numpy as np
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

from sim.contracts.mssp.rules import settle_performance_year
from sim.scenario.schema import Levers

COMMERCIAL_FFS = {"type": "ffs", "payer": "commercial"}
CAL = 2025  # economics.first_calendar_year default


SAVING = Levers(prevention_effort=0.9, discretionary_intensity=0.85,
                transitional_care_effort=0.5)


def _mssp_run(seed: int = 6, **mssp):
    """BASIC A without MSR; the ACO lowers its spending (~10%) from the first plan year
    (its lever choice sets its levers for the plan years after the baseline)."""
    contract = {"type": "mssp", "aco": "pc_a", "track": "BASIC_A", "msr": 0.0, **mssp}
    sc = scenario(size=3000, horizon=3, providers=PROVIDERS_2PC, payers=TWO_PAYERS,
                  plan=[{"years": "all", "contracts": [FFS_ALL, COMMERCIAL_FFS, contract]}])
    return run(sc, seed=seed, choose_levers=lambda year, _panel: {"pc_a": SAVING})


@pytest.fixture(scope="module")
def mssp():
    return _mssp_run()


def test_one_performance_year_recomputed_by_hand(mssp):
    r = mssp
    earned_any = 0.0
    for year in range(r.sc.horizon_years):
        pc, py, _, n = assigned_aggregates(r, year)
        benchmark = hand_benchmark(r, year)
        expenditure = pc * py
        st = r.statement(year, "mssp", "pc_a")
        assert close(st["benchmark_usd"], benchmark)
        assert close(st["expenditure_usd"], expenditure)
        assert st["assigned_beneficiaries"] == n
        assert n == pytest.approx(0.36 * 3000, rel=0.15)  # Medicare 60% x pc_a 60%
        c = r.claims(year)
        revenue = float(c["paid"][(c["payer"] == r.payer_index("medicare"))
                                  & (c["provider"] == r.pindex("pc_a"))].sum())
        score = st["quality_score"]  # the ACO's measures are tested in the quality module
        standard = "met" if score >= 40 else "alternative" if score >= 30 else "failed"
        hand = settle_performance_year(
            track="BASIC_A", assigned_beneficiaries=n, benchmark_usd=benchmark,
            expenditure_usd=expenditure, quality_score=score, quality_standard=standard,
            msr=0.0, low_revenue=revenue < 0.35 * expenditure, participant_revenue_usd=revenue,
            performance_year=CAL + year, agreement_start_year=CAL)
        assert close(r.metric("pc_a", "settlement_usd", year), hand["earned_usd"])
        assert close(st["earned_usd"], hand["earned_usd"])
        earned_any += abs(hand["earned_usd"])
        for other in ("pc_b", "hospital"):
            assert r.metric(other, "settlement_usd", year) == 0.0
    assert earned_any > 0  # the comparison covered shared savings, not only zeros


def test_failing_the_quality_standard_forfeits_savings(mssp):
    strict = _mssp_run(quality_standard_score=100.0, alternative_standard_score=100.0)
    saved = 0
    for year in range(strict.sc.horizon_years):
        st = strict.statement(year, "mssp", "pc_a")
        assert st["quality_standard"] == "failed"
        assert st["sharing_rate"] == 0.0
        assert st["earned_usd"] == 0.0
        assert strict.metric("pc_a", "settlement_usd", year) == 0.0
        # same run otherwise: the same gross savings were there to share
        assert close(st["gross_savings_usd"], mssp.statement(year, "mssp", "pc_a")
                     ["gross_savings_usd"])
        saved += mssp.statement(year, "mssp", "pc_a")["earned_usd"] > 0
    assert saved >= 1


# --------------------------------------------------------------------------- the ratchet

def _ratchet_run(save: bool, prior_savings: bool = False):
    """FFS in plan year 0, then MSSP (BASIC A, no MSR) in years 1-5 with 2-year
    agreements (1-2, 3-4, 5). With ``save``, the ACO lowers spending from year 1.
    The prior-savings adjustment (which returns part of the ratchet) is off unless
    ``prior_savings``."""
    sc = scenario(size=3000, horizon=6, plan=[
        {"years": "all", "contracts": [{"type": "ffs"}]},
        {"years": "1-5", "contracts": [{"type": "mssp", "aco": "primary_care_group",
                                        "track": "BASIC_A", "msr": 0.0,
                                        "prior_savings_adjustment": prior_savings,
                                        "agreement_years": 2}]}])

    def choose(year, _panel):
        return {"primary_care_group": SAVING} if save and year == 0 else None

    return run(sc, seed=9, choose_levers=choose)


@pytest.fixture(scope="module")
def ratchet():
    return _ratchet_run(True), _ratchet_run(False)


def _historical(r, year: int) -> dict:
    hist = r.statements_of(year, "mssp_benchmark")[0]
    return hist.values


def _per_capita(r, year: int) -> float:
    spend, py = r.spend(year), r.pyear("person_years", year)
    m = r.members(year)
    annual = np.where(py > 0, spend / np.maximum(py, 1e-12), 0.0)
    truncated = np.minimum(annual, np.percentile(annual[m], 99)) * py
    return float(truncated[m].sum() / py[m].sum())


def test_agreements_rebase_on_the_three_years_before_them(ratchet):
    r, _ = ratchet
    # agreement periods from 2019 weight BY1-BY3 10/30/60% in renewals too (425.601(a)(7))
    for year, number, baseline, weights in ((1, 1, (-2, -1, 0), (0.1, 0.3, 0.6)),
                                            (3, 2, (0, 1, 2), (0.1, 0.3, 0.6)),
                                            (5, 3, (2, 3, 4), (0.1, 0.3, 0.6))):
        hist = _historical(r, year)
        assert hist["agreement_number"] == number
        assert _historical(r, year + (year < 5)) == hist  # same benchmark within the agreement
        mssp = r.statement(year, "mssp")
        assert mssp["agreement_start_year"] == CAL + year
        lines = {ln.label: ln.amount_usd for ln in r.statements_of(year, "mssp_benchmark")[0].lines}
        for i, by in enumerate(baseline, start=1):
            assert close(lines[f"BY{i} per-capita spending"], _per_capita(r, by))
            assert close(lines[f"BY{i} weighted"], weights[i - 1] * hist[f"by{i}_restated_pc_usd"])


def test_savings_now_lower_later_benchmarks_and_savings(ratchet):
    saving, plain = ratchet
    b = {y: _historical(saving, y)["historical_benchmark_pc_usd"] for y in (1, 3, 5)}
    b_plain = {y: _historical(plain, y)["historical_benchmark_pc_usd"] for y in (1, 3, 5)}
    # The first agreement's baseline (years -2..0) precedes the change: same benchmark.
    assert close(b[1], b_plain[1])
    # The ratchet: the 2nd agreement rebases on years 0-2, two of them with lower spending
    # (the lever effect is ~10% of spending; the plain run shows the noise: same seed).
    assert b[3] < b[1]
    assert b[3] < b_plain[3] * 0.97
    assert b[5] < b_plain[5] * 0.95
    earned = [saving.metric("primary_care_group", "settlement_usd", y) for y in range(6)]
    first, second, third = sum(earned[1:3]), sum(earned[3:5]), earned[5]
    # the ACO keeps saving ~10% of spending, but each rebasing shares less of it
    # (over seeds agreement 2 earns 5-86% of agreement 1 — with two years at the MSR
    # threshold it is noisy — and agreement 3 0-20%)
    assert first > 0
    assert second < 0.9 * first
    assert third < 0.5 * first


def test_prior_savings_adjustment_returns_part_of_the_ratchet(ratchet):
    """42 CFR 425.658: a renewing ACO's benchmark gets 50% of the average per-capita
    savings of the benchmark years that were performance years (capped at 5% of
    national spending), or its positive regional adjustment if larger."""
    without, _ = ratchet
    with_psa = _ratchet_run(True, prior_savings=True)
    for year in (3, 5):
        sts = {st.values.get("prior_savings_adjustment_pc_usd") is not None: st
               for st in with_psa.statements_of(year, "mssp_benchmark")}
        psa = sts[True].values
        # the benchmark years' savings, recomputed from the earlier mssp statements
        bys = (0, 1, 2) if year == 3 else (2, 3, 4)
        savings = [(with_psa.statement(y, "mssp")["benchmark_usd"]
                    - with_psa.statement(y, "mssp")["expenditure_usd"])
                   / with_psa.statements_of(y, "mssp_benchmark")[-1]["benchmark_usd"]
                   * with_psa.statements_of(y, "mssp_benchmark")[-1]["updated_benchmark_pc_usd"]
                   for y in bys if y >= 1]
        assert close(psa["average_savings_pc_usd"], float(np.mean(savings)))
        assert psa["average_savings_pc_usd"] > 0
        assert psa["prior_savings_adjustment_pc_usd"] == pytest.approx(
            min(0.5 * psa["average_savings_pc_usd"], 0.05 * 1.042
                * _historical(with_psa, year)["historical_benchmark_pc_usd"]))
    earned = [with_psa.metric("primary_care_group", "settlement_usd", y) for y in range(6)]
    earned_without = [without.metric("primary_care_group", "settlement_usd", y)
                      for y in range(6)]
    assert sum(earned[1:3]) == pytest.approx(sum(earned_without[1:3]))  # same 1st agreement
    assert sum(earned[3:5]) > 1.2 * sum(earned_without[3:5])


# ----------------------------------------------------------- the regional adjustment in a run

def _regional_run(ratio: float, first_calendar_year: int = 2025):
    """BASIC A for pc_a (fixed levers) with the region at ``ratio`` x the ACO's historical
    benchmark; the agreement starts in ``first_calendar_year``."""
    contract = {"type": "mssp", "aco": "pc_a", "track": "BASIC_A", "msr": 0.0,
                "regional_to_aco_ratio": ratio}
    sc = scenario(size=1500, horizon=1, providers=PROVIDERS_2PC, payers=TWO_PAYERS,
                  economics={"first_calendar_year": first_calendar_year},
                  plan=[{"years": "all", "contracts": [FFS_ALL, COMMERCIAL_FFS, contract]}])
    return run(sc, seed=6)


@pytest.mark.parametrize(("ratio", "year", "share", "applied"), [
    (1.10, 2025, 0.35, True),    # below the region: 35% of the gap (first agreement)
    (0.94, 2025, 0.15, False),   # above it, agreement from 2024: computed, not applied
    (0.94, 2021, 0.15, True),    # above it before 2024: 15% of the gap, cap -5% (not binding)
])
def test_regional_adjustment_sign_pattern_in_a_run(ratio, year, share, applied):
    r = _regional_run(ratio, year)
    for y in range(r.sc.horizon_years):
        sts = r.statements_of(y, "mssp_benchmark")
        hist = sts[0]["historical_benchmark_pc_usd"]
        reg = next(s for s in sts if "regional_share" in s.values)
        computed = share * (ratio - 1.0) * hist
        if ratio < 1 and year >= 2024:
            computed = max(computed, -0.015 * ratio * hist)  # -1.5% of national (= regional)
        assert reg["regional_share"] == share
        assert close(reg["regional_adjustment_computed_pc_usd"], computed)
        upd = sts[-1]
        assert close(upd["adjusted_historical_pc_usd"], hist + (computed if applied else 0.0))
        assert close(r.statement(y, "mssp", "pc_a")["benchmark_usd"], upd["benchmark_usd"])


def test_update_factor_blends_national_regional_and_acpt_in_a_run():
    """Agreement from 2025: update factor = 1/3 ACPT + 2/3 (national weight x national +
    (1 - weight) x regional growth), each compounded from BY3 (plan year -1); the baseline
    years are trended to BY3 by the national-regional blend."""
    contract = {"type": "mssp", "aco": "pc_a", "track": "BASIC_A", "msr": 0.0,
                "trend_per_year": 0.02, "regional_growth_per_year": 0.04,
                "aco_share_of_region": 0.25, "acpt_per_year": 0.03}
    sc = scenario(size=3000, horizon=2, providers=PROVIDERS_2PC, payers=TWO_PAYERS,
                  plan=[{"years": "all", "contracts": [FFS_ALL, COMMERCIAL_FFS, contract]}])
    r = run(sc, seed=6)

    def blend(k: int) -> float:
        return 0.25 * 1.02 ** k + 0.75 * 1.04 ** k

    for y in range(sc.horizon_years):
        sts = r.statements_of(y, "mssp_benchmark")
        k = y + 1
        upd = next(s for s in sts if "update_factor" in s.values)
        assert upd["two_way_blend"] == pytest.approx(blend(k))
        assert upd["update_factor"] == pytest.approx(1.03 ** k / 3 + 2 * blend(k) / 3)
        lines = {ln.label: ln.note for ln in sts[0].lines}
        assert f"trend {blend(2):.4f}" in lines["BY1 restated to BY3"]
        assert f"trend {blend(1):.4f}" in lines["BY2 restated to BY3"]
        final = sts[-1]
        assert close(final["updated_benchmark_pc_usd"],
                     final["adjusted_historical_pc_usd"] * upd["update_factor"]
                     * final["risk_ratio"])
