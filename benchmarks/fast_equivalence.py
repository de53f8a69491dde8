"""Is the fast engine equal in distribution to the SimPy engine? (issue 16 item 2)

For each shipped scenario (``scenarios/*.yaml``), ``--reps`` replications per engine are
run at ``--size`` patients (same scenario, same settings; independent replication seeds
for the two engines, so the two samples are independent). Every result metric of every
entity (the population and each provider) is averaged over the plan years of a
replication, which gives one value per replication; then, per (scenario, entity, metric):

* Welch's t-test of the means;
* the Brown-Forsythe test (Levene, median-centred) of the spreads;
* the two-sample Kolmogorov-Smirnov test of the whole distribution.

p-values are adjusted with the Benjamini-Hochberg procedure over all tests of one kind
in the run (false discovery rate 5%); a metric "differs" when an adjusted p < 0.05. Metrics
constant in both samples (e.g. a contract's zero for a provider without one) are skipped.
The table also gives the standardised mean difference (difference / pooled SD), whose
largest absolute value bounds how different the engines could look in practice.

Default (the issue's protocol): all shipped scenarios, 200 replications per engine, 1,000
patients, the scenarios' own warm-up, horizon and behaviour. That is about 4,400
replications; at ~5-30 s each with behaviour on (the behaviour optimiser dominates at
1,000 patients) it is hours on two cores. ``--behavior fixed`` (levers at the reference
practice: the care model alone, which is what the engines execute), ``--warmup``,
``--horizon`` and ``--scenarios`` make smaller checks; the settings of the run are written
with its table.

Usage, from the repository root::

    python benchmarks/fast_equivalence.py                     # the full protocol
    python benchmarks/fast_equivalence.py --reps 40 --size 500 --behavior fixed \\
        --warmup 2 --horizon 2 --write
    python benchmarks/fast_equivalence.py --scenarios ffs_baseline mssp_one_sided

``--write`` replaces the text between ``<!-- fast-equivalence:start -->`` and
``<!-- fast-equivalence:end -->`` in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from readme_section import replace_section
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- fast-equivalence:start -->", "<!-- fast-equivalence:end -->"


def load(name: str, engine: str, args: argparse.Namespace):  # noqa: ANN201
    """The shipped scenario ``name`` with the run's settings and ``engine``."""
    from sim.run_setup import run_overrides
    from sim.scenario import load_scenario

    texts = [f"population.size={args.size}", f"engine={engine}",
             "attribution.enforce_minimum=false"]
    if args.behavior:
        texts.append(f"behavior={args.behavior}")
    if args.warmup is not None:
        texts.append(f"warmup_years={args.warmup}")
    if args.horizon is not None:
        texts.append(f"horizon_years={args.horizon}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_scenario(ROOT / "scenarios" / f"{name}.yaml",
                             overrides=run_overrides(texts, False))


def one(task: tuple[str, str, int, argparse.Namespace]) -> pd.DataFrame:
    """One replication: its metrics averaged over the plan years."""
    from sim.replication import simulate_replication
    from sim.rng import replication_seeds

    name, engine, rep, args = task
    sc = load(name, engine, args)
    # independent samples: the engines use different root seeds
    seed = args.seed + (0 if engine == "des" else 1_000_003)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = simulate_replication(sc, rep, replication_seeds(seed, rep + 1)[rep])
    df = out.results
    df = df[df["year"] >= 0].groupby(["entity", "metric"], as_index=False)["value"].mean()
    df["scenario"], df["engine"], df["replication"] = name, engine, rep
    return df


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values."""
    p = np.asarray(p, float)
    n = len(p)
    if not n:
        return p
    order = np.argsort(p)
    adj = p[order] * n / np.arange(1, n + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adj, 1.0)
    return out


def compare(data: pd.DataFrame) -> pd.DataFrame:
    """One row per (scenario, entity, metric): means, SDs, SMD and the three p-values."""
    rows = []
    for (sc, ent, met), g in data.groupby(["scenario", "entity", "metric"]):
        d = g.loc[g["engine"] == "des", "value"].to_numpy()
        f = g.loc[g["engine"] == "fast", "value"].to_numpy()
        if len(d) < 3 or len(f) < 3:
            continue
        sd_d, sd_f = d.std(ddof=1), f.std(ddof=1)
        if sd_d == 0 and sd_f == 0:
            continue
        pooled = np.sqrt((sd_d**2 + sd_f**2) / 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = stats.ttest_ind(d, f, equal_var=False).pvalue
            lev = stats.levene(d, f, center="median").pvalue
            ks = stats.ks_2samp(d, f).pvalue
        rows.append({"scenario": sc, "entity": ent, "metric": met,
                     "mean_des": d.mean(), "mean_fast": f.mean(), "sd_des": sd_d,
                     "sd_fast": sd_f, "smd": (f.mean() - d.mean()) / pooled if pooled else 0.0,
                     "p_mean": t, "p_spread": lev, "p_ks": ks})
    res = pd.DataFrame(rows)
    for col in ("p_mean", "p_spread", "p_ks"):
        res[col] = res[col].fillna(1.0)
        res[col + "_bh"] = bh(res[col].to_numpy())
    return res


def combine(paths: list[Path]) -> pd.DataFrame:
    """The tables of several runs (``--csv``) as one, adjusted together: the raw p-values
    are kept and Benjamini-Hochberg is redone over every test of a kind in all of them."""
    res = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    for col in ("p_mean", "p_spread", "p_ks"):
        res[col + "_bh"] = bh(res[col].fillna(1.0).to_numpy())
    return res


def markdown(res: pd.DataFrame, args: argparse.Namespace, wall: float) -> str:
    """The README section: settings, a line per scenario, the metrics that differ."""
    lines = [
        f"Measured {dt.date.today().isoformat()}: `python benchmarks/fast_equivalence.py "
        + " ".join(sys.argv[1:]) + "`",
        f"({args.reps} replications per engine, {args.size:,} patients, behaviour "
        f"{args.behavior or 'as in the scenario'}, warm-up "
        f"{'as in the scenario' if args.warmup is None else f'{args.warmup} y'}, horizon "
        f"{'as in the scenario' if args.horizon is None else f'{args.horizon} y'}; "
        f"{wall / 60:.1f} min wall). Per scenario: metrics tested (population and every "
        "provider; a metric = its mean over the plan years of a replication), how many "
        "differ after the Benjamini-Hochberg correction (FDR 5%, over all tests of a kind) "
        "in the mean (Welch), the spread (Brown-Forsythe) and the distribution (KS), and "
        "the largest |standardised mean difference|.",
        "",
        "| scenario | metrics | differ: mean | differ: spread | differ: KS | max abs SMD |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for sc, g in res.groupby("scenario"):
        lines.append(f"| {sc} | {len(g)} | {(g['p_mean_bh'] < 0.05).sum()} | "
                     f"{(g['p_spread_bh'] < 0.05).sum()} | {(g['p_ks_bh'] < 0.05).sum()} | "
                     f"{g['smd'].abs().max():.2f} |")
    lines.append(f"| **all** | {len(res)} | {(res['p_mean_bh'] < 0.05).sum()} | "
                 f"{(res['p_spread_bh'] < 0.05).sum()} | {(res['p_ks_bh'] < 0.05).sum()} | "
                 f"{res['smd'].abs().max():.2f} |")
    bad = res[(res[["p_mean_bh", "p_spread_bh", "p_ks_bh"]] < 0.05).any(axis=1)]
    lines.append("")
    if len(bad):
        lines += ["Metrics that differ (adjusted p < 0.05):", "",
                  "| scenario | entity | metric | mean DES | mean fast | SD DES | SD fast | "
                  "p mean (adj) | p spread (adj) | p KS (adj) |",
                  "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in bad.itertuples():
            lines.append(f"| {r.scenario} | {r.entity} | {r.metric} | {r.mean_des:.4g} | "
                         f"{r.mean_fast:.4g} | {r.sd_des:.3g} | {r.sd_fast:.3g} | "
                         f"{r.p_mean_bh:.3g} | {r.p_spread_bh:.3g} | {r.p_ks_bh:.3g} |")
    else:
        lines.append("No metric differs at a 5% false discovery rate.")
    top = res.reindex(res["smd"].abs().sort_values(ascending=False).index).head(8)
    lines += ["", "Largest standardised mean differences (for scale):", "",
              "| scenario | entity | metric | mean DES | mean fast | SMD | p mean (raw) |",
              "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for r in top.itertuples():
        lines.append(f"| {r.scenario} | {r.entity} | {r.metric} | {r.mean_des:.4g} | "
                     f"{r.mean_fast:.4g} | {r.smd:+.2f} | {r.p_mean:.3g} |")
    return "\n".join(lines) + "\n"


def write_readme(text: str) -> None:
    """Replace the section between the markers (appended with its heading if absent)."""
    replace_section(README, START, END, text, "Fast engine equivalence (issue 16 item 2)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenarios", nargs="*", default=None,
                    help="shipped scenario names (default: every scenarios/*.yaml)")
    ap.add_argument("--reps", type=int, default=200, help="replications per engine (200)")
    ap.add_argument("--size", type=int, default=1000, help="patients (1,000)")
    ap.add_argument("--behavior", choices=["fixed", "incentives"], default=None,
                    help="override the scenarios' behaviour (default: theirs)")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up years (default: theirs)")
    ap.add_argument("--horizon", type=int, default=None, help="plan years (default: theirs)")
    ap.add_argument("--seed", type=int, default=16_2026)
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--csv", type=Path, default=None, help="also write the full table here")
    ap.add_argument("--write", action="store_true", help="update benchmarks/README.md")
    ap.add_argument("--combine", type=Path, nargs="+", default=None, metavar="CSV",
                    help="no run: merge the --csv tables of earlier runs (e.g. one per "
                         "scenario) and redo the Benjamini-Hochberg correction over all")
    ap.add_argument("--wall-min", type=float, default=None,
                    help="with --combine: the runs' total wall time in minutes, for the text")
    args = ap.parse_args(argv)
    if args.combine:
        res = combine(args.combine)
        text = markdown(res, args, 60 * (args.wall_min or 0.0))
        print(text)
        if args.write:
            write_readme(text)
        return 0
    names = args.scenarios or sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
    tasks = [(n, e, r, args) for n in names for r in range(args.reps) for e in ("des", "fast")]
    t0 = time.perf_counter()
    parts = []
    with ProcessPoolExecutor(args.workers) as pool:
        for i, df in enumerate(pool.map(one, tasks, chunksize=4), 1):
            parts.append(df)
            if i % 50 == 0 or i == len(tasks):
                print(f"  {i}/{len(tasks)} replications, {time.perf_counter() - t0:.0f} s",
                      flush=True)
    wall = time.perf_counter() - t0
    res = compare(pd.concat(parts, ignore_index=True))
    if args.csv:
        res.to_csv(args.csv, index=False)
    text = markdown(res, args, wall)
    print(text)
    if args.write:
        write_readme(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
