"""The calibration file: what to fit (scenario parameters), to what (target moments), how.

A calibration file holds one mapping, ``calibration:`` (docs/calibration.md)::

    calibration:
      name: admissions_level                 # default: the file's stem
      scenarios: [../ffs_baseline.yaml]      # files relative to this file, or shipped names
      overrides: {population.size: 2000}     # applied to every scenario (as --set)
      parameters:
        - path: clinical.admissions.rate_per_year   # a dotted path, as --set uses
          bounds: [0.05, 0.4]
          start: 0.155                       # default: the scenario's value
      targets:
        - name: admissions
          metric: admissions_per_1000
          entity: population                 # default
          scenario: ffs_baseline             # default: the first scenario
          year: mean                         # a plan year (0 = the first) or mean
          kind: level                        # level | relative_change_vs | difference_vs
          value: 250
          interval: [240, 260]
          source: "our claims, 2024"
      replications: 4
      seed: 1
      method: {name: auto, max_evaluations: 40, tolerance: 0.005}

The file is validated strictly like a scenario (unknown keys refused, numbers not in
quotes); every problem is reported at once with its file, line and field path, and the
scenarios, parameter paths, bounds and targets are checked against the scenarios before
anything runs (:func:`load_calibration`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.library import find_scenario, not_found_message
from sim.scenario.messages import problem_at, validate_section, validation_problems
from sim.scenario.provenance import Provenance
from sim.scenario.reading import file_problem, read_with_provenance
from sim.scenario.schema import Scenario

Kind = Literal["level", "relative_change_vs", "difference_vs"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ParameterSpec(_Strict):
    """One scenario parameter to fit."""

    path: str = Field(min_length=1, description="dotted field path, as --set uses "
                      "(list items by name or index)")
    bounds: list[float] = Field(min_length=2, max_length=2, description="[LOW, HIGH], "
                                "LOW < HIGH, both valid values of the parameter")
    start: float | None = Field(None, description="starting value (default: the value in "
                                "the first scenario that has the parameter)")
    scenarios: list[str] | None = Field(None, min_length=1, description="names of the "
                                        "scenarios it applies to (default: all)")

    @model_validator(mode="after")
    def _check(self) -> ParameterSpec:
        lo, hi = self.bounds
        if not lo < hi:
            raise ValueError(f"bounds: expected [LOW, HIGH] with LOW < HIGH, got [{lo:g}, "
                             f"{hi:g}]")
        if self.start is not None and not lo <= self.start <= hi:
            raise ValueError(f"start: expected a value within the bounds [{lo:g}, {hi:g}], "
                             f"got {self.start:g}")
        return self


class TargetSpec(_Strict):
    """One target moment: a simulated statistic and the figure it should match."""

    name: str | None = Field(None, min_length=1, description="default: the metric, "
                             "numbered if repeated")
    metric: str = Field(min_length=1, description="a metric of the results table")
    entity: str = Field("population", min_length=1)
    scenario: str | None = Field(None, description="name of one of the scenarios (default: "
                                 "the first)")
    year: int | Literal["mean"] = Field("mean", description="a plan year as in the results "
                                        "table (0 = the first plan year), or mean over them")
    kind: Kind = "level"
    vs: str | None = Field(None, description="the comparison scenario's name (kinds "
                           "relative_change_vs and difference_vs)")
    value: float = Field(description="the target figure (a relative change as a fraction: "
                         "-0.015 for -1.5%)")
    interval: list[float] = Field(min_length=2, max_length=2, description="[LOW, HIGH] "
                                  "around value: its confidence interval or what counts as "
                                  "a match")
    weight: float = Field(1.0, gt=0, le=1000, description="multiplies the target's term")
    source: str | None = Field(None, description="where the figure comes from")

    @model_validator(mode="after")
    def _check(self) -> TargetSpec:
        lo, hi = self.interval
        if not lo < hi:
            raise ValueError(f"interval: expected [LOW, HIGH] with LOW < HIGH, got [{lo:g}, "
                             f"{hi:g}]")
        if not lo <= self.value <= hi:
            raise ValueError(f"value: expected a value within the interval [{lo:g}, {hi:g}], "
                             f"got {self.value:g}")
        if self.kind == "level" and self.vs is not None:
            raise ValueError("vs: only for kinds relative_change_vs and difference_vs "
                             "(kind is level)")
        if self.kind != "level" and self.vs is None:
            raise ValueError(f"vs: expected the name of the scenario that kind {self.kind} "
                             "compares with")
        return self

    @property
    def half_width(self) -> float:
        """Half the interval's width: the unit of the target's term in the objective."""
        return (self.interval[1] - self.interval[0]) / 2


class MethodSpec(_Strict):
    """The optimiser and its stopping rule."""

    name: Literal["auto", "nelder_mead", "brent"] = Field(
        "auto", description="auto: bounded Brent with one parameter, Nelder-Mead otherwise")
    max_evaluations: int = Field(40, ge=1, le=10_000, description="evaluations of the "
                                 "objective at most (cached evaluations count)")
    tolerance: float = Field(0.005, gt=0, le=0.5, description="stop when the parameters move "
                             "less than this share of their bounds' range")
    objective_tolerance: float = Field(0.01, ge=0, le=100, description="Nelder-Mead: and the "
                                       "objective varies less than this over the simplex")
    initial_step: float = Field(0.1, gt=0, le=0.5, description="Nelder-Mead's first steps, "
                                "as a share of each parameter's bounds' range")


class CalibrationSettings(_Strict):
    """The ``calibration:`` mapping."""

    name: str | None = Field(None, min_length=1, description="default: the file's stem")
    description: str | None = None
    scenarios: list[str] = Field(min_length=1, description="scenario files (relative to the "
                                 "calibration file) or shipped scenario names")
    overrides: dict[str, Any] = Field(default_factory=dict, description="PATH: VALUE applied "
                                      "to every scenario, as --set")
    parameters: list[ParameterSpec] = Field(min_length=1, max_length=20)
    targets: list[TargetSpec] = Field(min_length=1, max_length=200)
    replications: int = Field(4, ge=1, le=10_000)
    seed: int = Field(1, ge=0)
    method: MethodSpec = Field(default_factory=MethodSpec)


class CalibrationFile(_Strict):
    """A calibration file: one mapping, ``calibration:``."""

    calibration: CalibrationSettings


@dataclass(frozen=True)
class Target:
    """A checked target: the spec with its name and scenario filled in."""

    name: str
    spec: TargetSpec
    scenario: str


@dataclass(frozen=True)
class Calibration:
    """A loaded, checked calibration: the scenarios (overrides applied), the parameters
    (with their start), the targets and the settings."""

    name: str
    scenarios: tuple[Scenario, ...]
    parameters: tuple[ParameterSpec, ...]
    starts: tuple[float, ...]
    targets: tuple[Target, ...]
    replications: int
    seed: int
    method: MethodSpec
    source: str | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        """The parameters' paths, in order."""
        return tuple(p.path for p in self.parameters)

    def applies(self, parameter: ParameterSpec, scenario: str) -> bool:
        """Whether ``parameter`` is set in the scenario named ``scenario``."""
        return parameter.scenarios is None or scenario in parameter.scenarios


def load_calibration(path: str | os.PathLike[str], *, allow_code: bool = False) -> Calibration:
    """Load and check a calibration file (and the scenarios it names).

    Raises :class:`~sim.scenario.ScenarioError` listing every problem, each with its file,
    line and field path, before anything runs.
    """
    shown = os.fspath(path)
    real = Path(path)
    if not real.is_file():
        raise ScenarioError(shown, "", file_problem(real) or "file not found",
                            what="calibration")
    raw, prov = read_with_provenance(real, shown)
    settings, _, problems = validate_section(raw, prov, shown, "calibration", CalibrationFile,
                                             "a calibration file")
    if problems or settings is None:
        raise ScenarioError.from_problems(problems, what="calibration")
    scenarios, refused = _load_scenarios(settings, real, shown, prov, allow_code)
    if refused:
        raise ScenarioError.from_problems(refused, what="calibration")
    return check_calibration(settings, scenarios, shown, prov, name=settings.name or real.stem)


def calibration_from_dict(
    data: dict[str, Any], scenarios: list[Scenario], *, name: str = "calibration"
) -> Calibration:
    """A calibration from a dict (the ``calibration:`` mapping without ``scenarios``) and
    scenarios given in Python; checked as :func:`load_calibration` checks a file."""
    spec = {"scenarios": [s.name for s in scenarios], **data}
    shown = "<dict>"
    try:
        settings = CalibrationSettings.model_validate(spec, strict=True)
    except ValidationError as exc:
        raise ScenarioError.from_problems(
            validation_problems(exc, spec, {}, shown, CalibrationSettings),
            what="calibration") from None
    if settings.overrides:
        import yaml

        from sim.scenario.loader import resolved_yaml, scenario_from_dict

        # through the resolved YAML, so that declared distributions are kept
        scenarios = [scenario_from_dict(yaml.safe_load(resolved_yaml(s)),
                                        overrides=settings.overrides) for s in scenarios]
    return check_calibration(settings, scenarios, shown, {}, name=settings.name or name)


def _load_scenarios(
    settings: CalibrationSettings, real: Path, shown: str, prov: Provenance, allow_code: bool
) -> tuple[list[Scenario], list[Problem]]:
    from sim.scenario import load_scenario

    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    for i, text in enumerate(settings.scenarios):
        keys = ("calibration", "scenarios", str(i))
        sub = Path(text) if Path(text).is_absolute() else real.parent / text
        if not sub.is_file():
            found = find_scenario(text)
            if found.path is None or not found.path.is_file():
                problems.append(problem_at(prov, keys, shown, f"scenario file {text!r} not found "
                                    f"(looked for {sub}); {not_found_message(text, found)}"))
                continue
            sub = found.path
        try:
            scenarios.append(load_scenario(sub, allow_code=allow_code,
                                           overrides=settings.overrides or None))
        except ScenarioError as exc:
            problems += exc.errors
    return scenarios, problems


def check_calibration(
    settings: CalibrationSettings, scenarios: list[Scenario], shown: str, prov: Provenance,
    *, name: str,
) -> Calibration:
    """Check the settings against the scenarios: names differ, every scenario named exists,
    every parameter path is a number in the scenarios it applies to and both bounds give
    valid scenarios, every target's metric is written for its entity."""
    from sim.scenario.uncertain import DrawError, apply_values
    from sim.sensitivity import known_outputs
    from sim.uncertainty import get_at, locate

    problems: list[Problem] = []
    names = [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        problems.append(problem_at(prov, ("calibration", "scenarios"), shown, "scenario names must "
                            f"differ; repeated: {', '.join(dup)}"))
    by_name = dict(zip(names, scenarios, strict=True))
    starts: list[float] = []
    for i, p in enumerate(settings.parameters):
        keys = ("calibration", "parameters", str(i))
        unknown = [s for s in p.scenarios or [] if s not in by_name]
        if unknown:
            problems.append(problem_at(prov, (*keys, "scenarios"), shown, f"expected names among "
                                f"{', '.join(names)}, got {', '.join(unknown)}"))
            starts.append(p.start if p.start is not None else sum(p.bounds) / 2)
            continue
        start = p.start
        for s in scenarios:
            if p.scenarios is not None and s.name not in p.scenarios:
                continue
            data = s.model_dump()
            try:
                here = tuple(locate(data, p.path))
                value = get_at(data, here)
            except KeyError as exc:
                problems.append(problem_at(prov, (*keys, "path"), shown, f"not a field of scenario "
                                    f"'{s.name}': {exc.args[0]}"))
                break
            if isinstance(value, bool) or not isinstance(value, float):
                problems.append(problem_at(prov, (*keys, "path"), shown, f"expected a real-valued "
                                    f"parameter, got {value!r} in scenario '{s.name}'"))
                break
            # a fitted parameter that carries a distribution in the scenario is fitted as a
            # point: the fitted value replaces the distribution while calibrating
            # (evaluate.scenario_values), and fitted.yaml says so
            start = value if start is None else start
            for end, v in (("LOW", p.bounds[0]), ("HIGH", p.bounds[1])):
                try:
                    apply_values(s, {p.path: v})
                except DrawError as exc:
                    problems.append(problem_at(prov, (*keys, "bounds"), shown, f"{end} = {v:g} gives "
                                        f"an invalid scenario '{s.name}': {exc}"))
        value = start if start is not None else sum(p.bounds) / 2
        starts.append(min(max(value, p.bounds[0]), p.bounds[1]))
    targets: list[Target] = []
    counts: dict[str, int] = {}
    for i, t in enumerate(settings.targets):
        keys = ("calibration", "targets", str(i))
        scenario = t.scenario or names[0]
        ok = True
        for field, which in (("scenario", scenario), ("vs", t.vs)):
            if which is not None and which not in by_name:
                problems.append(problem_at(prov, (*keys, field), shown, f"expected one of "
                                    f"{', '.join(names)}, got {which!r}"))
                ok = False
        if ok:
            for which in {scenario, t.vs} - {None}:
                known = known_outputs(by_name[which])
                if t.entity not in known:
                    problems.append(problem_at(prov, (*keys, "entity"), shown, f"not an entity of "
                                        f"scenario '{which}'; expected one of "
                                        f"{', '.join(known)}"))
                elif t.metric not in known[t.entity]:
                    problems.append(problem_at(prov, (*keys, "metric"), shown, f"not a metric of "
                                        f"{t.entity} in scenario '{which}'; expected one of "
                                        f"{', '.join(known[t.entity])}"))
            horizon = by_name[scenario].horizon_years
            if t.year != "mean" and not 0 <= t.year < horizon:
                problems.append(problem_at(prov, (*keys, "year"), shown, f"expected a plan year 0 "
                                    f"to {horizon - 1} (0 = the first) or mean, got {t.year}"))
        base = t.name or t.metric
        counts[base] = counts.get(base, 0) + 1
        label = base if counts[base] == 1 else f"{base}_{counts[base]}"
        targets.append(Target(label, t, scenario))
    labels = [t.name for t in targets]
    if len(set(labels)) < len(labels):
        problems.append(problem_at(prov, ("calibration", "targets"), shown, "target names must "
                            "differ"))
    if settings.method.name == "brent" and len(settings.parameters) != 1:
        problems.append(problem_at(prov, ("calibration", "method", "name"), shown, "brent fits one "
                            f"parameter; there are {len(settings.parameters)} (use "
                            "nelder_mead)"))
    if problems:
        raise ScenarioError.from_problems(problems, what="calibration")
    return Calibration(name=name, scenarios=tuple(scenarios),
                       parameters=tuple(settings.parameters), starts=tuple(starts),
                       targets=tuple(targets), replications=settings.replications,
                       seed=settings.seed, method=settings.method, source=shown)


__all__ = [
    "Calibration",
    "CalibrationFile",
    "CalibrationSettings",
    "Kind",
    "MethodSpec",
    "ParameterSpec",
    "Target",
    "TargetSpec",
    "calibration_from_dict",
    "check_calibration",
    "load_calibration",
]
