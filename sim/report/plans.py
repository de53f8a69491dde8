"""The plans a report compares: each scenario's description and its contracts by plan year.

Read from the resolved scenario files saved in the results directories (``scenario.yaml``
or ``scenarios/NAME.yaml``): the ``description`` field and the ``plan`` periods (``years``:
``all``, a year, a list or a range ``A-B``; ``contracts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.report.inputs import ReportInputs

#: how a contract type is named for a reader
KIND_NAMES = {"ffs": "Fee-for-service", "mssp": "MSSP shared savings", "reach": "ACO REACH",
              "bundled": "Bundled payments", "capitation": "Capitation"}


@dataclass(frozen=True)
class Plan:
    """One scenario as the report introduces it: its description and, per plan year, the
    contracts in force (in words)."""

    scenario: str
    description: str
    years: dict[int, str]


def _years(spec: Any, horizon: int) -> list[int]:
    if spec in (None, "all"):
        return list(range(horizon))
    if isinstance(spec, int):
        return [spec]
    if isinstance(spec, list):
        return sorted({int(y) for y in spec})
    try:
        a, b = (int(p) for p in str(spec).split("-"))
    except ValueError:
        return []
    return list(range(a, b + 1))


def contract_words(c: dict[str, Any]) -> str:
    """``MSSP shared savings (BASIC_E)``, ``Capitation (total_cost)``, ``Fee-for-service``."""
    kind = str(c.get("type", "contract"))
    name = KIND_NAMES.get(kind, str(c.get("kind") or kind))
    detail = [str(v) for v in (c.get("track"), c.get("scope"), c.get("option"))
              if v not in (None, "")]
    if c.get("name"):
        detail.insert(0, str(c["name"]))
    return f"{name} ({', '.join(detail)})" if detail else name


def plans(inputs: ReportInputs) -> list[Plan]:
    """The plans of ``inputs``' scenarios, in report order (years: the report's plan years)."""
    out = []
    for scen in inputs.scenarios:
        data = inputs.scenario_data.get(scen) or {}
        horizon = int(data.get("horizon_years") or len(inputs.years))
        by_year: dict[int, list[str]] = {}
        for period in data.get("plan") or []:
            if not isinstance(period, dict):
                continue
            words = [contract_words(c) for c in period.get("contracts") or []
                     if isinstance(c, dict)]
            for y in _years(period.get("years", "all"), horizon):
                by_year.setdefault(y, []).extend(words)
        years = {y: " + ".join(dict.fromkeys(by_year.get(y, []))) or "none"
                 for y in inputs.years}
        out.append(Plan(scen, str(data.get("description") or "").strip(),
                        years if data else {}))
    return out


__all__ = ["KIND_NAMES", "Plan", "contract_words", "plans"]
