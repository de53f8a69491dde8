"""Scenario files: schema, loading (with ``extends:``) and validation."""

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
