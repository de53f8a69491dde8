"""A scenario that carries its uncertain parameters, and scenarios with values substituted.

The loader validates a scenario with every distribution at its mean and returns an
:class:`UncertainScenario` carrying the :class:`~sim.uncertainty.Uncertainty` it declares;
a replication's scenario is that scenario with drawn values substituted
(:func:`drawn_scenario`), a sensitivity analysis's with fixed values (:func:`apply_values`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydantic import PrivateAttr, ValidationError

from sim.scenario.schema import Scenario
from sim.uncertainty import Uncertainty, draw_parameters, locate, set_at


class DrawError(ValueError):
    """Drawn (or substituted) parameter values give an invalid scenario."""


class UncertainScenario(Scenario):
    """A :class:`Scenario` (every uncertain parameter at its mean) that also carries its
    :class:`Uncertainty`. Returned by the loader when a file declares distributions."""

    _uncertainty: Uncertainty = PrivateAttr(default_factory=Uncertainty)


def with_uncertainty(scenario: Scenario, uncertainty: Uncertainty | None) -> Scenario:
    """``scenario`` carrying ``uncertainty`` (a plain :class:`Scenario` when there is none)."""
    if not uncertainty:
        if type(scenario) is Scenario:
            return scenario
        return Scenario.model_validate(scenario.model_dump())
    out = UncertainScenario.model_validate(scenario.model_dump())
    out._uncertainty = uncertainty
    return out


def uncertainty_of(scenario: Scenario) -> Uncertainty:
    """The uncertainty a scenario carries (empty for a plain scenario)."""
    if isinstance(scenario, UncertainScenario):
        return scenario._uncertainty
    return Uncertainty()


def apply_values(scenario: Scenario, values: Mapping[str, float]) -> Scenario:
    """A new, validated :class:`Scenario`: ``scenario`` with ``values`` substituted.

    Paths name list items by ``name`` or index (``providers.primary_care_group.levers.
    prevention_effort``). Raises :class:`DrawError` naming the paths if a path does not
    exist or the result is refused by the schema.
    """
    data = scenario.model_dump()
    if not values:
        return scenario if type(scenario) is Scenario else Scenario.model_validate(data)
    for path, value in values.items():
        try:
            keys = locate(data, path)
        except KeyError as exc:
            raise DrawError(f"{path}: {exc.args[0]}") from None
        set_at(data, keys, float(value))
    try:
        return Scenario.model_validate(data, strict=True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in err['loc']) or 'scenario'}: {err['msg']}"
            for err in exc.errors(include_url=False))
        shown = ", ".join(f"{k}={v:.6g}" for k, v in values.items())
        raise DrawError(f"the parameter values ({shown}) give an invalid scenario: "
                        f"{problems}") from None


def drawn_scenario(
    scenario: Scenario, seed_seq: np.random.SeedSequence
) -> tuple[Scenario, dict[str, float]]:
    """The scenario of one replication: its uncertain parameters drawn from ``seed_seq``
    and substituted (the scenario itself when it declares none), and the draw."""
    uncertainty = uncertainty_of(scenario)
    if not uncertainty:
        return scenario, {}
    if not scenario.parameter_uncertainty:  # patient-level chance alone: the means
        return apply_values(scenario, {}), {}
    draw = draw_parameters(uncertainty, seed_seq)
    return apply_values(scenario, draw), draw


__all__ = [
    "DrawError",
    "UncertainScenario",
    "apply_values",
    "drawn_scenario",
    "uncertainty_of",
    "with_uncertainty",
]
