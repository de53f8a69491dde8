"""What a run is, checked before it starts: its settings, its units of work, its identity.

* :func:`run_overrides`, :func:`scenario_for_run` — the scenarios with the run's overrides
  (``overrides=``, ``quick=``; :mod:`sim.scenario.overrides`), validated like their files;
* :func:`prepare` — the scenarios with the run's replications and seed, checked;
* :func:`resolve_workers`, :func:`choose_executor` — where the work runs;
* :func:`build_tasks` — the units of work (one replication of one scenario), each with its
  child of the root ``SeedSequence`` (common random numbers across scenarios by default);
* :func:`run_state` — what identifies a run, so that it can be resumed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from sim._version import __version__
from sim.constants import DEFAULT_DISCOUNT_RATE
from sim.executors import Executor, available_cpus, make_executor
from sim.experiment import Task, check_names, scenario_digest, task_seed
from sim.rng import replication_seeds
from sim.scenario import Scenario, load_scenario, resolved_yaml, scenario_from_dict
from sim.scenario.overrides import QUICK, Override, as_overrides
from sim.scenario.uncertain import uncertainty_of, with_uncertainty


class OverrideError(ValueError):
    """A run setting (replications, seed, workers) is out of range; ``name`` says which."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


def _whole(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise OverrideError(name, f"expected a whole number >= {minimum}, got {value!r}")
    return int(value)


def apply_overrides(
    scenario: Scenario, *, replications: int | None = None, seed: int | None = None
) -> Scenario:
    """``scenario`` with its Monte Carlo settings replaced, checked against the schema.

    The returned scenario is the one written out as the resolved scenario, so re-running that
    file reproduces the run. Uncertain parameters are kept.
    """
    update: dict[str, int] = {}
    if replications is not None:
        update["replications"] = _whole("replications", replications, 1)
    if seed is not None:
        update["seed"] = _whole("seed", seed, 0)
    if not update:
        return scenario
    try:
        plain = Scenario.model_validate({**scenario.model_dump(), **update})
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "scenario"
        raise OverrideError(name, err["msg"]) from None
    return with_uncertainty(plain, uncertainty_of(scenario))


def run_overrides(overrides: Any = None, quick: bool = False) -> list[Override]:
    """The overrides of a run: ``--quick``'s (:data:`~sim.scenario.overrides.QUICK`) first,
    then ``overrides`` (a mapping ``{path: value}`` or ``PATH=VALUE`` texts), so a later one
    wins."""
    first = [Override(p, v, f"--quick ({p}={v})") for p, v in QUICK.items()] if quick else []
    return first + as_overrides(overrides)


def scenario_for_run(
    item: Scenario | str | os.PathLike[str], overrides: Sequence[Override],
    allow_code: bool = False,
) -> Scenario:
    """A scenario (or scenario file) with ``overrides`` applied, validated as a file is. A
    :class:`Scenario` is re-validated from its resolved form (its uncertain parameters
    kept); without overrides it is returned as it is."""
    if isinstance(item, str | os.PathLike):
        return load_scenario(item, allow_code=allow_code, overrides=overrides)
    if not overrides:
        return item
    return scenario_from_dict(yaml.safe_load(resolved_yaml(item)), f"scenario '{item.name}'",
                              allow_code=allow_code, overrides=overrides)


def resolve_workers(workers: int | None, replications: int) -> int:
    """Worker processes to use: ``workers`` (default: one per CPU), at most one per replication."""
    if workers is None:
        workers = available_cpus()
    return min(_whole("workers", workers, 1), replications)


def choose_executor(
    executor: Executor | str | None, workers: int | None, scheduler: str | None,
    dask_local: int | None, replications: int, tasks: int,
) -> Executor:
    """The executor of a run: ``executor`` itself, or one made from its name, a Dask
    ``scheduler`` address or ``dask_local`` cluster size, or ``workers`` local processes."""
    if executor is not None and not isinstance(executor, str):
        return executor
    if executor == "serial":
        return make_executor(workers=1)
    if executor not in (None, "processes", "dask"):
        raise OverrideError("executor", f"expected 'serial', 'processes' or 'dask', got "
                            f"{executor!r}")
    if scheduler is not None or dask_local is not None:
        if dask_local is not None:
            _whole("dask_local", dask_local, 1)
        try:
            return make_executor(scheduler=scheduler, dask_local=dask_local)
        except ValueError as exc:
            raise OverrideError("scheduler", str(exc)) from None
    n = resolve_workers(workers, replications)
    return make_executor(workers=min(n, tasks))


def scenario_discount_rate(scenario: Scenario) -> float:
    """The scenario's yearly discount rate (``economics.discount_rate``), else 3%."""
    rate = getattr(getattr(scenario, "economics", None), "discount_rate", None)
    return DEFAULT_DISCOUNT_RATE if rate is None else float(rate)


def prepare(
    scenarios: Sequence[Scenario], replications: int | None, seed: int | None
) -> list[Scenario]:
    """The scenarios with the experiment's replications and seed (default: the first
    scenario's), checked."""
    if not scenarios:
        raise ValueError("no scenarios to run")
    first = scenarios[0]
    reps = first.replications if replications is None else replications
    root = first.seed if seed is None else seed
    out = [apply_overrides(s, replications=reps, seed=root) for s in scenarios]
    check_names(out)
    return out


def build_tasks(scenarios: Sequence[Scenario], crn: bool = True) -> list[Task]:
    """The units of work, replication-major (so an interrupted run has finished whole
    replications of every scenario)."""
    first = scenarios[0]
    seeds = replication_seeds(first.seed, first.replications)
    return [
        Task(k, sc, r, task_seed(seeds[r], sc.name, crn))
        for r in range(first.replications)
        for k, sc in enumerate(scenarios)
    ]


def run_state(scenarios: Sequence[Scenario], crn: bool, tasks: int) -> dict[str, Any]:
    """What identifies a run, for resuming (see :mod:`sim.checkpoint`)."""
    return {
        "vbcsim_version": __version__,
        "scenarios": [{"name": s.name, "sha256": scenario_digest(s)} for s in scenarios],
        "seed": scenarios[0].seed,
        "replications": scenarios[0].replications,
        "common_random_numbers": bool(crn),
        "tasks": tasks,
    }


__all__ = [
    "OverrideError",
    "apply_overrides",
    "build_tasks",
    "choose_executor",
    "prepare",
    "resolve_workers",
    "run_overrides",
    "run_state",
    "scenario_discount_rate",
    "scenario_for_run",
]
