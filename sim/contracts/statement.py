"""Settlement statements: the itemised, uniform result of every contract rule.

A :class:`Statement` says what a contract paid for one period and how: an ordered list
of :class:`Line` steps a reader can follow (label, amount in USD, note), a dict of
named numeric values (rates, totals, flags as 0/1) and a dict of named categorical
facts (track, which cap bound). Every statement also names the cash that moved
between payer and provider, counted twice — once from the payer's side
(``payer_paid_usd``) and once from the provider's side (``provider_received_usd``) —
and refuses to exist if the two differ: money adds up by construction.

Positive amounts flow from payer to provider; negative ones from provider to payer
(e.g. owed shared losses).

``to_frame()`` gives one long table (``contract, kind, item, value, note``) so that
statements of every contract type can be concatenated into one ``settlements``
Parquet file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd

__all__ = ["Line", "Statement", "StatementBuilder", "statements_frame"]

#: Conservation tolerance: |payer paid - provider received| <= abs + rel * |amount|.
CONSERVATION_ABS_USD = 1e-6
CONSERVATION_REL = 1e-9

FRAME_COLUMNS = ["contract", "kind", "item", "value", "note"]


class FrozenDict(dict):
    """A read-only dict that still pickles (statements cross process boundaries)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("statement values are read-only")

    __setitem__ = __delitem__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))


class Line(NamedTuple):
    """One itemised step of a settlement."""

    label: str
    amount_usd: float
    note: str = ""


@dataclass(frozen=True)
class Statement:
    """The itemised result of settling one contract for one period.

    Attributes:
        contract: contract type, e.g. ``"mssp"``, ``"capitation"``.
        lines: ordered itemised steps ``(label, amount_usd, note)``.
        values: named numeric results (USD amounts, rates as fractions, 0/1 flags).
        facts: named categorical results (track, which cap or limit applied).
        payer_paid_usd: net cash the payer paid the provider under this settlement
            (negative: the provider paid the payer).
        provider_received_usd: the same flow counted from the provider's side.
    """

    contract: str
    lines: tuple[Line, ...]
    values: Mapping[str, float]
    facts: Mapping[str, str] = field(default_factory=dict)
    payer_paid_usd: float = 0.0
    provider_received_usd: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(Line(*ln) for ln in self.lines))
        object.__setattr__(
            self, "values", FrozenDict({k: float(v) for k, v in self.values.items()})
        )
        object.__setattr__(
            self, "facts", FrozenDict({k: str(v) for k, v in self.facts.items()})
        )
        paid, received = float(self.payer_paid_usd), float(self.provider_received_usd)
        object.__setattr__(self, "payer_paid_usd", paid)
        object.__setattr__(self, "provider_received_usd", received)
        self._check_conservation()

    def _check_conservation(self) -> None:
        paid, received = self.payer_paid_usd, self.provider_received_usd
        tol = CONSERVATION_ABS_USD + CONSERVATION_REL * max(abs(paid), abs(received))
        if not (math.isfinite(paid) and math.isfinite(received)) or abs(paid - received) > tol:
            raise ValueError(
                f"{self.contract}: money does not add up: payer paid {paid!r} USD "
                f"but provider received {received!r} USD"
            )

    @classmethod
    def _of_normalised(cls, contract: str, lines: tuple[Line, ...], values: FrozenDict,
                       facts: FrozenDict, payer_paid_usd: float,
                       provider_received_usd: float) -> Statement:
        """A statement from parts already in the form ``__post_init__`` gives them (lines
        of :class:`Line`, float values, str facts, float cash; what
        :class:`StatementBuilder` holds): the same statement without converting every item
        again; money is still checked."""
        st = object.__new__(cls)
        for name, v in (("contract", contract), ("lines", lines), ("values", values),
                        ("facts", facts), ("payer_paid_usd", payer_paid_usd),
                        ("provider_received_usd", provider_received_usd)):
            object.__setattr__(st, name, v)
        st._check_conservation()
        return st

    def __getitem__(self, name: str) -> float | str:
        """A named value or fact: ``statement["earned_usd"]``."""
        if name in self.values:
            return self.values[name]
        if name in self.facts:
            return self.facts[name]
        raise KeyError(
            f"{self.contract} statement has no item {name!r}; "
            f"values: {sorted(self.values)}; facts: {sorted(self.facts)}"
        )

    def __getattr__(self, name: str) -> float | str:
        # Attribute access to named values (``st.earned_usd``) for notebook use.
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready dict of the whole statement."""
        return {
            "contract": self.contract,
            "lines": [ln._asdict() for ln in self.lines],
            "values": dict(self.values),
            "facts": dict(self.facts),
            "payer_paid_usd": self.payer_paid_usd,
            "provider_received_usd": self.provider_received_usd,
        }

    def to_frame(self) -> pd.DataFrame:
        """Long table ``contract, kind, item, value, note``.

        ``kind`` is ``line`` (itemised steps, in order), ``value`` (named numbers),
        ``fact`` (named categories; ``value`` is NaN and ``note`` holds the category)
        or ``cash`` (``payer_paid_usd`` and ``provider_received_usd``).
        """
        frame = pd.DataFrame(self.rows(), columns=FRAME_COLUMNS)
        frame["value"] = frame["value"].astype("float64")
        return frame

    def rows(self) -> list[tuple[str, str, str, float, str]]:
        """The rows of :meth:`to_frame` as tuples (``contract, kind, item, value, note``)."""
        rows: list[tuple[str, str, str, float, str]] = []
        rows += [(self.contract, "line", ln.label, ln.amount_usd, ln.note) for ln in self.lines]
        rows += [(self.contract, "value", k, v, "") for k, v in self.values.items()]
        rows += [(self.contract, "fact", k, math.nan, v) for k, v in self.facts.items()]
        rows += [
            (self.contract, "cash", "payer_paid_usd", self.payer_paid_usd, "payer side"),
            (self.contract, "cash", "provider_received_usd", self.provider_received_usd,
             "provider side"),
        ]
        return rows

    def __str__(self) -> str:
        width = max([len(ln.label) for ln in self.lines] + [10])
        out = [f"{self.contract} settlement"]
        out += [f"  {ln.label:<{width}} {ln.amount_usd:>18,.2f}  {ln.note}" for ln in self.lines]
        out.append(f"  {'payer -> provider':<{width}} {self.payer_paid_usd:>18,.2f}")
        return "\n".join(out)


class StatementBuilder:
    """Collects lines, values and facts while a rule is applied, then freezes them."""

    def __init__(self, contract: str) -> None:
        self.contract = contract
        self.lines: list[Line] = []
        self.values: dict[str, float] = {}
        self.facts: dict[str, str] = {}

    def line(self, label: str, amount_usd: float, note: str = "") -> float:
        """Add an itemised step and return its amount (for chaining in formulas)."""
        self.lines.append(Line(label, float(amount_usd), note))
        return float(amount_usd)

    def value(self, name: str, val: float) -> float:
        self.values[name] = float(val)
        return float(val)

    def fact(self, name: str, val: str) -> str:
        self.facts[name] = str(val)
        return str(val)

    def build(self, payer_paid_usd: float = 0.0, provider_received_usd: float | None = None
              ) -> Statement:
        """Freeze; ``provider_received_usd`` defaults to the payer-side amount."""
        received = payer_paid_usd if provider_received_usd is None else provider_received_usd
        # line(), value() and fact() keep every item in its final form: no conversion again
        return Statement._of_normalised(
            self.contract, tuple(self.lines), FrozenDict(self.values), FrozenDict(self.facts),
            float(payer_paid_usd), float(received))


def statements_frame(statements: Iterable[Statement], **ids: Any) -> pd.DataFrame:
    """Concatenate statements into one long table, prefixed by constant ID columns.

    ``statements_frame(sts, replication=0, scenario="base", year=2025)`` gives the
    columns ``replication, scenario, year, contract, kind, item, value, note``.
    """
    frames = [s.to_frame() for s in statements]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=FRAME_COLUMNS)
    for pos, (name, val) in enumerate(ids.items()):
        out.insert(pos, name, val)
    return out
