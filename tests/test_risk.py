"""Risk measures and Monte Carlo precision on synthetic results tables (values by hand)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.results import RESULT_COLUMNS, summarise
from sim.risk import cvar, precision, risk_table, var, worst_cumulative


def table(rows):
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


# 4 replications x 3 years of one provider; margins chosen so cumulative paths are easy.
MARGINS = {
    0: [100.0, 100.0, 100.0],    # total 300, worst cumulative 100 (year 0)
    1: [-50.0, -50.0, 200.0],    # total 100, worst cumulative -100 (year 1)
    2: [-300.0, 100.0, 100.0],   # total -100, worst cumulative -300 (year 0)
    3: [20.0, -40.0, 10.0],      # total -10, worst cumulative -20 (year 1)
}
SETTLEMENTS = {0: [10.0, 0.0, 0.0], 1: [-5.0, 0.0, 0.0], 2: [-20.0, -10.0, 0.0],
               3: [0.0, 0.0, 1.0]}


@pytest.fixture
def provider_table():
    rows = []
    for rep in MARGINS:
        for year in range(3):
            rows.append((rep, "aco", year, "pcg", "margin_usd", MARGINS[rep][year]))
            rows.append((rep, "aco", year, "pcg", "settlement_usd", SETTLEMENTS[rep][year]))
            rows.append((rep, "aco", year, "population", "payer_spend_usd", 1000.0 + rep))
    return table(rows)


def test_var_is_the_lower_quantile_and_cvar_the_mean_beyond_it():
    x = np.arange(1.0, 101.0)  # 1..100
    assert var(x, 0.05) == pytest.approx(np.quantile(x, 0.05))  # 5.95
    assert cvar(x, 0.05) == pytest.approx(np.mean([1, 2, 3, 4, 5]))
    assert cvar(x, 0.05) <= var(x, 0.05)
    assert math.isnan(var([], 0.05)) and math.isnan(cvar([np.nan], 0.05))


def test_risk_over_the_plan_by_hand(provider_table):
    risk = risk_table(provider_table).set_index(["scenario", "entity"])
    assert list(risk.index) == [("aco", "pcg")]  # population has no margin or settlement
    r = risk.loc[("aco", "pcg")]
    totals = [300.0, 100.0, -100.0, -10.0]
    assert r["n"] == 4
    assert r["margin_mean"] == pytest.approx(np.mean(totals))
    assert r["p_negative_margin"] == 0.5
    assert r["margin_var95"] == pytest.approx(np.quantile(totals, 0.05))
    assert r["margin_cvar95"] == -100.0  # only the worst replication is at or below VaR95
    settle_totals = [10.0, -5.0, -30.0, 1.0]
    assert r["p_owing"] == 0.5
    assert r["settlement_var95"] == pytest.approx(np.quantile(settle_totals, 0.05))
    assert r["settlement_cvar95"] == -30.0
    worst = [100.0, -100.0, -300.0, -20.0]
    assert r["worst_cumulative_mean"] == pytest.approx(np.mean(worst))
    assert r["worst_cumulative_p5"] == pytest.approx(np.quantile(worst, 0.05))
    assert r["p_cumulative_loss"] == 0.75


def test_risk_by_year(provider_table):
    risk = risk_table(provider_table, over_years="by_year")
    year0 = risk[risk["year"] == 0].iloc[0]
    assert year0["p_negative_margin"] == 0.5  # replications 1 and 2
    assert year0["p_owing"] == 0.5
    assert "worst_cumulative_mean" not in risk
    assert len(risk) == 3


def test_worst_cumulative_position_and_year(provider_table):
    w = worst_cumulative(provider_table).set_index("replication")
    assert list(w["worst_cumulative"]) == [100.0, -100.0, -300.0, -20.0]
    assert list(w["worst_year"]) == [0, 1, 0, 1]


def test_risk_works_on_any_entity_with_the_metric_and_returns_empty_otherwise(provider_table):
    payer = provider_table.assign(entity=provider_table["entity"].replace({"pcg": "medicare"}))
    assert list(risk_table(payer)["entity"]) == ["medicare"]
    nothing = provider_table[provider_table["metric"] == "payer_spend_usd"]
    assert risk_table(nothing).empty
    only_settlement = provider_table[provider_table["metric"] == "settlement_usd"]
    r = risk_table(only_settlement)
    assert "p_owing" in r and "margin_mean" not in r


def test_a_different_tail(provider_table):
    r = risk_table(provider_table, alpha=0.5).iloc[0]
    assert r["margin_var50"] == pytest.approx(np.median([300.0, 100.0, -100.0, -10.0]))


def test_summary_with_chosen_percentiles(provider_table):
    s = summarise(provider_table, percentiles=(5, 50, 95)).set_index(["entity", "metric"])
    row = s.loc[("pcg", "margin_usd")]
    per_rep = [100.0, 100 / 3, -100 / 3, -10 / 3]
    assert row["p50"] == pytest.approx(np.median(per_rep))
    assert row["p5"] == pytest.approx(np.quantile(per_rep, 0.05))
    assert list(s.columns[-3:]) == ["p5", "p50", "p95"]
    with pytest.raises(ValueError, match="between 0 and 100"):
        summarise(provider_table, percentiles=(150,))


def test_precision_and_replications_needed():
    rng = np.random.default_rng(0)
    values = rng.normal(1000.0, 100.0, size=50)
    t = table([(i, "s", 0, "population", "spend_usd", v) for i, v in enumerate(values)])
    p = precision(t, relative=0.01).iloc[0]
    sd = values.std(ddof=1)
    assert p["mcse"] == pytest.approx(sd / np.sqrt(50))
    assert p["half_width"] == pytest.approx(1.959964 * sd / np.sqrt(50), rel=1e-5)
    assert p["replications_needed"] == math.ceil((1.959964 * sd / (0.01 * values.mean())) ** 2)
    p_abs = precision(t, absolute=50.0).iloc[0]
    assert p_abs["replications_needed"] == math.ceil((1.959964 * sd / 50.0) ** 2)
    assert p_abs["replications_needed"] < 50 < p["replications_needed"]
