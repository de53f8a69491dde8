"""Scenario files: schema, loading (with ``extends:``) and validation.

Modules by job: :mod:`~sim.scenario.schema` (+ ``fields``, ``payment``, ``behaviour``) the
pydantic schema; :mod:`~sim.scenario.loader` the public loading functions, built on
:mod:`~sim.scenario.reading` (YAML with provenance, bounded cost),
:mod:`~sim.scenario.extends` (``extends:`` merging), :mod:`~sim.scenario.extraction`
(parameter distributions written in place of numbers) and :mod:`~sim.scenario.messages`
(every validation error with file, line and field path); :mod:`~sim.scenario.uncertain`
a scenario carrying its uncertain parameters; :mod:`~sim.scenario.library` the shipped
scenario library.
"""

from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.loader import (
    load_scenario,
    resolve_scenario_dict,
    resolved_yaml,
    scenario_from_dict,
)
from sim.scenario.schema import Scenario

__all__ = [
    "Problem",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "resolve_scenario_dict",
    "resolved_yaml",
    "scenario_from_dict",
]
