"""The HTML report for strategists: ``write_report(result_dirs, output)``.

    >>> from sim.report import write_report
    >>> write_report(["results/ffs_baseline", "results/mssp_one_sided"], "report.html")

One self-contained file (inline CSS, charts as embedded PNG images, no network needed)
comparing the scenarios of one or several results directories: a summary in plain words
generated from the numbers, a side-by-side table, fan charts, the distribution of the
provider's margin, the probability of owing money, a settlement waterfall, outcomes and
the assumptions that matter most. Modules: :mod:`sim.report.inputs` (reading the
directories), :mod:`sim.report.numbers` (table and summary), :mod:`sim.report.charts`
(figures and captions), :mod:`sim.report.html` (the page).
"""

from __future__ import annotations

from sim.report.build import render_report, write_report
from sim.report.inputs import ReportInputError, load_inputs

__all__ = ["ReportInputError", "load_inputs", "render_report", "write_report"]
