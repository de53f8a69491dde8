"""The HTML report for strategists: ``write_report(result_dirs, output)``.

    >>> from sim.report import write_report
    >>> write_report(["results/ffs_baseline", "results/mssp_one_sided"], "report.html")

One self-contained file (inline CSS, charts as embedded PNG images, no network needed)
comparing the scenarios of one or several results directories, written for a CFO: a
summary in plain words generated from the numbers (with what drives each difference), the
plans with their descriptions and contracts by plan year, a side-by-side table, fan charts,
the distribution of the provider's margin, the probability of owing money, a settlement
waterfall, outcomes (in percent; rates, shares and the quality score in points, as in the
table) and the assumptions that matter most. A difference is "clear" only when its 95%
interval excludes zero and it is material (:func:`sim.report.numbers.clear_rule`); a chart
that would be all zero is left out with a sentence saying why; jargon is explained where it
first appears. Modules: :mod:`sim.report.inputs` (reading the directories),
:mod:`sim.report.numbers` (table, summary, the clear rule), :mod:`sim.report.drivers` (what
drives each difference), :mod:`sim.report.plans` (descriptions, contracts by year),
:mod:`sim.report.charts` (figures and captions), :mod:`sim.report.jargon` (explanations at
first mention), :mod:`sim.report.html` (the page).
"""

from __future__ import annotations

from sim.report.build import render_report, write_report
from sim.report.inputs import ReportInputError, load_inputs

__all__ = ["ReportInputError", "load_inputs", "render_report", "write_report"]
