"""Predict each ACO's PY2024 MSSP result from its PY2023 PUF row; compare with what happened.

Issue 15 item 2. For a seeded sample of the ACOs present in both the PY2023 and PY2024 MSSP
ACO PUFs (linked by ``ACO_ID``; stratified by the PY2024 track: A, B, C-D, E, ENHANCED),
this script

1. builds the ACO's scenario from its PY2023 row (``sim.scenario_from_puf``, calibration
   panel ``--calibration-size``), puts it on its actual PY2024 track (``Current_Track`` of
   the PY2024 file; a two-sided track keeps the PY2023 ``MinSavPerc`` as symmetric MSR/MLR
   when the ACO was two-sided in 2023, else 2%, an assumption; a one-sided track gets the
   MSR of the size table at the real ``N_AB``, not at the smaller simulated panel);
2. runs one plan year (PY2024) with parameter uncertainty on, ``--reps`` replications,
   ``--size`` patients (population scaling: fewer than the real ``N_AB``);
3. reads the predictive distribution of the savings rate, earned savings / owed losses
   (per assigned beneficiary, times the PY2024 ``N_AB``) and the quality score, and
   compares it with the PY2024 PUF (``Sav_rate``, ``EarnSaveLoss``, ``QualScore``).

Patient-level Monte Carlo noise in a panel of ``--size`` patients is larger than in the real
ACO. The script measures it (one ACO, parameters at their means) and also reports the
intervals with the patient-level part rescaled to each ACO's real size:
``median + (x - median) * sqrt((v - m_n + m_n * n / N) / v)`` (``v`` the variance of the
run, ``m_n`` the patient-level variance at ``n`` patients, ``N`` the real size).

It writes ``benchmarks/puf_predictive.json`` (per ACO) and ``benchmarks/puf_predictive.md``
(the section of docs/validation.md; ``benchmarks/validation.py --render`` includes it), and
with ``--write`` puts the section into docs/validation.md between markers.

    PYTHONPATH=. python benchmarks/puf_predictive.py --jobs 2 --write   # defaults: 15 ACOs
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CMS = Path("/work/shared/data/cms")
PUF23, PUF24 = CMS / "mssp_aco_puf_py2023.csv", CMS / "mssp_aco_puf_py2024.csv"
JSON = REPO / "benchmarks" / "puf_predictive.json"
MD = REPO / "benchmarks" / "puf_predictive.md"
DOC = REPO / "docs" / "validation.md"
BEGIN, END = "<!-- puf-predictive:begin -->", "<!-- puf-predictive:end -->"
STRATA = {"A": ("A",), "B": ("B",), "C-D": ("C", "D"), "E": ("E",), "ENHANCED": ("EN",)}
TRACKS = {"A": "BASIC_A", "B": "BASIC_B", "C": "BASIC_C", "D": "BASIC_D", "E": "BASIC_E",
          "EN": "ENHANCED"}
TWO_SIDED = {"C", "D", "E", "EN"}


def _num(x: Any) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    s = str(x).replace("%", "").replace("$", "").replace(",", "").strip()
    try:
        return float(s)
    except ValueError:
        return None


def linked() -> pd.DataFrame:
    """ACOs in both files: PY2023 and PY2024 columns side by side (suffixes _23, _24)."""
    a = pd.read_csv(PUF23, encoding="latin-1", dtype=str)
    b = pd.read_csv(PUF24, encoding="latin-1", dtype=str)
    return a.merge(b, on="ACO_ID", suffixes=("_23", "_24"))


def sample(both: pd.DataFrame, per_stratum: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = []
    for name, codes in STRATA.items():
        pool = both[both["Current_Track_24"].isin(codes)].sort_values("ACO_ID")
        pool = pool[pool["Sav_rate_24"].map(_num).notna()]
        k = min(per_stratum, len(pool))
        idx = rng.choice(len(pool), size=k, replace=False)
        out.append(pool.iloc[np.sort(idx)].assign(stratum=name))
    return pd.concat(out, ignore_index=True)


def anchored_ratio(row: dict[str, Any]) -> float | None:
    """``regional_to_aco_ratio`` putting the benchmark above the ACO's own history by its
    PY2023 gap (``1 / (1 - Sav_rate)``), through the regional adjustment's share for its
    agreement period and sign (the adjustment's +5%/-1.5% caps still apply in the run)."""
    from sim.contracts.mssp.benchmark import regional_share

    rate, period = _num(row.get("Sav_rate_23")), _num(row.get("Agreement_Period_Num_23"))
    if rate is None or period is None or period < 1:
        return None
    uplift = 1.0 / (1.0 - rate / 100) - 1.0
    share = regional_share(int(period), uplift > 0)
    return round(min(2.0, max(0.5, 1.0 + uplift / share)), 4)


def _scenario(row: dict[str, Any], size: int, reps: int, calibration_size: int,
              uncertainty: bool = True) -> tuple[dict[str, Any], float]:
    from sim.contracts.mssp.rules import minimum_savings_rate
    from sim.puf import scenario_from_puf

    t0 = time.process_time()
    built = scenario_from_puf(PUF23, row["ACO_ID"], calibration_size=calibration_size)
    calib_cpu = time.process_time() - t0
    d = built.data
    n_real = int(_num(row["N_AB_23"]) or size)
    d["population"]["size"] = min(size, n_real)
    d.update(horizon_years=1, replications=reps, parameter_uncertainty=uncertainty)
    code = str(row["Current_Track_24"]).strip().upper()
    mssp = next(c for c in d["plan"][0]["contracts"] if c["type"] == "mssp")
    mssp["track"] = TRACKS[code]
    mssp.pop("msr", None)
    mssp.pop("mlr", None)
    if code in TWO_SIDED:
        was_two = str(row.get("Risk_Model_23") or "").lower().startswith("two")
        m = _num(row.get("MinSavPerc_23")) if was_two else None
        mssp["msr"] = mssp["mlr"] = round((m if m is not None else 2.0) / 100, 4)
    else:
        mssp["msr"] = minimum_savings_rate(n_real)
    return d, calib_cpu


def _draws(sc: Any, reps: int, seed: int) -> dict[str, list[float]]:
    from sim.replication import simulate_replication
    from sim.rng import replication_seeds

    draws: dict[str, list[float]] = {"savings_rate": [], "earned_per_ab": [], "quality": []}
    for r, ss in enumerate(replication_seeds(seed, reps)):
        st = simulate_replication(sc, r, ss).tables["settlements"]
        v = st[(st.contract == "mssp") & (st.kind == "value") & (st.year == 0)]
        val = dict(zip(v["item"], v["value"], strict=False))
        ab = val.get("assigned_beneficiaries") or float("nan")
        draws["savings_rate"].append(float(val.get("savings_rate", float("nan"))))
        draws["earned_per_ab"].append(float(val.get("earned_usd", float("nan"))) / ab)
        draws["quality"].append(float(val.get("quality_score", float("nan"))))
    return draws


def predict(row: dict[str, Any], size: int, reps: int, calibration_size: int,
            seed: int, uncertainty: bool = True,
            variants: tuple[bool, ...] = (False, True)) -> dict[str, Any]:
    """The predictive draws of one ACO (one per replication) for each variant (anchored
    or not: the same calibrated scenario) and the CPU times."""
    from sim.scenario import scenario_from_dict

    d, calib_cpu = _scenario(row, size, reps, calibration_size, uncertainty)
    d["seed"] = seed
    t0 = time.process_time()
    out: dict[str, Any] = {}
    for anchor in variants:
        v = copy.deepcopy(d)
        ratio = anchored_ratio(row) if anchor else None
        if ratio is not None:
            next(c for c in v["plan"][0]["contracts"] if c["type"] == "mssp")[
                "regional_to_aco_ratio"] = ratio
        sc = scenario_from_dict(v, source=f"<PUF {row['ACO_ID']}>")
        out["anchored" if anchor else "draws"] = _draws(sc, reps, seed)
        out["sim_size"] = sc.population.size
    return {"aco": row["ACO_ID"], "stratum": row.get("stratum"), "track_23":
            row["Current_Track_23"], "track_24": row["Current_Track_24"],
            "n_ab_23": _num(row["N_AB_23"]), "n_ab_24": _num(row["N_AB_24"]),
            **out,
            "actual": {"savings_rate": (_num(row["Sav_rate_24"]) or 0) / 100,
                       "earned": _num(row["EarnSaveLoss_24"]),
                       "quality": _num(row["QualScore_24"])},
            "sav_rate_23": (_num(row["Sav_rate_23"]) or 0) / 100,
            "calibration_cpu_s": calib_cpu,
            "run_cpu_s": (time.process_time() - t0) / len(variants)}


def _job(args: tuple) -> dict[str, Any]:
    return predict(*args)


def _rescaled(x: np.ndarray, m_n: float, n: int, big_n: float) -> np.ndarray:
    v = float(np.var(x, ddof=1))
    if not v > 0:
        return x
    target = max(v - m_n + m_n * n / big_n, 1e-12)
    med = float(np.median(x))
    return med + (x - med) * math.sqrt(target / v)


def summarise(res: list[dict[str, Any]], mc_var: float, key: str = "draws"
              ) -> tuple[pd.DataFrame, dict]:
    """Per ACO and overall: intervals, coverage, error of the median, for variant ``key``
    (``draws``: the scenario as generated; ``anchored``: benchmark position anchored)."""
    rows = []
    for r in res:
        if key not in r:
            continue
        x = np.asarray(r[key]["savings_rate"], float)
        x = x[np.isfinite(x)]
        act = r["actual"]["savings_rate"]
        xs = _rescaled(x, mc_var, r["sim_size"], r["n_ab_24"] or r["sim_size"])
        earned = np.asarray(r[key]["earned_per_ab"], float) * (r["n_ab_24"] or 0)
        q = np.asarray(r[key]["quality"], float)
        row = {"aco": r["aco"], "stratum": r["stratum"], "track": f"{r['track_23']}->"
               f"{r['track_24']}", "n_ab": r["n_ab_24"], "actual": act,
               "median": float(np.median(x)), "sav_rate_23": r["sav_rate_23"],
               "earned_actual": r["actual"]["earned"], "earned_median": float(np.median(earned)),
               "quality_actual": r["actual"]["quality"], "quality_median": float(np.median(q)),
               "calibration_cpu_s": r["calibration_cpu_s"], "run_cpu_s": r["run_cpu_s"]}
        for tag, arr in (("raw", x), ("scaled", xs)):
            for lvl in (50, 90):
                lo, hi = np.percentile(arr, [50 - lvl / 2, 50 + lvl / 2])
                row[f"in{lvl}_{tag}"] = bool(lo <= act <= hi)
                row[f"lo{lvl}_{tag}"], row[f"hi{lvl}_{tag}"] = float(lo), float(hi)
        ql, qh = np.percentile(q, [5, 95])
        qa = r["actual"]["quality"]
        row["quality_in90"] = qa is not None and bool(ql <= qa <= qh)
        el, eh = np.percentile(earned, [5, 95])
        ea = r["actual"]["earned"]
        row["earned_in90"] = ea is not None and bool(el <= ea <= eh)
        row["owed_actual"] = ea is not None and ea < 0
        row["p_owe"] = float(np.mean(earned < 0))
        rows.append(row)
    df = pd.DataFrame(rows)
    err = df["median"] - df["actual"]
    naive = df["sav_rate_23"] - df["actual"]
    q_err = df["quality_median"] - df["quality_actual"]
    stats = {"acos": len(df), "cover50_raw": df["in50_raw"].mean(),
             "cover90_raw": df["in90_raw"].mean(), "cover50_scaled": df["in50_scaled"].mean(),
             "cover90_scaled": df["in90_scaled"].mean(), "mae": err.abs().mean(),
             "bias": err.mean(), "naive_mae": naive.abs().mean(), "naive_bias": naive.mean(),
             "corr": float(np.corrcoef(df["median"], df["actual"])[0, 1]) if len(df) > 2
             else float("nan"),
             "quality_mae": q_err.abs().mean(), "quality_bias": q_err.mean(),
             "quality_cover90": df["quality_in90"].mean(),
             "earned_cover90": df["earned_in90"].mean(),
             "owed_actual": int(df["owed_actual"].sum()), "p_owe_sum": df["p_owe"].sum(),
             "calibration_cpu_median": df["calibration_cpu_s"].median(),
             "calibration_cpu_max": df["calibration_cpu_s"].max(),
             "run_cpu_median": df["run_cpu_s"].median()}
    return df, stats


def render(res: list[dict[str, Any]], meta: dict) -> str:
    """The validation.md section: summary table for both variants, then per ACO."""
    p = lambda v: f"{100 * v:+.1f}%"  # noqa: E731
    df, a = summarise(res, meta["mc_var"], "draws")
    has_b = all("anchored" in r for r in res)
    dfb, b = summarise(res, meta["mc_var"], "anchored") if has_b else (None, None)

    def both(fmt: Any) -> str:
        return fmt(a) + (f" | {fmt(b)}" if b is not None else "")

    head = "| measure | as generated |" + (" anchored on PY2023 `Sav_rate` |" if has_b else "")
    lines = [
        BEGIN, "",
        "## Predictive check: PY2023 PUF row -> PY2024 result (issue 15)",
        "",
        "Written by `benchmarks/puf_predictive.py` (not by `validation.py`, which includes "
        "this section from `benchmarks/puf_predictive.md`). For "
        f"{a['acos']} ACOs present in both the PY2023 and PY2024 MSSP ACO PUFs (a seeded "
        f"sample, seed {meta['seed']}, {meta['per_stratum']} per PY2024 track stratum: A, "
        "B, C-D, E, ENHANCED; of the 407 ACOs in both files) the scenario was built from "
        "the PY2023 row (`scenario_from_puf`, calibration panel "
        f"{meta['calibration_size']:,} patients), put on the ACO's actual PY2024 track and "
        f"run for one plan year: {meta['reps']} replications with parameter uncertainty "
        "(the uncertainty block the PUF scenario carries: behaviour, lever effects, "
        f"benchmark-trend gap), {meta['size']:,} patients (population scaling: the real "
        f"ACOs have {int(df['n_ab'].min()):,}-{int(df['n_ab'].max()):,} beneficiaries). "
        "The predicted savings rate (benchmark minus expenditure, % of benchmark) is "
        "compared with the PY2024 `Sav_rate`. *Raw* intervals are those of the runs; "
        "*scaled* intervals shrink the patient-level part of their variance (measured: SD "
        f"{100 * math.sqrt(meta['mc_var']):.1f} points at {meta['size']:,} patients, one "
        "ACO, parameters at their means) to the ACO's real size. *Anchored*: the same "
        "scenario with `regional_to_aco_ratio` set so that the benchmark exceeds the ACO's "
        "own history by its PY2023 gap (1 / (1 - `Sav_rate`), through the regional "
        "adjustment's share; its caps still apply), a variant the generator does not write.",
        "",
        head, "| --- | --- |" + (" --- |" if has_b else ""),
        "| coverage of the 50% interval (raw / scaled) | " + both(
            lambda s: f"{s['cover50_raw']:.0%} / {s['cover50_scaled']:.0%}") + " |",
        "| coverage of the 90% interval (raw / scaled) | " + both(
            lambda s: f"{s['cover90_raw']:.0%} / {s['cover90_scaled']:.0%}") + " |",
        "| error of the median: MAE; bias (predicted - actual), points | " + both(
            lambda s: f"{100 * s['mae']:.1f}; {100 * s['bias']:+.1f}") + " |",
        "| correlation of the median with the actual rate across ACOs | " + both(
            lambda s: f"{s['corr']:.2f}") + " |",
        "| naive forecast (PY2024 = PY2023 `Sav_rate`): MAE; bias, points | " + both(
            lambda s: f"{100 * s['naive_mae']:.1f}; {100 * s['naive_bias']:+.1f}") + " |",
        "| quality score: MAE; bias of the median; 90% coverage | " + both(
            lambda s: f"{s['quality_mae']:.1f}; {s['quality_bias']:+.1f}; "
                      f"{s['quality_cover90']:.0%}") + " |",
        "| earned savings / owed losses (per beneficiary x PY2024 `N_AB`): 90% coverage | "
        + both(lambda s: f"{s['earned_cover90']:.0%}") + " |",
        "| ACOs that owed losses: actual; expected (sum of P(owe)) | " + both(
            lambda s: f"{s['owed_actual']}; {s['p_owe_sum']:.1f}") + " |",
        "",
        f"Nominal coverage: 50% and 90%. CPU per ACO (this machine, shared, load "
        f"{meta.get('load', float('nan')):.0f}): calibration median "
        f"{a['calibration_cpu_median']:.0f} s (max {a['calibration_cpu_max']:.0f} s) at "
        f"{meta['calibration_size']:,} patients; the {meta['reps']} replications "
        f"{a['run_cpu_median']:.0f} s per variant.",
        "",
        "| ACO | track 23->24 | N_AB | PY2023 rate | predicted median (90% raw), as generated"
        " | anchored | actual PY2024 | in 50/90 (scaled), as generated; anchored |",
        "| --- | --- | ---: | ---: | --- | --- | ---: | --- |",
    ]
    bmap = {r["aco"]: r for _, r in dfb.iterrows()} if dfb is not None else {}
    yn = lambda v: "y" if v else "n"  # noqa: E731
    for _, r in df.iterrows():
        rb = bmap.get(r["aco"])
        anc = (f"{p(rb['median'])} ({p(rb['lo90_raw'])} to {p(rb['hi90_raw'])})"
               if rb is not None else "")
        inb = f"; {yn(rb['in50_scaled'])}/{yn(rb['in90_scaled'])}" if rb is not None else ""
        lines.append(
            f"| {r['aco']} | {r['track']} | {int(r['n_ab']):,} | {p(r['sav_rate_23'])} | "
            f"{p(r['median'])} ({p(r['lo90_raw'])} to {p(r['hi90_raw'])}) | {anc} | "
            f"{p(r['actual'])} | {yn(r['in50_scaled'])}/{yn(r['in90_scaled'])}{inb} |")
    lines += ["", findings(a, b), "", meta.get("prose", "").strip(), "", END, ""]
    return "\n".join(lines)


def findings(a: dict, b: dict | None) -> str:
    """What the summary shows, in words (from the numbers, so a rerun keeps it true)."""
    worse = a["mae"] > a["naive_mae"]
    text = (
        f"**What it shows.** As generated, the median misses the actual PY2024 savings rate by "
        f"{100 * a['mae']:.1f} points on average and "
        f"{'over' if a['bias'] > 0 else 'under'}-predicts it by {100 * abs(a['bias']):.1f} "
        f"points: {'worse' if worse else 'better'} than the naive forecast (MAE "
        f"{100 * a['naive_mae']:.1f}). The raw intervals, wide from the small panel's "
        f"patient-level noise, cover {a['cover50_raw']:.0%} / {a['cover90_raw']:.0%} "
        f"(nominal 50% / 90%); rescaled to the real ACOs' sizes they cover "
        f"{a['cover50_scaled']:.0%} / {a['cover90_scaled']:.0%}: at the ACOs' real sizes "
        "the forecast is over-confident, because what it misses (the benchmark position) "
        "is not in its uncertainty. The quality score is "
        f"{'over' if a['quality_bias'] > 0 else 'under'}-predicted by "
        f"{abs(a['quality_bias']):.1f} points (90% coverage {a['quality_cover90']:.0%}).")
    if b is not None:
        text += (
            f" Anchoring the benchmark on the PY2023 savings rate raises the correlation of "
            f"the median with the actual rate from {a['corr']:.2f} to {b['corr']:.2f} but "
            f"the bias is {100 * b['bias']:+.1f} points (MAE {100 * b['mae']:.1f}): "
            + ("the PY2023 gap already contains the ACO's own savings, and the behaviour "
               "model adds its first-year effect on top (docs/puf.md, Behaviour)."
               if b["bias"] > 0 else
               "the regional adjustment's caps (+5% / -1.5% of national spending) limit how "
               "much of a large PY2023 gap the anchor can carry, and the year-to-year changes "
               "of real benchmarks are not in the model."))
    return text


PROSE = """**Reading it.** The model predicts the savings rate from the ACO's own simulated history:
it sets the benchmark from three simulated baseline years at the ACO's fitted practice and
the PY2023 price and utilisation level, so the predicted rate is the behaviour model's
response to the track plus the regional adjustment (`regional_to_aco_ratio`, which the
PY2023 file cannot give: `RegAdj` is in the PY2024 file only) plus chance. It does not know
what makes real ACOs' benchmarks differ from their spending: the regional and prior-savings
adjustments, the national-regional blended trend against the ACO's own growth, risk-score
growth caps, and the savings the ACO had already achieved before PY2023 (its PUF spending
already includes them, so the fitted practice is "FFS" at that level). The naive forecast
(last year's savings rate) uses exactly that information, which is why it is the bar to
beat. Limits of this check: a sample, few replications (the 5th/95th percentiles of a
dozen draws are crude), a small panel (patient-level noise rescaled, not simulated); at
fewer than 5,000 simulated beneficiaries the programme's small-ACO rule gives two-sided
tracks the size-based MSR/MLR, which moves earned savings/owed losses (not the savings
rate)."""


def write_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section.rstrip("\n") + text[text.index(END)
                                                                       + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-stratum", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--size", type=int, default=1500)
    ap.add_argument("--calibration-size", type=int, default=2500)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--no-anchor", action="store_true", help="skip the anchored variant")
    ap.add_argument("--render-only", action="store_true", help="from the cached JSON")
    ap.add_argument("--write", action="store_true", help="put the section in validation.md")
    args = ap.parse_args(argv)
    if args.render_only:
        cached = json.loads(JSON.read_text())
        res, meta = cached["acos"], cached["meta"]
    else:
        w0 = time.perf_counter()
        both = linked()
        picked = sample(both, args.per_stratum, args.seed)
        rows = [r.to_dict() for _, r in picked.iterrows()]
        variants = (False,) if args.no_anchor else (False, True)
        # patient-level noise at this size: the first ACO, parameters at their means
        tasks = [(rows[0], args.size, args.reps, args.calibration_size, args.seed + 1, False,
                  (False,))]
        tasks += [(r, args.size, args.reps, args.calibration_size, args.seed, True, variants)
                  for r in rows]
        meta = {"seed": args.seed, "per_stratum": args.per_stratum, "reps": args.reps,
                "size": args.size, "calibration_size": args.calibration_size,
                "jobs": args.jobs}
        res = []
        with ProcessPoolExecutor(max_workers=args.jobs) as ex:
            for i, r in enumerate(ex.map(_job, tasks)):
                print(r["aco"], r["track_24"], f"median {np.median(r['draws']['savings_rate']):+.3f}"
                      f" actual {r['actual']['savings_rate']:+.3f} calib "
                      f"{r['calibration_cpu_s']:.0f}s run {r['run_cpu_s']:.0f}s", flush=True)
                if i == 0:
                    mc = np.asarray(r["draws"]["savings_rate"], float)
                    meta["mc_var"] = float(np.var(mc[np.isfinite(mc)], ddof=1))
                    continue
                res.append(r)
                meta.update(wall_s=time.perf_counter() - w0, load=os.getloadavg()[0])
                JSON.write_text(json.dumps({"meta": meta, "acos": res}, indent=1))
    meta["prose"] = PROSE
    section = render(res, meta)
    MD.write_text(section, encoding="utf-8")
    print(section)
    if args.write:
        write_doc(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
