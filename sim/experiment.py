"""Experiments: several scenarios run together, replication by replication.

The unit of work is a :class:`Task`: one replication of one scenario. :func:`execute_task`
is the pure, picklable function every executor runs: it draws the scenario's uncertain
parameters from the replication's stream (or substitutes fixed values, for sensitivity
analysis), validates the drawn scenario, and runs the replication function on it.

Common random numbers: replication ``r`` of every scenario gets the same ``SeedSequence``
(child ``r`` of the root seed). The care model derives each of its streams from it by a
stable hash of the stream's name, and parameters are drawn per parameter path the same way
(:mod:`sim.uncertainty`), so in one replication every scenario sees the same patients, the
same dice and the same parameter values; differences come from the policy. With
``crn=False`` each scenario's sequence also has a hash of the scenario's name in its spawn
key: independent streams (for comparison only).

An experiment file::

    experiment:
      scenarios: [ffs_baseline.yaml, aco.yaml]   # paths relative to this file
      reference: ffs_baseline                    # default: the first scenario
      replications: 16                           # default: the reference scenario's
      seed: 1                                    # default: the reference scenario's
      common_random_numbers: true
      wtp_usd_per_qaly: [50000, 100000, 150000]
      discount_rate: 0.03                        # default: the reference's economics
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.comparison import DEFAULT_WTP
from sim.replication import ReplicationOutput
from sim.results.table import RESULT_COLUMNS, PartOutput
from sim.rng import name_key
from sim.scenario.distributions import uncertainty_of
from sim.scenario.errors import ScenarioError
from sim.scenario.schema import Scenario
from sim.settlement.registry import install_custom_contracts
from sim.uncertainty import apply_values, drawn_scenario, draws_frame

Replicate = Callable[[Scenario, int, np.random.SeedSequence], ReplicationOutput]



def task_seed(
    replication_seed: np.random.SeedSequence, scenario_name: str, crn: bool = True
) -> np.random.SeedSequence:
    """The ``SeedSequence`` of one scenario in one replication (see the module doc)."""
    if crn:
        return replication_seed
    key = (*replication_seed.spawn_key, name_key(f"scenario:{scenario_name}"))
    return np.random.SeedSequence(replication_seed.entropy, spawn_key=key)


@dataclass(frozen=True)
class Task:
    """One replication of one scenario."""

    scenario_index: int
    scenario: Scenario
    replication: int
    seed_seq: np.random.SeedSequence
    #: fixed parameter values to substitute (sensitivity analysis) instead of drawing
    values: Mapping[str, float] | None = None
    #: name written in the results' ``scenario`` column (default: the scenario's name)
    label: str | None = None


@dataclass(frozen=True)
class TaskFunction:
    """What executors run for each task: :func:`execute_task` with the replication function.

    It also carries the custom contracts registered in the calling process that the tasks
    use (:func:`sim.settlement.registry.custom_contracts_for_workers`), and registers them
    when it runs in another process, so that a contract class written in a notebook runs on
    worker processes and Dask workers too.
    """

    replicate: Replicate
    custom_contracts: tuple[tuple[str, bytes], ...] = ()
    origin: tuple[str, int] = field(default_factory=lambda: (socket.gethostname(), os.getpid()))

    def __call__(self, task: Task) -> PartOutput:
        if self.custom_contracts and (socket.gethostname(), os.getpid()) != self.origin:
            install_custom_contracts(self.custom_contracts)
        return execute_task(self.replicate, task)


class TaskError(RuntimeError):
    """A task's replication function returned something that is not a replication output."""


def execute_task(replicate: Replicate, task: Task) -> PartOutput:
    """Run one task: draw (or substitute) parameters, validate, simulate. Pure: the output
    depends only on the arguments."""
    if task.values is not None:
        scenario = apply_values(task.scenario, task.values)
        draw: dict[str, float] = {}
    else:
        scenario, draw = drawn_scenario(task.scenario, task.seed_seq)
    out = replicate(scenario, task.replication, task.seed_seq)
    frame = getattr(out, "results", None)
    if not isinstance(frame, pd.DataFrame):
        raise TaskError(f"expected a ReplicationOutput, got {type(out).__name__}")
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    if missing:
        raise TaskError(f"results lack column(s) {missing}; expected {RESULT_COLUMNS}")
    label = task.label or task.scenario.name
    if task.label is not None:
        frame = frame.assign(scenario=label)
    draws = draws_frame([(task.replication, label, k, v) for k, v in draw.items()])
    return PartOutput(results=frame, tables=dict(out.tables or {}), draws=draws)


def scenario_digest(scenario: Scenario) -> str:
    """SHA-256 of a resolved scenario, its uncertain parameters included."""
    payload = {"scenario": scenario.model_dump(mode="json"),
               "uncertainty": uncertainty_of(scenario).spec()}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- experiment files


@dataclass(frozen=True)
class Experiment:
    """Scenarios run together, with the settings of the comparison."""

    name: str
    scenarios: tuple[Scenario, ...]
    reference: str
    replications: int | None = None
    seed: int | None = None
    crn: bool = True
    wtp: tuple[float, ...] = DEFAULT_WTP
    discount_rate: float | None = None
    source: str | None = None
    sources: tuple[str | None, ...] = field(default=())


_KEYS = {
    "name": "text",
    "description": "text",
    "scenarios": "a list of scenario file paths",
    "reference": "the name of one of the scenarios",
    "replications": "a whole number >= 1",
    "seed": "a whole number >= 0",
    "common_random_numbers": "true or false",
    "wtp_usd_per_qaly": "a list of numbers >= 0 (USD per QALY)",
    "discount_rate": "a number from 0 to 1 (per year)",
}


def is_experiment_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an experiment file (a top-level ``experiment:`` key).

    Read with the scenario loader's bounds (size, NUL bytes, aliases, nesting)."""
    from sim.scenario.loader import read_mapping, read_text

    try:
        text = read_text(path)
        for line in text.splitlines():
            if line.startswith("experiment:"):
                return True
            if line.strip() and not line.startswith(("#", " ", "-")):
                return "experiment" in read_mapping(path, text)
    except ScenarioError:
        return False
    return False


def load_experiment(path: str | os.PathLike[str], *, allow_code: bool = False) -> Experiment:
    """Load an experiment file and the scenarios it names (each validated; ``allow_code`` as
    for :func:`sim.scenario.load_scenario`).

    Raises :class:`ScenarioError` naming the file, line and field.
    """
    from sim.scenario.loader import _read_mapping  # the loader's YAML reader (with lines)

    shown = os.fspath(path)
    real = Path(path)
    if not real.is_file():
        raise ScenarioError(shown, "", "file not found")
    raw, prov = _read_mapping(real, shown)

    def fail(field_path: tuple[str, ...], message: str) -> ScenarioError:
        line = None
        for n in range(len(field_path), 0, -1):
            if field_path[:n] in prov:
                line = prov[field_path[:n]][1]
                break
        return ScenarioError(shown, ".".join(field_path), message, line)

    extra = [k for k in raw if k != "experiment"]
    if extra or not isinstance(raw.get("experiment"), dict):
        raise fail((str(extra[0]),) if extra else ("experiment",),
                   "an experiment file holds one mapping, 'experiment:', with keys among: "
                   + ", ".join(_KEYS))
    spec = raw["experiment"]
    for key in spec:
        if key not in _KEYS:
            raise fail(("experiment", str(key)), f"unknown key '{key}'; valid keys here: "
                       + ", ".join(_KEYS))

    def whole(key: str, minimum: int) -> int | None:
        value = spec.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise fail(("experiment", key), f"expected {_KEYS[key]}, got {value!r}")
        return value

    files = spec.get("scenarios")
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise fail(("experiment", "scenarios"), f"expected {_KEYS['scenarios']}")
    from sim.scenario import load_scenario

    scenarios = []
    sources = []
    for f in files:
        sub = Path(f) if Path(f).is_absolute() else real.parent / f
        if not sub.is_file():
            raise fail(("experiment", "scenarios"), f"scenario file '{f}' not found (looked "
                       f"for {sub})")
        scenarios.append(load_scenario(sub, allow_code=allow_code))
        sources.append(os.fspath(sub))
    names = [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise fail(("experiment", "scenarios"), f"scenario names must differ; repeated: "
                   f"{', '.join(dup)} (set 'name:' in the scenario files)")
    reference = spec.get("reference", names[0])
    if reference not in names:
        raise fail(("experiment", "reference"), f"expected one of {', '.join(names)}, got "
                   f"{reference!r}")
    crn = spec.get("common_random_numbers", True)
    if not isinstance(crn, bool):
        raise fail(("experiment", "common_random_numbers"), f"expected true or false, got "
                   f"{crn!r}")
    wtp = spec.get("wtp_usd_per_qaly", list(DEFAULT_WTP))
    if (not isinstance(wtp, list) or not wtp
            or not all(isinstance(w, int | float) and not isinstance(w, bool) and w >= 0
                       for w in wtp)):
        raise fail(("experiment", "wtp_usd_per_qaly"), f"expected {_KEYS['wtp_usd_per_qaly']}")
    rate = spec.get("discount_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)
                             or not 0 <= rate <= 1):
        raise fail(("experiment", "discount_rate"), f"expected {_KEYS['discount_rate']}, got "
                   f"{rate!r}")
    name = spec.get("name", real.stem)
    if not isinstance(name, str) or not name:
        raise fail(("experiment", "name"), "expected text")
    return Experiment(
        name=name, scenarios=tuple(scenarios), reference=reference,
        replications=whole("replications", 1), seed=whole("seed", 0), crn=crn,
        wtp=tuple(float(w) for w in wtp),
        discount_rate=None if rate is None else float(rate), source=shown,
        sources=tuple(sources),
    )


def check_names(scenarios: tuple[Scenario, ...] | list[Scenario]) -> None:
    """Scenarios run together must have different names (results are keyed by name)."""
    names = [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"scenarios run together must have different names; repeated: "
                         f"{', '.join(dup)}")


__all__ = [
    "Experiment",
    "Task",
    "TaskError",
    "TaskFunction",
    "check_names",
    "execute_task",
    "is_experiment_file",
    "load_experiment",
    "scenario_digest",
    "task_seed",
]
