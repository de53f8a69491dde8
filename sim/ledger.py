"""The claims ledger: what a run produced, in columns (never a Python object per claim).

* ``claims`` — one row per claim: ``patient`` (int32), ``provider`` (int16, index into the
  run's provider names), ``service`` (int8, :class:`sim.services.Service`), ``year``
  (int16, plan year), ``day`` (float32, days since the start) and ``amount`` (float64,
  allowed amount at the fee schedule, USD). The spending ``category`` follows from the
  service (:data:`CATEGORY_BY_CODE`).
* ``admissions`` — one row per hospital stay (dated at discharge): patient, admit and
  discharge day, bed wait, kind (``ADMISSION_KINDS``), via the ED, SNF days, home health,
  the plan year, and the clinical ``group`` (int8, :class:`sim.stay_groups.StayGroup`)
  with its severity ``mcc`` (bool, the "with MCC" MS-DRG of the family).
* ``events`` — deaths and diabetic-control changes.
* ``patient_year`` — per recorded year and patient (row ``year - first_year``; use
  :meth:`Ledger.pyear`): person-years, QALYs, coded risk score, age, and whether the
  patient was a member at any time in the year. Years ``first_year..-1`` are history:
  warm-up years kept when a contract needs baseline years.
* ``year_stats`` — per plan year: primary-care access figures and diabetic control.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.constants import AdmissionKind
from sim.services import CATEGORY_OF, Category, Service

CLAIM_DTYPES = {
    "patient": np.int32,
    "provider": np.int16,
    "service": np.int8,
    "year": np.int16,
    "day": np.float32,
    "amount": np.float64,
}

#: Category code of each service code (index by service code).
CATEGORY_BY_CODE = np.array([CATEGORY_OF[s] for s in Service], dtype=np.int8)

#: Kinds of hospital stay (codes 1-4 follow the DES hazard indices).
ADMISSION_KINDS = {int(k): k.name.lower() for k in AdmissionKind}

#: Tables derived from frozen (read-only) ledger arrays, computed once per arrays and key
#: (:func:`frozen_memo`): ids of the arrays -> (weak references to them, {key: value}).
_FROZEN: dict[tuple[int, ...], tuple[tuple[weakref.ref, ...], dict]] = {}


def frozen_memo(arrays: tuple[np.ndarray, ...], key: Any, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per ``key`` and tuple of frozen ``arrays`` (e.g. a closed year's
    claim columns, or the stays), which it must depend on alone; computed afresh when an
    array is writeable (nothing proves it unchanged). The value is shared: never modify it.
    The entry goes when the first array is freed (weak references prove that the ids
    still name the arrays)."""
    if any(a.flags.writeable for a in arrays):
        return compute()
    ids = tuple(id(a) for a in arrays)
    entry = _FROZEN.get(ids)
    if entry is None or any(r() is not a for r, a in zip(entry[0], arrays, strict=True)):
        refs = (weakref.ref(arrays[0], lambda _r, k=ids: _FROZEN.pop(k, None)),
                *(weakref.ref(a) for a in arrays[1:]))
        entry = (refs, {})
        _FROZEN[ids] = entry
    table = entry[1]
    if key not in table:
        table[key] = compute()
    return table[key]


def service_rows(service: np.ndarray, code: int) -> np.ndarray:
    """Indices (in order, read-only) of the claims of service ``code`` in the ``service``
    column, once per frozen column (:func:`frozen_memo`; e.g. a year's office visits, which
    attribution, costs and quality measures all select)."""
    def compute() -> np.ndarray:
        out = np.flatnonzero(service == code)
        out.flags.writeable = False
        return out

    return frozen_memo((service,), ("service_rows", int(code)), compute)


def patient_sums(patient: np.ndarray, weights: np.ndarray, n_patients: int) -> np.ndarray:
    """``np.bincount(patient, weights=weights, minlength=n_patients)`` (each patient's sum, its
    claims added in order), once per frozen pair of columns (:func:`frozen_memo`): shared,
    never modify it."""
    def compute() -> np.ndarray:
        out = np.bincount(patient, weights=weights, minlength=n_patients)
        out.flags.writeable = False
        return out

    return frozen_memo((patient, weights), ("patient_sums", n_patients), compute)


@dataclass
class Ledger:
    """Columnar record of one run (see the module docstring for the tables).

    Claims are appended during a year and frozen into that year's block by
    :meth:`close_year` (read-only arrays; the ``year`` column a broadcast of the year);
    :attr:`claims` is every closed year's claims in one set of columns (built on first use
    after a year closes), :meth:`claims_in` one year's block without a copy.
    """

    admissions: dict[str, np.ndarray] = field(default_factory=dict)
    events: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    patient_year: dict[str, np.ndarray] = field(default_factory=dict)
    year_stats: dict[int, dict[str, float]] = field(default_factory=dict)
    first_year: int = 0  # plan years first_year..-1 are history (warm-up kept for baselines)
    provider_names: list[str] = field(default_factory=list)
    _blocks: dict[int, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    _all: dict[str, np.ndarray] | None = field(default=None, repr=False)
    _chunks: list[dict[str, np.ndarray]] = field(default_factory=list, repr=False)
    _service_counts: np.ndarray = field(
        default_factory=lambda: np.zeros(len(Service), np.int64), repr=False)
    #: claims per service code of each closed year's block (counted once, at its close)
    _year_counts: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _adm_chunks: list[dict[str, np.ndarray]] = field(default_factory=list, repr=False)

    def add_claims(self, year: int, patient: np.ndarray, provider: np.ndarray,
                   service: int | np.ndarray, day: np.ndarray, amount: np.ndarray) -> None:
        """Append claims of plan year ``year`` (arrays of equal length; ``service`` may be a
        single code)."""
        n = len(patient)
        if n == 0:
            return
        chunk = {
            "patient": np.asarray(patient, CLAIM_DTYPES["patient"]),
            "provider": np.broadcast_to(np.asarray(provider, CLAIM_DTYPES["provider"]), (n,)),
            "service": np.broadcast_to(np.asarray(service, CLAIM_DTYPES["service"]), (n,)),
            "day": np.asarray(day, CLAIM_DTYPES["day"]),
            "amount": np.asarray(amount, CLAIM_DTYPES["amount"]),
        }
        self._chunks.append(chunk)  # counted by service when the year closes

    def add_admissions(self, chunk: dict[str, np.ndarray]) -> None:
        """Append a block of hospital stays."""
        if len(chunk["patient"]):
            self._adm_chunks.append(chunk)

    def close_year(self, year: int) -> None:
        """Freeze the claims appended since the last close into plan year ``year``'s block
        (read-only columns) and append the new hospital stays to :attr:`admissions`."""
        chunks, self._chunks = self._chunks, []
        block = {}
        for k, t in CLAIM_DTYPES.items():  # one column at a time, freeing chunks as we go
            if k == "year":  # the same in every row: a read-only broadcast, no memory
                n = sum(len(c["amount"]) for c in chunks) if chunks else 0
                block[k] = np.broadcast_to(np.asarray(year, t), (n,))
                continue
            block[k] = np.concatenate([c.pop(k) for c in chunks]).astype(t, copy=False) \
                if chunks else np.empty(0, t)
            block[k].flags.writeable = False
        self._blocks[year] = block
        counts = np.bincount(block["service"], minlength=len(Service))
        counts.flags.writeable = False
        self._year_counts[year] = counts
        self._service_counts = self._service_counts + counts
        self._all = None
        adm, self._adm_chunks = self._adm_chunks, []
        if self.admissions:
            adm.insert(0, self.admissions)
        if adm:
            self.admissions = {k: np.concatenate([c[k] for c in adm]) for k in adm[0]}
            for v in self.admissions.values():  # frozen, like the claims blocks
                v.flags.writeable = False

    @property
    def years(self) -> list[int]:
        """Plan years closed so far (history years included), in order."""
        return list(self._blocks)

    def claims_in(self, year: int) -> dict[str, np.ndarray]:
        """Claims of plan year ``year`` (read-only columns; empty if the year is not closed)."""
        block = self._blocks.get(year)
        if block is None:
            return {k: np.empty(0, t) for k, t in CLAIM_DTYPES.items()}
        return dict(block)

    @property
    def claims(self) -> dict[str, np.ndarray]:
        """Claims of every closed year, in one set of columns (year by year, in order)."""
        if len(self._blocks) == 1:  # one year (e.g. :meth:`only_year`): no copy
            return next(iter(self._blocks.values()))
        if self._all is None:
            blocks = list(self._blocks.values())
            self._all = {k: np.concatenate([b[k] for b in blocks]) if blocks
                         else np.empty(0, t) for k, t in CLAIM_DTYPES.items()}
        return self._all

    def only_year(self, year: int) -> Ledger:
        """This ledger with the claims of plan year ``year`` only (other tables shared)."""
        view = Ledger(admissions=self.admissions, events=self.events,
                      patient_year=self.patient_year, year_stats=self.year_stats,
                      first_year=self.first_year, provider_names=self.provider_names)
        if year in self._blocks:
            view._blocks[year] = self._blocks[year]  # noqa: SLF001 - same class
            view._year_counts[year] = self.service_counts(year)  # noqa: SLF001
        return view

    def __len__(self) -> int:
        return sum(len(b["amount"]) for b in self._blocks.values()) + sum(
            len(c["amount"]) for c in self._chunks)

    def pyear(self, key: str, year: int) -> np.ndarray:
        """Row of patient-year table ``key`` for plan year ``year`` (negative: history)."""
        return self.patient_year[key][year - self.first_year]

    @property
    def category(self) -> np.ndarray:
        """Spending category of every claim."""
        return CATEGORY_BY_CODE[self.claims["service"]]

    def count_by_service(self) -> dict[str, int]:
        """Number of claims per service name (closed years and claims appended since)."""
        counts = self._service_counts + sum(
            (np.bincount(c["service"], minlength=len(Service)) for c in self._chunks),
            np.zeros(len(Service), np.int64))
        return {s.name.lower(): int(counts[s]) for s in Service}

    def service_counts(self, year: int) -> np.ndarray:
        """Claims per service code in closed plan year ``year`` (read-only; zeros if the
        year is not closed)."""
        counts = self._year_counts.get(year)
        if counts is None:  # not closed here (a block set directly): counted now
            counts = np.bincount(self.claims_in(year)["service"], minlength=len(Service))
        return counts

    def spend_by_category(self, year: int) -> dict[str, float]:
        """Allowed amount per spending category in plan year ``year``."""
        claims = self.claims_in(year)
        sums = np.bincount(CATEGORY_BY_CODE[claims["service"]], weights=claims["amount"],
                           minlength=len(Category))
        return {c.name.lower(): float(sums[c]) for c in Category}
