"""Parameter distributions and their drawing (layer 0: imports nothing of the simulator).

* :mod:`sim.uncertainty.distributions`: the distributions a scenario may write in place of
  a number (``{dist: gamma, mean: 0.15, sd: 0.02}``), parsed and checked;
* :mod:`sim.uncertainty.parameters`: the uncertain parameters of a scenario and their
  correlation groups (:class:`Uncertainty`);
* :mod:`sim.uncertainty.paths`: parameter paths into scenario data;
* :mod:`sim.uncertainty.draw`: one draw per replication from named random streams, the base
  case (means) and the tables of draws.

The scenario loader extracts an :class:`Uncertainty` from a file
(:mod:`sim.scenario.extraction`); a scenario carrying one, and substituting drawn values
into a scenario, are in :mod:`sim.scenario.uncertain`.
"""

from sim.uncertainty.distributions import (
    DIST_KEY,
    EDGE,
    KINDS,
    Beta,
    Dirichlet,
    Distribution,
    Gamma,
    LogNormal,
    Normal,
    SpecError,
    Triangular,
    Uniform,
    parse_distribution,
)
from sim.uncertainty.draw import (
    DRAW_COLUMNS,
    describe,
    draw_parameters,
    draws_frame,
    mean_values,
)
from sim.uncertainty.parameters import (
    GROUPS_KEY,
    CorrelationGroup,
    UncertainParameter,
    Uncertainty,
)
from sim.uncertainty.paths import data_path, get_at, locate, set_at

__all__ = [
    "DIST_KEY",
    "DRAW_COLUMNS",
    "EDGE",
    "GROUPS_KEY",
    "KINDS",
    "Beta",
    "CorrelationGroup",
    "Dirichlet",
    "Distribution",
    "Gamma",
    "LogNormal",
    "Normal",
    "SpecError",
    "Triangular",
    "UncertainParameter",
    "Uncertainty",
    "Uniform",
    "data_path",
    "describe",
    "draw_parameters",
    "draws_frame",
    "get_at",
    "locate",
    "mean_values",
    "parse_distribution",
    "set_at",
]
