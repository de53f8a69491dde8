"""The contract types a scenario can select with ``type:``, registered in one list.

Adding a contract type: write its package under ``sim/contracts/<type>/`` (``config.py``,
``rules.py``, ``settler.py``) and add its settler class to :data:`SETTLERS`
(``docs/contracts.md``, "Adding a contract type"). Payment models written outside vbcsim
use ``type: custom`` instead (``sim.contracts.resolve``).
"""

from __future__ import annotations

from sim.contracts.bundled.settler import BundledSettler
from sim.contracts.capitation.settler import CapitationSettler
from sim.contracts.custom.config import CustomContract
from sim.contracts.ffs.settler import FFSSettler
from sim.contracts.global_budget.settler import GlobalBudgetSettler
from sim.contracts.mssp.settler import MSSPSettler
from sim.contracts.reach.settler import REACHSettler
from sim.contracts.settler import CAPITATION, BaseSettler, settlement_kinds

#: The built-in contract types, in the order the scenario reference lists them.
SETTLERS: tuple[type[BaseSettler], ...] = (
    FFSSettler,
    CapitationSettler,
    BundledSettler,
    MSSPSettler,
    REACHSettler,
    GlobalBudgetSettler,
)

#: Settler class by ``type:`` name.
BUILT_IN: dict[str, type[BaseSettler]] = {s.type_name: s for s in SETTLERS}

#: Configuration models a scenario's ``type:`` selects: the built-in types and ``custom``.
CONFIGS: tuple[type, ...] = (*(s.config_model for s in SETTLERS), CustomContract)

#: Cash-flow kinds counted as settlements (reconciliations, positive to the provider).
SETTLEMENT_KINDS: frozenset[str] = settlement_kinds(list(SETTLERS))

#: Cash-flow kinds counted as capitation (prospective payments per member).
CAPITATION_KINDS: frozenset[str] = settlement_kinds(list(SETTLERS), CAPITATION)

#: Contract names of the statements printed after a run (FFS statements just repeat the
#: claims paid).
SHOWN_STATEMENTS: tuple[str, ...] = tuple(n for s in SETTLERS for n in s.shown_statements)
