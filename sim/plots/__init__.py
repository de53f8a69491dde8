"""Plots of vbcsim results: each function takes results and returns a matplotlib ``Figure``.

    >>> import sim
    >>> from sim import plots
    >>> res = sim.compare(["scenarios/ffs_baseline.yaml", "scenarios/mssp_one_sided.yaml"],
    ...                   replications=20)
    >>> plots.fan_chart(res, "payer_spend_per_capita_usd")          # spending by plan year
    >>> plots.margin_distribution(res, "primary_care_group")         # risk of loss, VaR95
    >>> plots.owing_probability(res, "primary_care_group")           # P(owing) per year
    >>> plots.settlement_waterfall(res, "primary_care_group")        # revenue -> margin
    >>> plots.scenario_comparison(res, ["payer_spend_per_capita_usd", "admissions_per_1000"])
    >>> plots.ceac(res.compare().ceac)
    >>> plots.ce_plane(res, "ffs_baseline", wtp=(50_000, 100_000))  # dQALY vs dCost
    >>> plots.tornado(sim.tornado(scenario, ["prices.pcp_visit_usd=100:150"], "spend_per_capita_usd"))
    >>> plots.voi_curve(res)  # EVPI/EVPPI vs WTP (needs uncertain parameters; docs/voi.md)
    >>> fig = plots.fan_chart(res, "admissions_per_1000")
    >>> fig.savefig("admissions.png", dpi=150)

``results`` may be a tidy results table, a :class:`~sim.run_result.RunResult` or a results
directory. Figures are built with :class:`matplotlib.figure.Figure`, not ``pyplot``: no
global state, safe under the Agg backend and in worker processes; in a notebook a figure
shows when it is the last expression of a cell. Each plot has a ``*_table`` companion (e.g.
:func:`fan_table`) that returns the numbers drawn.
"""

from __future__ import annotations

from sim.plots._common import (
    axis_label,
    metric_label,
    metric_unit,
    parameter_label,
    scenario_colours,
)
from sim.plots.ce_plane import ce_plane, ce_plane_table
from sim.plots.comparison import ceac, comparison_table, scenario_comparison
from sim.plots.fan import fan_chart, fan_table
from sim.plots.risk import margin_distribution, margin_values, owing_probability, owing_table
from sim.plots.sensitivity import sobol_indices, tornado
from sim.plots.voi import voi_curve, voi_values
from sim.plots.waterfall import settlement_waterfall, waterfall_table

__all__ = [
    "axis_label",
    "ce_plane",
    "ce_plane_table",
    "ceac",
    "comparison_table",
    "fan_chart",
    "fan_table",
    "margin_distribution",
    "margin_values",
    "metric_label",
    "metric_unit",
    "owing_probability",
    "owing_table",
    "parameter_label",
    "scenario_colours",
    "scenario_comparison",
    "settlement_waterfall",
    "sobol_indices",
    "tornado",
    "voi_curve",
    "voi_values",
    "waterfall_table",
]
