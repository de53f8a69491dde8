"""Read what a report is made from: results directories (and sensitivity outputs).

A results directory is what ``vbcsim run``/``vbcsim compare`` (or ``RunResult.to_dir``)
writes (its files: :mod:`sim.results.layout`); the report reads ``results.parquet`` (or
``results.csv``), ``manifest.json``, ``cash_flows.parquet``, ``scenario.yaml`` or
``scenarios/*.yaml`` and ``compare_npv.csv``. A sensitivity output is the ``tornado.csv`` or
``sobol.csv`` that ``vbcsim sensitivity --out DIR`` writes; it is found in a directory given
on its own, inside a results directory, or in its ``sensitivity/`` subdirectory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.comparison import alignment_note, check_comparable, years_by_scenario
from sim.constants import DEFAULT_DISCOUNT_RATE
from sim.plots._common import as_results
from sim.results import layout


class ReportInputError(ValueError):
    """A directory given to the report cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Source:
    """One results directory: where it is, its manifest, the scenarios it contributed (as
    named in the report) and the SHA-256 of its results file."""

    path: Path
    manifest: dict[str, Any]
    scenarios: tuple[str, ...]
    results_file: str
    results_sha256: str
    renamed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sensitivity:
    """A sensitivity table (``kind``: ``"tornado"`` or ``"sobol"``), its file and the
    scenario it was run on (from the ``sensitivity.json`` that ``vbcsim sensitivity --out``
    writes beside it, or a ``scenario`` column; "" when unknown)."""

    kind: str
    table: pd.DataFrame
    path: Path
    scenario: str = ""


@dataclass(frozen=True)
class ReportInputs:
    """Everything a report shows, read from the directories."""

    results: pd.DataFrame
    cash_flows: pd.DataFrame | None
    sources: tuple[Source, ...]
    scenarios: tuple[str, ...]
    reference: str
    provider: str | None
    discount_rate: float
    paired: bool
    pairing: str
    sensitivity: tuple[Sensitivity, ...]
    #: how scenarios with different horizons were aligned ("": not needed)
    alignment: str = ""
    #: each scenario's saved (resolved) scenario file, as read ({} when not saved)
    scenario_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the statements' threshold values (``msr_met``, ``mlr_met``): scenario, replication,
    #: year, contract, item, value (None without settlements)
    thresholds: pd.DataFrame | None = None

    @property
    def replications(self) -> dict[str, int]:
        """Replications per scenario."""
        counts = self.results.groupby("scenario")["replication"].nunique()
        return {s: int(counts.get(s, 0)) for s in self.scenarios}

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self.results["year"].unique())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _sensitivity_scenario(file: Path, table: pd.DataFrame) -> str:
    """The scenario a sensitivity table was run on ("" when it does not say)."""
    if "scenario" in table and len(table):
        return str(table["scenario"].iloc[0])
    about = file.parent / layout.SENSITIVITY_JSON
    if about.is_file():
        try:
            data = json.loads(about.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ""
        if isinstance(data, dict):
            return str(data.get("scenario") or "")
    return ""


def _sensitivity_in(path: Path) -> list[Sensitivity]:
    out = []
    for kind, f in layout.sensitivity_files(path):
        table = pd.read_csv(f)
        out.append(Sensitivity(kind, table, f, _sensitivity_scenario(f, table)))
    return out


def _scenario_file(path: Path, name: str) -> dict[str, Any]:
    """The resolved scenario ``name`` saved in the results directory ``path`` ({} if none)."""
    for f in (path / layout.scenario_file(name), path / layout.SCENARIO_YAML):
        if f.is_file():
            data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
            if isinstance(data, dict) and (f.parent.name == layout.SCENARIOS_DIR
                                           or data.get("name", name) == name):
                return data
    return {}


def _comparability(results: pd.DataFrame, sources: Sequence[Source],
                   align_horizon: str | None, paired: bool) -> tuple[pd.DataFrame, str]:
    """The results restricted to the plan years every scenario shares when they differ and
    ``align_horizon`` asks for it (with the sentence saying so); refused
    (:class:`~sim.comparison.NotComparable`) when the scenarios are not comparable."""
    calendar: dict[str, int | None] = {}
    size: dict[str, int | None] = {}
    for s in sources:
        original = {v: k for k, v in s.renamed.items()}
        for name in s.scenarios:
            data = _scenario_file(s.path, original.get(name, name))
            calendar[name] = (data.get("economics") or {}).get("first_calendar_year")
            size[name] = (data.get("population") or {}).get("size")
    years = years_by_scenario(results)
    common = check_comparable(years, first_calendar_year=calendar, population=size,
                              align_horizon=align_horizon, paired=paired)
    if common is None:
        return results, ""
    return (results[results["year"].isin(common)].reset_index(drop=True),
            alignment_note(years, common))


def _discount_rate(path: Path, reference: str) -> float | None:
    npv = path / layout.NPV_CSV
    if npv.is_file():
        table = pd.read_csv(npv)
        if "discount_rate" in table and len(table):
            return float(table["discount_rate"].iloc[0])
    for f in (path / layout.SCENARIO_YAML, path / layout.scenario_file(reference)):
        if f.is_file():
            data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
            rate = (data.get("economics") or {}).get("discount_rate")
            if rate is not None:
                return float(rate)
    return None


def focal_provider(results: pd.DataFrame) -> str | None:
    """The provider a report is about: the one whose practice levers respond to its contract
    (it has ``lever_*`` rows), else one with a capitation or settlement, else the first
    provider with a margin."""
    providers = list(dict.fromkeys(
        results.loc[results["metric"] == "margin_usd", "entity"].astype(str)))
    if not providers:
        return None
    with_levers = set(results.loc[results["metric"].str.startswith("lever_"), "entity"])
    for p in providers:
        if p in with_levers:
            return p
    vbc = results[results["metric"].isin(["settlement_usd", "capitation_revenue_usd"])
                  & (results["value"].abs() > 0)]
    for p in providers:
        if p in set(vbc["entity"]):
            return p
    return providers[0]


def load_inputs(
    dirs: Sequence[str | os.PathLike[str]], *, reference: str | None = None,
    provider: str | None = None, align_horizon: str | None = None,
) -> ReportInputs:
    """Read the results directories (and sensitivity outputs) in ``dirs``.

    Scenario names must be unique across directories; a name seen again is suffixed with
    its directory's name. ``reference`` defaults to the experiment's reference (its
    manifest) or the first scenario; ``provider`` to :func:`focal_provider`. Scenarios must
    be comparable (:func:`sim.comparison.check_comparable`; ``align_horizon="shortest"``
    compares different horizons over the plan years they share).
    """
    if not dirs:
        raise ReportInputError("give at least one results directory")
    seen: set[Path] = set()
    frames, flows, sources, sensitivity, thresholds = [], [], [], [], []
    names: list[str] = []
    manifest_reference = None
    for d in dirs:
        path = Path(d)
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        if not path.is_dir():
            raise ReportInputError(f"{path}: not a directory (expected a vbcsim results "
                                   "directory)")
        sens = _sensitivity_in(path)
        sensitivity += sens
        results_file = layout.results_file(path)
        if results_file is None:
            if sens:
                continue
            raise ReportInputError(
                f"{path}: not a vbcsim results directory (no {layout.RESULTS_PARQUET} or "
                f"{layout.RESULTS_CSV}, and no "
                f"{'/'.join(name for _, name in layout.SENSITIVITY_FILES)})")
        frame = as_results(results_file)
        manifest = layout.read_manifest_if_any(path) or {}
        renamed = {}
        for name in dict.fromkeys(frame["scenario"]):
            new = name
            k = 2
            while new in names:
                new = f"{name} ({path.name})" if k == 2 else f"{name} ({path.name} {k})"
                k += 1
            if new != name:
                renamed[name] = new
            names.append(new)
        if renamed:
            frame["scenario"] = frame["scenario"].replace(renamed)
        frames.append(frame)
        st = path / layout.SETTLEMENTS_PARQUET
        if st.is_file():
            thresholds.append(_thresholds(st, renamed))
        cf = path / layout.CASH_FLOWS_PARQUET
        if cf.is_file():
            table = pd.read_parquet(cf)
            if "scenario" in table:
                table["scenario"] = table["scenario"].astype(str).replace(renamed)
            else:
                table["scenario"] = frame["scenario"].iloc[0]
            flows.append(table)
        if manifest_reference is None and manifest.get("reference"):
            manifest_reference = renamed.get(manifest["reference"], manifest["reference"])
        sources.append(Source(path, manifest, tuple(dict.fromkeys(frame["scenario"])),
                              results_file.name, _sha256(results_file), renamed))
    if not frames:
        raise ReportInputError("no results directory among the inputs (only sensitivity "
                               "outputs); give at least one directory written by vbcsim run")
    results = pd.concat(frames, ignore_index=True)
    results, alignment = _comparability(results, sources, align_horizon,
                                        paired=_pairing(results, sources)[0])
    scenarios = tuple(pd.unique(results["scenario"]))
    ref = reference or manifest_reference or scenarios[0]
    if ref not in scenarios:
        raise ReportInputError(f"reference {ref!r} is not among the scenarios {list(scenarios)}")
    chosen = provider or focal_provider(results)
    if provider is not None and provider not in set(results["entity"]):
        raise ReportInputError(f"provider {provider!r} is not in the results; entities: "
                               f"{sorted(set(results['entity']))}")
    rate = None
    for s in sources:
        if ref in s.scenarios:
            original = {v: k for k, v in s.renamed.items()}.get(ref, ref)
            rate = _discount_rate(s.path, original)
    data = {}
    for s in sources:
        original = {v: k for k, v in s.renamed.items()}
        for name in s.scenarios:
            data[name] = _scenario_file(s.path, original.get(name, name))
    paired, pairing = _pairing(results, sources)
    if alignment:
        pairing = f"{pairing}; {alignment}"
    if alignment and flows:
        cash = pd.concat(flows, ignore_index=True)
        if "year" in cash:
            flows = [cash[cash["year"].isin(results["year"].unique())]]
    return ReportInputs(
        results=results, cash_flows=pd.concat(flows, ignore_index=True) if flows else None,
        sources=tuple(sources), scenarios=scenarios, reference=ref, provider=chosen,
        discount_rate=DEFAULT_DISCOUNT_RATE if rate is None else rate, paired=paired,
        pairing=pairing, sensitivity=tuple(sensitivity), alignment=alignment,
        scenario_data=data,
        thresholds=_years_of(pd.concat(thresholds, ignore_index=True), results)
        if thresholds else None,
    )


THRESHOLD_ITEMS = ("msr_met", "mlr_met")


def _thresholds(path: Path, renamed: dict[str, str]) -> pd.DataFrame:
    """The threshold values of the statements in a ``settlements.parquet``."""
    cols = ["scenario", "replication", "year", "contract", "kind", "item", "value"]
    try:
        table = pd.read_parquet(path, columns=cols,
                                filters=[("item", "in", list(THRESHOLD_ITEMS))])
    except (ValueError, KeyError, OSError):  # an older or foreign layout: no thresholds
        return pd.DataFrame(columns=cols)
    table = table[table["kind"].astype(str) == "value"].copy()
    table["scenario"] = table["scenario"].astype(str).replace(renamed)
    table["item"] = table["item"].astype(str)
    return table.drop(columns="kind").reset_index(drop=True)


def _years_of(table: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """``table`` restricted to the plan years of ``results`` (after any alignment)."""
    return table[table["year"].isin(results["year"].unique())].reset_index(drop=True)


def _pairing(results: pd.DataFrame, sources: Sequence[Source]) -> tuple[bool, str]:
    """Whether replication ``r`` of every scenario shares its random numbers (so that
    differences can be paired by replication), and a sentence saying why."""
    reps = results.groupby("scenario")["replication"].agg(lambda r: tuple(sorted(set(r))))
    if reps.nunique() > 1:
        return False, ("the scenarios have different replications, so differences are "
                       "compared as independent samples")
    seeds = {s.manifest.get("seed") for s in sources}
    crn = all(s.manifest.get("common_random_numbers", True) is not False for s in sources)
    if len(seeds) > 1 or None in seeds:
        return False, ("the runs used different (or unknown) seeds, so differences are "
                       "compared as independent samples")
    if not crn:
        return True, ("differences are paired by replication; the scenarios drew independent "
                      "random numbers (no common random numbers)")
    how = "one experiment" if len(sources) == 1 else "runs with the same seed"
    return True, (f"differences are paired by replication: {how}, so replication r of every "
                  "scenario shares its patients, random numbers and parameter draws (common "
                  "random numbers)")


__all__ = [
    "ReportInputError",
    "ReportInputs",
    "Sensitivity",
    "Source",
    "focal_provider",
    "load_inputs",
]
