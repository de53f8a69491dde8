"""Benchmark the full care model against a plain per-claim SimPy baseline, in one run.

For each population size the full model (``sim.care.engine.simulate_population``) and
the baseline (``benchmarks/baseline_simpy.py``: one SimPy timeout per claim, at the
full model's measured claim rates per service) each run in a fresh subprocess pinned
to one CPU, so wall time and peak memory belong to that run alone. Reported per run:
wall time, patient-years/s, SimPy events/s, events and claims per patient-year and peak
RSS; then the speed ratio full/baseline and the targets (issue 11):

* full model >= 3x the baseline's patient-years per second;
* peak RSS <= 1.5 GB for 100,000 patients x 5 years.

Usage, from the repository root::

    python benchmarks/bench_care_model.py                      # 10,000 and 100,000 x 5 y
    python benchmarks/bench_care_model.py --sizes 10000 --repeat 3
    python benchmarks/bench_care_model.py --quick               # a smoke run (2,000 x 2 y)
    python benchmarks/bench_care_model.py --write               # also update README.md

``--write`` replaces the text between ``<!-- results:start -->`` and
``<!-- results:end -->`` in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
DEFAULT_MODEL = "sim.care.engine:simulate_population"
SPEED_TARGET = 3.0  # full / baseline patient-years per second
MEMORY_TARGET_MB = 1500.0  # 1.5 GB (decimal) peak RSS ...
MEMORY_TARGET_AT = (100_000, 5)  # ... for 100,000 patients x 5 years
RESULT_TAG = "BENCH-RESULT "


# --------------------------------------------------------------------------- child side


def _pin_one_cpu(cpu: int | None) -> int | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = cpu if cpu is not None and cpu in allowed else allowed[0]
    os.sched_setaffinity(0, {chosen})
    return chosen


def _rss_now_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return float("nan")


def _peak_rss_mb() -> float:
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kb * 1024 / 1e6


def _load_model(spec: str):
    import importlib

    module, _, func = spec.partition(":")
    return getattr(importlib.import_module(module), func or "simulate_population")


def _build_scenario(n: int, years: int, scenario_file: str | None):
    if scenario_file:
        from sim.scenario import load_scenario

        base = load_scenario(scenario_file)
        pop = base.population.model_copy(update={"size": n})
        return base.model_copy(update={"population": pop, "horizon_years": years})
    from sim.scenario import scenario_from_dict

    return scenario_from_dict({"population": {"size": n}, "horizon_years": years})


def _ledger_len(ledger) -> int | None:
    if ledger is None:
        return None
    claims = getattr(ledger, "claims", None)
    if isinstance(claims, dict) and "service" in claims:
        return len(claims["service"])
    try:
        return len(claims if claims is not None else ledger)
    except TypeError:
        return None


def _child_model(spec: dict) -> dict:
    import numpy as np

    simulate = _load_model(spec["model"])
    scenario = _build_scenario(spec["n"], spec["years"], spec.get("scenario"))
    seed_seq = np.random.SeedSequence(spec["seed"])
    rss_start = _rss_now_mb()
    t0 = time.perf_counter()
    run = simulate(scenario, seed_seq)
    wall = time.perf_counter() - t0
    stats = dict(run.stats)
    # Throughput counts every simulated patient-year (the default scenario simulates
    # warm-up years before the reported plan years); claim rates use the plan years,
    # the only years whose claims are generated.
    py = float(stats.get("simulated_patient_years", stats["patient_years"]))
    plan_py = float(stats["patient_years"])
    events = int(stats["simpy_events"])
    by_service = {str(k): int(v) for k, v in dict(stats["claims_by_service"]).items()}
    claims = int(stats.get("claims", sum(by_service.values())))
    return {
        "wall_s": wall,
        "patient_years": py,
        "plan_patient_years": plan_py,
        "simpy_events": events,
        "claims": claims,
        "ledger_claims": _ledger_len(getattr(run, "ledger", None)),
        "claims_by_service": by_service,
        "rss_start_mb": rss_start,
    }


def _child_baseline(spec: dict) -> dict:
    sys.path.insert(0, str(HERE))
    from baseline_simpy import run_baseline

    rss_start = _rss_now_mb()
    out = run_baseline(spec["n"], spec["years"], spec["rates"], spec["seed"],
                       gc_off=spec["gc_off"], n_envs=spec.get("n_envs", 1),
                       record=spec.get("record", True))
    out["rss_start_mb"] = rss_start
    return out


def _child_main(spec: dict) -> None:
    cpu = _pin_one_cpu(spec.get("cpu"))
    if spec["kind"] == "model":
        out = _child_model(spec)
    else:
        out = _child_baseline(spec)
    out["peak_rss_mb"] = _peak_rss_mb()
    out["cpu"] = cpu
    print(RESULT_TAG + json.dumps(out), flush=True)


# --------------------------------------------------------------------------- parent side


def _run_child(spec: dict, timeout: float | None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMEXPR_NUM_THREADS"):
        env[var] = "1"
    env["PYTHONHASHSEED"] = "0"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-4000:])
        raise RuntimeError(f"{spec['kind']} run (n={spec['n']}) failed with exit code "
                           f"{proc.returncode}")
    out = json.loads(lines[-1][len(RESULT_TAG):])
    out["kind"] = spec["kind"]
    return out


def _derive(r: dict) -> dict:
    r["patient_years_per_s"] = r["patient_years"] / r["wall_s"]
    r["events_per_s"] = r["simpy_events"] / r["wall_s"]
    r["events_per_patient_year"] = r["simpy_events"] / r["patient_years"]
    r["claims_per_patient_year"] = r["claims"] / r.get("plan_patient_years", r["patient_years"])
    return r


def _best(runs: list[dict]) -> dict:
    """Fastest of the repeats; peak memory is the largest seen."""
    best = dict(min(runs, key=lambda r: r["wall_s"]))
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    best["repeats"] = len(runs)
    return best


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_benchmark(args: argparse.Namespace) -> list[dict]:
    rows = []
    gc_modes = {"off": [True], "on": [False], "both": [True, False]}[args.baseline_gc]
    for n in args.sizes:
        model_runs = []
        for i in range(args.repeat):
            _say(f"[{n:,} x {args.years} y] full model, run {i + 1}/{args.repeat} ...")
            spec = {"kind": "model", "n": n, "years": args.years, "seed": args.seed,
                    "model": args.model, "scenario": args.scenario, "cpu": args.cpu}
            model_runs.append(_derive(_run_child(spec, args.timeout)))
            _say(f"    {model_runs[-1]['wall_s']:.1f} s")
        model = _best(model_runs)
        model.update(label="full model", n=n, years=args.years)
        rows.append(model)
        rates = {k: v / model.get("plan_patient_years", model["patient_years"])
                 for k, v in model["claims_by_service"].items()
                 if v > 0}
        for gc_off in gc_modes:
            base_runs = []
            for i in range(args.repeat):
                _say(f"[{n:,} x {args.years} y] baseline (gc {'off' if gc_off else 'on'}), "
                     f"run {i + 1}/{args.repeat} ...")
                spec = {"kind": "baseline", "n": n, "years": args.years, "seed": args.seed,
                        "rates": rates, "gc_off": gc_off, "n_envs": args.baseline_envs,
                        "record": not args.baseline_count_only, "cpu": args.cpu}
                base_runs.append(_derive(_run_child(spec, args.timeout)))
                _say(f"    {base_runs[-1]['wall_s']:.1f} s")
            base = _best(base_runs)
            label = f"baseline, gc {'off' if gc_off else 'on'}"
            if args.baseline_envs > 1:
                label += f", {args.baseline_envs} envs"
            if args.baseline_count_only:
                label += ", claims counted only"
            base.update(label=label, n=n, years=args.years)
            rows.append(base)
    return rows


def _verdicts(rows: list[dict]) -> list[str]:
    out = []
    for n in dict.fromkeys(r["n"] for r in rows):
        group = [r for r in rows if r["n"] == n]
        model = next(r for r in group if r["kind"] == "model")
        bases = [r for r in group if r["kind"] == "baseline"]
        if bases:
            ratios = ", ".join(
                f"{model['patient_years_per_s'] / b['patient_years_per_s']:.2f}x vs {b['label']}"
                for b in bases)
            fastest = max(bases, key=lambda b: b["patient_years_per_s"])
            ratio = model["patient_years_per_s"] / fastest["patient_years_per_s"]
            ok = "PASS" if ratio >= SPEED_TARGET else "FAIL"
            out.append(f"- {n:,} x {model['years']} y: speed full/baseline = {ratios}; "
                       f"target >= {SPEED_TARGET:g}x the fastest baseline: **{ok}**")
        if (n, model["years"]) == MEMORY_TARGET_AT:
            ok = "PASS" if model["peak_rss_mb"] <= MEMORY_TARGET_MB else "FAIL"
            out.append(f"- {n:,} x {model['years']} y: full-model peak RSS "
                       f"{model['peak_rss_mb']:,.0f} MB; target <= 1.5 GB: **{ok}**")
    return out


def format_table(rows: list[dict]) -> str:
    head = ("| patients x years | run | wall s | patient-years/s | SimPy events/s "
            "| events / patient-year | claims / patient-year | peak RSS MB |")
    lines = [head, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(
            f"| {r['n']:,} x {r['years']} | {r['label']} | {r['wall_s']:,.1f} "
            f"| {r['patient_years_per_s']:,.0f} | {r['events_per_s']:,.0f} "
            f"| {r['events_per_patient_year']:,.2f} | {r['claims_per_patient_year']:,.2f} "
            f"| {r['peak_rss_mb']:,.0f} |")
    return "\n".join(lines)


def machine_info() -> dict:
    import numpy
    import simpy

    cpu_model = platform.processor() or "unknown"
    try:
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        if m:
            cpu_model = m.group(1).strip()
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "simpy": simpy.__version__,
        "os": f"{platform.system()} {platform.release()}",
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "commit": commit,
    }


def results_markdown(rows: list[dict], args: argparse.Namespace, info: dict,
                     command: str) -> str:
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rep = f"best of {args.repeat} runs (peak RSS: largest)" if args.repeat > 1 else "one run"
    parts = [
        f"Measured {date} on {info['nproc']} x {info['cpu_model']} ({info['os']}; load "
        f"average at start {info['loadavg']}), Python {info['python']}, NumPy "
        f"{info['numpy']}, SimPy {info['simpy']}, commit `{info['commit']}`; each run in "
        f"its own process pinned to one CPU; {rep}.",
        "",
        "```",
        command,
        "```",
        "",
        format_table(rows),
        "",
        *_verdicts(rows),
    ]
    if args.model != DEFAULT_MODEL:
        parts += ["", f"Model under test: `{args.model}` (not the default)."]
    return "\n".join(parts)


def write_readme(markdown: str, path: Path = README) -> None:
    text = path.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{path}: markers {START} / {END} not found")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{markdown}\n{END}{tail}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Full care model vs plain per-claim SimPy baseline: speed and memory.")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000],
                    help="population sizes (default: 10000 100000)")
    ap.add_argument("--years", type=int, default=5, help="horizon in years (default 5)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per configuration; the fastest is reported (default 1)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 2,000 patients x 2 years, baseline with gc off only")
    ap.add_argument("--write", action="store_true",
                    help="write the results into the marked section of benchmarks/README.md")
    ap.add_argument("--seed", type=int, default=20_240_101, help="root seed")
    ap.add_argument("--baseline-gc", choices=["off", "on", "both"], default="both",
                    help="baseline with the cyclic GC off (fair), on (plain), or both "
                    "(default); the speed target is judged against the fastest")
    ap.add_argument("--baseline-envs", type=int, default=1,
                    help="split the baseline's patients over this many environments "
                    "(default 1: one Environment, as the issue defines it)")
    ap.add_argument("--baseline-count-only", action="store_true",
                    help="baseline counts claims instead of recording them in arrays")
    ap.add_argument("--model", default=DEFAULT_MODEL,
                    help=f"model entry point MODULE:FUNCTION (default {DEFAULT_MODEL})")
    ap.add_argument("--scenario", default=None,
                    help="scenario YAML to benchmark (default: the built-in defaults); "
                    "population size and horizon are overridden")
    ap.add_argument("--cpu", type=int, default=None,
                    help="CPU to pin each run to (default: the first allowed)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds before a run is abandoned (default: none)")
    ap.add_argument("--json", default=None, help="also write all rows as JSON to this file")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.years, args.baseline_gc = [2_000], 2, "off"
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    args = parse_args(raw)
    if args.child is not None:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        _child_main(json.loads(args.child))
        return 0
    command = "python benchmarks/bench_care_model.py" + (" " + shlex.join(raw) if raw else "")
    info = machine_info()
    rows = run_benchmark(args)
    print(format_table(rows))
    print()
    print("\n".join(_verdicts(rows)))
    for r in rows:
        if r["kind"] == "model" and r.get("ledger_claims") not in (None, r["claims"]):
            print(f"note: {r['n']:,}: stats claims {r['claims']:,} != ledger rows "
                  f"{r['ledger_claims']:,}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "command": command,
                                               "rows": rows}, indent=2))
    if args.write:
        write_readme(results_markdown(rows, args, info, command))
        print(f"\nwrote results to {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
