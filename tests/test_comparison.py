"""Comparisons against a reference, on synthetic results tables (values by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.comparison import (
    ce_differences,
    ce_quadrant,
    ceac,
    compare_results,
    cost_effectiveness,
    cumulative_savings,
    icer_text,
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
    # mean dCost -38/3 < 0, mean dQALY 0.4/3 > 0: dominant, so no (negative) ICER
    assert row0["d_cost_usd"] == pytest.approx(dc.mean())
    assert row0["d_qalys"] == pytest.approx(dq.mean())
    assert np.isnan(row0["icer_usd_per_qaly"])
    assert (row0["quadrant"], row0["dominance"]) == ("SE", "dominant")
    assert row0["verdict"] == "dominant (saves money, gains health)"
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


def two_plans(d_cost: list[float], d_qalys: list[float]) -> pd.DataFrame:
    """One plan year; the reference costs 1000 and has 10 QALYs in every replication, the
    alternative differs by ``d_cost[r]`` and ``d_qalys[r]`` in replication r."""
    rows = []
    for rep, (dc, dq) in enumerate(zip(d_cost, d_qalys, strict=True)):
        rows += [(rep, "ref", 0, "population", "payer_spend_usd", 1000.0),
                 (rep, "ref", 0, "population", "qalys", 10.0),
                 (rep, "alt", 0, "population", "payer_spend_usd", 1000.0 + dc),
                 (rep, "alt", 0, "population", "qalys", 10.0 + dq)]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


# (per-replication dCost, dQALY) -> quadrant, dominance, ICER (hand-computed from the means),
# the ICER in words. Means: dCost = sum / 2, dQALY = sum / 2 (exact in binary floating point).
QUADRANT_CASES = [
    # NE: +3000 USD, +0.5 QALY -> 6000 USD per QALY gained
    (([2000.0, 4000.0], [0.25, 0.75]), "NE", "", 6000.0, "$6,000 per QALY gained"),
    # SE: -3000 USD, +0.5 QALY -> dominant, no ICER (the ratio would be -6000)
    (([-2000.0, -4000.0], [0.25, 0.75]), "SE", "dominant", None,
     "dominant (saves money, gains health)"),
    # NW: +3000 USD, -0.5 QALY -> dominated, no ICER
    (([2000.0, 4000.0], [-0.25, -0.75]), "NW", "dominated", None,
     "dominated (costs more, loses health)"),
    # SW: -3000 USD, -0.5 QALY -> 6000 USD saved per QALY lost
    (([-2000.0, -4000.0], [-0.25, -0.75]), "SW", "", 6000.0,
     "$6,000 saved per QALY lost (saves money, loses health)"),
    # zero QALY difference: cheaper is dominant, dearer dominated, no ICER either way
    (([-1000.0, -3000.0], [0.0, 0.0]), "SE", "dominant", None,
     "dominant (saves money, same QALYs)"),
    (([1000.0, 3000.0], [0.0, 0.0]), "NW", "dominated", None,
     "dominated (costs more, same QALYs)"),
    # zero mean QALY difference from replications that differ (+0.5 and -0.5)
    (([1000.0, 3000.0], [0.5, -0.5]), "NW", "dominated", None,
     "dominated (costs more, same QALYs)"),
    # zero cost difference, more QALYs: dominant
    (([0.0, 0.0], [0.25, 0.75]), "SE", "dominant", None, "dominant (same cost, gains health)"),
    # nothing differs
    (([0.0, 0.0], [0.0, 0.0]), "", "", None, "no difference in cost or QALYs"),
]


@pytest.mark.parametrize(("diffs", "quadrant", "dom", "icer", "words"), QUADRANT_CASES)
def test_each_quadrant_of_the_ce_plane_by_hand(diffs, quadrant, dom, icer, words):
    ce = cost_effectiveness(two_plans(*diffs), "ref", wtp=[0.0, 10_000.0], discount_rate=0.0)
    assert len(ce) == 2 and set(ce["scenario"]) == {"alt"}
    row = ce.iloc[0]
    assert row["d_cost_usd"] == pytest.approx(sum(diffs[0]) / 2)
    assert row["d_qalys"] == pytest.approx(sum(diffs[1]) / 2)
    assert (row["quadrant"], row["dominance"], row["verdict"]) == (quadrant, dom, words)
    if icer is None:
        assert np.isnan(row["icer_usd_per_qaly"])
    else:
        assert row["icer_usd_per_qaly"] == pytest.approx(icer)
        assert row["icer_usd_per_qaly"] > 0  # never a negative ICER
    # NMB at 10,000 USD/QALY is still wtp x dQALY - dCost, whatever the quadrant
    assert ce.iloc[1]["nmb_mean"] == pytest.approx(10_000 * row["d_qalys"] - row["d_cost_usd"])
    text = compare_results(two_plans(*diffs), "ref").format()
    assert words in text
    assert "ICER $-" not in text and "ICER -" not in text


def test_sw_icer_reads_as_savings_per_qaly_lost_against_the_wtp():
    """SW at 6000 USD saved per QALY lost: worth it (NMB > 0) when society values a QALY
    below 6000 USD, not above."""
    ce = cost_effectiveness(two_plans([-2000.0, -4000.0], [-0.25, -0.75]), "ref",
                            wtp=[5000.0, 7000.0], discount_rate=0.0).set_index(
        "wtp_usd_per_qaly")
    assert ce.loc[5000.0, "nmb_mean"] == pytest.approx(-5000 * 0.5 + 3000)   # +500
    assert ce.loc[7000.0, "nmb_mean"] == pytest.approx(-7000 * 0.5 + 3000)   # -500


def test_ce_quadrant_and_icer_text_on_the_axes():
    assert ce_quadrant(-1.0, 0.0) == "SE" and ce_quadrant(1.0, 0.0) == "NW"
    assert ce_quadrant(0.0, 1.0) == "SE" and ce_quadrant(0.0, -1.0) == "NW"
    assert ce_quadrant(0.0, 0.0) == "" and ce_quadrant(float("nan"), 1.0) == ""
    assert icer_text(0.0, -1.0) == "dominated (same cost, loses health)"
    assert icer_text(45_000.0, 1.0) == "$45,000 per QALY gained"


def test_ce_differences_are_the_paired_points_of_the_plane():
    points = ce_differences(results(), "ffs", discount_rate=0.0)
    assert list(points.columns) == ["replication", "scenario", "reference", "d_cost_usd",
                                    "d_qalys", "quadrant"]
    np.testing.assert_allclose(points["d_cost_usd"], [-25.0, 7.0, -20.0])
    np.testing.assert_allclose(points["d_qalys"], [0.2, 0.0, 0.2], atol=1e-12)
    # replication 1: +7 USD and (within rounding) the same QALYs
    assert points["quadrant"].iloc[0] == "SE" and points["quadrant"].iloc[2] == "SE"
    assert ce_differences(results(), "nope").empty


def test_compare_csv_keeps_a_numeric_icer_and_a_dominance_column(tmp_path):
    ce = compare_results(results(), "ffs", wtp=[50_000.0], discount_rate=0.0).cost_effectiveness
    ce.to_csv(tmp_path / "compare_cost_effectiveness.csv", index=False)
    back = pd.read_csv(tmp_path / "compare_cost_effectiveness.csv", keep_default_na=False,
                       na_values=[""])
    assert back["icer_usd_per_qaly"].dtype.kind == "f" and back["icer_usd_per_qaly"].isna().all()
    assert list(back["dominance"]) == ["dominant"] and list(back["quadrant"]) == ["SE"]
