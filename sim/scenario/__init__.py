"""Scenario files: schema, loading (with ``extends:``) and validation."""

from sim.scenario.errors import ScenarioError
from sim.scenario.loader import load_scenario, scenario_from_dict
from sim.scenario.schema import Scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario", "scenario_from_dict"]
