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

import gc
import hashlib
import json
import os
import socket
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from sim.care.warmup import sharing as warmup_sharing
from sim.comparison import DEFAULT_WTP
from sim.contracts.resolve import install_custom_contracts
from sim.replication import ReplicationOutput
from sim.results.table import RESULT_COLUMNS, PartOutput
from sim.rng import name_key
from sim.scenario.attribution import ScenarioCheckWarning
from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.messages import problem_at, validate_section
from sim.scenario.provenance import Provenance
from sim.scenario.reading import file_problem, read_mapping, read_text, read_with_provenance
from sim.scenario.schema import Scenario
from sim.scenario.uncertain import apply_values, drawn_scenario, uncertainty_of
from sim.threads import blas_threads_limited
from sim.uncertainty import draws_frame

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
    use (:func:`sim.contracts.resolve.custom_contracts_for_workers`), and registers them
    when it runs in another process, so that a contract class written in a notebook runs on
    worker processes and Dask workers too.
    """

    replicate: Replicate
    custom_contracts: tuple[tuple[str, bytes], ...] = ()
    origin: tuple[str, int] = field(default_factory=lambda: (socket.gethostname(), os.getpid()))
    #: capture warm-ups for the other tasks of a replication (:mod:`sim.care.warmup`)
    warmup_sharing: bool = False

    def __call__(self, task: Task) -> PartOutput:
        if (socket.gethostname(), os.getpid()) != self.origin:  # a worker process
            if self.custom_contracts:
                install_custom_contracts(self.custom_contracts)
            freeze_long_lived()
        with warmup_sharing(self.warmup_sharing):
            return execute_task(self.replicate, task)


_FROZEN = False


def freeze_long_lived() -> None:
    """Once per (worker) process: collect the garbage, then move every object alive
    (modules, caches, the scenario) to the garbage collector's permanent generation
    (:func:`gc.freeze`), so that its full collections during the replications scan only
    what the replications create. A 10,000-patient replication makes ~70 collections,
    whose cost (~40 ms of CPU, ~80 ms for each full one) drops to ~9 ms. The collector
    only frees memory: no number changes. Not done in the calling process (workers=1),
    whose objects are the user's."""
    global _FROZEN
    if not _FROZEN:
        _FROZEN = True
        gc.collect()
        gc.freeze()


class TaskError(RuntimeError):
    """A task's replication function returned something that is not a replication output."""


def execute_task(replicate: Replicate, task: Task) -> PartOutput:
    """Run one task: draw (or substitute) parameters, validate, simulate. Pure: the output
    depends only on the arguments."""
    # The scenario was checked (and its check warnings shown) when it was loaded: its
    # re-validation here, in every worker and every calibration evaluation, stays quiet.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioCheckWarning)
        if task.values is not None:
            scenario = apply_values(task.scenario, task.values)
            draw: dict[str, float] = {}
        else:
            scenario, draw = drawn_scenario(task.scenario, task.seed_seq)
    with blas_threads_limited():  # small linear algebra: BLAS threads only spin (sim.threads)
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


class ExperimentSettings(BaseModel):
    """The ``experiment:`` mapping of an experiment file (validated strictly, like a
    scenario: unknown keys refused, no numbers in quotes, no yes/no for numbers)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str | None = Field(None, min_length=1, description="default: the file's stem")
    description: str | None = None
    scenarios: list[str] = Field(min_length=1, description="scenario file paths, relative "
                                 "to the experiment file")
    reference: str | None = Field(None, description="the name of one of the scenarios "
                                  "(default: the first)")
    replications: int | None = Field(None, ge=1, description="default: the reference's")
    seed: int | None = Field(None, ge=0, description="default: the reference's")
    common_random_numbers: bool = True
    wtp_usd_per_qaly: list[Annotated[float, Field(ge=0)]] = Field(
        list(DEFAULT_WTP), min_length=1, json_schema_extra={"unit": "USD per QALY"})
    discount_rate: float | None = Field(None, ge=0, le=1, json_schema_extra={
        "unit": "per year"}, description="default: the reference's economics")


class ExperimentFile(BaseModel):
    """An experiment file: one mapping, ``experiment:``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    experiment: ExperimentSettings


def is_experiment_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an experiment file (a top-level ``experiment:`` key).

    Read with the scenario loader's bounds (size, NUL bytes, aliases, nesting)."""
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


def load_experiment(
    path: str | os.PathLike[str], *, allow_code: bool = False, overrides: Any = None
) -> Experiment:
    """Load an experiment file and the scenarios it names (each validated; ``allow_code`` and
    ``overrides``, applied to every scenario, as for :func:`sim.scenario.load_scenario`).

    Raises :class:`ScenarioError` listing every problem found, in the experiment file and
    in the scenario files it names, each with its file, line and field path.
    """
    shown = os.fspath(path)
    real = Path(path)
    if not real.is_file():
        raise ScenarioError(shown, "", file_problem(real) or "file not found")
    raw, prov = read_with_provenance(real, shown)
    settings, data, problems = validate_section(raw, prov, shown, "experiment", ExperimentFile,
                                                "an experiment file")
    spec = data.get("experiment")
    files = spec.get("scenarios") if isinstance(spec, dict) else None
    scenarios, sources, missing, refused = _load_scenarios(
        files if isinstance(files, list) else [], real, shown, prov, allow_code, overrides)
    problems += missing
    if isinstance(files, list) and files and len(scenarios) == len(files):
        problems += _problems_of_names(scenarios, spec, prov, shown)
    problems.sort(key=lambda p: (p.line is None, p.line or 0, p.field))
    problems += refused  # problems in the scenario files, after those in the experiment's
    if problems or settings is None:
        raise ScenarioError.from_problems(problems, what="experiment")
    names = [s.name for s in scenarios]
    return Experiment(
        name=settings.name or real.stem, scenarios=tuple(scenarios),
        reference=settings.reference or names[0], replications=settings.replications,
        seed=settings.seed, crn=settings.common_random_numbers,
        wtp=tuple(float(w) for w in settings.wtp_usd_per_qaly),
        discount_rate=settings.discount_rate, source=shown, sources=tuple(sources),
    )


def _load_scenarios(
    files: list, real: Path, shown: str, prov: Provenance, allow_code: bool,
    overrides: Any = None,
) -> tuple[list[Scenario], list[str], list[Problem], list[Problem]]:
    """The scenarios an experiment names (files relative to the experiment file), their
    paths, the problems of missing files and those of refused scenarios: every file is
    tried, so that all problems are reported at once."""
    from sim.scenario import load_scenario

    scenarios: list[Scenario] = []
    sources: list[str] = []
    missing: list[Problem] = []
    refused: list[Problem] = []
    for i, f in enumerate(files):
        if not isinstance(f, str):
            continue  # reported by the model
        keys = ("experiment", "scenarios", str(i))
        sub = Path(f) if Path(f).is_absolute() else real.parent / f
        if not sub.is_file():
            missing.append(problem_at(prov, keys, shown, f"scenario file '{f}' not found "
                                       f"(looked for {sub})"))
            continue
        try:
            scenarios.append(load_scenario(sub, allow_code=allow_code, overrides=overrides))
        except ScenarioError as exc:
            refused += exc.errors
            continue
        sources.append(os.fspath(sub))
    return scenarios, sources, missing, refused


def _problems_of_names(
    scenarios: list[Scenario], spec: dict[str, Any], prov: Provenance, shown: str
) -> list[Problem]:
    """Scenario names must differ, and the reference must be one of them (checked once
    every scenario named has loaded)."""
    out = []
    names = [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        out.append(problem_at(prov, ("experiment", "scenarios"), shown, f"scenario names "
                               f"must differ; repeated: {', '.join(dup)} (set 'name:' in the "
                               "scenario files)"))
    reference = spec.get("reference", names[0])
    if isinstance(reference, str) and reference not in names:
        out.append(problem_at(prov, ("experiment", "reference"), shown, f"expected one of "
                               f"{', '.join(dict.fromkeys(names))}, got {reference!r}"))
    return out


def check_names(scenarios: tuple[Scenario, ...] | list[Scenario]) -> None:
    """Scenarios run together must have different names (results are keyed by name)."""
    names = [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"scenarios run together must have different names; repeated: "
                         f"{', '.join(dup)}")


__all__ = [
    "Experiment",
    "ExperimentFile",
    "ExperimentSettings",
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
