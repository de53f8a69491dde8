"""Derive the default APP-style decile benchmarks of the simulated quality measures.

Not a speed benchmark: the calibration of ``scenario.quality`` (issue 12 item 2), written as
a script so the defaults can be re-derived. Run from the repository root::

    python benchmarks/quality_calibration.py [PUF_DIR]

Method (every number printed):

1. **Points per standard deviation.** From CMS's MSSP PY2024 ACO public use file, each ACO's
   standardised performance ``z_m = ±(value - median) / SD`` on each APP/Web-Interface
   measure (SD robust: (p90 - p10) / 2.563; sign: + when higher is better), averaged over
   the measures it reported, explains its ``QualScore`` (r ~ 0.82): QualScore / 10 ~ a + b
   z-bar. A measure's decile points are therefore ``a + b z``: decile ``k`` begins at
   ``z_k = (k - a) / b``. ``a`` is set to the PUF's median QualScore / 10 (the typical ACO,
   8.31) and ``b`` is the fitted slope (0.758 points per SD).
2. **Sim units.** Each simulated measure stands for a CMS measure (readmission -> Measure
   479, preventable admissions -> Measure 484, HbA1c poor control -> QualityID 001,
   the share of members with a primary-care visit -> the screening measures, QualityID
   134). Its threshold for decile ``k`` is the simulated value under FFS practice
   (``REFERENCE``, measured with ``--measure``) moved by ``z_k`` of the CMS measure's
   spread across ACOs: on the log scale for rates (relative SD = SD / median), on the logit
   scale for shares (SD / (median (1 - median)) by the delta method).

So a typical ACO under FFS practice scores ~83, as CMS's median ACO does; how far
a simulated ACO strays from it follows from how far its measures stray, in the CMS
measures' own spread.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

PUF_DIR = Path(__file__).resolve().parents[1] / ".." / ".." / "shared" / "data" / "cms"
PUF_2024 = "mssp_aco_puf_py2024.csv"

#: CMS measures of the PY2024 PUF used for the fit: column -> +1 higher is better, -1 lower.
FIT_MEASURES = {"Measure_479": -1, "Measure_484": -1, "QualityID_001_WI": -1,
                "QualityID_236_WI": 1, "QualityID_134_WI": 1, "QualityID_113": 1,
                "QualityID_112": 1, "QualityID_110": 1, "QualityID_226": 1,
                "QualityID_318": 1, "QualityID_438": 1, "QualityID_370": 1}

#: Simulated measure -> (CMS column, scale, higher is better in the sim's own units,
#: the sim measure is the complement of the CMS measure).
MAPPING = {
    "readmission_rate_30d": ("Measure_479", "log", False, False),
    "acsc_admissions_per_1000": ("Measure_484", "log", False, False),
    "diabetes_controlled_share": ("QualityID_001_WI", "logit", True, True),
    "annual_visit_share": ("QualityID_134_WI", "logit", True, False),
}

#: Simulated values under FFS practice (ffs_baseline levers, behaviour fixed): mean of the
#: ACO-years of plan years 0-2 of 16 replications of 5,500 patients and 8 of 10,000 (this
#: script's ``--measure``, about 2 minutes of CPU).
REFERENCE = {"readmission_rate_30d": 0.1638, "acsc_admissions_per_1000": 32.22,
             "diabetes_controlled_share": 0.7337, "annual_visit_share": 0.7315}


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype(str).str.replace("%", "").str.replace(",", ""),
                         errors="coerce")


def _spread(x: pd.Series) -> float:
    return float((x.quantile(0.9) - x.quantile(0.1)) / 2.563)


def fit(puf: pd.DataFrame) -> tuple[float, float, float]:
    """``(a, b, r)``: median QualScore / 10, slope of QualScore / 10 on mean z, correlation."""
    q = _num(puf["QualScore"])
    zs = []
    for col, sign in FIT_MEASURES.items():
        x = _num(puf[col])
        zs.append(sign * (x - x.median()) / _spread(x))
    zbar = pd.concat(zs, axis=1)
    enough = zbar.notna().sum(axis=1) >= 8
    zb = zbar.mean(axis=1)
    ok = enough & q.notna()
    b, _ = np.polyfit(zb[ok], q[ok] / 10.0, 1)
    r = float(np.corrcoef(zb[ok], q[ok])[0, 1])
    return float(q.median() / 10.0), float(b), r


def thresholds(puf: pd.DataFrame, a: float, b: float) -> dict[str, list[float]]:
    """Decile thresholds (deciles 2..10, worse to better) of each simulated measure."""
    out = {}
    zk = [(k - a) / b for k in range(2, 11)]
    for name, (col, scale, higher, complement) in MAPPING.items():
        x = _num(puf[col]) / (100.0 if col.startswith("QualityID") else 1.0)
        med, sd = float(x.median()), _spread(x)
        ref = REFERENCE[name]
        cms_ref = 1.0 - ref if complement else ref  # the sim value in the CMS measure's sense
        cms_higher = higher != complement
        sign = 1.0 if cms_higher else -1.0
        vals = []
        for z in zk:
            if scale == "log":
                v = cms_ref * math.exp(sign * z * sd / med)
            else:
                lo = math.log(cms_ref / (1.0 - cms_ref)) + sign * z * sd / (med * (1.0 - med))
                v = 1.0 / (1.0 + math.exp(-lo))
            vals.append(1.0 - v if complement else v)
        out[name] = [float(f"{v:.4g}") for v in vals]
    return out


def measure(n: int = 20000, reps: int = 4) -> dict[str, float]:
    """Simulated measures under FFS practice (behaviour fixed), plan years 0-2."""
    from sim.behaviour.decide import Behaviour
    from sim.care.engine import CareSimulation
    from sim.quality_measures import measure_counts, measure_values
    from sim.scenario.loader import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "mssp_one_sided.yaml",
                       overrides={"population.size": n, "behavior": "fixed",
                                  "horizon_years": 3})
    rows = []
    for r in range(reps):
        care = CareSimulation(sc, np.random.SeedSequence([123, r]))
        beh = Behaviour(sc)
        for _ in range(care.sim_years):
            y = care.next_plan_year
            lev = beh.choose(y - 1, care.panel(), care.ledger) if y >= 0 and care.year >= 0 \
                else None
            care.start_year(lev)
            care.run_to_year_end()
            care.close_year()
        rows += [measure_values(measure_counts(care.ledger, y)) for y in range(3)]
    return {k: float(v) for k, v in pd.DataFrame(rows).mean().items()}


def main(argv: list[str]) -> None:
    if "--measure" in argv:
        a, b = measure(5500, 16), measure(10000, 8)
        print({k: (48 * a[k] + 24 * b[k]) / 72 for k in a})  # per ACO-year
        return
    folder = Path(argv[0]) if argv else PUF_DIR
    puf = pd.read_csv(folder / PUF_2024, encoding="latin-1")
    a, b, r = fit(puf)
    print(f"a = {a:.3f} (median QualScore / 10), b = {b:.3f} points per SD (r = {r:.2f})")
    for name, t in thresholds(puf, a, b).items():
        print(f"{name:28s} {t}")


if __name__ == "__main__":
    main(sys.argv[1:])
