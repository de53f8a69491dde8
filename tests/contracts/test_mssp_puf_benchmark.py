"""MSSP benchmark adjustments against CMS's PY2024 public use file.

The file gives, per ACO, the computed regional adjustment ``RegAdj``, the prior-savings
adjustment ``PriorSavAdj``, which one CMS applied (``FinalAdjCat``), ``HistBnchmk`` and
``UpdatedBnchmk`` (per capita), but not the regional spending behind ``RegAdj``. So:

* where the file has the inputs — which adjustment applies, given ``RegAdj`` and
  ``PriorSavAdj`` — :func:`benchmark_adjustment` must reproduce ``FinalAdjCat`` on every
  row of an agreement period starting in 2024;
* the sign pattern of the rules: a negative regional adjustment is applied only before
  2024, and from 2024 it is capped at −1.5% of national spending (earlier: −5%);
* the risk cap from 2024 (aggregate HCC growth ≤ aggregate demographic growth + 3
  points): the ACOs it binds have a typical implied update factor only with it;
* the default comparison population (``regional_to_aco_ratio``) is the median the file
  implies, and the regional adjustment it gives a first-agreement ACO lies in the
  middle of the file's distribution for such ACOs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_mssp_puf import DATA, FILES, _number

from sim.contracts.mssp.config import MSSPContract
from sim.contracts.mssp.rules import (
    benchmark_adjustment,
    capped_risk_ratios,
    regional_adjustment,
)

pytestmark = pytest.mark.skipif(DATA is None, reason="CMS public use files not found "
                                "(set VBCSIM_CMS_DATA to shared/data/cms)")


@pytest.fixture(scope="module")
def puf() -> pd.DataFrame:
    assert DATA is not None
    f = pd.read_csv(DATA / FILES[2024], encoding="latin-1", dtype=str)
    for col in ("RegAdj", "PriorSavAdj", "HistBnchmk", "UpdatedBnchmk",
                "Agreement_Period_Num"):
        f[col] = _number(f[col])
    f["start"] = f["Current_Start_Date"].str.split("/").str[-1].astype(int)
    f["reg_share"] = f["RegAdj"] / f["HistBnchmk"]
    return f


def test_final_adjustment_category_reproduced(puf: pd.DataFrame) -> None:
    rows = puf[puf.start >= 2024]
    assert len(rows) >= 100
    for _, row in rows.iterrows():
        psa = 0.0 if np.isnan(row["PriorSavAdj"]) else float(row["PriorSavAdj"])
        st = benchmark_adjustment(float(row["RegAdj"]), psa, int(row["start"]))
        assert st["category"] == row["FinalAdjCat"], row[["ACO_ID", "RegAdj", "PriorSavAdj"]]
        expected = {"Regional Adjustment": row["RegAdj"], "Prior Savings Adjustment": psa,
                    "No Adjustment": 0.0}[row["FinalAdjCat"]]
        assert st["adjustment_pc_usd"] == pytest.approx(expected)
    # every category occurs, so the comparison covers each branch of the rule
    assert set(rows["FinalAdjCat"]) == {"Regional Adjustment", "Prior Savings Adjustment",
                                        "No Adjustment"}


def test_negative_regional_adjustments_only_before_2024(puf: pd.DataFrame) -> None:
    early, late = puf[puf.start < 2024], puf[puf.start >= 2024]
    # before 2024 negative adjustments are applied (every row is "Regional Adjustment")
    assert (early["RegAdj"] < 0).sum() >= 30
    assert (early["FinalAdjCat"] == "Regional Adjustment").all()
    # from 2024 a negative one never is
    assert not ((late["RegAdj"] < 0) & (late["FinalAdjCat"] == "Regional Adjustment")).any()
    # ... and the computed negative ones are within the -1.5% cap (national spending is
    # within 25% of an ACO's historical benchmark), while earlier ones reach beyond it
    assert late["reg_share"].min() >= -0.015 * 1.25
    assert early["reg_share"].min() < -0.015 * 1.25
    # the rule function agrees on the sign for ACOs below and above their region
    for above in (True, False):
        st = regional_adjustment(10_000.0, 9_000.0 if above else 11_000.0, 10_000.0, 1, 2024)
        assert (st["regional_adjustment_computed_pc_usd"] < 0) == above
        assert st["regional_adjustment_pc_usd"] >= 0


def test_default_region_matches_the_puf(puf: pd.DataFrame) -> None:
    first = puf[puf["Agreement_Period_Num"] == 1]
    assert len(first) >= 100
    share = np.where(first["RegAdj"] > 0, 0.35, 0.15)  # first agreement: 35% / 15%
    implied = np.median(first["RegAdj"] / share / first["HistBnchmk"])
    ratio = MSSPContract.model_fields["regional_to_aco_ratio"].default
    assert ratio - 1.0 == pytest.approx(implied, abs=0.001)
    # the default gives a first-agreement ACO the file's median adjustment (1.5% of the
    # historical benchmark), inside its interquartile range
    ours = regional_adjustment(10_000.0, ratio * 10_000.0, ratio * 10_000.0, 1, 2025)
    ours_share = ours["regional_adjustment_pc_usd"] / 10_000.0
    q25, q50, q75 = np.percentile(first["reg_share"], [25, 50, 75])
    assert q25 < ours_share < q75
    assert ours_share == pytest.approx(q50, abs=0.002)
    # and about four in five first-agreement ACOs are below their region, as the
    # default assumes for the simulated one
    assert (first["RegAdj"] > 0).mean() > 0.7


def test_risk_cap_in_aggregate_with_demographic_growth(puf: pd.DataFrame) -> None:
    """Agreement periods from 2024: CMS caps the aggregate HCC risk-score growth (types
    weighted by ``RR_weight_*_PY``) at the aggregate demographic growth + 3 points. The
    file gives the scores but not the update factor; UpdatedBnchmk / (HistBnchmk +
    adjustment) = update factor x aggregate risk ratio, and the update factor is common
    to ACOs up to their regions. For the ACOs whose growth exceeds the cap, the implied
    update factor is typical only with the cap applied."""
    rows = puf[puf.start >= 2024]
    types = ("ESRD", "DIS", "AGDU", "AGND")

    def col(pattern: str) -> np.ndarray:
        return np.column_stack([_number(rows[pattern.format(t)]) for t in types])

    weights = np.nan_to_num(col("RR_weight_{}_PY"))
    hcc_py, hcc_by3 = col("CMS_HCC_RiskScore_{}_PY"), col("CMS_HCC_RiskScore_{}_BY3")
    dem_py, dem_by3 = col("Demog_RiskScore_{}_PY"), col("Demog_RiskScore_{}_BY3")
    psa = rows["PriorSavAdj"].fillna(0.0)
    adj = np.where(rows["FinalAdjCat"] == "Regional Adjustment", rows["RegAdj"],
                   np.where(rows["FinalAdjCat"] == "Prior Savings Adjustment", psa, 0.0))
    implied = (rows["UpdatedBnchmk"] / (rows["HistBnchmk"] + adj)).to_numpy()
    capped, uncapped, binding = [], [], []
    for i in range(len(rows)):
        ok = ~np.isnan(hcc_py[i]) & ~np.isnan(hcc_by3[i]) & ~np.isnan(dem_py[i]) \
            & ~np.isnan(dem_by3[i]) & (weights[i] > 0)
        st = capped_risk_ratios(hcc_py[i][ok], hcc_by3[i][ok], weights[i][ok],
                                dem_py[i][ok], dem_by3[i][ok])
        capped.append(implied[i] / (st["aggregate_ratio"] * st["cap_factor"]))
        uncapped.append(implied[i] / st["aggregate_ratio"])
        binding.append(st["cap_factor"] < 1.0)
    capped_u, uncapped_u, bind = np.array(capped), np.array(uncapped), np.array(binding)
    assert 3 <= bind.sum() <= 15  # the cap binds for a few ACOs (6 of 140)
    typical = np.median(capped_u[~bind])
    # with the cap, the binding ACOs' update factors are as typical as anyone's ...
    assert np.all(np.abs(capped_u[bind] - typical) < 0.02)
    # ... without it they would all sit below the typical value
    assert np.all(uncapped_u[bind] < typical - 0.004)
