"""What every contract configuration has, and what it tells the scenario checks.

Each contract type's configuration model (``sim/contracts/<type>/config.py``) subclasses
:class:`ContractConfig`; the scenario schema selects it by its ``type:`` and asks it, not
its type name, what the cross-field checks need to know: who may hold it, whether it
needs baseline history, whether it reconciles against spending, which contracts it
excludes and whether it pays the holder's primary care instead of fee-for-service.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from pydantic import Field

from sim.fields import StrictModel

#: Baseline years before a contract's first year (benchmarks, target prices, rates).
BASELINE_YEARS = 3


class ContractConfig(StrictModel):
    """Fields every contract has, and the questions every contract type answers."""

    #: Kind of provider that must hold the contract (None: any provider, or ``all``).
    holder_kind: ClassVar[str | None] = None
    #: Whether the settlement compares spending with a benchmark or target price (which
    #: needs some positive price).
    reconciles_spending: ClassVar[bool] = False
    #: Fewest assigned beneficiaries the programme allows an ACO (None: no floor); checked
    #: when attribution is on (``sim.scenario.attribution.check_minimum_assigned``).
    minimum_assigned_beneficiaries: ClassVar[int | None] = None
    #: Whether the holder's beneficiaries are those CMS assigns (ACOs: plurality of primary
    #: care, ``sim.attribution``) when attribution is on; else the holder's panel.
    assigned_by_cms: ClassVar[bool] = False

    payer: str = Field("medicare", description="The payer that holds the contract.")
    name: str | None = Field(None, description="Label in statements (default: type-provider).")

    @property
    def holder(self) -> str | None:
        """The provider that holds the contract (``aco`` or ``provider``)."""
        return getattr(self, "aco", None) or getattr(self, "provider", None)

    def requires_history(self) -> bool:
        """Whether the run keeps the warm-up years as history (plan years -3..-1) for the
        contract: its baseline years, also what behaviour observes of the year before."""
        return False

    def reads_baseline(self) -> bool:
        """Whether its rules read the three baseline years before its participation (they
        must be recorded; checked before running)."""
        return self.requires_history()

    def advanced_apm(self) -> bool:
        """Whether holding the contract makes its holder a participant in an Advanced APM
        (Quality Payment Program, 42 CFR 414.1415): exempt from MIPS and, as a qualifying
        participant, paid the APM incentive. False by default."""
        return False

    def exclusive_group(self) -> str | None:
        """Contracts of the same holder and payer in the same group cannot overlap in a year
        (None: no such restriction)."""
        return None

    def replaces_ffs(self) -> str | None:
        """What the contract is, if it pays the holder's own primary care of its attributed
        patients instead of fee-for-service (two such contracts cannot overlap); else None."""
        return None

    def check_years(self, where: str, plan_years: Iterable[int], scenario: Any) -> None:
        """Refuse (``ValueError``) a contract in force in ``plan_years`` that its rules cannot
        settle in ``scenario`` (``where`` locates it in the file). Nothing by default."""


def participation_start(plan: Iterable[Any], horizon: int, contract_type: str, payer: str,
                        holder: str, year: int) -> int:
    """First plan year of the holder's continuous participation in ``contract_type`` with
    the payer, up to ``year`` (baseline years are the three years before it). ``plan`` is
    the scenario's list of plan periods."""
    periods = list(plan)

    def holds(y: int) -> bool:
        return any(c.type == contract_type and c.payer == payer and c.holder == holder
                   for period in periods if y in period.year_list(horizon)
                   for c in period.contracts)

    start = year
    while start - 1 >= 0 and holds(start - 1):
        start -= 1
    return start
