"""A scenario for one ACO from CMS's MSSP ACO public use file (issue 15, item 1).

``scenario_from_puf(path, aco_id)`` reads the ACO's row (:mod:`sim.puf.reading`), maps its
population, track, agreement and benchmark standing (:mod:`sim.puf.mapping`), fits the care
model's rates and prices so a simulated FFS year reproduces its per-capita spending by
category and its utilisation per 1,000 (:mod:`sim.puf.fit`), and writes a commented YAML
(:mod:`sim.puf.writing`). Layer 7: it runs simulations to calibrate.
"""

from __future__ import annotations

from sim.puf.build import PufScenario, scenario_from_puf
from sim.puf.reading import PufError, read_puf_row

__all__ = ["PufError", "PufScenario", "read_puf_row", "scenario_from_puf"]
