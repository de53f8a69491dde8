"""``scenario_from_puf``: read, map, calibrate, and write a scenario for one PUF ACO."""

from __future__ import annotations

import copy
import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.puf.fit import LEVERS, FitRow, Simulate, calibrate, format_table
from sim.puf.mapping import map_row
from sim.puf.reading import read_puf_row
from sim.puf.writing import to_yaml

#: calibration panel: patients, warm-up years (the start-up transient; see
#: Scenario.warmup_years) and seed. 10,000 patients: ~1.3% Monte Carlo error on admissions.
CALIBRATION_SIZE = 10_000
CALIBRATION_WARMUP = 2
CALIBRATION_SEED = 20_240_101


@dataclass
class PufScenario:
    """A scenario built from a PUF row: its data (a scenario mapping), YAML text, fit table."""

    data: dict[str, Any]
    yaml: str
    fit: list[FitRow]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def scenario(self) -> Any:
        """The validated :class:`sim.scenario.Scenario`."""
        from sim.scenario import scenario_from_dict

        return scenario_from_dict(self.data, source=f"<PUF {self.data.get('name')}>")

    def fit_table(self) -> str:
        return format_table(self.fit)

    def write(self, path: str | Path) -> tuple[Path, Path]:
        """Write the YAML to ``path`` and the fit table beside it (``<stem>.fit.csv``)."""
        path = Path(path)
        path.write_text(self.yaml, encoding="utf-8")
        table = path.with_name(path.stem + ".fit.csv")
        with table.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["target", "puf_column", "puf", "simulated", "difference",
                        "difference_pct"])
            for r in self.fit:
                w.writerow([r.target, r.column, r.puf, round(r.simulated, 2),
                            round(r.difference, 2), round(r.difference_pct, 2)])
        return path, table


def ffs_simulator(size: int = CALIBRATION_SIZE, warmup: int = CALIBRATION_WARMUP,
                  seed: int = CALIBRATION_SEED) -> Simulate:
    """A function simulating one FFS plan year of ``data`` at ``size`` patients, behaviour
    fixed, one replication: the population metrics."""
    from sim.replication import simulate_replication
    from sim.rng import replication_seeds
    from sim.scenario import scenario_from_dict

    def run(data: dict[str, Any]) -> dict[str, float]:
        d = {**data, "horizon_years": 1, "warmup_years": warmup, "replications": 1,
             "seed": seed, "behavior": "fixed", "parameter_uncertainty": False,
             "plan": [{"years": "all", "contracts": [{"type": "ffs", "payer": "medicare"}]}]}
        d["population"] = {**data.get("population", {}), "size": size}
        d.pop("uncertainty", None)  # parameters at their means; its paths name the MSSP
        sc = scenario_from_dict(d, source="<PUF calibration>")
        res = simulate_replication(sc, 0, replication_seeds(seed, 1)[0]).results
        pop = res[res.entity == "population"]
        return pop.groupby("metric")["value"].mean().to_dict()

    return run


#: shipped scenario files whose ``uncertainty:`` blocks a PUF scenario carries: the
#: behaviour and lever-effect parameters (ffs_baseline.yaml) and the gap between the MSSP
#: benchmark's trend and the ACO's own growth (mssp_one_sided.yaml, contract index 1)
UNCERTAINTY_FROM = ("ffs_baseline.yaml", "mssp_one_sided.yaml")


def recentred(block: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """``block`` with each distribution of a value that ``data`` sets (a fitted price, say)
    moved to that value with the same relative spread: mean, sd, low and high multiplied by
    value / mean. The shipped means are the schema defaults; left as they are, the draws
    would undo the fit."""
    out: dict[str, Any] = {}
    for path, dist in block.items():
        node: Any = data
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        mean = dist.get("mean") if isinstance(dist, dict) else None
        if isinstance(node, int | float) and not isinstance(node, bool) and mean:
            f = float(node) / float(mean)
            dist = {k: (float(f"{v * f:.6g}") if k in ("mean", "sd", "low", "high") else v)
                    for k, v in dist.items()}
        out[path] = dist
    return out


def shipped_uncertainty() -> dict[str, Any]:
    """The merged ``uncertainty:`` blocks of :data:`UNCERTAINTY_FROM` from the scenario
    library (``{}`` when the library is not found: parameters then stay at their means)."""
    import yaml

    from sim.scenario.library import library_dir

    folder = library_dir()
    out: dict[str, Any] = {}
    for name in UNCERTAINTY_FROM:
        path = folder / name if folder is not None else None
        if path is not None and path.is_file():
            out.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {})
                       .get("uncertainty") or {})
    return out


def scenario_from_puf(path: str | Path, aco_id: str, year: int | None = None, *,
                      calibration_size: int = CALIBRATION_SIZE, iterations: int = 2,
                      simulate: Simulate | None = None) -> PufScenario:
    """The scenario of ACO ``aco_id`` from the MSSP ACO PUF at ``path`` (PY2023 or PY2024,
    detected from the columns), calibrated to its spending and utilisation.

    Raises :class:`sim.puf.PufError` for a missing or malformed file or an unknown ACO."""
    t0 = time.perf_counter()
    row = read_puf_row(path, aco_id, year)
    mapped = map_row(row)
    sim = simulate or ffs_simulator(calibration_size)
    data, table, clipped = calibrate(mapped.data, mapped.targets, sim, iterations)
    # The fitted prices are the ACO's own price level (region, case mix), not a fee change:
    # unit costs and practice norms follow them, so under FFS the calibrated (reference)
    # practice is the behaviour model's optimum and a contract moves it from there (issue 15).
    data["reference_prices"] = copy.deepcopy(data.get("prices", {}))
    unc = recentred(shipped_uncertainty(), data)
    if unc:
        data["uncertainty"] = unc
    comments = dict(mapped.comments)
    comments["uncertainty"] = (
        f"from the shipped {' and '.join(UNCERTAINTY_FROM)} (sources there): behaviour, "
        "lever effects and the MSSP benchmark-trend gap, drawn once per replication; a "
        "distribution of a fitted value is centred on it (same relative spread)"
        if unc else "scenario library not found: parameters at their means")
    comments["reference_prices"] = ("= prices: providers' unit costs and practice norms are "
                                    "set at the fitted prices, the ACO's own price level "
                                    "(docs/puf.md, Behaviour)")
    for t in mapped.targets:
        for p in LEVERS.get(t.name, ()):
            comments[p] = (f"fitted: simulated {t.name} -> {t.column} = {t.value:g}"
                           + (" (at its schema bound: target not reachable)"
                              if p in clipped else ""))
    total = row.number("Per_Capita_Exp_TOTAL_PY")
    sim_total = sum(r.simulated for r in table if r.target.startswith("spend_"))
    if total is not None:
        table.append(FitRow("spend_per_capita_usd (sum, not fitted)",
                            "Per_Capita_Exp_TOTAL_PY", total, sim_total))
    header = [
        f"{data['name']}: generated by `vbcsim init --from-puf {Path(path).name} --aco "
        f"{row.text('ACO_ID')}` (sim.puf, issue 15)",
        f"Source: CMS Medicare Shared Savings Program ACO PUF, performance year {row.year}.",
        "Each derived value names the PUF column it came from; fitted rates and prices were",
        f"scaled so one simulated FFS year ({calibration_size:,} patients, fixed behaviour)",
        "reproduces the ACO's per-capita spending by category and utilisation per 1,000",
        "(fit table beside this file, <name>.fit.csv). Unset values: schema defaults.",
        "", *[f"note: {n}" for n in mapped.notes], "",
        *format_table(table).splitlines(), "",
    ]
    text = to_yaml(data, comments, header)
    return PufScenario(data, text, table, mapped.notes, time.perf_counter() - t0)
