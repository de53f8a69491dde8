"""The settler interface: what a contract in force does each plan year, and what it tells
the settlement engine and the behaviour model.

A settler is built from its validated configuration and a label. The settlement engine
(``sim.settlement``) calls, for each plan year it is in force:

* :meth:`BaseSettler.covered` — which claims it takes out of fee-for-service (only
  capitation-like contracts do); the holder pays for them instead;
* :meth:`BaseSettler.settle` — records its cash flows in the cash book and returns the
  itemised :class:`~sim.contracts.statement.Statement` of each entity.

The behaviour model (``sim.behaviour``) asks :meth:`BaseSettler.expected_payoff` (computed
with the same rule that settles), :meth:`BaseSettler.coverage` (which of the deciding
provider's services are no longer paid per service), :attr:`BaseSettler.pays_per_service`
and :meth:`BaseSettler.is_reference`; the engine counts the flow kinds of
:attr:`BaseSettler.flow_kinds` as settlements or capitation. Nothing outside a contract's
package branches on its type name.

The settlers receive the settlement context (``sim.settlement.context.SettlementContext``:
the run's claims, members, risk and quality measures) and the cash book
(``sim.settlement.book.CashBook``) and only call their methods, so this layer does not
import the settlement package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from sim.contracts.config import participation_start as plan_participation_start

if TYPE_CHECKING:
    from sim.contracts.expectation import PayoffInputs
    from sim.contracts.statement import Statement

#: The settlement context (``sim.settlement.context.SettlementContext``).
Context = Any

#: What a flow kind counts as in a provider's revenue: a reconciliation (``settlement``,
#: positive to the provider) or a prospective payment (``capitation``).
SETTLEMENT, CAPITATION = "settlement", "capitation"


class Book(Protocol):
    """The cash book as a settler sees it (``sim.settlement.book.CashBook``)."""

    def pay(self, year: int, source: str, target: str, amount: float, kind: str,
            contract: str) -> None:
        """Record ``amount`` USD from ``source`` to ``target``."""


class BaseSettler:
    """A contract in force: its configuration, its label in statements, and its answers to
    the settlement engine and the behaviour model (defaults: a contract that covers no
    claims, is not paid per service and whose payoff no lever moves)."""

    #: The scenario's ``type:`` of the contract, and its configuration model.
    type_name: ClassVar[str] = ""
    config_model: ClassVar[type | None] = None
    #: Whether its payoff is part of fee-for-service payment (behaviour counts it in full,
    #: as the fees themselves, rather than through the pass-through to clinicians).
    pays_per_service: ClassVar[bool] = False
    #: The cash-flow kinds it records, and what each counts as (:data:`SETTLEMENT`,
    #: :data:`CAPITATION`).
    flow_kinds: ClassVar[Mapping[str, str]] = {}
    #: Contract names of its statements worth printing after a run (``vbcsim run``).
    shown_statements: ClassVar[tuple[str, ...]] = ()
    #: Whether a year can only be settled from the whole run's ledger (at the horizon)
    #: rather than once the year's 30-day run-out is recorded (the year loop in
    #: :mod:`sim.replication` asks).
    needs_whole_run: ClassVar[bool] = False
    #: Whether RADV-style audits (``revenue_cycle.radv``, :mod:`sim.coding.radv`) recover
    #: from its holder the payment for unsupported coded scores: risk-adjusted capitation
    #: of the Medicare Advantage kind. Its statements then carry ``gross_capitation_usd``.
    radv_audited: ClassVar[bool] = False

    def __init__(self, config: Any, label: str) -> None:
        self.config = config
        self.label = label

    @property
    def holder(self) -> str:
        """The provider that holds the contract."""
        return getattr(self.config, "aco", None) or self.config.provider

    def needs_history(self) -> bool:
        """Whether it needs the three baseline years before its participation."""
        return bool(self.config.requires_history())

    def is_reference(self) -> bool:
        """Whether it is the reference payment (plain fee-for-service): nothing it pays
        depends on the levers beyond the fees themselves."""
        return False

    def covered(self, ctx: Context, year: int, claims: dict[str, np.ndarray]
                ) -> np.ndarray | None:
        """Claims taken out of fee-for-service (none by default)."""
        return None

    def coverage(self, ctx: Context, provider: int) -> tuple[int, str] | None:
        """``(payer index, scope)`` of the claims it takes out of fee-for-service when
        ``provider`` decides its levers (``primary_care`` or ``total_cost``; either scope
        includes the provider's own services), or None."""
        return None

    def settle(self, ctx: Context, year: int, book: Book) -> list[tuple[str, Statement]]:
        """Record the year's flows; return ``(entity, statement)`` pairs."""
        raise NotImplementedError

    def expected_payoff(self, ctx: Context, year: int, inp: PayoffInputs
                        ) -> tuple[float, float] | None:
        """Mean and variance of this contract's payoff to ``inp.provider`` in ``year`` under
        the expected panel ``inp.exp`` (None: the contract pays that provider nothing that
        its levers move), computed with the rules that settle. Behaviour derives each
        lever's incentive from it."""
        return None


#: What :func:`check_settler_class` requires of a settler class that does not subclass
#: :class:`BaseSettler`.
SETTLER_METHODS = ("covered", "settle", "coverage", "expected_payoff", "is_reference",
                   "needs_history")
SETTLER_ATTRIBUTES = ("type_name", "pays_per_service", "flow_kinds", "shown_statements")


def settlement_kinds(settlers: list[type[BaseSettler]], what: str = SETTLEMENT
                     ) -> frozenset[str]:
    """The flow kinds the ``settlers`` count as ``what`` (:data:`SETTLEMENT` or
    :data:`CAPITATION`)."""
    return frozenset(k for s in settlers for k, counts_as in s.flow_kinds.items()
                     if counts_as == what)


def participation_start(sc: Any, contract_type: str, payer: str, holder: str,
                        year: int) -> int:
    """First year of the holder's continuous participation in ``contract_type`` with the
    payer, up to ``year`` (baseline years are the three years before it); ``sc`` is the
    scenario."""
    return plan_participation_start(sc.plan, sc.horizon_years, contract_type, payer, holder,
                                    year)


def per_capita(ctx: Context, year: int, payer: int, provider: int,
               spend: np.ndarray) -> tuple[float, float, float]:
    """Per-capita spending, person-years and person-year-weighted mean risk score of the
    payer's members attributed to ``provider`` in ``year``."""
    m = ctx.members(year, payer, provider)
    py = ctx.person_years(year)[m]
    total_py = float(py.sum())
    if total_py <= 0:
        raise ValueError(f"no members of payer {ctx.payer_names[payer]} attributed to "
                         f"{ctx.provider_names[provider]} in plan year {year}")
    risk = float(np.average(ctx.risk(year)[m], weights=py))
    return float(spend[m].sum()) / total_py, total_py, risk


def provider_quality(ctx: Context, year: int, provider: int, payer: int
                     ) -> float:
    """Quality score of a provider: its attributed patients (primary care) or, for
    providers without a panel, all of the payer's members."""
    if ctx.provider_kinds[provider] == "primary_care":
        mask = ctx.members(year, payer, provider)
        label = f"{ctx.payer_names[payer]}/{ctx.provider_names[provider]}"
    else:
        mask = ctx.members(year, payer)
        label = f"payer:{ctx.payer_names[payer]}"  # names cannot hold ':' or '/'
    return ctx.quality(year, mask, label)[0]


def check_history(ctx: Context, years: tuple[int, ...] | list[int], what: str) -> None:
    """Refuse baseline years the run did not record."""
    first = ctx.ledger.first_year
    missing = [y for y in years if y < first]
    if missing:
        raise ValueError(f"{what} needs baseline years {list(years)} but the run recorded "
                         f"history only from plan year {first}; set warmup_years >= "
                         f"{2 - min(missing)} or start the contract later")
