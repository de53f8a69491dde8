"""Measure the reference volume behind ``sim.economics.costs.REFERENCE_ALLOWED_PER_CAPITA``.

Allowed USD per person-year billed by each kind of provider in the default scenario at the
default fee schedule with the reference levers (``behavior: fixed``): 20,000 patients, plan
years 0-1, two seeds. Run: ``PYTHONPATH=$PWD python benchmarks/reference_volume.py``
(about 10 s CPU). Measured 2026-12-06: primary_care 748, specialist 3,144, hospital 6,523,
post_acute 1,265, other 840 (SD across the four years x seeds: 5, 19, 55, 43, 5).
"""

from __future__ import annotations

import numpy as np

from sim.care.engine import CareSimulation
from sim.scenario.schema import Scenario


def main() -> None:
    sc = Scenario(population={"size": 20_000}, horizon_years=2, behavior="fixed")
    out: dict[str, list[float]] = {}
    for rep in range(2):
        care = CareSimulation(sc, np.random.SeedSequence(100 + rep))
        for _ in range(care.sim_years):
            care.start_year(None)
            care.run_to_year_end()
            care.close_year()
        kinds = care.providers.kinds
        for y in (0, 1):
            c = care.ledger.claims_in(y)
            py = care.ledger.pyear("person_years", y).sum()
            tot = np.bincount(c["provider"], weights=c["amount"], minlength=len(kinds))
            for k, v in zip(kinds, tot, strict=True):
                out.setdefault(k, []).append(float(v / py))
    for k, v in out.items():
        print(f"{k:<14} {np.mean(v):>10,.0f}  (SD {np.std(v):,.0f})")


if __name__ == "__main__":
    main()
