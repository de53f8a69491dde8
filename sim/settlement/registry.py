"""The contract interface and the registry from the YAML ``type:`` name.

A contract settler is built from its validated configuration (a model of
``sim.scenario.payment``) and, for each plan year it is in force:

* ``covered(ctx, year, claims)`` says which claims it takes out of fee-for-service (only
  capitation-like contracts do), and who pays for them instead;
* ``settle(ctx, year, book)`` records its cash flows in the cash book and returns the
  itemised :class:`~sim.contracts.statement.Statement`.

New payment models register a class with :func:`register`; a scenario then selects it
with ``type: <name>`` (its configuration model must also be part of the schema).
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

if TYPE_CHECKING:
    from sim.contracts.statement import Statement
    from sim.settlement.book import CashBook
    from sim.settlement.context import SettlementContext


class Coverage(Protocol):
    """Claims a contract pays instead of fee-for-service."""

    mask: np.ndarray  # which of the year's claims are covered
    payer_of_record: str  # the provider that pays covered claims of other providers


class ContractSettler(Protocol):
    """What every contract implements."""

    type_name: ClassVar[str]
    config: Any

    def covered(self, ctx: SettlementContext, year: int, claims: dict[str, np.ndarray]
                ) -> np.ndarray | None:
        """Mask of claims taken out of FFS (None: none)."""

    def settle(self, ctx: SettlementContext, year: int, book: CashBook) -> Statement:
        """Settle plan year ``year``: record flows, return the statement."""


REGISTRY: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make a settler available under its ``type_name``."""
    REGISTRY[cls.type_name] = cls
    return cls


#: Payment models written in Python, selected with ``type: custom, kind: <name>``.
CUSTOM_REGISTRY: dict[str, type] = {}


def register_custom(kind: str, cls: type) -> type:
    """Make a Python settler class available to scenarios as ``type: custom, kind: <kind>``.

    The class follows the settler interface (see ``sim.settlement.base.BaseSettler``):
    ``covered``, ``settle`` and, for behaviour, ``expected_payoff``.
    """
    CUSTOM_REGISTRY[kind] = cls
    return cls


def settler_for(config: Any, label: str) -> ContractSettler:
    """The settler of a contract configuration."""
    if config.type == "custom":
        return _custom_class(config.kind, label)(config, label)
    try:
        cls = REGISTRY[config.type]
    except KeyError:
        raise ValueError(f"no contract registered for type {config.type!r}; "
                         f"registered: {', '.join(sorted(REGISTRY))}") from None
    return cls(config, label)


def custom_contracts_for_workers(scenarios: Iterable[Any]) -> tuple[tuple[str, bytes], ...]:
    """The custom settlers registered in this process that ``scenarios`` use, serialised for
    worker processes (which start without this process's registrations).

    ``cloudpickle`` serialises a class defined in ``__main__`` (a notebook, a script) by
    value, and one from an importable module by reference. Raises ``ValueError`` naming the
    contract if a class cannot be serialised.
    """
    kinds = sorted({c.kind for sc in scenarios for period in sc.plan for c in period.contracts
                    if c.type == "custom" and c.kind in CUSTOM_REGISTRY})
    if not kinds:
        return ()
    import cloudpickle

    out = []
    for kind in kinds:
        cls = CUSTOM_REGISTRY[kind]
        try:
            out.append((kind, cloudpickle.dumps(cls)))
        except Exception as exc:
            raise ValueError(
                f"custom contract {kind!r} ({cls.__qualname__}) cannot be sent to worker "
                f"processes: {type(exc).__name__}: {exc}; run in this process (workers=1) or "
                "give kind: 'package.module:Class'") from exc
    return tuple(out)


_RECEIVED: dict[str, bytes] = {}


def install_custom_contracts(contracts: Iterable[tuple[str, bytes]]) -> None:
    """Register, in a worker process, the settlers of :func:`custom_contracts_for_workers`
    (again only when one changed since the last call, e.g. on a long-lived Dask worker)."""
    for kind, blob in contracts:
        if _RECEIVED.get(kind) != blob:
            CUSTOM_REGISTRY[kind] = pickle.loads(blob)  # noqa: S301 - sent by our own parent
            _RECEIVED[kind] = blob


def _custom_class(kind: str, label: str) -> type:
    """A registered custom settler, or ``package.module:Class`` imported by path (which also
    works in worker processes, where registrations made elsewhere are unknown)."""
    if kind in CUSTOM_REGISTRY:
        return CUSTOM_REGISTRY[kind]
    if ":" in kind:
        module, _, name = kind.partition(":")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"contract {label}: cannot import custom contract {kind!r}: "
                             f"{exc}") from None
    raise ValueError(f"contract {label}: no custom contract registered as {kind!r}; "
                     f"registered in this process: {', '.join(sorted(CUSTOM_REGISTRY)) or 'none'}"
                     " (register it with sim.settlement.register_custom before the run, or "
                     "give kind: 'package.module:Class')")
