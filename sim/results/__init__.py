"""The results table and the results directory: the reading side's foundation.

It imports nothing of the simulator (no SimPy, care model, settlement or behaviour), so
reading, summarising, comparing and reporting results never loads the simulation.

* :mod:`sim.results.table` — the tidy table's columns (:data:`RESULT_COLUMNS`), canonical
  types (:func:`tidy`) and what one unit of work produced (:class:`PartOutput`);
* :mod:`sim.results.combine` — the outputs of units of work combined into a run's tables;
* :mod:`sim.results.summary` — summaries across replications and a readable table;
* :mod:`sim.results.layout` — the one definition of a results directory's files;
* :mod:`sim.results.directory` — writing, checking and replacing a results directory;
* :mod:`sim.results.lock` — one writer per output folder.
"""

from __future__ import annotations

from sim.results.combine import combine_parts
from sim.results.directory import (
    build_manifest,
    check_finished,
    check_results_dir,
    read_manifest,
    replaceable,
    resolved_scenario_yaml,
    write_results_dir,
)
from sim.results.layout import ResultsDirError, ResultsWarning, read_state, results_file
from sim.results.lock import OutputLock, OutputLocked, StaleLockNote
from sim.results.summary import (
    STAT_COLUMNS,
    OverYears,
    format_number,
    format_summary,
    is_money,
    percentile_column,
    summarise,
)
from sim.results.table import RESULT_COLUMNS, RESULT_DTYPES, PartOutput, empty_results, tidy

__all__ = [
    "RESULT_COLUMNS",
    "RESULT_DTYPES",
    "STAT_COLUMNS",
    "OutputLock",
    "OutputLocked",
    "OverYears",
    "PartOutput",
    "ResultsDirError",
    "ResultsWarning",
    "StaleLockNote",
    "build_manifest",
    "check_finished",
    "check_results_dir",
    "combine_parts",
    "empty_results",
    "format_number",
    "format_summary",
    "is_money",
    "percentile_column",
    "read_manifest",
    "read_state",
    "replaceable",
    "resolved_scenario_yaml",
    "results_file",
    "summarise",
    "tidy",
    "write_results_dir",
]
