"""What a calibration writes: the fitted values, the fit table, the trace and the plot.

In the output folder:

* ``fitted.yaml``: the fitted values (``set:`` PATH: VALUE, to apply with ``--set`` or
  ``overrides=``), with the objective, the method and how it stopped;
* ``scenarios/<name>.yaml``: each scenario resolved with the fitted values (``extends:`` it
  or run it as is);
* ``fit_table.csv`` and ``fit_table.md``: per target the figure, its interval, the simulated
  value (with its Monte Carlo standard error), the miss in half-widths and whether the
  simulated value is within the interval;
* ``trace.csv``: every evaluation (parameters, simulated targets, objective);
* ``calibration.png``: the objective trace and the targets vs simulated;
* ``calibration.json``: a summary (written last);
* ``evaluations.jsonl``: the cache of evaluations (:mod:`sim.calibration.fit`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from sim._version import __version__
from sim.calibration.evaluate import Evaluation, scenario_values
from sim.calibration.spec import Calibration

if TYPE_CHECKING:
    from sim.calibration.fit import CalibrationResult


def fit_table(cal: Calibration, ev: Evaluation) -> pd.DataFrame:
    """One row per target at evaluation ``ev``: target, scenario, vs, metric, entity, year,
    kind, value, low, high, simulated, se, z (miss in half-widths), within, source."""
    rows = []
    for t in cal.targets:
        s = t.spec
        sim = ev.simulated[t.name]
        rows.append({
            "target": t.name, "scenario": t.scenario, "vs": s.vs or "", "metric": s.metric,
            "entity": s.entity, "year": str(s.year), "kind": s.kind, "value": s.value,
            "low": s.interval[0], "high": s.interval[1], "simulated": sim,
            "se": ev.standard_error[t.name],
            "z": (sim - s.value) / s.half_width if np.isfinite(sim) else float("nan"),
            "within": bool(s.interval[0] <= sim <= s.interval[1]),
            "source": s.source or "",
        })
    return pd.DataFrame(rows)


def fit_table_markdown(table: pd.DataFrame) -> str:
    """The fit table as a markdown table."""
    cols = ["target", "scenario", "vs", "year", "kind", "value", "interval", "simulated",
            "se", "within", "source"]
    lines = ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
    for r in table.itertuples():
        cells = [r.target, r.scenario, r.vs, r.year, r.kind, f"{r.value:.6g}",
                 f"[{r.low:.6g}, {r.high:.6g}]", f"{r.simulated:.6g}", f"{r.se:.3g}",
                 "yes" if r.within else "no", str(r.source).replace("|", "/")]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def fitted_yaml(result: CalibrationResult) -> str:
    """``fitted.yaml``: the fitted values under ``set:`` and how they were found."""
    header = (f"# Fitted by vbcsim {__version__} calibrate ({result.name}): {result.method}, "
              f"{result.evaluations} evaluations ({result.cached} from the cache), "
              f"objective {result.objective:.6g}.\n"
              f"# Apply with: vbcsim run SCENARIO "
              + " ".join(f"--set {o}" for o in result.overrides()) + "\n"
              "# or run/extend the resolved scenarios in scenarios/ next to this file.\n")
    body = {"calibration": result.name, "set": dict(result.values),
            "objective": result.objective, "evaluations": result.evaluations,
            "converged": result.converged, "message": result.message}
    return header + yaml.safe_dump(body, sort_keys=False, width=100)


def calibration_figure(result: CalibrationResult) -> Any:
    """Two panels: the objective of every evaluation (and the best so far), and each target's
    simulated value at the fit against its interval, in half-widths from the figure."""
    from matplotlib.figure import Figure

    table = result.table
    fig = Figure(figsize=(10, 0.8 + max(3.0, 0.45 * len(table))))
    ax1, ax2 = fig.subplots(1, 2)
    tr = result.trace
    obj = tr["objective"].clip(lower=1e-12)
    ax1.plot(tr["evaluation"], obj, "o", color="#4c72b0", ms=4, label="evaluation")
    ax1.step(tr["evaluation"], tr["best_so_far"].clip(lower=1e-12), where="post",
             color="#dd8452", label="best so far")
    ax1.set_yscale("log")
    ax1.set_xlabel("evaluation")
    ax1.set_ylabel("objective (sum of squared misses in half-widths)")
    ax1.legend(fontsize="small")
    y = np.arange(len(table))[::-1]
    ax2.axvspan(-1, 1, color="#dddddd", label="target interval")
    ax2.axvline(0, color="black", lw=0.8)
    z = table["z"].to_numpy(float)
    se = (table["se"] / ((table["high"] - table["low"]) / 2)).to_numpy(float)
    ax2.errorbar(z, y, xerr=np.where(np.isfinite(se), 1.96 * se, 0), fmt="o",
                 color="#c44e52", label="simulated (95% MC interval)")
    ax2.set_yticks(y, table["target"])
    ax2.set_ylim(-0.7, len(table) - 0.3)
    ax2.set_xlabel("(simulated - target) / half-width of the interval")
    ax2.legend(fontsize="small", loc="best")
    fig.suptitle(f"calibration {result.name}")
    fig.tight_layout()
    return fig


def write_outputs(result: CalibrationResult, folder: Path) -> None:
    """Write the calibration's outputs into ``folder`` (module doc)."""
    from sim.scenario.loader import resolved_yaml
    from sim.scenario.uncertain import apply_values, uncertainty_of, with_uncertainty

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fitted.yaml").write_text(fitted_yaml(result), encoding="utf-8")
    cal = result.calibration
    if cal is not None:
        sub = folder / "scenarios"
        sub.mkdir(exist_ok=True)
        fitted = {p: v for p, v in result.values.items()}
        for s, values in zip(cal.scenarios, scenario_values(cal, fitted), strict=True):
            mine = {k: v for k, v in values.items() if k in fitted}
            done = with_uncertainty(apply_values(s, mine), uncertainty_of(s))
            (sub / f"{s.name}.yaml").write_text(resolved_yaml(done), encoding="utf-8")
    result.table.to_csv(folder / "fit_table.csv", index=False)
    (folder / "fit_table.md").write_text(fit_table_markdown(result.table), encoding="utf-8")
    result.trace.to_csv(folder / "trace.csv", index=False)
    result.figure().savefig(folder / "calibration.png", dpi=110)
    summary = {"name": result.name, "values": result.values, "objective": result.objective,
               "evaluations": result.evaluations, "cached": result.cached,
               "converged": result.converged, "message": result.message,
               "method": result.method, "within": int(result.table["within"].sum()),
               "targets": len(result.table), "vbcsim": __version__}
    (folder / "calibration.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")


__all__ = ["calibration_figure", "fit_table", "fit_table_markdown", "fitted_yaml",
           "write_outputs"]
