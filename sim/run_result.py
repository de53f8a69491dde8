"""The result object of a run: the tidy results table, side tables and how they were made.

:class:`RunResult` is what :func:`sim.run` and :func:`sim.compare` return. It belongs to the
reading side: summaries, risk measures, comparisons and the results directory are computed
from its tables on request, and nothing here imports the simulator.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.comparison import DEFAULT_WTP
from sim.constants import DEFAULT_DISCOUNT_RATE
from sim.results import OverYears, format_summary, summarise, write_results_dir
from sim.results.console import console_view
from sim.results.summary import ReadableFrame
from sim.uncertainty import DRAW_COLUMNS

if TYPE_CHECKING:
    from sim.comparison import Comparison
    from sim.scenario.schema import Scenario


@dataclass(frozen=True, repr=False)
class RunResult:
    """What a run produced: the tidy results table, side tables and how it was made.

    ``results`` has the columns ``replication, scenario, year, entity, metric, value``;
    ``draws`` the parameter draws (``replication, scenario, parameter, value``; empty when
    nothing is uncertain). Summaries, risk measures and comparisons are computed from the
    table on request; nothing here changes it.
    """

    results: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    scenario: Scenario
    seed: int
    workers: int
    started_at: datetime
    finished_at: datetime
    source: str | None = None
    scenarios: tuple[Scenario, ...] = ()
    draws: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DRAW_COLUMNS))
    crn: bool = True
    reference: str | None = None
    backend: str = "serial"
    name: str | None = None
    wtp: tuple[float, ...] = DEFAULT_WTP
    discount_rate: float = DEFAULT_DISCOUNT_RATE
    align_horizon: str | None = None
    #: how the scenarios were changed for this run (``PATH=VALUE``; already in them)
    overrides: tuple[str, ...] = ()
    #: a ``--quick`` run: a small first look, not a result
    quick: bool = False

    @property
    def replications(self) -> int:
        """Number of replications run (per scenario)."""
        return self.scenario.replications

    @property
    def scenario_names(self) -> list[str]:
        return [s.name for s in (self.scenarios or (self.scenario,))]

    def summary(
        self,
        by: Sequence[str] = ("scenario", "entity", "metric"),
        over_years: OverYears = "mean",
        percentiles: Sequence[float] = (),
    ) -> pd.DataFrame:
        """Mean, SD, SE, 95% percentile interval and n across replications (see
        :func:`sim.results.summarise`); ``percentiles`` adds more."""
        return summarise(self.results, by=by, over_years=over_years, percentiles=percentiles)

    def risk(self, over_years: str = "total", **kwargs: Any) -> pd.DataFrame:
        """Financial risk per scenario and entity (see :func:`sim.risk.risk_table`); it
        prints with thousands separators, not in scientific notation."""
        from sim.risk import risk_table

        return ReadableFrame(risk_table(self.results, over_years=over_years, **kwargs))

    def precision(self, **kwargs: Any) -> pd.DataFrame:
        """Monte Carlo precision of each mean (see :func:`sim.risk.precision`)."""
        from sim.risk import precision

        return precision(self.results, **kwargs)

    def compare(
        self,
        reference: str | None = None,
        *,
        wtp: Sequence[float] | None = None,
        discount_rate: float | None = None,
    ) -> Comparison:
        """Comparisons of every scenario with ``reference`` (see :func:`sim.comparison.compare_results`)."""
        from sim.comparison import compare_results

        return compare_results(
            self.results,
            reference=reference or self.reference or self.scenario_names[0],
            wtp=self.wtp if wtp is None else wtp,
            discount_rate=self.discount_rate if discount_rate is None else discount_rate,
            align_horizon=self.align_horizon,
            perspective=self.scenario.economics.perspective,  # issue 11 (payer beside)
        )

    def voi(
        self,
        *,
        wtp: Sequence[float] | None = None,
        discount_rate: float | None = None,
        groups: dict[str, Sequence[str]] | None = None,
        population: float | None = None,
    ) -> pd.DataFrame:
        """Value of information (EVPI, EVPPI per parameter and group) of the payer's and the
        providers' decisions between the scenarios (see :func:`sim.voi.voi_table`, docs/voi.md);
        needs two or more scenarios run with uncertain parameters."""
        from sim.voi import voi_table

        return voi_table(
            self.results, self.draws, wtp=self.wtp if wtp is None else wtp,
            discount_rate=self.discount_rate if discount_rate is None else discount_rate,
            perspective=self.scenario.economics.perspective, groups=groups,
            population_size=float(self.scenario.population.size), population=population,
            reference=self.reference)

    def title(self) -> str:
        """A one-line description of the run for the printed summary."""
        s = self.scenario
        crn = "" if len(self.scenario_names) < 2 else (
            ", common random numbers" if self.crn else ", independent random numbers")
        what = (f"Scenario {s.name}" if len(self.scenario_names) < 2
                else f"Scenarios {', '.join(self.scenario_names)}")
        quick = ("QUICK LOOK (--quick: a small run for a first look, not a result): "
                 if self.quick else "")
        return (
            f"{quick}{what}: {s.replications} replication(s) x {s.horizon_years} year(s), "
            f"seed {self.seed}{crn}. Mean per year; 95% interval across replications."
        )

    def format_summary(self, over_years: OverYears = "mean", *, full: bool = False) -> str:
        """The summary as a readable plain-text table: the key metrics (``full``: every
        metric), without rows that say nothing (see :mod:`sim.results.console`), with a
        note of what is left out."""
        view, notes = console_view(self.results, self.summary(over_years=over_years),
                                   full=full)
        wrapped = [textwrap.fill(note, width=100) for note in notes]
        return "\n".join([format_summary(view, title=self.title()), "", *wrapped]).rstrip()

    def to_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Write the tidy results table to one Parquet file."""
        p = Path(path)
        self.results.to_parquet(p, index=False)
        return p

    def reports(self) -> dict[str, pd.DataFrame]:
        """The report tables written next to the results (risk; comparisons if several
        scenarios)."""
        out: dict[str, pd.DataFrame] = {}
        risk = self.risk()
        if len(risk):
            out["risk"] = risk
        if len(self.scenario_names) > 1:
            comparison = self.compare()
            for name, frame in comparison.tables().items():
                if len(frame):
                    out[f"compare_{name}"] = frame
        return out

    def to_dir(
        self,
        path: str | os.PathLike[str],
        *,
        command: str | None = None,
        overwrite: bool = False,
        source: str | os.PathLike[str] | None = None,
        extra_files: Mapping[str, Path] | None = None,
        manifest: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write the results directory (see :func:`sim.results.write_results_dir`);
        ``extra_files`` (relative path -> existing file) are linked or copied in and
        ``manifest`` entries added to the manifest (the runner's kept claims)."""
        return write_results_dir(
            path,
            self.results,
            scenario=self.scenario,
            scenarios=self.scenarios or None,
            tables=self.tables,
            draws=self.draws,
            reports=self.reports(),
            seed=self.seed,
            workers=self.workers,
            command=command,
            started_at=self.started_at,
            finished_at=self.finished_at,
            source=self.source if source is None else source,
            overwrite=overwrite,
            extra_manifest={"backend": self.backend, "common_random_numbers": self.crn,
                            "reference": self.reference,
                            "overrides": list(self.overrides), "quick": self.quick,
                            **({"align_horizon": self.align_horizon} if self.align_horizon
                               else {}), **(manifest or {})},
            extra_files=extra_files,
        )

    def plot(self, kind: str, *args: Any, **kwargs: Any) -> Any:
        """A chart of this result by :mod:`sim.plots` (a matplotlib ``Figure``): ``kind`` is
        one of :data:`PLOT_KINDS` and the other arguments go to that function, e.g.
        ``result.plot("fan", "payer_spend_per_capita_usd")``, ``result.plot("margin",
        "primary_care_group")``, ``result.plot("comparison", ["admissions_per_1000"])``,
        ``result.plot("ceac")``, ``result.plot("ce_plane")``. The waterfall reads the cash
        flows of this result."""
        from sim import plots

        if kind not in PLOT_KINDS:
            raise ValueError(f"unknown plot kind {kind!r}; expected one of "
                             f"{', '.join(PLOT_KINDS)}")
        if kind == "ceac":
            return plots.ceac(self.compare(), *args, **kwargs)
        if kind in ("ce_plane", "comparison"):
            fn = plots.ce_plane if kind == "ce_plane" else plots.scenario_comparison
            if kind == "ce_plane":
                kwargs.setdefault("reference", self.reference)
                kwargs.setdefault("discount_rate", self.discount_rate)
            return fn(self, *args, **kwargs)
        if kind == "waterfall":
            return plots.settlement_waterfall(
                {"results": self.results, "cash_flows": self.tables.get("cash_flows")},
                *args, **kwargs)
        return getattr(plots, PLOT_KINDS[kind])(self, *args, **kwargs)

    def to_excel(self, path: str | os.PathLike[str]) -> Path:
        """Write one Excel workbook: one sheet per table (``results``, ``summary``, the side
        tables such as ``cash_flows`` and ``settlements``, ``draws``, and the report tables
        ``risk`` and ``compare_*``), units in the column headers (``amount (USD)``) and, in
        tables with a ``metric`` column, a ``unit`` column from the metric catalogue. Needs
        the ``openpyxl`` package (``pip install 'vbcsim[excel]'``). A table longer than an
        Excel sheet (1,048,575 rows) is refused: use :meth:`to_dir` (Parquet) for it."""
        try:
            import openpyxl  # noqa: F401
        except ImportError:
            raise ImportError("RunResult.to_excel needs the openpyxl package: pip install "
                              "openpyxl (or pip install 'vbcsim[excel]'); to_dir writes CSV "
                              "and Parquet without it") from None
        sheets = {"results": self.results, "summary": self.summary(), **self.tables}
        if len(self.draws):
            sheets["draws"] = self.draws
        sheets.update(self.reports())
        too_long = [n for n, t in sheets.items() if len(t) > EXCEL_MAX_ROWS]
        if too_long:
            raise ValueError(f"table(s) {', '.join(too_long)} have more rows than an Excel "
                             f"sheet holds ({EXCEL_MAX_ROWS:,}); write them with to_dir "
                             "(Parquet/CSV) or run fewer replications")
        p = Path(path)
        tmp = p.with_name(f".{p.name}.tmp.xlsx")
        try:
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                used: set[str] = set()
                for name, table in sheets.items():
                    sheet = _sheet_name(name, used)
                    _with_units(table).to_excel(writer, sheet_name=sheet, index=False)
            os.replace(tmp, p)
        finally:
            tmp.unlink(missing_ok=True)
        return p

    def __repr__(self) -> str:
        names = self.scenario_names
        what = f"scenario={names[0]!r}" if len(names) == 1 else f"scenarios={names!r}"
        return (
            f"RunResult({what}, replications={self.replications}, "
            f"seed={self.seed}, rows={len(self.results)}, tables={sorted(self.tables)})"
        )


#: ``RunResult.plot`` kinds and the :mod:`sim.plots` function each draws
PLOT_KINDS = {"fan": "fan_chart", "margin": "margin_distribution",
              "owing": "owing_probability", "waterfall": "settlement_waterfall",
              "comparison": "scenario_comparison", "ceac": "ceac", "ce_plane": "ce_plane",
              "voi": "voi_curve"}
#: rows an Excel sheet holds below its header
EXCEL_MAX_ROWS = 1_048_575
#: column-name endings and the unit each means (for spreadsheet headers)
_UNIT_OF_SUFFIX = (("_usd_per_qaly", "USD per QALY"), ("_usd", "USD"),
                   ("_per_1000", "per 1,000 person-years"), ("_days", "days"),
                   ("_share", "share 0-1"), ("_rate", "share 0-1"))


def _sheet_name(name: str, used: set[str]) -> str:
    """An Excel sheet name (at most 31 characters, none of []:*?/\\), unique in ``used``."""
    base = "".join("_" if c in '[]:*?/\\' else c for c in name)[:31] or "table"
    out, k = base, 2
    while out.lower() in used:
        out = f"{base[:28]}_{k}"
        k += 1
    used.add(out.lower())
    return out


def _with_units(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with units in its headers and, beside a ``metric`` column, each metric's
    unit (from :mod:`sim.catalogue`)."""
    from sim.catalogue import metric_unit

    out = table.copy()
    for col in out.columns:  # categories and objects as plain text, times without zone
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(str)
        elif isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_localize(None)
    if "metric" in out.columns and "unit" not in out.columns:
        units = {m: metric_unit(str(m)) for m in out["metric"].unique()}
        out.insert(list(out.columns).index("metric") + 1, "unit", out["metric"].map(units))
    names = {}
    for col in out.columns:
        c = str(col)
        for suffix, unit in _UNIT_OF_SUFFIX:
            if c.endswith(suffix):
                names[col] = f"{c} ({unit})"
                break
        else:
            if c.startswith("p_") or c in ("probability", "p_positive"):
                names[col] = f"{c} (probability 0-1)"
    return out.rename(columns=names)


__all__ = ["PLOT_KINDS", "RunResult"]
