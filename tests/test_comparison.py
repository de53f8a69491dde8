"""Comparisons against a reference, on synthetic results tables (values by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.comparison import (
    ceac,
    compare_results,
    cost_effectiveness,
    cumulative_savings,
    incremental,
    npv,
    payer_spending_metric,
    probability_best,
)
from sim.results import RESULT_COLUMNS

# Per replication and year: (payer spending, QALYs, provider margin) for two plans.
FFS = {0: [(100.0, 10.0, 5.0), (110.0, 10.0, 5.0)],
       1: [(200.0, 9.0, 6.0), (210.0, 9.0, 6.0)],
       2: [(150.0, 9.5, 4.0), (150.0, 9.5, 4.0)]}
ACO = {0: [(90.0, 10.1, 3.0), (95.0, 10.1, 8.0)],     # saves 15, +0.2 QALY
       1: [(205.0, 9.0, 6.0), (212.0, 9.0, 6.0)],     # costs 7 more, same QALYs
       2: [(140.0, 9.6, 4.0), (140.0, 9.6, 4.0)]}     # saves 20, +0.2 QALY


def results(spend_metric="payer_spend_usd"):
    rows = []
    for name, plan in (("ffs", FFS), ("aco", ACO)):
        for rep, years in plan.items():
            for year, (spend, qalys, margin) in enumerate(years):
                rows += [(rep, name, year, "population", spend_metric, spend),
                         (rep, name, year, "population", "qalys", qalys),
                         (rep, name, year, "pcg", "margin_usd", margin)]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def test_payer_spending_falls_back_to_total_spending():
    assert payer_spending_metric(results()) == "payer_spend_usd"
    assert payer_spending_metric(results("spend_total_usd")) == "spend_total_usd"


def test_incremental_paired_differences_by_hand():
    inc = incremental(results(), "ffs").set_index(["entity", "metric"])
    spend = inc.loc[("population", "payer_spend_usd")]
    diffs = np.array([-25.0, 7.0, -20.0])  # (90+95)-(100+110), (205+212)-(200+210), 280-300
    assert spend["scenario"] == "aco" and spend["reference"] == "ffs"
    assert spend["diff_mean"] == pytest.approx(diffs.mean())
    assert spend["diff_se"] == pytest.approx(diffs.std(ddof=1) / np.sqrt(3))
    assert spend["ci_low"] == pytest.approx(diffs.mean() - 1.959964 * spend["diff_se"], rel=1e-6)
    assert spend["p2.5"] == pytest.approx(np.quantile(diffs, 0.025))
    assert spend["p_positive"] == pytest.approx(1 / 3)
    q = inc.loc[("population", "qalys")]
    assert q["diff_mean"] == pytest.approx(np.mean([0.2, 0.0, 0.2]))
    m = inc.loc[("pcg", "margin_usd")]
    assert m["diff_mean"] == pytest.approx(np.mean([1.0, 0.0, 0.0]))


def test_icer_and_nmb_by_hand_without_discounting():
    ce = cost_effectiveness(results(), "ffs", wtp=[0.0, 100.0], discount_rate=0.0)
    dc = np.array([-25.0, 7.0, -20.0])
    dq = np.array([0.2, 0.0, 0.2])
    row0, row100 = ce.iloc[0], ce.iloc[1]
    assert row0["icer_usd_per_qaly"] == pytest.approx(dc.mean() / dq.mean())
    assert row0["verdict"].startswith("dominant")
    assert row0["nmb_mean"] == pytest.approx((-dc).mean())
    assert row100["nmb_mean"] == pytest.approx((100 * dq - dc).mean())
    assert row0["p_nmb_positive"] == pytest.approx(2 / 3)
    assert row100["p_nmb_positive"] == pytest.approx(2 / 3)


def test_discounting_applies_to_later_years():
    ce = cost_effectiveness(results(), "ffs", wtp=[0.0], discount_rate=0.1)
    dc = np.array([-10 - 15 / 1.1, 5 + 2 / 1.1, -10 - 10 / 1.1])
    assert ce.iloc[0]["d_cost_usd"] == pytest.approx(dc.mean())


def test_ceac_probabilities_sum_to_one_per_wtp():
    curve = ceac(results(), wtp=[0.0, 1000.0], discount_rate=0.0)
    assert set(curve.groupby("wtp_usd_per_qaly")["probability"].sum()) == {1.0}
    at0 = curve[curve["wtp_usd_per_qaly"] == 0].set_index("scenario")["probability"]
    assert at0["aco"] == pytest.approx(2 / 3)  # cheaper in replications 0 and 2


def test_probability_best_uses_the_right_direction_and_shares_ties():
    best = probability_best(results()).set_index(["metric", "scenario"])
    assert best.loc[("payer_spend_usd", "aco"), "probability"] == pytest.approx(2 / 3)
    assert best.loc[("payer_spend_usd", "aco"), "best_is"] == "lowest"
    # QALYs: aco better in reps 0 and 2, tie in rep 1 -> 2/3 + 1/6
    assert best.loc[("qalys", "aco"), "probability"] == pytest.approx(2 / 3 + 1 / 6)
    assert best.loc[("qalys", "aco"), "best_is"] == "highest"


def test_npv_of_margin_by_hand():
    table = npv(results(), "ffs", discount_rate=0.05).set_index(["scenario", "entity"])
    ffs = [5 + 5 / 1.05, 6 + 6 / 1.05, 4 + 4 / 1.05]
    aco = [3 + 8 / 1.05, 6 + 6 / 1.05, 4 + 4 / 1.05]
    assert table.loc[("ffs", "pcg"), "npv_mean"] == pytest.approx(np.mean(ffs))
    assert table.loc[("aco", "pcg"), "d_npv_mean"] == pytest.approx(
        np.mean(np.subtract(aco, ffs)))
    assert np.isnan(table.loc[("ffs", "pcg"), "d_npv_mean"])


def test_cumulative_payer_savings_by_year():
    cum = cumulative_savings(results(), "ffs").set_index("year")
    assert cum.loc[0, "saving_mean"] == pytest.approx(np.mean([10.0, -5.0, 10.0]))
    assert cum.loc[1, "cumulative_mean"] == pytest.approx(np.mean([25.0, -7.0, 20.0]))
    assert cum.loc[1, "p_cumulative_positive"] == pytest.approx(2 / 3)


def test_compare_results_bundles_everything_and_formats():
    c = compare_results(results(), "ffs", wtp=[50_000.0])
    assert set(c.tables()) == {"incremental", "cost_effectiveness", "ceac", "best", "npv",
                               "cumulative_savings"}
    text = c.format()
    assert "Compared with ffs" in text and "payer_spend_usd" in text and "ICER" in text
    with pytest.raises(ValueError, match="reference 'nope'"):
        compare_results(results(), "nope")


def test_without_qalys_there_is_no_cost_effectiveness():
    r = results()
    r = r[r["metric"] != "qalys"]
    c = compare_results(r, "ffs")
    assert c.cost_effectiveness.empty and c.ceac.empty and not c.incremental.empty
