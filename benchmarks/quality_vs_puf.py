"""Simulated ACO-years under FFS practice vs CMS's MSSP results: quality score, quality
standard, final sharing and loss rates (issue 12 item 2).

Runs ``aco_enhanced`` (ENHANCED track: its loss rate depends on quality) with behaviour
fixed at the FFS reference levers, ``--size`` patients, ``--reps`` replications of
``--years`` plan years (each plan year of each replication is one ACO-year), and prints
median / p10 / p90 of ``QualScore``, the share meeting the quality performance standard
(``Met_QPS``) and ENHANCED ACOs' ``FinalShareRate`` / ``FinalLossRate``, beside CMS's
PY2024 ACO public use file. Run from the repository root (about 1 s of CPU per
replication at the defaults)::

    python benchmarks/quality_vs_puf.py [--size 5500] [--reps 8] [--years 3]

``tests/contracts/test_quality_puf.py`` runs the same comparison (smaller) and checks it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = [Path(os.environ["VBCSIM_CMS_DATA"])] if "VBCSIM_CMS_DATA" in os.environ else []
CANDIDATES += [REPO.parent / "shared" / "data" / "cms", Path("/work/shared/data/cms")]
PUF_FILE = "mssp_aco_puf_py2024.csv"


def puf_dir() -> Path | None:
    """The folder holding CMS's ACO PUFs, or None."""
    return next((p for p in CANDIDATES if (p / PUF_FILE).exists()), None)


def _num(s: pd.Series) -> pd.Series:
    text = s.astype(str).str.replace("%", "", regex=False).str.replace(",", "", regex=False)
    return pd.to_numeric(text, errors="coerce")


def puf_summary(folder: Path) -> dict[str, float]:
    """PY2024 PUF: QualScore quantiles, Met_QPS share, ENHANCED final rates (fractions)."""
    d = pd.read_csv(folder / PUF_FILE, encoding="latin-1", dtype=str)
    q = _num(d["QualScore"])
    en = d["Current_Track"].str.strip() == "EN"
    return {
        "qual_p10": float(q.quantile(0.1)), "qual_p50": float(q.median()),
        "qual_p90": float(q.quantile(0.9)),
        "met_qps": float((_num(d["Met_QPS"]) == 1).mean()),
        "met_40pctl": float((_num(d["Met_40pctl"]) == 1).mean()),
        "en_share_p50": float(_num(d.loc[en, "FinalShareRate"]).median() / 100),
        "en_loss_p50": float(_num(d.loc[en, "FinalLossRate"]).median() / 100),
        "en_loss_p90": float(_num(d.loc[en, "FinalLossRate"]).quantile(0.9) / 100),
    }


def simulate(size: int = 5500, reps: int = 8, years: int = 3, seed: int = 7
             ) -> pd.DataFrame:
    """One row per simulated ACO-year: ``score``, ``standard``, ``sharing_rate``,
    ``loss_rate`` from the MSSP statements of ``aco_enhanced`` under FFS practice."""
    from sim.replication import simulate_replication
    from sim.scenario.loader import load_scenario

    sc = load_scenario(REPO / "scenarios" / "aco_enhanced.yaml", overrides={
        "population.size": size, "behavior": "fixed", "horizon_years": years})
    root = np.random.SeedSequence(seed)
    rows = []
    for r, child in enumerate(root.spawn(reps)):
        st = simulate_replication(sc, r, child).tables["settlements"]
        st = st[st["contract"] == "mssp"]
        for (_, y), g in st.groupby(["replication", "year"]):
            v = dict(zip(g["item"], g["value"], strict=False))
            facts = g[g["kind"] == "fact"]
            f = dict(zip(facts["item"], facts["note"], strict=False))
            rows.append({"year": y, "score": float(v["quality_score"]),
                         "standard": str(f["quality_standard"]),
                         "sharing_rate": float(v["sharing_rate"]),
                         "loss_rate": float(v["loss_rate"])})
    return pd.DataFrame(rows)


def sim_summary(sim: pd.DataFrame) -> dict[str, float]:
    """The simulated counterparts of :func:`puf_summary`."""
    return {
        "qual_p10": float(sim["score"].quantile(0.1)), "qual_p50": float(sim["score"].median()),
        "qual_p90": float(sim["score"].quantile(0.9)),
        "met_qps": float((sim["standard"] != "failed").mean()),
        "met_40pctl": float((sim["standard"] == "met").mean()),
        "en_share_p50": float(sim["sharing_rate"].median()),
        "en_loss_p50": float(sim["loss_rate"].median()),
        "en_loss_p90": float(sim["loss_rate"].quantile(0.9)),
    }


LABELS = {"qual_p10": "QualScore p10", "qual_p50": "QualScore median",
          "qual_p90": "QualScore p90", "met_qps": "Met_QPS (met or alternative)",
          "met_40pctl": "met the 40th-percentile standard",
          "en_share_p50": "ENHANCED FinalShareRate median",
          "en_loss_p50": "ENHANCED FinalLossRate median",
          "en_loss_p90": "ENHANCED FinalLossRate p90"}


def table(sim: dict[str, float], puf: dict[str, float]) -> pd.DataFrame:
    """Side-by-side comparison."""
    return pd.DataFrame({"simulated (FFS practice)": sim, "CMS PUF PY2024": puf}
                        ).rename(index=LABELS).round(3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=5500)
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--years", type=int, default=3)
    a = ap.parse_args()
    folder = puf_dir()
    if folder is None:
        raise SystemExit("CMS PUF not found (set VBCSIM_CMS_DATA to shared/data/cms)")
    sim = simulate(a.size, a.reps, a.years)
    print(f"{len(sim)} simulated ACO-years ({a.reps} replications x {a.years} years, "
          f"{a.size} patients)\n")
    print(table(sim_summary(sim), puf_summary(folder)).to_string())


if __name__ == "__main__":
    main()
