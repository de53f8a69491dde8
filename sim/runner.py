"""Run experiments: R replications of one or several scenarios, on any executor.

Every replication gets its own child of one root ``numpy.random.SeedSequence``
(:func:`sim.rng.replication_seeds`); in an experiment, replication ``r`` of every scenario
gets the same child (common random numbers, see :mod:`sim.experiment`). Each unit of work
(one replication of one scenario) is run by the pure, picklable
:func:`sim.experiment.execute_task`: draw the uncertain parameters, validate the drawn
scenario, run the replication function (:func:`sim.replication.simulate_replication` unless
another is passed). Outputs are put back in (scenario, replication) order before they are
combined (:func:`sim.results.combine_parts`), so the same seed gives the same tables
whatever the backend (serial, local processes, Dask), the number of workers and the order in
which work finishes.

This module orchestrates; the settings and units of work are made by :mod:`sim.run_setup`,
the result object is :class:`sim.run_result.RunResult`, and the results directory's files are
those of :mod:`sim.results.layout`.

With a results directory (``out=``) the run holds the folder's lock
(:class:`sim.results.OutputLock`, so a second writer is refused) and every finished unit of
work is written at once as a part (:mod:`sim.checkpoint`); ``resume=True`` completes an
interrupted run, and the final files are assembled from the parts. A run that fails before
any part is finished leaves nothing new behind; one that fails later leaves its working
directory, marked unfinished (``run.json``, ``UNFINISHED.txt``), for ``--resume``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.care.warmup import any_shared
from sim.checkpoint import PartStore
from sim.claims_saving import KeepClaims, parse_save_claims, pop_claims, saved_claims, write_claims
from sim.comparison import DEFAULT_WTP
from sim.contracts.resolve import custom_contracts_for_workers, custom_kinds
from sim.executors import (
    DaskExecutor,
    Executor,
    TaskFailed,
    TaskTimedOut,
    make_executor,
    with_task_timeout,
)
from sim.experiment import Experiment, Replicate, Task, TaskError, TaskFunction
from sim.progress import listening_to_years, progress_bar, progress_enabled
from sim.replication import simulate_replication
from sim.resources import check_memory, resolve_task_timeout
from sim.results import (
    OutputLock,
    PartOutput,
    check_results_dir,
    combine_parts,
    layout,
    read_state,
)
from sim.run_result import RunResult
from sim.run_setup import (
    OverrideError,
    build_tasks,
    choose_executor,
    prepare,
    run_overrides,
    run_state,
    scenario_discount_rate,
    scenario_for_run,
)
from sim.scenario import Scenario
from sim.scenario.overrides import override_texts


class ReplicationError(RuntimeError):
    """A replication failed or returned something that is not a replication output."""

    def __init__(self, replication: int, message: str, scenario: str | None = None) -> None:
        self.replication = replication
        self.scenario = scenario
        which = f"replication {replication}"
        if scenario is not None:
            which += f" of scenario '{scenario}'"
        super().__init__(f"{which} failed: {message}")


# --------------------------------------------------------------------------- entry points


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
    overrides: Any = None,
    quick: bool = False,
    parameter_uncertainty: bool = True,
    save_claims: str | Sequence[int] | bool | None = None,
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

    ``overrides``: changes to the scenario, ``{"population.size": 2000}`` (or ``PATH=VALUE``
    texts), applied before validation and checked as if written in the file
    (:mod:`sim.scenario.overrides`); ``quick=True`` runs the small size of ``--quick``
    (:data:`sim.scenario.overrides.QUICK`; ``overrides`` win over it). Both are recorded in
    the resolved scenario and the manifest; a quick result says so in its title.
    ``parameter_uncertainty=False`` (``--no-parameter-uncertainty``) runs every replication
    at the means of the uncertain parameters: intervals show patient-level chance alone.

    ``save_claims`` (needs ``out``): keep the simulated claims of replication 0 (``True``),
    of chosen replications (``"0,2"``) or of all (``"all"``) in the results directory
    (docs/claims.md; :func:`run_scenarios`).
    """
    source: str | None = None
    ovs = _without_parameter_uncertainty(run_overrides(overrides, quick), parameter_uncertainty)
    if isinstance(scenario, str | os.PathLike):
        source = os.fspath(scenario)
    scenario = scenario_for_run(scenario, ovs, allow_code)
    if source is None and allow_code:
        custom_contracts_for_workers([scenario], ship=False, allow_code=True)
    return run_scenarios(
        [scenario], sources=[source], replications=replications, seed=seed, workers=workers,
        progress=progress, replicate=replicate, executor=executor, scheduler=scheduler,
        dask_local=dask_local, out=out, resume=resume, overwrite=overwrite, command=command,
        task_timeout=task_timeout, force=force, overrides=override_texts(ovs), quick=quick,
        save_claims=save_claims,
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
    overrides: Any = None,
    quick: bool = False,
    parameter_uncertainty: bool = True,
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
    ``overrides`` and ``quick`` (applied to every scenario) and other keywords
    (``allow_code`` too) and ``parameter_uncertainty`` as for :func:`run`.
    """
    from sim.experiment import is_experiment_file, load_experiment

    ovs = _without_parameter_uncertainty(run_overrides(overrides, quick), parameter_uncertainty)
    kwargs.update(overrides=override_texts(ovs), quick=quick)
    if isinstance(scenarios, str | os.PathLike):
        if not is_experiment_file(scenarios):
            raise ValueError(f"{os.fspath(scenarios)} is not an experiment file (no top-level "
                             "'experiment:'); pass a list of scenarios")
        scenarios = load_experiment(scenarios, allow_code=allow_code, overrides=ovs)
        ovs = []  # applied
    if isinstance(scenarios, Experiment):
        exp = scenarios
        return run_scenarios(
            [scenario_for_run(s, ovs, allow_code) for s in exp.scenarios],
            sources=list(exp.sources) or None,
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
        sources.append(os.fspath(item) if isinstance(item, str | os.PathLike) else None)
        loaded.append(scenario_for_run(item, ovs, allow_code))
    if allow_code:
        custom_contracts_for_workers(loaded, ship=False, allow_code=True)
    return run_scenarios(
        loaded, sources=sources, replications=replications, seed=seed,
        crn=True if crn is None else crn, reference=reference,
        wtp=DEFAULT_WTP if wtp is None else wtp, discount_rate=discount_rate, **kwargs,
    )


def _without_parameter_uncertainty(ovs: list, parameter_uncertainty: bool) -> list:
    """The run's overrides, plus ``parameter_uncertainty=false`` when it is switched off."""
    if parameter_uncertainty:
        return ovs
    from sim.scenario.overrides import Override

    return [*ovs, Override("parameter_uncertainty", False, "parameter_uncertainty=false")]


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
    overrides: Sequence[str] = (),
    quick: bool = False,
    save_claims: str | Sequence[int] | bool | None = None,
) -> RunResult:
    """The engine behind :func:`run` and :func:`compare` (same arguments; ``overrides``, as
    ``PATH=VALUE`` texts, and ``quick`` only say how the scenarios were made, for the
    manifest and the title: the scenarios already hold them).

    ``save_claims`` (off by default; needs ``out``): keep the simulated claims of
    replication 0 (``True``), of chosen replications (``"0,2"``, ``[0, 2]``) or of all
    (``"all"``) in the results directory, ``claims/<scenario>/rep_<k>/``, each written as
    its replication finishes (:mod:`sim.claims_saving`; exported by ``vbcsim claims``)."""
    replicate = _claims_replicate(save_claims, replicate, out)
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
    fn = _task_function(replicate, prepared, exe, tasks)
    if source is None and sources and len(prepared) == 1:
        source = sources[0]
    desc = name or (first.name if len(prepared) == 1 else " vs ".join(s.name for s in prepared))

    def result(output_of: Callable[[int], PartOutput], started: datetime) -> RunResult:
        """The run's result from each task's output (``output_of(i)``: kept in memory, or
        read from the results directory's parts one at a time as they are combined)."""
        finished = datetime.now(UTC)
        order = sorted(range(len(tasks)), key=lambda i: (tasks[i].scenario_index,
                                                          tasks[i].replication))
        results, tables, draws = combine_parts(
            ((tasks[i].replication, tasks[i].label or tasks[i].scenario.name, output_of(i))
             for i in order), several=len(prepared) > 1)
        return RunResult(
            results=results, tables=tables, scenario=first, seed=first.seed,
            workers=exe.workers, started_at=started, finished_at=finished, source=source,
            scenarios=tuple(prepared) if len(prepared) > 1 else (), draws=draws, crn=crn,
            reference=reference or (first.name if len(prepared) > 1 else None),
            backend=exe.name, name=name, wtp=tuple(float(w) for w in wtp),
            discount_rate=float(discount_rate), align_horizon=align_horizon,
            overrides=tuple(overrides), quick=quick,
        )

    if out is None:
        if resume:
            raise OverrideError("resume", "resuming needs the results directory (out=)")
        started = datetime.now(UTC)
        return result(_execute(tasks, fn, exe, None, progress, desc).__getitem__, started)

    state = run_state(prepared, crn, len(tasks))
    if resume:
        workdir = Path(out)
        PartStore.resume(workdir, state)  # refused before anything is locked or created
        target = resume_target(workdir, (read_state(workdir) or {}).get("target"))
    else:
        target = Path(out)
    with OutputLock(target, command):
        store, new = _open_store(target, Path(out), state, resume, overwrite, command)
        started = datetime.now(UTC)
        with contextlib.suppress(KeyError, ValueError):
            started = datetime.fromisoformat(store.state["created_at"])
        try:
            _execute(tasks, fn, exe, store, progress, desc)
            _assemble(tasks, fn, exe, store, progress, desc)
        except BaseException:
            if new and not store.done():  # nothing finished: leave nothing new behind
                layout.remove_owned(store.path, layout.owned_files(store.path) or [])
            raise
        # the parts are read back one at a time as they are combined (the run kept none in
        # memory: its memory does not grow with the replications while it runs)
        final = result(store.read, started)
        claims = saved_claims(store.path)
        try:
            final.to_dir(target, command=command, overwrite=True,
                         extra_files={rel: store.path / rel for rel in claims},
                         manifest={"saved_claims": claims} if claims else None)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                exc.partial_run = store.partial()  # type: ignore[attr-defined]
            raise
        if store.path.resolve() != target.resolve():
            layout.remove_owned(store.path, layout.owned_files(store.path) or [])
        return final


def _claims_replicate(save_claims: Any, replicate: Replicate | None,
                      out: Any) -> Replicate | None:
    """The replication function of a run that keeps claims (:class:`KeepClaims`), else
    ``replicate``; refuses ``save_claims`` without a results directory or with a replaced
    replication function."""
    try:
        keep = parse_save_claims(save_claims)
    except ValueError as exc:
        raise OverrideError("save_claims", str(exc).removeprefix("save_claims: ")) from None
    if keep is False:
        return replicate
    if out is None:
        raise OverrideError("save_claims", "keeping claims needs a results directory (out=)")
    if replicate is not None:
        raise OverrideError("save_claims", "claims are kept by vbcsim's own replication "
                            "function, not with replicate=")
    return KeepClaims(keep)


def _open_store(
    target: Path, out: Path, state: dict[str, Any], resume: bool, overwrite: bool,
    command: str | None,
) -> tuple[PartStore, bool]:
    """The parts of the run (with the lock of ``target`` held): the interrupted run in
    ``out`` when resuming, else a new working directory (``target`` itself, or a hidden
    sibling while an existing ``target`` is kept until the new results replace it); and
    whether it is new."""
    if resume:
        return PartStore.resume(out, state), False
    check_results_dir(target, overwrite=overwrite)  # again, now that the folder is locked
    workdir = target
    if target.exists():  # replaced only at the end: work next to it meanwhile
        workdir = layout.sibling(target, "partial", secrets.token_hex(4))
    state = {**state, "created_at": datetime.now(UTC).isoformat(), "command": command,
             "target": None if workdir == target else str(target.absolute())}
    return PartStore.create(workdir, state), True


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


def timeout_message(err: TaskTimedOut, scenario: Scenario, exe: Executor) -> str:
    """What to say when a task ran past its time limit: the limit, the custom code that may
    hang, that the workers were stopped, and how to raise the limit."""
    kinds = custom_kinds([scenario])
    suspect = (f" (the scenario's custom contract {', '.join(repr(k) for k in kinds)} may "
               "hang)" if kinds else "")
    stopped = "; its worker processes were stopped" if exe.name == "processes" else ""
    return (f"{err}{suspect}{stopped}. If it only needs longer, raise the limit with "
            f"--task-timeout SECONDS (task_timeout= in the API; 0 for no limit)")


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
    fn = _task_function(replicate, [t.scenario for t in tasks], exe, tasks)
    return _execute(tasks, fn, exe, None, progress, desc)


def _task_function(
    replicate: Replicate | None, scenarios: Sequence[Scenario], exe: Executor,
    tasks: Sequence[Task] = (),
) -> TaskFunction:
    """The function ``exe`` runs per task; off this process it carries the custom contracts
    that ``scenarios`` use, resolved here before any task runs (a serial run has them); it
    captures warm-ups when two of ``tasks`` may share one (:mod:`sim.care.warmup`)."""
    shipped = custom_contracts_for_workers(scenarios, ship=exe.name != "serial")
    sharing = any_shared((t.scenario, t.seed_seq, t.values) for t in tasks)
    return TaskFunction(simulate_replication if replicate is None else replicate, shipped,
                        warmup_sharing=sharing)


def _assemble(
    tasks: list[Task], fn: Any, exe: Executor, store: PartStore, progress: bool | None,
    desc: str, attempts: int = 3,
) -> None:
    """Check that every part in ``store`` is there and passes its check; a part that fails
    it is reported, moved aside and run again (up to ``attempts`` times). The parts are not
    kept: the result reads them back one at a time."""
    for _ in range(attempts):
        if store.checked_done() >= set(range(len(tasks))):
            return
        _execute(tasks, fn, exe, store, progress, desc)
    raise RuntimeError(f"the parts in {store.parts} keep failing their checks after "
                       f"{attempts} attempts; is the disk failing?")


def _lanes(exe: Executor) -> int:
    """How many replications ``exe`` runs side by side (for the time left); 1 if unknown."""
    try:
        return max(1, int(exe.workers))
    except Exception:  # e.g. a Dask cluster not reached yet
        return 1


def _execute(
    tasks: list[Task], fn: Any, exe: Executor, store: PartStore | None,
    progress: bool | None, desc: str,
) -> list[PartOutput]:
    """Run the tasks not yet in ``store`` (or whose part fails its check); write each part
    as it finishes. Returns the outputs by task index when there is no ``store``; with one,
    none is kept (each is in its part)."""
    outputs: list[Any] = [None] * len(tasks)
    done = store.checked_done() if store is not None else set()
    todo = [i for i in range(len(tasks)) if i not in done]
    several = len({t.scenario_index for t in tasks}) > 1
    bar = progress_bar(len(tasks), desc=desc, enabled=progress_enabled(progress),
                       done=len(done), lanes=_lanes(exe))
    # replications run in this process report their simulated years to the bar
    years = bar.year_closed if exe.name == "serial" else None
    try:
        with listening_to_years(years), \
                contextlib.closing(exe.run(fn, [tasks[i] for i in todo])) as events:
            for event in events:
                if event is None:  # heartbeat: lets the bar appear and its clock run
                    bar.tick()
                    continue
                j, output = event
                i = todo[j]
                claims = pop_claims(output.tables)
                if store is not None and claims:
                    write_claims(store.path, tasks[i].label or tasks[i].scenario.name,
                                 tasks[i].replication, claims)
                del claims  # one replication's claims at a time
                if store is not None:  # on disk: read back when the run is combined
                    store.write(i, output)
                else:
                    outputs[i] = output
                bar.finished(1)
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


__all__ = [
    "ReplicationError",
    "RunResult",
    "check_resources",
    "check_scenarios_comparable",
    "compare",
    "execute_tasks",
    "resume_target",
    "run",
    "run_scenarios",
]
