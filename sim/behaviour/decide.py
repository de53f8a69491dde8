"""Behaviour between plan years: primary-care providers re-choose their levers.

Before each plan year that follows a simulated year, the replication's year loop asks
:meth:`Behaviour.choose` for the levers of the coming year, from what is known so far: a
read-only view of the panel (:class:`sim.care.engine.PanelView`) and the ledger of the
years closed so far. It builds the settlement context from that ledger, sets up the
contracts in force next year and solves each primary-care provider's problem
(``sim.behaviour.model``). With ``behavior: fixed`` the reference levers are kept, and only
the incentives are reported.
"""

from __future__ import annotations

import numpy as np

from sim.behaviour import dynamics, specialists
from sim.behaviour.expected import LEVER_NAMES, HccSample, PanelSample
from sim.behaviour.hospital import (
    CDI,
    HOSPITAL_ONLY,
    HospitalProblem,
    facility_prices_changed,
    hospital_contracts,
)
from sim.behaviour.model import SAMPLE_SIZE, Decision, ProviderProblem, on_grid
from sim.care.engine import PanelView
from sim.contracts.resolve import settler_for
from sim.ledger import Ledger
from sim.population import morbidity
from sim.scenario.schema import Levers, Scenario
from sim.services import BILLED_BY, PRICE_FIELD
from sim.settlement.context import SettlementContext
from sim.settlement.engine import active_contracts
from sim.threads import blas_threads_limited


class Behaviour:
    """Chooses each plan year's levers; keeps the decisions for the results."""

    def __init__(self, sc: Scenario, seed_seq: np.random.SeedSequence | None = None) -> None:
        self.sc = sc
        self.seed_seq = seed_seq  # for the estimation error (None: none)
        self.decisions: list[Decision] = []
        #: Each group's own levers and each hospital's effort per group panel, last chosen
        #: (the levers in force combine them: see sim.behaviour.hospital).
        self.own: dict[str, tuple[float, ...]] = {}
        self.hospital_effort: dict[tuple[str, str], float] = {}
        #: Each hospital's (t, v, a) per group panel, last chosen (sim.behaviour.hospital).
        self.hospital_levers: dict[tuple[str, str], tuple[float, ...]] = {}
        #: The specialists' volume factor per group panel (sim.behaviour.specialists).
        self.specialist_volume: dict[str, float] = {}
        #: Each hospital's CDI effort per group panel, last chosen (issue 13).
        self.hospital_cdi: dict[tuple[str, str], float] = {}
        #: Each group's optimum last solved for (warm start of the next year's solve).
        self.optimum: dict[str, tuple[float, ...]] = {}

    def choose(self, closed_year: int, panel: PanelView, ledger: Ledger
               ) -> dict[str, Levers]:
        """Levers by provider name for plan year ``closed_year + 1``, after plan year
        ``closed_year`` (from -1, the last warm-up year) has closed.

        BLAS runs single-threaded meanwhile (:func:`sim.threads.blas_threads_limited`, as
        every task does; here also for a direct call): the optimiser's matrix products and
        L-BFGS-B's are tiny, and a second OpenBLAS thread only spins (measured: ~0.2 CPU s
        per 10,000-patient replication, the same numbers)."""
        with blas_threads_limited():
            return self._choose(closed_year, panel, ledger)

    def _choose(self, closed_year: int, panel: PanelView, ledger: Ledger
                ) -> dict[str, Levers]:
        sc = self.sc
        year = closed_year + 1
        providers = panel.providers
        ctx = SettlementContext(scenario=sc, ledger=ledger, patient_payer=panel.payer,
                                patient_provider=panel.provider,
                                provider_names=list(providers.names),
                                provider_kinds=list(providers.kinds),
                                payer_names=[p.name for p in sc.payers])
        settlers = [settler_for(cfg, label) for label, cfg in active_contracts(sc, year)]
        observed = closed_year >= ledger.first_year and closed_year in ledger.year_stats
        out: dict[str, Levers] = {}
        for i in providers.primary_care:
            name = providers.names[i]
            cfg = next(p for p in sc.providers if p.name == name)
            # With attribution on, the patients the contracts count: those assigned to the
            # group in the year just closed (else its panel).
            sample = _sample(sc, panel, i, ctx.assigned(closed_year) if observed else None)
            if sample is None:
                continue
            current = panel.levers[name]
            sample.cdi_effort = current.cdi_effort  # the hospital's CDI in force
            cur = self.own.get(name, tuple(getattr(current, n) for n in LEVER_NAMES))
            b = cfg.behavior
            error = 1.0 if sc.behavior == "fixed" else dynamics.estimate_error(
                self.seed_seq, i, year, b.estimate_sd)  # nobody decides under fixed levers
            problem = ProviderProblem(sc, ctx, settlers, year, i, sample, cfg.levers, cur,
                                      *_observed(ctx, i, closed_year, observed), estimate=error)
            _set_dynamics(problem, sc, settlers, year, name, b)
            if sc.behavior == "fixed" or _is_reference(sc, settlers):
                # Fixed behaviour, or the reference contract itself (FFS at the default fee
                # schedule, no pay-for-performance): the norms are calibrated so that the
                # reference levers are the optimum, so there is nothing to calibrate or solve.
                optimum = tuple(getattr(cfg.levers, n) for n in LEVER_NAMES)
                chosen = optimum if sc.behavior == "fixed" else tuple(
                    c + cfg.behavior.adaptation_rate * (o - c)
                    for c, o in zip(cur, optimum, strict=True))
            else:
                problem.calibrate()
                optimum = problem.solve(cur, warm=self.optimum.get(name))
                self.optimum[name] = optimum
                rate = cfg.behavior.adaptation_rate
                chosen = tuple(c + rate * (o - c) for c, o in zip(cur, optimum, strict=True))
            own = tuple(float(np.clip(v, *_bounds(n))) for n, v in zip(LEVER_NAMES, chosen,
                                                                        strict=True))
            self.own[name] = own
            applied, extra = self._hospitals(sc, ctx, settlers, year, providers, problem,
                                             name, own)
            extra = {n: extra.get(n, getattr(cfg.levers, n)) for n in HOSPITAL_ONLY}
            extra["specialist_volume"] = self._specialists(name, cfg.levers.specialist_volume,
                                                             year)
            levers = Levers(**dict(zip(LEVER_NAMES, applied, strict=True)), **extra)
            self.decisions.append(Decision(name, year, levers, optimum,
                                           problem.incentives(tuple(getattr(levers, n)
                                                                    for n in LEVER_NAMES))))
            out[name] = levers
        return out

    def _specialists(self, group: str, reference: float, year: int) -> float:
        """The specialists' volume factor on ``group``'s panel this year
        (``sim.behaviour.specialists``; the group's reference value under fixed levers)."""
        if self.sc.behavior == "fixed":
            return reference
        v = specialists.next_volume(self.sc, group, self.specialist_volume.get(group, 1.0))
        self.specialist_volume[group] = v
        v = float(np.clip(v, *_bounds("specialist_volume")))
        spec = [p.name for p in self.sc.providers if p.kind == "specialist"]
        if spec and v != 1.0:  # a row only when they respond (lever_specialist_volume)
            self.decisions.append(Decision(spec[0], year, Levers(specialist_volume=v), (v,),
                                           {}, controls=("specialist_volume",)))
        return v

    def _hospitals(self, sc: Scenario, ctx: SettlementContext, settlers: list, year: int,
                   providers, problem: ProviderProblem, group: str,
                   own: tuple[float, ...]) -> tuple[tuple[float, ...], dict[str, float]]:
        """The levers in force on ``group``'s panel: its own, with the transitional-care
        effort of any hospital that holds a contract of its own if that is larger; and the
        elective volume and post-acute intensity such a hospital chooses (if several, the
        last listed)."""
        extra: dict[str, float] = {}
        if sc.behavior == "fixed":
            return own, extra
        applied = list(own)
        for h, kind in enumerate(providers.kinds):
            hname = providers.names[h]
            if kind != "hospital":
                continue
            cfg = next((p for p in sc.providers if p.name == hname), None)
            if cfg is None:  # an implicit outside hospital (attribution): nobody decides
                continue
            held = hospital_contracts(settlers, hname)
            clinical = bool(held or facility_prices_changed(sc))
            b = cfg.behavior
            experience = b.prior_experience_years + dynamics.experience_years(sc, year, hname)
            hp = HospitalProblem(problem, h, held, own, dynamics.capability(
                b.startup_capability, b.learning_years, experience))
            prev_e = self.hospital_cdi.get((hname, group), hp.reference_cdi)
            hp.cdi = prev_e  # the clinical levers are chosen at the effort in force
            if clinical:
                prev = self.hospital_levers.get((hname, group), hp.reference)
                optimum = on_grid(hp.solve_all(prev))  # cross-CPU robust
                t, v, a = (float(np.clip(p + b.adaptation_rate * (o - p), *_bounds(n)))
                           for p, o, n in zip(prev, optimum, ("transitional_care_effort",
                                                              *HOSPITAL_ONLY[:2]),
                                              strict=True))
                self.hospital_levers[(hname, group)] = (t, v, a)
                self.hospital_effort[(hname, group)] = t
            else:  # its clinical levers stay the reference ones (docs/behaviour.md, s. 4)
                t, v, a = hp.reference
            # Its documentation (CDI) effort, at face value (sim.behaviour.hospital).
            e_opt = on_grid((hp.solve_cdi((t, v, a), prev_e),))[0]
            e = float(np.clip(prev_e + b.adaptation_rate * (e_opt - prev_e), *_bounds(CDI)))
            self.hospital_cdi[(hname, group)] = e
            lv = Levers(**{**dict(zip(LEVER_NAMES, own, strict=True)),
                           "transitional_care_effort": t, "elective_volume": v,
                           "post_acute_intensity": a, CDI: e})
            controls = (("transitional_care_effort", *HOSPITAL_ONLY) if clinical else (CDI,))
            self.decisions.append(Decision(hname, year, lv, (*optimum, e_opt) if clinical
                                           else (e_opt,), {}, controls=controls))
            if clinical:
                applied[2] = max(applied[2], t)
                extra = {"elective_volume": v, "post_acute_intensity": a}
            extra[CDI] = e
        return tuple(applied), extra


def _set_dynamics(problem: ProviderProblem, sc: Scenario, settlers: list, year: int,
                  name: str, b) -> None:
    """Capability from experience, and the ratchet of the contracts that rebase."""
    experience = b.prior_experience_years + dynamics.experience_years(sc, year, name)
    problem.capability = dynamics.capability(b.startup_capability, b.learning_years, experience)
    for s in settlers:
        share = dynamics.ratchet_share(sc, s, year, name, b.ratchet_discount, b.ratchet_offset)
        if share > 0:
            problem.ratchet[s.label] = share


def _physician_price_fields() -> set[str]:
    """Fee-schedule fields that price what physicians bill (the fees in the objective)."""
    fields = {PRICE_FIELD[s] for s, kind in BILLED_BY.items()
              if kind in ("primary_care", "specialist", "ordering")}
    return fields | {"imaging_facility_share", "chronic_service_professional_share"}


def _is_reference(sc: Scenario, settlers: list) -> bool:
    """Whether next year's payment is the reference: FFS only, without pay-for-performance,
    at Medicare prices and the default physician fees (facility prices do not enter the
    group's objective, so they may differ, e.g. drawn in a PSA)."""
    plain = all(s.is_reference() for s in settlers)
    default = sc.fee_reference  # Scenario.reference_prices, else Prices() (issue 15)
    fees = all(getattr(sc.prices, f) == getattr(default, f) for f in _physician_price_fields())
    return plain and fees and all(p.price_factor == 1.0 for p in sc.payers)


def _bounds(name: str) -> tuple[float, float]:
    f = Levers.model_fields[name]
    lo = next(m.ge for m in f.metadata if hasattr(m, "ge"))
    hi = next(m.le for m in f.metadata if hasattr(m, "le"))
    return lo, hi


def _sample(sc: Scenario, panel: PanelView, provider: int,
            assigned: np.ndarray | None = None) -> PanelSample | None:
    who = panel.provider if assigned is None else assigned
    rows = np.flatnonzero(panel.alive & (who == provider))
    if len(rows) == 0:
        return None
    step = max(1, len(rows) // SAMPLE_SIZE)
    pick = rows[::step]
    age = panel.age[pick]
    morb = morbidity(panel.z[pick], sc.population.morbidity_sd) * np.exp(
        sc.population.morbidity_age_gradient * (age - 75.0))
    # Before plan year 0 closes, recorded risk scores are still raw (not normalised):
    # the expectation then uses raw scores too, so ratios to baseline years stay right.
    norm = panel.risk_norm if panel.risk_norm is not None else 1.0
    h = panel.hcc
    hs = None if h is None else HccSample(
        female=h.female[pick], segment=h.segment[pick], orig_disabled=h.orig_disabled[pick],
        draws=h.draws[pick], z=panel.z[pick], norms=None if h.norms is None else dict(h.norms),
        w28=h.w28)
    return PanelSample(age=age, morb=morb, conditions=panel.conditions[pick],
                       coding_u=panel.coding_u[pick], payer=panel.payer[pick].astype(np.int64),
                       weight=np.full(len(pick), len(rows) / len(pick)), risk_norm=norm, hcc=hs)


def _observed(ctx: SettlementContext, provider: int, year: int, observed: bool
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per payer: SD of a member's annual spending, truncation ratio, and the observed
    allowed spending per person-year (NaN: nothing observed) of the provider's panel."""
    n_pay = len(ctx.payer_names)
    sd = np.full(n_pay, np.nan)  # NaN: use spend_cv x the expected mean
    trunc = np.ones(n_pay)
    observed_pc = np.full(n_pay, np.nan)
    if not observed:
        return sd, trunc, observed_pc
    spend = ctx.spend_per_patient(year)
    py = ctx.person_years(year)
    for p in range(n_pay):
        m = ctx.members(year, p, provider)
        if not m.any():
            continue
        observed_pc[p] = float(ctx.spend_per_patient(year, paid=False)[m].sum() / py[m].sum())
        annual = spend[m] / np.maximum(py[m], 1e-9)
        sd[p] = float(np.sqrt(np.average((annual - np.average(annual, weights=py[m])) ** 2,
                                         weights=py[m])))
        tspend, _ = ctx.truncated_spend(year, p)
        total = float(spend[m].sum())
        trunc[p] = float(tspend[m].sum()) / total if total > 0 else 1.0
    return sd, trunc, observed_pc
