"""Fit a calibration: the optimiser, its bounds and stopping rule, and the resumable cache.

Method (docs/calibration.md):

* **One parameter** (``method: auto`` or ``brent``): Brent's bounded minimisation
  (``scipy.optimize.minimize_scalar(method="bounded")``) over [LOW, HIGH]; it stops when the
  bracket is narrower than ``tolerance`` x (HIGH - LOW) or after ``max_evaluations``.
* **Several parameters** (``auto`` or ``nelder_mead``): Nelder-Mead on the parameters
  mapped to the real line (``z = logit((x - LOW) / (HIGH - LOW))``, so every point tried
  is inside the bounds), starting at ``start`` with first steps of ``initial_step`` x the
  range; it stops when the simplex is smaller than ``tolerance`` x the range (``xatol`` =
  4 x tolerance in z, since dx <= range x dz / 4) and the objective varies less than
  ``objective_tolerance`` over it, or after ``max_evaluations``.

The objective is smoothed by common random numbers: every evaluation sees the same patients
and chance events, so it changes with the parameters only (in small steps, as events cross
their thresholds), and Nelder-Mead's comparisons of points are not swamped by Monte Carlo
noise. The answer is the best point evaluated.

Every evaluation is appended to ``evaluations.jsonl`` in the output folder as soon as it is
done, keyed by the parameter vector; a rerun with ``resume=True`` replays the optimiser
through the cached evaluations (the optimiser is deterministic) and continues where it
stopped.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.evaluate import Evaluation, calibration_digest, evaluate, vector_key
from sim.calibration.spec import Calibration, load_calibration
from sim.executors import Executor, make_executor
from sim.experiment import Replicate

#: the cache of evaluations in the output folder
CACHE_FILE = "evaluations.jsonl"
#: every file :func:`calibrate` writes in the output folder (``overwrite`` removes only these)
OUTPUT_FILES = (CACHE_FILE, "fitted.yaml", "fit_table.csv", "fit_table.md", "trace.csv",
                "calibration.png", "calibration.json")
_EDGE = 1e-9


class CalibrationError(ValueError):
    """A calibration cannot run as asked (output folder, cache of another calibration)."""


class _Budget(Exception):
    """The evaluation budget is spent."""


class EvaluationCache:
    """Evaluations by parameter vector, kept in memory and appended to a JSONL file."""

    def __init__(self, cal: Calibration, path: Path | None, resume: bool) -> None:
        self.paths = cal.paths
        self.digest = calibration_digest(cal)
        self.path = path
        self.known: dict[str, Evaluation] = {}
        if path is not None and resume and path.is_file():
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by an interruption
                if rec.get("digest") != self.digest:
                    raise CalibrationError(
                        f"{path}:{n}: an evaluation of another calibration (the scenarios, "
                        "targets, replications, seed or vbcsim version differ); use another "
                        "output folder or overwrite=True (--overwrite)")
                ev = Evaluation(rec["values"], rec["simulated"], rec["standard_error"],
                                float(rec["objective"]))
                self.known[vector_key(self.paths, ev.values)] = ev

    def get(self, values: dict[str, float]) -> Evaluation | None:
        """The cached evaluation at ``values``, if any."""
        return self.known.get(vector_key(self.paths, values))

    def put(self, ev: Evaluation) -> None:
        """Remember ``ev`` (and append it to the file at once)."""
        self.known[vector_key(self.paths, ev.values)] = ev
        if self.path is not None:
            rec = {"digest": self.digest, "values": ev.values, "simulated": ev.simulated,
                   "standard_error": ev.standard_error,
                   "objective": ev.objective if math.isfinite(ev.objective) else 1e300}
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
                f.flush()
                os.fsync(f.fileno())


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found: the best parameter values, the fit table, the trace."""

    name: str
    values: dict[str, float]
    objective: float
    evaluations: int
    cached: int
    converged: bool
    message: str
    method: str
    table: pd.DataFrame
    trace: pd.DataFrame
    out: Path | None = None
    calibration: Calibration | None = field(default=None, repr=False)

    def overrides(self) -> list[str]:
        """The fitted values as ``PATH=VALUE`` texts (``vbcsim run ... --set PATH=VALUE``)."""
        return [f"{p}={v:.6g}" for p, v in self.values.items()]

    def figure(self) -> Any:
        """The objective trace and the targets vs simulated (a matplotlib ``Figure``)."""
        from sim.calibration.outputs import calibration_figure

        return calibration_figure(self)


def _to_z(x: float, lo: float, hi: float) -> float:
    u = min(max((x - lo) / (hi - lo), _EDGE), 1 - _EDGE)
    return math.log(u / (1 - u))


def _from_z(z: float, lo: float, hi: float) -> float:
    return lo + (hi - lo) / (1 + math.exp(-max(min(z, 700.0), -700.0)))


def optimise(
    cal: Calibration, objective: Callable[[dict[str, float]], float]
) -> tuple[str, bool, str]:
    """Minimise ``objective`` (``{path: value} -> float``) by the calibration's method and
    stopping rule; returns (method used, converged, message). The caller keeps the trace."""
    from scipy.optimize import minimize, minimize_scalar

    m = cal.method
    params = cal.parameters
    name = m.name if m.name != "auto" else ("brent" if len(params) == 1 else "nelder_mead")
    try:
        if name == "brent":
            p = params[0]
            lo, hi = p.bounds
            res = minimize_scalar(lambda x: objective({p.path: float(x)}), bounds=(lo, hi),
                                  method="bounded",
                                  options={"xatol": m.tolerance * (hi - lo),
                                           "maxiter": m.max_evaluations})
            return name, bool(res.success), str(res.message)
        z0 = np.array([_to_z(x, *p.bounds) for x, p in zip(cal.starts, params, strict=True)])
        simplex = [z0]
        for i, (x, p) in enumerate(zip(cal.starts, params, strict=True)):
            lo, hi = p.bounds
            step = m.initial_step * (hi - lo)
            moved = x + step if x + step < hi else x - step
            z = z0.copy()
            z[i] = _to_z(moved, lo, hi)
            simplex.append(z)

        def f(z: np.ndarray) -> float:
            return objective({p.path: _from_z(float(zi), *p.bounds)
                              for zi, p in zip(z, params, strict=True)})

        res = minimize(f, z0, method="Nelder-Mead",
                       options={"initial_simplex": np.array(simplex),
                                "xatol": 4 * m.tolerance, "fatol": m.objective_tolerance,
                                "maxfev": m.max_evaluations})
        return name, bool(res.success), str(res.message)
    except _Budget:
        return name, False, f"stopped after max_evaluations = {m.max_evaluations}"


def calibrate(
    calibration: Calibration | str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    workers: int = 1,
    executor: Executor | None = None,
    replicate: Replicate | None = None,
    max_evaluations: int | None = None,
    allow_code: bool = False,
    progress: Callable[[int, Evaluation, bool], None] | None = None,
) -> CalibrationResult:
    """Fit a calibration (a :class:`Calibration` or a calibration file's path).

    ``out``: a folder for the cache of evaluations and the outputs (fitted values, fit
    table, trace, plot; :mod:`sim.calibration.outputs`); without it nothing is written.
    An ``out`` that already holds a calibration's evaluations is refused unless ``resume``
    (continue it: cached evaluations are reused) or ``overwrite`` (start again: vbcsim's
    files there are removed). ``workers``: local processes for the replications of one
    evaluation (or any ``executor``). ``max_evaluations`` overrides the file's.
    ``progress(n, evaluation, cached)`` is called after each evaluation.
    """
    cal = (calibration if isinstance(calibration, Calibration)
           else load_calibration(calibration, allow_code=allow_code))
    if max_evaluations is not None:
        if max_evaluations < 1:
            raise CalibrationError(f"max_evaluations: expected 1 or more, got {max_evaluations}")
        cal = _with_budget(cal, max_evaluations)
    folder = None if out is None else Path(out)
    if folder is not None:
        _prepare_folder(folder, resume, overwrite)
    cache = EvaluationCache(cal, None if folder is None else folder / CACHE_FILE, resume)
    exe = executor if executor is not None else make_executor(workers=workers)
    trace: list[tuple[Evaluation, bool]] = []

    def objective(values: dict[str, float]) -> float:
        if len(trace) >= cal.method.max_evaluations:
            raise _Budget
        ev = cache.get(values)
        hit = ev is not None
        if ev is None:
            ev = evaluate(cal, values, executor=exe, replicate=replicate)
            cache.put(ev)
        trace.append((ev, hit))
        if progress is not None:
            progress(len(trace), ev, hit)
        return ev.objective

    method, converged, message = optimise(cal, objective)
    if not converged and len(trace) >= cal.method.max_evaluations \
            and "max_evaluations" not in message:
        message = f"stopped after max_evaluations = {cal.method.max_evaluations} ({message})"
    result = _result(cal, trace, method, converged, message, folder)
    if folder is not None:
        from sim.calibration.outputs import write_outputs

        write_outputs(result, folder)
    return result


def _with_budget(cal: Calibration, n: int) -> Calibration:
    from dataclasses import replace

    return replace(cal, method=cal.method.model_copy(update={"max_evaluations": n}))


def _prepare_folder(folder: Path, resume: bool, overwrite: bool) -> None:
    if resume and overwrite:
        raise CalibrationError("give resume or overwrite, not both")
    if folder.exists() and not folder.is_dir():
        raise CalibrationError(f"{folder}: not a folder")
    cache = folder / CACHE_FILE
    if cache.exists() and not (resume or overwrite):
        raise CalibrationError(
            f"{folder} already holds a calibration ({CACHE_FILE}); continue it with --resume "
            "(resume=True), start again with --overwrite, or choose another folder")
    if overwrite:
        for name in OUTPUT_FILES:
            (folder / name).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)


def _result(
    cal: Calibration, trace: Sequence[tuple[Evaluation, bool]], method: str, converged: bool,
    message: str, folder: Path | None,
) -> CalibrationResult:
    from sim.calibration.outputs import fit_table

    if not trace:
        raise CalibrationError("no evaluation was made")
    best = min((ev for ev, _ in trace), key=lambda ev: ev.objective)
    rows = []
    for i, (ev, hit) in enumerate(trace, 1):
        rows.append({"evaluation": i, "cached": hit, "objective": ev.objective,
                     **{f"param:{k}": v for k, v in ev.values.items()},
                     **{f"sim:{k}": v for k, v in ev.simulated.items()}})
    frame = pd.DataFrame(rows)
    frame["best_so_far"] = frame["objective"].cummin()
    return CalibrationResult(
        name=cal.name, values={p: float(best.values[p]) for p in cal.paths},
        objective=best.objective, evaluations=len(trace),
        cached=sum(1 for _, hit in trace if hit), converged=converged, message=message,
        method=method, table=fit_table(cal, best), trace=frame, out=folder, calibration=cal)


__all__ = [
    "CACHE_FILE",
    "OUTPUT_FILES",
    "CalibrationError",
    "CalibrationResult",
    "EvaluationCache",
    "calibrate",
    "optimise",
]
