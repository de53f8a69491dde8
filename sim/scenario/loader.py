"""Minimal loader (placeholder; replaced by the full loader with extends/line numbers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.scenario.errors import ScenarioError
from sim.scenario.schema import Scenario


def scenario_from_dict(data: dict[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a mapping into a :class:`Scenario`."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ScenarioError(source, ".".join(str(p) for p in err["loc"]), err["msg"]) from None


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario YAML file."""
    p = Path(path)
    data = yaml.safe_load(p.read_text()) or {}
    data.setdefault("name", p.stem)
    return scenario_from_dict(data, str(p))
