"""The uniform settlement statement and the helpers that are not settlement cases."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from sim.contracts import quality
from sim.contracts.bundled import rules as bundled
from sim.contracts.mssp import rules as mssp
from sim.contracts.statement import Line, Statement, StatementBuilder, statements_frame


def _example() -> Statement:
    return mssp.settle_performance_year(
        track="BASIC_E", assigned_beneficiaries=20000, benchmark_usd=100e6,
        expenditure_usd=95e6, quality_score=90)


def test_statement_frame_is_long_and_uniform() -> None:
    frame = _example().to_frame()
    assert list(frame.columns) == ["contract", "kind", "item", "value", "note"]
    assert set(frame["kind"]) == {"line", "value", "fact", "cash"}
    assert frame["value"].dtype == np.float64
    earned = frame[(frame.kind == "value") & (frame.item == "earned_usd")]["value"].item()
    assert earned == pytest.approx(5e6 * 0.5 * 0.98)
    assert frame[frame.item == "track"]["note"].item() == "BASIC_E"


def test_statements_concatenate_with_ids_and_write_parquet(tmp_path) -> None:
    q = quality.quality_score({"readmission_rate_30d": 0.15, "hba1c_control_share": 0.9,
                               "annual_visit_share": 0.8, "ed_visits_per_1000": 600})
    frame = statements_frame([_example(), q], replication=3, scenario="base", year=2025)
    assert list(frame.columns[:3]) == ["replication", "scenario", "year"]
    assert set(frame["contract"]) == {"mssp", "quality"}
    frame.to_parquet(tmp_path / "settlements.parquet")
    back = pd.read_parquet(tmp_path / "settlements.parquet")
    assert len(back) == len(frame)


def test_statement_dict_pickle_and_access() -> None:
    s = _example()
    d = s.to_dict()
    assert d["contract"] == "mssp" and d["payer_paid_usd"] == s.earned_usd
    assert isinstance(d["lines"][0], dict) and set(d["lines"][0]) == {"label", "amount_usd",
                                                                      "note"}
    again = pickle.loads(pickle.dumps(s))
    assert again.earned_usd == s.earned_usd and again.lines == s.lines
    assert s["track"] == "BASIC_E" and s.limit_applied == "none"
    with pytest.raises(KeyError, match="earned_usd"):
        s["earnings"]
    with pytest.raises(TypeError):
        s.values["earned_usd"] = 0.0  # type: ignore[index]
    assert "earned shared savings" in str(s)


def test_statement_refuses_money_that_does_not_add_up() -> None:
    with pytest.raises(ValueError, match="does not add up"):
        Statement("x", (Line("a", 1.0),), {}, payer_paid_usd=10.0, provider_received_usd=9.0)
    b = StatementBuilder("y")
    b.line("payment", 5.0)
    assert b.build(payer_paid_usd=5.0).provider_received_usd == 5.0


def test_truncate_spending_at_the_99th_percentile() -> None:
    x = np.arange(1, 101, dtype=float) * 1000.0
    out = mssp.truncate_spending(x)
    cap = np.percentile(x, 99)
    assert out.max() == pytest.approx(cap) and (out[:99] == x[:99]).all()
    assert mssp.truncate_spending(x, threshold_usd=50_000).max() == 50_000
    with pytest.raises(ValueError):
        mssp.truncate_spending(x, pct=0)


def test_weights_risk_cap_and_agreement_periods() -> None:
    assert mssp.baseline_weights(1) == (0.1, 0.3, 0.6)
    assert mssp.baseline_weights(3) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert mssp.capped_risk_ratio(1.10, 1.00) == pytest.approx(1.03)
    assert mssp.capped_risk_ratio(0.90, 1.00) == pytest.approx(0.90)
    p = mssp.agreement_period(2023, 2019)
    assert (p.number, p.start_year, p.baseline_years) == (1, 2019, (2016, 2017, 2018))
    assert mssp.agreement_period(2024, 2019).baseline_years == (2021, 2022, 2023)
    with pytest.raises(ValueError):
        mssp.agreement_period(2018, 2019)


def test_rebasing_ratchet_lowers_the_next_benchmark() -> None:
    # An ACO that cuts spending in agreement period 1 faces a lower benchmark in
    # period 2, because period 2 is rebased on the last three years of period 1.
    history = {2021: 10_000.0, 2022: 10_000.0, 2023: 10_000.0}
    saver = {**history, 2024: 10_000.0, 2025: 9_900.0, 2026: 9_700.0, 2027: 9_500.0,
             2028: 9_300.0}
    spender = {**history, **{y: 10_000.0 for y in range(2024, 2029)}}
    period2 = mssp.agreement_period(2029, 2024)
    bench = {}
    for name, spend in (("saver", saver), ("spender", spender)):
        pcs = [spend[y] for y in period2.baseline_years]
        bench[name] = mssp.historical_benchmark(pcs, agreement_number=period2.number)[
            "historical_benchmark_pc_usd"]
    assert bench["spender"] == pytest.approx(10_000.0)
    assert bench["saver"] == pytest.approx((9_700 + 9_500 + 9_300) / 3)


def test_sequestration_by_performance_year() -> None:
    assert mssp.sequestration_rate(2018) == 0.02
    assert mssp.sequestration_rate(2019) == 0.0
    assert mssp.sequestration_rate(2020) == 0.0
    assert mssp.sequestration_rate(2021) == 0.02
    assert mssp.sequestration_rate(2024) == 0.02


def test_episodes_open_and_collect_claims_in_the_window() -> None:
    # Patient 1: knee replacement day 10-13, a second stay on day 60 falls inside the
    # episode (no new episode); a third on day 200 opens one.
    opened = bundled.open_episodes([1, 1, 1, 2], [10, 60, 200, 5], [13, 64, 203, 6])
    assert opened.tolist() == [True, False, True, True]
    spend = bundled.episode_spending(
        claim_patient=[1, 1, 1, 1, 2, 2],
        claim_day=[10, 50, 103, 104, 5, 96],
        claim_amount_usd=[20_000, 500, 300, 999, 15_000, 40],
        episode_patient=[1, 2],
        episode_start_day=[10, 5],
        episode_discharge_day=[13, 6],
    )
    # patient 1: days 10..103 count (discharge 13 + 90), day 104 does not;
    # patient 2: days 5..96 (discharge 6 + 90)
    assert spend.tolist() == [20_800, 15_040]
