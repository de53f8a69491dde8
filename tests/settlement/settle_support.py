"""Helpers of the settlement integration tests: small scenarios, runs and ledger sums.

Every expected value in these tests is recomputed from the ledger (claims, members,
risk scores) with plain NumPy, independently of ``sim.settlement``; only the pure rule
functions of ``sim.contracts`` (tested on their own with hand-computed YAML cases) are
reused where a test says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.care.engine import CareRun, simulate_population
from sim.contracts.statement import Statement
from sim.scenario import Scenario, scenario_from_dict
from sim.services import Service
from sim.settlement import Settlement, settle_run

DAYS = 365.0
#: Relative tolerance of money identities: sums of the same float64 flows in another
#: order differ by rounding only (~1e-15 relative); 1e-9 leaves room for that.
REL = 1e-9

PROVIDERS_2PC = [
    {"name": "pc_a", "kind": "primary_care", "panel_share": 0.6},
    {"name": "pc_b", "kind": "primary_care", "panel_share": 0.4},
    {"name": "specialists", "kind": "specialist"},
    {"name": "hospital", "kind": "hospital"},
    {"name": "post_acute", "kind": "post_acute"},
    {"name": "other_suppliers", "kind": "other"},
]
TWO_PAYERS = [{"name": "medicare", "share": 0.6},
              {"name": "commercial", "share": 0.4, "price_factor": 1.4}]
FFS_ALL = {"type": "ffs", "payer": "medicare"}


def scenario(size: int = 2000, horizon: int = 3, **over: Any) -> Scenario:
    """A small validated scenario: 5 warm-up years, the first two a start-up transient, the
    last three kept as history (plan years -3..-1) when a contract needs baselines."""
    data = {"name": "settle_test", "horizon_years": horizon, "warmup_years": 5,
            "replications": 1, "population": {"size": size}}
    data.update(over)
    return scenario_from_dict(data, "<settlement test>")


@dataclass
class Run:
    """A care-model run and its settlement, with the tables the tests read."""

    sc: Scenario
    run: CareRun
    settlement: Settlement

    @property
    def rows(self) -> pd.DataFrame:
        return pd.DataFrame(self.settlement.rows, columns=["year", "entity", "metric", "value"])

    @property
    def statements(self) -> pd.DataFrame:
        return self.settlement.statements_frame()

    @property
    def flows(self) -> pd.DataFrame:
        return self.settlement.flows

    def metric(self, entity: str, metric: str, year: int) -> float:
        r = self.rows
        v = r.loc[(r.entity == entity) & (r.metric == metric) & (r.year == year), "value"]
        assert len(v) == 1, f"{entity}/{metric}/{year}: {len(v)} rows"
        return float(v.iloc[0])

    def statements_of(self, year: int, contract: str, entity: str | None = None,
                      label: str | None = None) -> list[Statement]:
        """The statements of one plan year and contract type (``"mssp"``,
        ``"mssp_benchmark"``, ...), in settlement order."""
        return [st for y, lab, ent, st in self.settlement.statements
                if y == year and st.contract == contract and (entity is None or ent == entity)
                and (label is None or lab == label)]

    def statement(self, year: int, contract: str, entity: str | None = None) -> Statement:
        """The one statement of a plan year and contract type."""
        sts = self.statements_of(year, contract, entity)
        assert len(sts) == 1, f"{len(sts)} {contract} statements in year {year}"
        return sts[0]

    # ------------------------------------------------------------------ ledger views
    @property
    def payer_of(self) -> np.ndarray:
        return np.asarray(self.run.population.payer)

    @property
    def pc_of(self) -> np.ndarray:
        return np.asarray(self.run.population.provider)

    def pindex(self, name: str) -> int:
        return self.run.providers.names.index(name)

    def payer_index(self, name: str) -> int:
        return [p.name for p in self.sc.payers].index(name)

    def claims(self, year: int) -> dict[str, np.ndarray]:
        """Claims of a plan year with the patient's payer, attributed group and the
        amount paid at the payer's prices."""
        c = self.run.ledger.claims
        m = c["year"] == year
        out = {k: v[m] for k, v in c.items()}
        factors = np.array([p.price_factor for p in self.sc.payers])
        out["payer"] = self.payer_of[out["patient"]]
        out["attributed"] = self.pc_of[out["patient"]]
        out["paid"] = out["amount"] * factors[out["payer"]]
        return out

    def pyear(self, key: str, year: int) -> np.ndarray:
        return self.run.ledger.pyear(key, year)

    def members(self, year: int, payer: str | None = None, pc: str | None = None) -> np.ndarray:
        m = self.pyear("member", year).astype(bool)
        if payer is not None:
            m &= self.payer_of == self.payer_index(payer)
        if pc is not None:
            m &= self.pc_of == self.pindex(pc)
        return m

    def spend(self, year: int) -> np.ndarray:
        """Spending per patient at the payer's prices."""
        c = self.claims(year)
        return np.bincount(c["patient"], weights=c["paid"], minlength=len(self.payer_of))

    def own_primary_care(self, c: dict[str, np.ndarray], pc: str) -> np.ndarray:
        """Claims of primary care (visits, labs) billed by ``pc`` itself."""
        return (c["provider"] == self.pindex(pc)) & np.isin(
            c["service"], [Service.PCP_VISIT, Service.LAB])


def assigned_aggregates(r: Run, year: int, payer: str = "medicare", aco: str = "pc_a"
                        ) -> tuple[float, float, float, int]:
    """Truncated per-capita spending, person-years, mean risk score and number of the
    payer's members attributed to ``aco`` (the ACO's assigned beneficiaries) in ``year``.

    Each patient's spending is annualised and truncated at the 99th percentile of the
    annualised spending of all the payer's members of the year (42 CFR 425.601(a)(4),
    the payer's population standing for the nation)."""
    spend, py = r.spend(year), r.pyear("person_years", year)
    members = r.members(year, payer)
    annual = np.where(py > 0, spend / np.maximum(py, 1e-12), 0.0)
    truncated = np.minimum(annual, np.percentile(annual[members], 99)) * py
    assigned = r.members(year, payer, aco)
    total_py = float(py[assigned].sum())
    risk = float((r.pyear("risk_score", year)[assigned] * py[assigned]).sum() / total_py)
    return float(truncated[assigned].sum()) / total_py, total_py, risk, int(assigned.sum())


def hand_benchmark(r: Run, year: int, start: int = 0, weights=(0.1, 0.3, 0.6),
                   payer: str = "medicare", aco: str = "pc_a",
                   regional: tuple[float, float] = (1.042, 0.35)) -> float:
    """The performance-year benchmark (total USD) of an agreement starting in ``start``:
    BY1-BY3 per capita restated to BY3 risk and weighted, plus the regional adjustment
    (``regional`` = (region over the ACO's historical benchmark, share); default: the
    MSSP default ratio 1.042 and a first agreement's 35%, far below the 5% cap), times
    the risk ratio (growth capped at +3%), times the assigned person-years; no trend."""
    base = [assigned_aggregates(r, y, payer, aco) for y in (start - 3, start - 2, start - 1)]
    risk_by3 = base[2][2]
    historical = sum(w * pc * risk_by3 / risk for w, (pc, _, risk, _) in
                     zip(weights, base, strict=True))
    ratio, share = regional
    historical += share * (ratio - 1.0) * historical
    _, py, risk, _ = assigned_aggregates(r, year, payer, aco)
    return historical * min(risk / risk_by3, 1.03) * py


def run(sc: Scenario, seed: int = 1,
        choose_levers: Callable[[int, Any], dict | None] | None = None) -> Run:
    """Simulate and settle ``sc`` with ``SeedSequence(seed)``."""
    care = simulate_population(sc, np.random.SeedSequence(seed), choose_levers=choose_levers)
    return Run(sc, care, settle_run(sc, care.ledger, care.population, care.providers,
                                    care.levers_by_year))


def close(a: float, b: float, rel: float = REL, abs_usd: float = 1e-6) -> bool:
    """``a`` equals ``b`` up to float rounding of sums of dollars."""
    return abs(a - b) <= abs_usd + rel * max(abs(a), abs(b))
