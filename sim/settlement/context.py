"""What contracts see of a run: claims with their payer, members, risk, quality measures.

A :class:`SettlementContext` is built from a ledger, the population (each patient's
payer and attributed provider) and the providers (one direction: ledger -> contracts),
once for each plan year settled and for each behaviour decision, over the years closed
so far. It knows nothing of SimPy or of the care model. Every query is a vectorised
aggregate over the claims or the patient-year tables.

Which patients a contract counts for a provider (:meth:`SettlementContext.members` with a
provider) is, with ``attribution.enabled``, the CMS assignment of the year computed from
the ledger's claims (:func:`sim.attribution.assigned_in`: plurality of primary-care
charges, Medicare Advantage excluded); otherwise the provider's panel. The assigned
beneficiaries' spending includes what outside providers billed for them (leakage).
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from sim.attribution import NOT_ASSIGNED, assigned_in
from sim.coding.denials import REWORKED, WRITTEN_OFF, draw_outcomes
from sim.contracts.quality import Scale, scale_from_scenario, score_measures
from sim.economics import VARIABLE_COST_SHARE
from sim.ledger import Ledger, frozen_memo, patient_sums, service_rows
from sim.population import Population
from sim.providers import ProviderTable, is_outside
from sim.quality_measures import MEASURES, measure_counts, measure_values, readmitted_within_30d
from sim.scenario.payment import DEFAULT_COST_TO_CHARGE
from sim.scenario.schema import Scenario
from sim.services import reference_price_ratio

#: Per-year tables shared by every context of the same ledger (section "Shared per-year
#: tables" of :class:`SettlementContext`): closed year's claims block (its ``amount``
#: column, by id, with a weak reference that proves the id still names it) -> {key: value}.
_SHARED: dict[int, tuple[weakref.ref, dict]] = {}


def _digest(a: np.ndarray) -> bytes:
    a = np.ascontiguousarray(a)
    return hashlib.blake2b(str((a.dtype.str, a.shape)).encode() + a.tobytes(),
                           digest_size=16).digest()


@dataclass
class SettlementContext:
    """Claims, members and measures of one replication, ready for settlement."""

    scenario: Scenario
    ledger: Ledger
    patient_payer: np.ndarray  # payer index per patient
    patient_provider: np.ndarray  # attributed primary-care provider per patient
    provider_names: list[str]
    provider_kinds: list[str]
    payer_names: list[str]
    _cache: dict = field(default_factory=dict, repr=False)
    #: the replication's seed sequence: draws claim denials (``revenue_cycle.denials``);
    #: None (e.g. the behaviour model's context): every claim is paid as submitted
    seed_seq: np.random.SeedSequence | None = field(default=None, repr=False)

    # Shared per-year tables. A context is built once per settled year and per behaviour
    # decision, and each looks at several closed years (benchmark years, last year's
    # spending): the claims with payer, attribution and payer prices, the CMS assignment,
    # spending per patient and truncated spending of a *closed* year depend only on that
    # year's frozen claims block, the patients' payers and providers and the scenario, so
    # they are computed once per ledger and shared (the same arrays: results unchanged).
    @cached_property
    def _token(self) -> tuple:
        """What the shared tables depend on besides the year's claims block."""
        return (id(self.scenario), tuple(self.provider_names), tuple(self.provider_kinds),
                tuple(self.payer_names), _digest(self.patient_payer),
                _digest(self.patient_provider), self._denial_key)

    @property
    def _denial_key(self) -> tuple | None:
        """Which claim denials this context applies (None: every claim paid as submitted);
        tables built from paid claims are shared only between contexts that agree."""
        if not self.scenario.revenue_cycle.denials.enabled or self.seed_seq is None:
            return None
        return (self.seed_seq.entropy, tuple(self.seed_seq.spawn_key))

    def _shared(self, year: int) -> dict | None:
        """The shared tables of closed year ``year`` (None: the year is not closed)."""
        if year not in self.ledger.years:
            return None
        amount = self.ledger.claims_in(year)["amount"]
        entry = _SHARED.get(id(amount))
        if entry is None or entry[0]() is not amount:
            key = id(amount)
            entry = (weakref.ref(amount, lambda _r, key=key: _SHARED.pop(key, None)), {})
            _SHARED[key] = entry
        return entry[1].setdefault(self._token, {})

    def _year_memo(self, year: int, key: tuple, compute):  # noqa: ANN001 - any value
        """``compute()`` once per context, and once per ledger for a closed year."""
        if key not in self._cache:
            shared = self._shared(year)
            if shared is None:
                self._cache[key] = compute()
            else:
                if key not in shared:
                    shared[key] = compute()
                self._cache[key] = shared[key]
        return self._cache[key]

    def claim_rows(self, year: int, services: np.ndarray) -> np.ndarray:
        """Indices (in order, read-only) of the claims of ``year`` whose service code is
        marked in the boolean table ``services`` (by service code); once per closed year's
        block (e.g. the professional services an FFS contract counts every year)."""
        service = self.ledger.claims_in(year)["service"]

        def compute() -> np.ndarray:
            out = np.flatnonzero(services[service])
            out.flags.writeable = False
            return out

        return frozen_memo((service,), ("claim_rows", services.tobytes()), compute)

    @classmethod
    def of(cls, sc: Scenario, ledger: Ledger, population: Population,
           providers: ProviderTable, seed_seq: np.random.SeedSequence | None = None
           ) -> SettlementContext:
        """The context of ``ledger`` (the years closed so far) for ``population`` and
        ``providers`` (``seed_seq``: the replication's, which draws claim denials)."""
        return cls(scenario=sc, ledger=ledger, patient_payer=population.payer,
                   patient_provider=population.provider,
                   provider_names=list(providers.names),
                   provider_kinds=list(providers.kinds),
                   payer_names=[p.name for p in sc.payers], seed_seq=seed_seq)

    # ------------------------------------------------------------------ lookups
    def provider_index(self, name: str) -> int:
        """Index of provider ``name``."""
        return self.provider_names.index(name)

    def payer_index(self, name: str) -> int:
        """Index of payer ``name``."""
        return self.payer_names.index(name)

    @cached_property
    def price_factor(self) -> np.ndarray:
        """Price factor of each payer."""
        return np.array([p.price_factor for p in self.scenario.payers])

    @cached_property
    def cost_to_charge(self) -> np.ndarray:
        """Unit cost per USD of fee-schedule amount, per provider (implicit ones by kind)."""
        by_name = {p.name: p.costs.cost_to_charge for p in self.scenario.providers}
        return np.array([
            by_name.get(n) if by_name.get(n) is not None else DEFAULT_COST_TO_CHARGE[k]
            for n, k in zip(self.provider_names, self.provider_kinds, strict=True)])

    @cached_property
    def variable_share(self) -> np.ndarray:
        """Share of each provider's unit cost that varies with volume (``costs.variable_share``,
        by kind when not given; :mod:`sim.economics.costs`)."""
        by_name = {p.name: p.costs.variable_share for p in self.scenario.providers}
        return np.array([
            by_name.get(n) if by_name.get(n) is not None else VARIABLE_COST_SHARE[k]
            for n, k in zip(self.provider_names, self.provider_kinds, strict=True)])

    @cached_property
    def variable_cost_to_charge(self) -> np.ndarray:
        """Variable (marginal) unit cost per USD of fee-schedule amount, per provider."""
        return self.cost_to_charge * self.variable_share

    @cached_property
    def reference_ratio(self) -> np.ndarray:
        """Per service code: reference-fee-schedule price / scenario price (the reference:
        ``Scenario.reference_prices``, else the default schedule)."""
        return np.array(reference_price_ratio(self.scenario.prices,
                                              self.scenario.fee_reference))

    def own_cost(self, claims: dict[str, np.ndarray]) -> np.ndarray:
        """Unit cost to the billing provider of each claim: cost-to-charge ratio x the
        claim's amount at the reference fee schedule (an office visit's at the visit price
        whatever E/M level it was paid at: coding uses no care resources, sim.coding.fees)."""
        service, provider = claims["service"], claims["provider"]
        ratio, ctc = self.reference_ratio, self.cost_to_charge
        # np.take: the same values as indexing, without converting the small index types
        out = claims["amount"] * ratio.take(service) * ctc.take(provider)
        if self.scenario.coding_fees.em_level_pricing:  # issue 13: E/M level pricing
            from sim.coding.fees import resource_prices

            # an office visit at the flat visit price (as fees.resource_amount prices it):
            # the same products, price x ratio x cost-to-charge, on the visits' rows alone
            for code, price in resource_prices(self.scenario.prices):
                rows = service_rows(service, code)
                out[rows] = np.float64(price) * ratio[code] * ctc.take(provider.take(rows))
        return out

    def variable_cost(self, claims: dict[str, np.ndarray]) -> np.ndarray:
        """The variable part of :meth:`own_cost`: what each claim's service costs its
        provider at the margin (the rest of the unit cost is capacity, paid anyway)."""
        return self.own_cost(claims) * self.variable_share.take(claims["provider"])

    def claims(self, year: int) -> dict[str, np.ndarray]:
        """Claims of plan year ``year`` (the ledger's read-only columns, not copied) with
        ``payer``, ``attributed`` (the provider the patient counts for in the year:
        :meth:`assigned`) and ``paid`` (amount x price factor). With claim denials on
        (``revenue_cycle.denials``, :mod:`sim.coding.denials`) also ``denial`` (each claim's
        outcome) and ``billed`` (amount x price factor); ``paid`` is then 0 for claims
        written off, which the payer never pays."""
        key = ("claims", year)
        if key not in self._cache:
            out = self.ledger.claims_in(year)

            def compute() -> dict[str, np.ndarray]:
                # Derived columns only: the shared tables must not hold the ledger's own
                # arrays (the year's block is what frees them, see _shared).
                # np.take: the same values as indexing, without converting the index type
                pp = self.patient_payer
                payer = (np.full(len(out["patient"]), pp[0], pp.dtype)  # one payer: no gather
                         if len(pp) and (pp == pp[0]).all() else pp.take(out["patient"]))
                # every price factor 1 (x * 1.0 == x): None, the amounts themselves below
                paid = None if (self.price_factor == 1.0).all() else \
                    out["amount"] * self.price_factor.take(payer)
                return {"payer": payer,
                        "attributed": self.assigned(year).take(out["patient"]),
                        "paid": paid}

            out.update(self._year_memo(year, ("claims_derived", year), compute))
            if out["paid"] is None:
                out["paid"] = out["amount"]
            denials = self.scenario.revenue_cycle.denials
            if denials.enabled and self.seed_seq is not None:
                out["denial"] = draw_outcomes(self.seed_seq, year, out["service"], denials)
                out["billed"] = out["paid"]
                out["paid"] = np.where(out["denial"] == WRITTEN_OFF, 0.0, out["billed"])
            self._cache[key] = out
        return self._cache[key]

    # ------------------------------------------------------------------ members
    def members(self, year: int, payer: int | None = None, provider: int | None = None
                ) -> np.ndarray:
        """Boolean mask of patients who were members in ``year`` (optionally of a payer and
        attributed to a provider)."""
        m = self.ledger.pyear("member", year).copy()
        if payer is not None:
            m &= self.patient_payer == payer
        if provider is not None:
            m &= self.assigned(year) == provider
        return m

    def assigned(self, year: int) -> np.ndarray:
        """Per patient, the primary-care provider it counts for in ``year`` (-1: none): with
        attribution on, for a group that holds an ACO contract (``assigned_by_cms``) in any
        plan year, the CMS assignment of the year; for every other group its panel."""
        att = self.scenario.attribution
        groups = self.aco_groups
        if not att.enabled or not groups:
            return self.patient_provider

        def compute() -> np.ndarray:
            cms = assigned_in(self.ledger, year, att.method, groups, self.provider_kinds,
                              len(self.patient_provider))
            out = np.where(np.isin(self.patient_provider, groups), NOT_ASSIGNED,
                           self.patient_provider)
            return np.where(cms >= 0, cms, out)

        return self._year_memo(year, ("assigned", year), compute)

    @cached_property
    def aco_groups(self) -> list[int]:
        """Primary-care groups that hold an ACO contract (CMS-assigned) in some plan year."""
        holders = {c.holder for period in self.scenario.plan for c in period.contracts
                   if getattr(c, "assigned_by_cms", False)}
        return [i for i, (n, k) in enumerate(zip(self.provider_names, self.provider_kinds,
                                                 strict=True))
                if k == "primary_care" and not is_outside(n) and n in holders]

    def person_years(self, year: int) -> np.ndarray:
        """Person-years per patient in ``year``."""
        return self.ledger.pyear("person_years", year)

    def risk(self, year: int) -> np.ndarray:
        """Coded risk score per patient in ``year``."""
        return self.ledger.pyear("risk_score", year)

    def spend_per_patient(self, year: int, paid: bool = True) -> np.ndarray:
        """Spending per patient in ``year`` (payer prices when ``paid``)."""
        def compute() -> np.ndarray:
            c = self.claims(year)
            w = c["paid"] if paid else c["amount"]
            # shared with every other sum of the same frozen columns (population metrics)
            return patient_sums(c["patient"], w, len(self.patient_payer))

        return self._year_memo(year, ("spend", year, paid), compute)

    def truncated_spend(self, year: int, payer: int, pct: float = 99.0
                        ) -> tuple[np.ndarray, float]:
        """Per-patient spending truncated at the ``pct`` percentile of annualised spending
        among all the payer's members (the "national" population of the simulation), and
        the threshold. MSSP truncates each beneficiary's annualised expenditure so."""
        def compute() -> tuple[np.ndarray, float]:
            spend = self.spend_per_patient(year)
            py = self.person_years(year)
            members = self.members(year, payer)
            annual = np.where(py > 0, spend / np.maximum(py, 1e-12), 0.0)
            threshold = float(np.percentile(annual[members], pct)) if members.any() else 0.0
            return np.minimum(annual, threshold) * py, threshold

        return self._year_memo(year, ("truncated", year, payer, pct), compute)

    # ------------------------------------------------------------------ quality
    def measures(self, year: int, mask: np.ndarray) -> dict[str, float]:
        """Quality measures of the patients in ``mask`` in ``year`` (NaN: empty denominator,
        not scored; see :mod:`sim.quality_measures`)."""
        readmitted = readmitted_within_30d(self.ledger.admissions)  # once per stays table
        return measure_values(measure_counts(self.ledger, year, mask, claims=self.claims(year),
                                             readmitted=readmitted))

    @cached_property
    def quality_scale(self) -> Scale:
        """The scenario's quality scale as rule objects (APP decile benchmarks or linear
        scales, :func:`sim.contracts.quality.scale_from_scenario`)."""
        return scale_from_scenario(self.scenario.quality, MEASURES)

    def memo(self, key: tuple, compute):  # noqa: ANN001 - any value
        """``compute()`` once per run context and key (for contracts' per-year constants)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def year_memo(self, year: int, key: tuple, compute):  # noqa: ANN001 - any value
        """``compute()`` once per context and key, and for a closed ``year`` once per ledger
        among the contexts that agree on the patients' payers and providers and the scenario
        (the year's behaviour and settlement contexts): for a contract's table that depends
        on that year's claims and those alone. The value is shared: never modify it."""
        return self._year_memo(year, ("year_memo", year, *key), compute)

    def quality(self, year: int, mask: np.ndarray, label: str) -> tuple[float, dict[str, float]]:
        """Quality score (0-100) and measures of the patients in ``mask`` (cached by
        ``label``, which must name the group the mask selects).

        A measure with an empty denominator (NaN) is not scored: the score is the weighted
        mean of the others, as CMS reweights. With no measure to score (nobody in the
        group) the score is NaN."""
        key = ("quality", year, label)
        if key not in self._cache:
            m = self.measures(year, mask)
            st = self.quality_statement(m)
            self._cache[key] = (float("nan") if st is None else float(st["score"]), m)
            self._cache[("quality_statement", year, label)] = st
        return self._cache[key]

    def quality_statement(self, measures: dict[str, float]):  # noqa: ANN201 - Statement | None
        """The quality statement of ``measures`` (NaN measures not scored), or None when no
        measure the scale scores has a value."""
        scored = {k: v for k, v in measures.items()
                  if not np.isnan(v) and k in self.quality_scale}
        return score_measures(scored, self.quality_scale) if scored else None

    def quality_points(self, year: int, label: str) -> tuple[float, float]:
        """Best decile points among outcome measures and among the others of the group
        ``label`` scored by :meth:`quality` (NaN when not APP-scored): what the MSSP
        alternative quality standard looks at."""
        st = self._cache.get(("quality_statement", year, label))
        if st is None or "outcome_points_max" not in st.values:
            return float("nan"), float("nan")
        return float(st["outcome_points_max"]), float(st["other_points_max"])

    # ------------------------------------------------------------------ set by the engine
    def set_coverage(self, year: int, covered: np.ndarray, payer_of_record: np.ndarray) -> None:
        """Record which of the year's claims capitation-like contracts took out of FFS."""
        c = self.claims(year)
        ffs = ~covered
        n_pay, n_prov = len(self.payer_names), len(self.provider_names)
        # one payer: the cell is the provider (the same bins, without two more passes)
        cell = c["provider"] if n_pay == 1 else c["payer"].astype(np.int64) * n_prov + c["provider"]

        def by_cell(rows: np.ndarray) -> np.ndarray:
            # np.bincount adds each cell's claims in claim order from 0, as np.add.at did
            if rows.all():  # every claim: the same sums without copying the columns
                return np.bincount(cell, weights=c["paid"],
                                   minlength=n_pay * n_prov).reshape(n_pay, n_prov)
            return np.bincount(cell[rows], weights=c["paid"][rows],
                               minlength=n_pay * n_prov).reshape(n_pay, n_prov)

        self._cache[("ffs", year)] = by_cell(ffs)
        if "denial" in c:  # the part of it paid late, after rework
            self._cache[("ffs_reworked", year)] = by_cell(ffs & (c["denial"] == REWORKED))
        self._cache[("covered", year)] = (covered, payer_of_record)

    def ffs_paid(self, year: int) -> np.ndarray:
        """USD paid fee-for-service in ``year``, as a (payer, provider) matrix."""
        return self._cache[("ffs", year)]

    def ffs_reworked(self, year: int) -> np.ndarray | None:
        """The part of :meth:`ffs_paid` paid after rework (None: denials off)."""
        return self._cache.get(("ffs_reworked", year))

    def covered(self, year: int) -> tuple[np.ndarray, np.ndarray]:
        """Mask of covered claims and the provider paying each (-1: not covered)."""
        return self._cache[("covered", year)]
