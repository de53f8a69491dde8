"""Run experiments: R replications of one or several scenarios, on any executor.

Every replication gets its own child of one root ``numpy.random.SeedSequence``
(:func:`sim.rng.replication_seeds`); in an experiment, replication ``r`` of every scenario
gets the same child (common random numbers, see :mod:`sim.experiment`). Each unit of work
(one replication of one scenario) is run by the pure, picklable
:func:`sim.experiment.execute_task`: draw the uncertain parameters, validate the drawn
scenario, run the replication function (:func:`sim.replication.simulate_replication` unless
another is passed). Outputs are put back in (scenario, replication) order before they are
combined, so the same seed gives the same tables whatever the backend (serial, local
processes, Dask), the number of workers and the order in which work finishes.

With a results directory (``out=``) every finished unit of work is written at once as a part
(:mod:`sim.checkpoint`); ``resume=True`` completes an interrupted run, and the final files are
assembled from the parts.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sim.checkpoint import CorruptPart, PartOutput, PartStore
from sim.constants import DEFAULT_DISCOUNT_RATE
from sim.executors import (
    DaskExecutor,
    Executor,
    TaskFailed,
    TaskTimedOut,
    make_executor,
    with_task_timeout,
)
from sim.executors import available_cpus as _available_cpus
from sim.experiment import (
    DEFAULT_WTP,
    Experiment,
    Replicate,
    Task,
    TaskError,
    TaskFunction,
    check_names,
    scenario_digest,
    task_seed,
)
from sim.progress import progress_bar, progress_enabled
from sim.replication import RESULT_COLUMNS, ReplicationOutput, simulate_replication
from sim.resources import check_memory, resolve_task_timeout
from sim.results import (
    OverYears,
    check_results_dir,
    format_summary,
    summarise,
    write_results_dir,
)
from sim.rng import replication_seeds
from sim.scenario import Scenario, load_scenario
from sim.scenario.uncertain import uncertainty_of, with_uncertainty
from sim.settlement.registry import custom_contracts_for_workers, custom_kinds
from sim.uncertainty import DRAW_COLUMNS, draws_frame

# re-exported for callers of the earlier runner API
available_cpus = _available_cpus


class ReplicationError(RuntimeError):
    """A replication failed or returned something that is not a replication output."""

    def __init__(self, replication: int, message: str, scenario: str | None = None) -> None:
        self.replication = replication
        self.scenario = scenario
        which = f"replication {replication}"
        if scenario is not None:
            which += f" of scenario '{scenario}'"
        super().__init__(f"{which} failed: {message}")


class OverrideError(ValueError):
    """A run setting (replications, seed, workers) is out of range; ``name`` says which."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


# --------------------------------------------------------------------------- settings


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


def resolve_workers(workers: int | None, replications: int) -> int:
    """Worker processes to use: ``workers`` (default: one per CPU), at most one per replication."""
    if workers is None:
        workers = available_cpus()
    return min(_whole("workers", workers, 1), replications)


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True, repr=False)
class RunResult:
    """What a run produced: the tidy results table, side tables and how it was made.

    ``results`` has the columns ``replication, scenario, year, entity, metric, value``;
    ``draws`` the parameter draws (``replication, scenario, parameter, value``; empty when
    nothing is uncertain). Summaries, risk measures and comparisons are computed from the
    table on request; nothing here changes it.
    """

    results: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    scenario: Scenario
    seed: int
    workers: int
    started_at: datetime
    finished_at: datetime
    source: str | None = None
    scenarios: tuple[Scenario, ...] = ()
    draws: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DRAW_COLUMNS))
    crn: bool = True
    reference: str | None = None
    backend: str = "serial"
    name: str | None = None
    wtp: tuple[float, ...] = DEFAULT_WTP
    discount_rate: float = DEFAULT_DISCOUNT_RATE
    align_horizon: str | None = None

    @property
    def replications(self) -> int:
        """Number of replications run (per scenario)."""
        return self.scenario.replications

    @property
    def scenario_names(self) -> list[str]:
        return [s.name for s in (self.scenarios or (self.scenario,))]

    def summary(
        self,
        by: Sequence[str] = ("scenario", "entity", "metric"),
        over_years: OverYears = "mean",
        percentiles: Sequence[float] = (),
    ) -> pd.DataFrame:
        """Mean, SD, SE, 95% percentile interval and n across replications (see
        :func:`sim.results.summarise`); ``percentiles`` adds more."""
        return summarise(self.results, by=by, over_years=over_years, percentiles=percentiles)

    def risk(self, over_years: str = "total", **kwargs: Any) -> pd.DataFrame:
        """Financial risk per scenario and entity (see :func:`sim.risk.risk_table`)."""
        from sim.risk import risk_table

        return risk_table(self.results, over_years=over_years, **kwargs)

    def precision(self, **kwargs: Any) -> pd.DataFrame:
        """Monte Carlo precision of each mean (see :func:`sim.risk.precision`)."""
        from sim.risk import precision

        return precision(self.results, **kwargs)

    def compare(
        self,
        reference: str | None = None,
        *,
        wtp: Sequence[float] | None = None,
        discount_rate: float | None = None,
    ) -> Any:
        """Comparisons of every scenario with ``reference`` (see :func:`sim.comparison.compare_results`)."""
        from sim.comparison import compare_results

        return compare_results(
            self.results,
            reference=reference or self.reference or self.scenario_names[0],
            wtp=self.wtp if wtp is None else wtp,
            discount_rate=self.discount_rate if discount_rate is None else discount_rate,
            align_horizon=self.align_horizon,
        )

    def title(self) -> str:
        """A one-line description of the run for the printed summary."""
        s = self.scenario
        crn = "" if len(self.scenario_names) < 2 else (
            ", common random numbers" if self.crn else ", independent random numbers")
        what = (f"Scenario {s.name}" if len(self.scenario_names) < 2
                else f"Scenarios {', '.join(self.scenario_names)}")
        return (
            f"{what}: {s.replications} replication(s) x {s.horizon_years} year(s), "
            f"seed {self.seed}{crn}. Mean per year; 95% interval across replications."
        )

    def format_summary(self, over_years: OverYears = "mean") -> str:
        """The summary as a readable plain-text table."""
        return format_summary(self.summary(over_years=over_years), title=self.title())

    def to_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Write the tidy results table to one Parquet file."""
        p = Path(path)
        self.results.to_parquet(p, index=False)
        return p

    def reports(self) -> dict[str, pd.DataFrame]:
        """The report tables written next to the results (risk; comparisons if several
        scenarios)."""
        out: dict[str, pd.DataFrame] = {}
        risk = self.risk()
        if len(risk):
            out["risk"] = risk
        if len(self.scenario_names) > 1:
            comparison = self.compare()
            for name, frame in comparison.tables().items():
                if len(frame):
                    out[f"compare_{name}"] = frame
        return out

    def to_dir(
        self,
        path: str | os.PathLike[str],
        *,
        command: str | None = None,
        overwrite: bool = False,
        source: str | os.PathLike[str] | None = None,
    ) -> Path:
        """Write the results directory (see :func:`sim.results.write_results_dir`)."""
        return write_results_dir(
            path,
            self.results,
            scenario=self.scenario,
            scenarios=self.scenarios or None,
            tables=self.tables,
            draws=self.draws,
            reports=self.reports(),
            seed=self.seed,
            workers=self.workers,
            command=command,
            started_at=self.started_at,
            finished_at=self.finished_at,
            source=self.source if source is None else source,
            overwrite=overwrite,
            extra_manifest={"backend": self.backend, "common_random_numbers": self.crn,
                            "reference": self.reference,
                            **({"align_horizon": self.align_horizon} if self.align_horizon
                               else {})},
        )

    def __repr__(self) -> str:
        names = self.scenario_names
        what = f"scenario={names[0]!r}" if len(names) == 1 else f"scenarios={names!r}"
        return (
            f"RunResult({what}, replications={self.replications}, "
            f"seed={self.seed}, rows={len(self.results)}, tables={sorted(self.tables)})"
        )


# --------------------------------------------------------------------------- entry points


def choose_executor(
    executor: Executor | str | None, workers: int | None, scheduler: str | None,
    dask_local: int | None, replications: int, tasks: int,
) -> Executor:
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


def run(
    scenario: Scenario | str | os.PathLike[str],
    *,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    replicate: Replicate | None = None,
    executor: Executor | str | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    command: str | None = None,
    allow_code: bool = False,
    task_timeout: float | None = None,
    force: bool = False,
) -> RunResult:
    """Run ``scenario`` (a :class:`Scenario` or a path to a scenario file).

    ``replications`` and ``seed`` default to the scenario's. Execution: ``workers`` local
    processes (default one per CPU, at most one per replication; 1 runs in this process),
    or Dask with ``scheduler`` (an address) or ``dask_local`` (a local cluster of N
    workers), or any ``executor`` (see :mod:`sim.executors`). ``progress``: ``None`` shows a
    bar on a terminal or in a notebook for runs longer than two seconds, ``True``/``False``
    force it. ``replicate`` replaces :func:`sim.replication.simulate_replication` (it must be
    picklable, i.e. a module-level function, for processes and Dask).

    ``out``: a results directory; every finished replication is written there at once, and
    the final files are assembled from those parts. ``resume=True`` completes the
    interrupted run in ``out`` (refused if it was made from another scenario, other
    settings or another vbcsim version).

    ``allow_code=True`` lets a custom contract's ``kind: package.module:Class`` be imported
    (scenario files run no code otherwise; ``docs/contracts.md``).

    ``task_timeout``: seconds one replication may run before the run stops with an error
    (its worker processes stopped); ``None`` (default) limits only scenarios with custom
    contract code, to a generous multiple of the expected time
    (:func:`sim.resources.default_task_timeout`); ``0`` means no limit. Before running, the
    peak memory is estimated (:func:`sim.resources.check_memory`): a run estimated to need
    more than the memory available is refused unless ``force=True``.
    """
    source: str | None = None
    if isinstance(scenario, str | os.PathLike):
        source = os.fspath(scenario)
        scenario = load_scenario(scenario, allow_code=allow_code)
    elif allow_code:
        custom_contracts_for_workers([scenario], ship=False, allow_code=True)
    return run_scenarios(
        [scenario], sources=[source], replications=replications, seed=seed, workers=workers,
        progress=progress, replicate=replicate, executor=executor, scheduler=scheduler,
        dask_local=dask_local, out=out, resume=resume, overwrite=overwrite, command=command,
        task_timeout=task_timeout, force=force,
    )


def compare(
    scenarios: Sequence[Scenario | str | os.PathLike[str]] | Experiment | str | os.PathLike[str],
    *,
    reference: str | None = None,
    crn: bool | None = None,
    replications: int | None = None,
    seed: int | None = None,
    wtp: Sequence[float] | None = None,
    discount_rate: float | None = None,
    allow_code: bool = False,
    **kwargs: Any,
) -> RunResult:
    """Run several scenarios together and return their results (compare with
    ``result.compare()``).

    ``scenarios``: scenarios or scenario files, or an :class:`~sim.experiment.Experiment`
    or an experiment file. ``discount_rate`` defaults to the reference scenario's
    ``economics.discount_rate`` (3% if it has none). Every scenario runs the same
    replications with the same seed sequence per replication and the same parameter
    draws (common random numbers; ``crn=False`` gives independent streams).
    ``reference`` (default: the first scenario) is what ``result.compare()`` compares with.
    Scenarios must be comparable (same horizon, first calendar year and population size;
    :func:`sim.comparison.check_comparable`, checked before running) unless
    ``align_horizon="shortest"`` (compare over the plan years they share).
    Other keywords (``allow_code`` too) as for :func:`run`.
    """
    from sim.experiment import is_experiment_file, load_experiment

    if isinstance(scenarios, str | os.PathLike):
        if not is_experiment_file(scenarios):
            raise ValueError(f"{os.fspath(scenarios)} is not an experiment file (no top-level "
                             "'experiment:'); pass a list of scenarios")
        scenarios = load_experiment(scenarios, allow_code=allow_code)
    if isinstance(scenarios, Experiment):
        exp = scenarios
        return run_scenarios(
            list(exp.scenarios), sources=list(exp.sources) or None,
            replications=exp.replications if replications is None else replications,
            seed=exp.seed if seed is None else seed,
            crn=exp.crn if crn is None else crn,
            reference=reference or exp.reference, name=exp.name, source=exp.source,
            wtp=exp.wtp if wtp is None else wtp,
            discount_rate=exp.discount_rate if discount_rate is None else discount_rate,
            **kwargs,
        )
    loaded: list[Scenario] = []
    sources: list[str | None] = []
    for item in scenarios:
        if isinstance(item, str | os.PathLike):
            sources.append(os.fspath(item))
            loaded.append(load_scenario(item, allow_code=allow_code))
        else:
            sources.append(None)
            loaded.append(item)
    if allow_code:
        custom_contracts_for_workers(loaded, ship=False, allow_code=True)
    return run_scenarios(
        loaded, sources=sources, replications=replications, seed=seed,
        crn=True if crn is None else crn, reference=reference,
        wtp=DEFAULT_WTP if wtp is None else wtp, discount_rate=discount_rate, **kwargs,
    )


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
    import sim

    return {
        "vbcsim_version": sim.__version__,
        "scenarios": [{"name": s.name, "sha256": scenario_digest(s)} for s in scenarios],
        "seed": scenarios[0].seed,
        "replications": scenarios[0].replications,
        "common_random_numbers": bool(crn),
        "tasks": tasks,
    }


def resume_target(workdir: Path, recorded: str | None) -> Path:
    """Where the resumed run in ``workdir`` writes its results: the absolute ``target`` its
    ``run.json`` records, else ``workdir`` itself. An older relative entry is read next to
    ``workdir`` (which was made as ``.NAME.partial-...`` beside its target), never relative
    to the current folder."""
    if not recorded:
        return workdir
    target = Path(recorded)
    if target.is_absolute():
        return target
    return workdir.absolute().parent / target.name


def run_scenarios(
    scenarios: Sequence[Scenario],
    *,
    sources: Sequence[str | None] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    crn: bool = True,
    reference: str | None = None,
    name: str | None = None,
    source: str | None = None,
    wtp: Sequence[float] = DEFAULT_WTP,
    discount_rate: float | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    replicate: Replicate | None = None,
    executor: Executor | str | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    command: str | None = None,
    task_timeout: float | None = None,
    force: bool = False,
    align_horizon: str | None = None,
) -> RunResult:
    """The engine behind :func:`run` and :func:`compare` (same arguments)."""
    prepared = prepare(list(scenarios), replications, seed)
    check_scenarios_comparable(prepared, align_horizon, crn)
    if discount_rate is None:
        ref = next((s for s in prepared if s.name == reference), prepared[0])
        discount_rate = scenario_discount_rate(ref)
    if reference is not None and reference not in [s.name for s in prepared]:
        raise OverrideError("reference", f"expected one of {[s.name for s in prepared]}, got "
                            f"{reference!r}")
    tasks = build_tasks(prepared, crn)
    first = prepared[0]
    exe = choose_executor(executor, workers, scheduler, dask_local, first.replications, len(tasks))
    exe = check_resources(exe, prepared, task_timeout, force)
    fn = _task_function(replicate, prepared, exe)
    if source is None and sources and len(prepared) == 1:
        source = sources[0]

    store: PartStore | None = None
    target: Path | None = None
    started = datetime.now(UTC)
    if out is not None:
        state = run_state(prepared, crn, len(tasks))
        if resume:
            store = PartStore.resume(out, state)
            target = resume_target(store.path, store.state.get("target"))
            with contextlib.suppress(KeyError, ValueError):
                started = datetime.fromisoformat(store.state["created_at"])
        else:
            target = check_results_dir(out, overwrite=overwrite)
            workdir = target
            if target.exists():  # replaced only at the end: work next to it meanwhile
                workdir = target.parent / f".{target.name}.partial-{secrets.token_hex(4)}"
            state.update(created_at=started.isoformat(), command=command,
                         target=None if workdir == target else str(target.absolute()))
            store = PartStore.create(workdir, state)
    elif resume:
        raise OverrideError("resume", "resuming needs the results directory (out=)")

    desc = name or (first.name if len(prepared) == 1 else " vs ".join(s.name for s in prepared))
    outputs = _execute(tasks, fn, exe, store, progress, desc)
    if store is not None:  # assemble the final files from the parts
        outputs = _assemble(tasks, fn, exe, store, progress, desc)
    finished = datetime.now(UTC)

    order = sorted(range(len(tasks)), key=lambda i: (tasks[i].scenario_index,
                                                      tasks[i].replication))
    results, tables, draws = combine_parts([(tasks[i], outputs[i]) for i in order],
                                           several=len(prepared) > 1)
    result = RunResult(
        results=results, tables=tables, scenario=first, seed=first.seed, workers=exe.workers,
        started_at=started, finished_at=finished, source=source,
        scenarios=tuple(prepared) if len(prepared) > 1 else (), draws=draws, crn=crn,
        reference=reference or (first.name if len(prepared) > 1 else None),
        backend=exe.name, name=name, wtp=tuple(float(w) for w in wtp),
        discount_rate=float(discount_rate), align_horizon=align_horizon,
    )
    if store is not None and target is not None:
        result.to_dir(target, command=command, overwrite=True)
        if store.path.resolve() != target.resolve():
            shutil.rmtree(store.path, ignore_errors=True)
    return result


def check_scenarios_comparable(
    scenarios: Sequence[Scenario], align_horizon: str | None, crn: bool = True
) -> None:
    """Before running several scenarios together: refuse those whose comparison would be
    meaningless (:func:`sim.comparison.check_comparable`, paired if ``crn``; raises
    :class:`~sim.comparison.NotComparable`)."""
    from sim.comparison import check_comparable

    try:
        check_comparable(
            {s.name: range(s.horizon_years) for s in scenarios},
            first_calendar_year={s.name: s.economics.first_calendar_year for s in scenarios},
            population={s.name: s.population.size for s in scenarios},
            align_horizon=align_horizon, paired=crn)
    except ValueError as exc:
        if type(exc) is ValueError:  # a bad align_horizon value
            raise OverrideError("align_horizon", str(exc).removeprefix("align_horizon: ")) \
                from None
        raise


def check_resources(
    exe: Executor, scenarios: Sequence[Scenario], task_timeout: float | None, force: bool
) -> Executor:
    """Before anything runs: ``exe`` with the run's per-task time limit
    (:func:`sim.resources.resolve_task_timeout`), after checking the estimated peak memory
    of running ``scenarios`` on it against the memory available
    (:func:`sim.resources.check_memory`; not for a remote Dask cluster)."""
    try:
        timeout = resolve_task_timeout(task_timeout, scenarios)
    except ValueError as exc:
        raise OverrideError("task_timeout", str(exc).removeprefix("task_timeout: ")) from None
    if not (isinstance(exe, DaskExecutor) and exe.address is not None):
        check_memory(scenarios, exe.workers, force=force)
    return with_task_timeout(exe, timeout)


def execute_tasks(
    tasks: Sequence[Task],
    *,
    replicate: Replicate | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    desc: str = "vbcsim",
    task_timeout: float | None = None,
    force: bool = False,
) -> list[PartOutput]:
    """Run ``tasks`` on ``executor`` (default: serial) and return their outputs in task
    order (used by sensitivity analyses, which build their own tasks); ``task_timeout`` and
    ``force`` as for :func:`run`."""
    tasks = list(tasks)
    exe = executor if executor is not None else make_executor(workers=1)
    exe = check_resources(exe, list({id(t.scenario): t.scenario for t in tasks}.values()),
                          task_timeout, force)
    fn = _task_function(replicate, [t.scenario for t in tasks], exe)
    return _execute(tasks, fn, exe, None, progress, desc)


def _task_function(
    replicate: Replicate | None, scenarios: Sequence[Scenario], exe: Executor
) -> TaskFunction:
    """The function ``exe`` runs per task; off this process it carries the custom contracts
    that ``scenarios`` use, resolved here before any task runs (a serial run has them)."""
    shipped = custom_contracts_for_workers(scenarios, ship=exe.name != "serial")
    return TaskFunction(simulate_replication if replicate is None else replicate, shipped)


def _assemble(
    tasks: list[Task], fn: Any, exe: Executor, store: PartStore, progress: bool | None,
    desc: str, attempts: int = 3,
) -> list[PartOutput]:
    """Every part read back from ``store``, checked; a part that fails its check is
    reported, moved aside and run again (up to ``attempts`` times)."""
    for _ in range(attempts):
        outputs: list[Any] = [None] * len(tasks)
        for i in range(len(tasks)):
            try:
                outputs[i] = store.read(i)
            except (CorruptPart, OSError) as exc:
                store.discard(i, str(exc))
        if all(o is not None for o in outputs):
            return outputs
        _execute(tasks, fn, exe, store, progress, desc)
    raise RuntimeError(f"the parts in {store.parts} keep failing their checks after "
                       f"{attempts} attempts; is the disk failing?")


def _execute(
    tasks: list[Task], fn: Any, exe: Executor, store: PartStore | None,
    progress: bool | None, desc: str,
) -> list[PartOutput]:
    """Run the tasks not yet in ``store`` (or whose part fails its check); write each part
    as it finishes."""
    outputs: list[Any] = [None] * len(tasks)
    done = store.checked_done() if store is not None else set()
    todo = [i for i in range(len(tasks)) if i not in done]
    several = len({t.scenario_index for t in tasks}) > 1
    bar = progress_bar(len(tasks), desc=desc, enabled=progress_enabled(progress))
    try:
        if done:
            bar.update(len(done))
        with contextlib.closing(exe.run(fn, [tasks[i] for i in todo])) as events:
            for event in events:
                if event is None:  # heartbeat: lets the bar appear and its clock run
                    bar.update(0)
                    continue
                j, output = event
                i = todo[j]
                if store is not None:
                    store.write(i, output)
                outputs[i] = output
                bar.update(1)
    except TaskFailed as exc:
        task = tasks[todo[exc.index]]
        err = exc.error
        message = str(err) if isinstance(err, TaskError) else f"{type(err).__name__}: {err}"
        if isinstance(err, TaskTimedOut):
            message = timeout_message(err, task.scenario, exe)
            several = True  # name the scenario
        failure = ReplicationError(task.replication, message,
                                   task.scenario.name if several else None)
        if store is not None:
            failure.partial_run = store.partial()  # type: ignore[attr-defined]
        raise failure from err
    except BaseException as exc:
        if store is not None:
            with contextlib.suppress(Exception):
                exc.partial_run = store.partial()  # type: ignore[attr-defined]
        raise
    finally:
        bar.close()
    return outputs


def timeout_message(err: TaskTimedOut, scenario: Scenario, exe: Executor) -> str:
    """What to say when a task ran past its time limit: the limit, the custom code that may
    hang, that the workers were stopped, and how to raise the limit."""
    kinds = custom_kinds([scenario])
    suspect = (f" (the scenario's custom contract {', '.join(repr(k) for k in kinds)} may "
               "hang)" if kinds else "")
    stopped = "; its worker processes were stopped" if exe.name == "processes" else ""
    return (f"{err}{suspect}{stopped}. If it only needs longer, raise the limit with "
            f"--task-timeout SECONDS (task_timeout= in the API; 0 for no limit)")


# --------------------------------------------------------------------------- combining


def _tidy(results: pd.DataFrame) -> pd.DataFrame:
    extra = [c for c in results.columns if c not in RESULT_COLUMNS]
    results = results[RESULT_COLUMNS + extra].copy()
    return results.astype({"replication": "int64", "scenario": "string", "year": "int64",
                           "entity": "string", "metric": "string", "value": "float64"})


def combine(outputs: Sequence[ReplicationOutput]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Concatenate replication outputs in the order given (the runner passes replication order).

    The results table gets the fixed columns first and a float64 ``value``; a side table
    without a ``replication`` column gets one, from the output's position.
    """
    if outputs:
        results = pd.concat([o.results for o in outputs], ignore_index=True)
    else:
        results = pd.DataFrame(columns=RESULT_COLUMNS)
    extra = [c for c in results.columns if c not in RESULT_COLUMNS]
    results = results[RESULT_COLUMNS + extra]
    results["value"] = results["value"].astype("float64")

    names = list(dict.fromkeys(name for o in outputs for name in (o.tables or {})))
    tables: dict[str, pd.DataFrame] = {}
    for name in names:
        parts = []
        for i, o in enumerate(outputs):
            t = (o.tables or {}).get(name)
            if t is None:
                continue
            if "replication" not in t.columns:
                t = t.copy()
                t.insert(0, "replication", i)
            parts.append(t)
        tables[name] = pd.concat(parts, ignore_index=True)
    return results, tables


def combine_parts(
    parts: Sequence[tuple[Task, PartOutput]], several: bool = False
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], pd.DataFrame]:
    """Concatenate the outputs of tasks (in the order given): results, side tables, draws.

    A side table without a ``replication`` column gets the task's; with ``several``
    scenarios, one without a ``scenario`` column gets the scenario's name.
    """
    if parts:
        results = _tidy(pd.concat([o.results for _, o in parts], ignore_index=True))
    else:
        results = _tidy(pd.DataFrame(columns=RESULT_COLUMNS))
    names = list(dict.fromkeys(n for _, o in parts for n in (o.tables or {})))
    tables: dict[str, pd.DataFrame] = {}
    for name in names:
        pieces = []
        for task, o in parts:
            t = (o.tables or {}).get(name)
            if t is None:
                continue
            if "replication" not in t.columns or (several and "scenario" not in t.columns):
                t = t.copy()
                if several and "scenario" not in t.columns:
                    t.insert(0, "scenario", task.label or task.scenario.name)
                if "replication" not in t.columns:
                    t.insert(0, "replication", task.replication)
            pieces.append(t)
        tables[name] = pd.concat(pieces, ignore_index=True)
    draw_frames = [o.draws for _, o in parts if o.draws is not None and len(o.draws)]
    draws = (pd.concat(draw_frames, ignore_index=True) if draw_frames else draws_frame([]))
    return results, tables, draws


__all__ = [
    "OverrideError",
    "ReplicationError",
    "RunResult",
    "apply_overrides",
    "available_cpus",
    "build_tasks",
    "check_resources",
    "check_scenarios_comparable",
    "choose_executor",
    "combine",
    "combine_parts",
    "compare",
    "execute_tasks",
    "prepare",
    "resolve_workers",
    "resume_target",
    "run",
    "run_scenarios",
]
