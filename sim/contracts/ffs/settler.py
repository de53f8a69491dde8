"""Fee-for-service settler: the FFS statement per provider, MIPS and the APM incentive.

The claims themselves are paid by the settlement engine (every claim not covered by a
capitation contract, at the payer's prices). This contract adds, for the payer's
Physician Fee Schedule:

* **MIPS** (``pay_for_performance``): each MIPS eligible clinician group (primary care,
  specialists; never hospitals or post-acute providers) has its payments for covered
  professional services (the professional claims it bills, not labs, not facility fees)
  in payment year ``y`` adjusted by the score of performance year ``y - mips_lag_years``
  (SSA s. 1848(q)(6)), with the national scaling factor of the payment year (or
  budget-neutral over the scenario's providers); exempt: qualifying APM participants and
  groups under the low-volume threshold of their performance year (42 CFR 414.1305).
* **The APM incentive payment** (``apm_incentive``): a clinician group that was a
  qualifying APM participant (QP) in year ``y - 2`` (it held an Advanced APM contract with
  the payer and received at least ``qp_payment_threshold`` of its professional payments
  for that entity's patients) receives the rate of its QP year times its professional
  payments of year ``y - 1`` (42 CFR 414.1450), as its own cash-flow kind.
"""

from __future__ import annotations

import numpy as np

from sim.contracts.expectation import PayoffInputs
from sim.contracts.ffs.config import FFSContract
from sim.contracts.ffs.rules import (
    apm_incentive,
    budget_neutral_scaling,
    low_volume_exempt,
    mips_adjustment,
    national_scaling,
    settle_ffs,
)
from sim.contracts.settler import SETTLEMENT, BaseSettler, Book, Context, provider_quality
from sim.contracts.statement import Statement
from sim.services import Service

#: Provider kinds that are MIPS eligible clinicians (Physician Fee Schedule billers).
CLINICIAN_KINDS = ("primary_care", "specialist")
#: Covered professional services (SSA s. 1848(k)(3)(A)): the fee-schedule professional
#: claims; laboratory tests are paid on the clinical laboratory fee schedule instead.
PROFESSIONAL = np.zeros(len(Service), bool)
PROFESSIONAL[[Service.PCP_VISIT, Service.SPECIALIST_VISIT, Service.IMAGING_PROFESSIONAL,
              Service.ED_PROFESSIONAL, Service.INPATIENT_PROFESSIONAL,
              Service.ELECTIVE_PROFESSIONAL, Service.OUTPATIENT_PROCEDURE_PROFESSIONAL,
              Service.CHRONIC_PROFESSIONAL]] = True
PROFESSIONAL.setflags(write=False)


def professional(ctx: Context, year: int, payer: int, provider: int,
                 ffs_only: bool = True) -> tuple[float, int, int, float]:
    """``(paid USD, patients, services, paid USD for patients attributed to it)`` of the
    covered professional services ``provider`` billed to ``payer`` in ``year`` (only the
    claims paid fee-for-service when ``ffs_only`` and the year's coverage is known)."""
    c = ctx.claims(year)
    # the claims selected by index, in claim order (the same elements, the same sums)
    rows = _professional_rows(ctx, year, c)
    rows = rows[(c["provider"][rows] == provider) & (c["payer"][rows] == payer)]
    if ffs_only:
        try:
            rows = rows[~ctx.covered(year)[0][rows]]  # set by the engine for the year it settles
        except KeyError:
            pass  # another year: its coverage is not recorded, every claim counts
    paid = c["paid"][rows]
    patients = c["patient"][rows]
    own = ctx.patient_provider[patients] == provider
    distinct = int(np.count_nonzero(np.bincount(patients))) if len(patients) else 0
    return float(paid.sum()), distinct, len(rows), float(paid[own].sum())


def _professional_rows(ctx: Context, year: int, claims: dict[str, np.ndarray]) -> np.ndarray:
    """Indices of the covered professional services among ``claims`` (the year's): once
    per closed year when the context selects claims by service (``ctx.claim_rows``), else
    once per context and year when it memoises (``ctx.memo``)."""
    rows = getattr(ctx, "claim_rows", None)
    if rows is not None:
        return rows(year, PROFESSIONAL)

    def compute() -> np.ndarray:
        return np.flatnonzero(PROFESSIONAL[claims["service"]])

    memo = getattr(ctx, "memo", None)
    return compute() if memo is None else memo(("professional_rows", year), compute)


def holds_advanced_apm(ctx: Context, year: int, payer: int, provider: int) -> bool:
    """Whether ``provider`` holds an Advanced APM contract (``advanced_apm()``) with
    ``payer`` in plan ``year``."""
    sc = ctx.scenario
    if year < 0 or year >= sc.horizon_years:
        return False
    name, payer_name = ctx.provider_names[provider], ctx.payer_names[payer]
    return any(c.advanced_apm() and c.payer == payer_name and c.holder == name
               for period in sc.plan if year in period.year_list(sc.horizon_years)
               for c in period.contracts)


def qualifying_participant(ctx: Context, year: int, payer: int, provider: int,
                           threshold: float) -> bool:
    """Whether ``provider`` was a QP with ``payer`` in plan ``year``: it held an Advanced
    APM contract (``advanced_apm()``) with the payer that year and at least ``threshold`` of
    its professional payments from the payer were for the patients of its APM entity (its
    attributed patients; 42 CFR 414.1430 payment amount method)."""
    if not holds_advanced_apm(ctx, year, payer, provider):
        return False
    paid, _, _, own = professional(ctx, year, payer, provider, ffs_only=False)
    return paid > 0 and own / paid >= threshold


class FFSSettler(BaseSettler):
    """``type: ffs``."""

    type_name = "ffs"
    config_model = FFSContract
    pays_per_service = True
    flow_kinds = {"p4p_adjustment": SETTLEMENT, "apm_incentive": SETTLEMENT}

    def is_reference(self) -> bool:
        """Plain fee-for-service unless it adjusts fees for performance."""
        return not self.config.pay_for_performance

    def settle(self, ctx: Context, year: int, book: Book
               ) -> list[tuple[str, Statement]]:
        cfg = self.config
        payer = ctx.payer_index(cfg.payer)
        ffs = ctx.ffs_paid(year)  # (payer, provider) -> USD paid fee-for-service
        if cfg.provider == "all":
            providers = [i for i in range(len(ctx.provider_names)) if ffs[payer, i] > 0]
        else:
            providers = [ctx.provider_index(cfg.provider)]
        mips = ([i for i in providers if ctx.provider_kinds[i] in CLINICIAN_KINDS]
                if cfg.pay_for_performance else [])
        adjusted = dict(self._mips(ctx, year, payer, mips, ffs[payer])) if mips else {}
        out = []
        for i in providers:
            st = adjusted.get(i)
            if st is None:  # plain FFS: no adjustment (MIPS off, or not a MIPS clinician)
                st = settle_ffs(float(ffs[payer, i]), None, cfg.pay_for_performance,
                                exempt=(f"a {ctx.provider_kinds[i]} provider is not a MIPS "
                                        "eligible clinician") if cfg.pay_for_performance
                                else "")
            book.pay(year, cfg.payer, ctx.provider_names[i], st["adjustment_usd"],
                     "p4p_adjustment", self.label)
            out.append((ctx.provider_names[i], st))
        if cfg.apm_incentive:
            out += self._apm_incentive(ctx, year, book, payer)
        return out

    def _mips(self, ctx: Context, year: int, payer: int, providers: list[int],
              ffs: np.ndarray) -> list[tuple[int, Statement]]:
        """The MIPS statement of each clinician group in ``providers`` (``ffs``: USD paid
        fee-for-service to each provider by the payer in the year)."""
        cfg = self.config
        perf = year - cfg.mips_lag_years
        cal = ctx.scenario.economics.first_calendar_year
        base, scores, exempt = {}, {}, {}
        for i in providers:
            base[i] = professional(ctx, year, payer, i)[0]
            if perf < ctx.ledger.first_year:
                exempt[i] = f"performance year {perf} not recorded"
            elif qualifying_participant(ctx, perf, payer, i, cfg.qp_payment_threshold):
                exempt[i] = f"qualifying APM participant in {cal + perf}"
            else:
                usd, n, k, _ = professional(ctx, perf, payer, i, ffs_only=False)
                if low_volume_exempt(usd, n, k, cfg.low_volume_usd,
                                     cfg.low_volume_beneficiaries,
                                     cfg.low_volume_beneficiaries):
                    exempt[i] = f"under the low-volume threshold in {cal + perf}"
                else:
                    scores[i] = provider_quality(ctx, perf, i, payer)
        if cfg.budget_neutral:
            scored = [i for i in providers if i in scores]
            scaling = budget_neutral_scaling(np.array([scores[i] for i in scored]),
                                             np.array([base[i] for i in scored]),
                                             max_positive=cfg.max_positive_adjustment) \
                if scored else 1.0
        elif cfg.scaling_factor is not None:
            scaling = cfg.scaling_factor
        else:
            scaling = national_scaling(cal + year)
        return [(i, settle_ffs(float(ffs[i]), scores.get(i), True, cfg.max_positive_adjustment,
                               scaling, exempt=exempt.get(i, ""), mips_base_usd=base[i]))
                for i in providers]

    def _apm_incentive(self, ctx: Context, year: int, book: Book, payer: int
                       ) -> list[tuple[str, Statement]]:
        cfg = self.config
        qp_year, base_year = year - 2, year - 1
        cal = ctx.scenario.economics.first_calendar_year
        out = []
        for i, kind in enumerate(ctx.provider_kinds):
            if kind not in CLINICIAN_KINDS or not qualifying_participant(
                    ctx, qp_year, payer, i, cfg.qp_payment_threshold):
                continue
            base = professional(ctx, base_year, payer, i, ffs_only=False)[0]
            st = apm_incentive(base, True, cal + qp_year)
            if st["incentive_usd"] > 0:
                book.pay(year, cfg.payer, ctx.provider_names[i], st["incentive_usd"],
                         "apm_incentive", self.label)
            out.append((ctx.provider_names[i], st))
        return out

    def expected_payoff(self, ctx: Context, year: int, inp: PayoffInputs
                        ) -> tuple[float, float] | None:
        """The MIPS adjustment the year's quality earns, counted now although paid two
        years later (behaviour weighs it undiscounted), on the provider's expected FFS
        revenue from the payer (the fees themselves are every provider's baseline and are
        counted by behaviour). QPs and non-clinicians: none."""
        cfg = self.config
        if not cfg.pay_for_performance:
            return None
        if cfg.provider != "all" and ctx.provider_index(cfg.provider) != inp.provider:
            return None
        p = ctx.payer_index(cfg.payer)
        if (ctx.provider_kinds[inp.provider] not in CLINICIAN_KINDS
                or holds_advanced_apm(ctx, year, p, inp.provider)):
            return None  # not a MIPS clinician, or exempt as a (likely) QP
        cal = ctx.scenario.economics.first_calendar_year
        scaling = (cfg.scaling_factor if cfg.scaling_factor is not None
                   else national_scaling(cal + year + cfg.mips_lag_years))
        rate = float(mips_adjustment(inp.quality(ctx), cfg.max_positive_adjustment, scaling))
        return rate * float(inp.ffs_revenue[p]), 0.0
