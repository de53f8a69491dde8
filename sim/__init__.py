"""vbcsim: simulate what a healthcare payment model does to care, cost and money.

The import package is ``sim``; the distribution is ``vbcsim``; the command is ``vbcsim``.

    >>> import sim
    >>> result = sim.run("scenarios/ffs_baseline.yaml", replications=10, seed=1)
    >>> result.summary()          # mean, sd, se, p2.5, p97.5, n per metric
    >>> result.risk()             # P(loss), VaR95/CVaR95 of margin and settlement, ...
    >>> result.to_dir("results/ffs_baseline")
    >>> both = sim.compare(["ffs.yaml", "aco.yaml"], replications=50)  # common random numbers
    >>> both.compare().incremental  # paired differences, ICER/NMB, CEAC, P(best), NPV

The public names below are imported on first use, so ``import sim`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sim._version import __version__

# public name -> module that defines it (imported lazily by __getattr__)
_LAZY: dict[str, str] = {
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "load_scenario": "sim.scenario",
    "scenario_from_dict": "sim.scenario",
    "run": "sim.runner",
    "compare": "sim.runner",
    "RunResult": "sim.run_result",
    "load_experiment": "sim.experiment",
    "draw_parameters": "sim.uncertainty",
    "risk_table": "sim.risk",
    "precision": "sim.risk",
    "compare_results": "sim.comparison",
    "tornado": "sim.sensitivity",
    "calibrate": "sim.calibration",
    "sobol": "sim.sensitivity",
    "summarise": "sim.results",
    "format_summary": "sim.results",
    "write_results_dir": "sim.results",
    "scenario_from_puf": "sim.puf",
}

if TYPE_CHECKING:
    from sim.calibration import calibrate
    from sim.comparison import compare_results
    from sim.experiment import load_experiment
    from sim.puf import scenario_from_puf
    from sim.results import format_summary, summarise, write_results_dir
    from sim.risk import precision, risk_table
    from sim.run_result import RunResult
    from sim.runner import compare, run
    from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
    from sim.sensitivity import sobol, tornado
    from sim.uncertainty import draw_parameters


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "calibrate",
    "compare",
    "compare_results",
    "draw_parameters",
    "format_summary",
    "load_experiment",
    "load_scenario",
    "precision",
    "risk_table",
    "run",
    "scenario_from_dict",
    "scenario_from_puf",
    "sobol",
    "summarise",
    "tornado",
    "write_results_dir",
]
