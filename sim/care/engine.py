"""Run the care model for a whole horizon: population -> DES year by year -> ledger.

:func:`simulate_population` is the entry point. It builds a :class:`CareSimulation` (all
state of one run), starts one SimPy process per patient plus the daily clinic process,
and runs the fixed per-year order: set levers and rates -> simulate the year -> close the
year (routine claims, year-end hook) -> next year.

Random numbers: each named stream comes from the replication's ``SeedSequence`` via
``sim.rng.stream``. DES clocks use a per-patient block of uniforms per year (row ``pid``
of one array), so a patient gets the same numbers in every scenario of an experiment
(common random numbers) for as long as its history is the same.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy
from scipy.special import gammaincinv

from sim.care import claims as claimgen
from sim.care.clinic import Clinic
from sim.care.des import Beds, daily_process, patient_process
from sim.care.model import R_PCP, LeverArrays, YearRates, year_rates
from sim.constants import DAYS_PER_YEAR
from sim.ledger import Ledger
from sim.population import (
    Population,
    evolve_morbidity,
    generate_population,
    morbidity,
    raw_risk_score,
)
from sim.rng import stream
from sim.scenario.schema import Levers, Scenario

UNIFORMS_PER_PATIENT_YEAR = 16
_QUANTILES = 512

#: Year-end hook, called when plan year ``year`` (from -1, the last warm-up year) closes and a
#: plan year follows: (year, simulation) -> levers by provider name for year + 1, or None.
YearEndHook = Callable[[int, "CareSimulation"], dict[str, Levers] | None]


def _gamma_table(shape: float) -> list[float]:
    """Mid-quantiles of a unit-mean gamma distribution (inverse-CDF sampling by table)."""
    q = (np.arange(_QUANTILES) + 0.5) / _QUANTILES
    # = scipy.stats.gamma.ppf(q, shape, scale=1 / shape), bit for bit, without importing
    # scipy.stats (a fifth of a second in every worker process)
    values = gammaincinv(shape, q) * (1.0 / shape) + 0.0
    return (values / values.mean()).tolist()


@dataclass
class ProviderTable:
    """Providers of a run: names, kinds, and the provider that bills each kind."""

    names: list[str]
    kinds: list[str]
    primary_care: list[int]
    by_kind: dict[str, int]

    @classmethod
    def from_scenario(cls, sc: Scenario) -> ProviderTable:
        names = [p.name for p in sc.providers]
        kinds = [p.kind for p in sc.providers]
        by_kind: dict[str, int] = {}
        for i, k in enumerate(kinds):
            if k != "primary_care":
                by_kind[k] = i
        for k in ("specialist", "hospital", "post_acute", "other"):
            if k not in by_kind:  # services of a kind nobody listed go to an implicit provider
                by_kind[k] = len(names)
                names.append(f"unlisted_{k}")
                kinds.append(k)
        pcs = [i for i, k in enumerate(kinds) if k == "primary_care"]
        return cls(names=names, kinds=kinds, primary_care=pcs, by_kind=by_kind)


@dataclass
class CareRun:
    """What a run of the care model produced."""

    ledger: Ledger
    population: Population
    providers: ProviderTable
    levers_by_year: list[dict[str, Levers]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


class CareSimulation:
    """All state of one run of the care model (no globals)."""

    def __init__(
        self,
        sc: Scenario,
        seed_seq: np.random.SeedSequence,
        levers: dict[str, Levers] | None = None,
        on_year_end: YearEndHook | None = None,
    ) -> None:
        self.sc = sc
        self.seed_seq = seed_seq
        self.years = sc.horizon_years  # plan years (reported)
        self.warmup = sc.warmup_years  # simulated before plan year 0, not reported
        self.sim_years = self.warmup + self.years
        self.horizon_days = float(self.sim_years * DAYS_PER_YEAR)
        self.day0 = float(self.warmup * DAYS_PER_YEAR)  # simulation day of plan year 0 start
        self.first_year = -sc.history_years  # warm-up years kept as history: -k..-1
        self.n_recorded = self.years - self.first_year
        self.on_year_end = on_year_end
        self.providers = ProviderTable.from_scenario(sc)
        pc_shares = np.array([sc.providers[i].panel_share for i in self.providers.primary_care])
        n0 = sc.population.size
        # Future entrants: deaths run at ~4-5% a year; 6% a year leaves a margin. If the
        # reserve runs out, later deaths are not replaced (stats["reserve_exhausted"]).
        n_reserve = int(math.ceil(n0 * 0.06 * self.sim_years)) + 100
        self.pop = generate_population(
            sc.population, stream(seed_seq, "population"), n_entrants=n_reserve,
            dm_controlled_share=sc.clinical.diabetes.controlled_share_start,
            provider_shares=pc_shares / pc_shares.sum(),
        )
        shares = np.array([p.share for p in sc.payers])
        self.pop.payer = stream(seed_seq, "payer").choice(
            len(shares), size=len(self.pop), p=shares / shares.sum()).astype(np.int16)
        # Map local primary-care index -> provider index.
        self.pop.provider = np.asarray(self.providers.primary_care, np.int16)[self.pop.provider]
        n = len(self.pop)
        self.n = n
        self.levers: dict[str, Levers] = {p.name: p.levers for p in sc.providers}
        if levers:
            self.levers.update(levers)
        # Patient state
        self.entered = np.full(n, np.inf)
        self.entered[:n0] = 0.0
        self.exited = np.full(n, np.inf)
        self.alive = np.zeros(n, bool)
        self.alive[:n0] = True
        self.dm_uncontrolled = ~self.pop.dm_controlled0 & self.pop.conditions[:, 0]
        self.z = self.pop.z.copy()
        self.next_entrant = n0
        self.pcp_rate = np.zeros(n)
        # Per-year outputs
        # Per recorded year (row = plan year - first_year)
        self.risk_score = np.zeros((self.n_recorded, n))
        self.age_by_year = np.zeros((self.n_recorded, n))
        self.utility_by_year = np.zeros((self.n_recorded, n, 2))
        self.levers_by_year: list[dict[str, Levers]] = []
        self._risk_norm: float | None = None
        # Event records (appended by the DES)
        self.iv_pid: list[int] = []
        self.iv_t0: list[float] = []
        self.iv_t1: list[float] = []
        self.iv_state: list[int] = []
        self.adm: dict[str, list] = {k: [] for k in ("pid", "admit", "discharge", "wait", "kind",
                                                     "snf_days", "home_health")}
        self.deaths: list[tuple[int, float]] = []
        self.control: list[tuple[int, float, bool]] = []
        self.pcp_served: list[np.ndarray] = []
        self.pcp_served_day: list[np.ndarray] = []
        self.pcp_wait: list[np.ndarray] = []
        self.unmet_ed: list[np.ndarray] = []
        self.unmet_ed_day: list[np.ndarray] = []
        self.given_up = np.zeros(self.sim_years)
        self.ledger = Ledger(first_year=self.first_year)
        self._los_unplanned = _gamma_table(sc.clinical.admissions.los_shape)
        self._los_snf = _gamma_table(2.0)
        self.uniform_overflows = 0
        self.year = 0
        self.year_end = float(DAYS_PER_YEAR)
        self.env = simpy.Environment()
        self.year_end_event = self.env.event()
        self.beds = Beds(self.env, max(1, int(round(sc.capacity.beds_per_1000 * n0 / 1000.0))))
        self._start_year(0)

    # ------------------------------------------------------------------ year set-up
    def _lever_arrays(self) -> LeverArrays:
        names = self.providers.names
        table = {f: np.zeros(len(names)) for f in Levers.model_fields}
        for i, name in enumerate(names):
            lv = self.levers.get(name, Levers())
            for f in Levers.model_fields:
                table[f][i] = getattr(lv, f)
        prov = self.pop.provider
        return LeverArrays(**{f: table[f][prov] for f in Levers.model_fields})

    def _start_year(self, year: int) -> None:
        """Set up simulation year ``year`` (plan year ``year - warmup``)."""
        sc = self.sc
        self.year = year
        plan_year = year - self.warmup
        self.year_end = float((year + 1) * DAYS_PER_YEAR)
        if year > 0:
            self.z = evolve_morbidity(self.z, stream(self.seed_seq, "morbidity", year),
                                      sc.population.morbidity_persistence)
        age = self.ages_at(year)
        morb = morbidity(self.z, sc.population.morbidity_sd) * np.exp(
            sc.population.morbidity_age_gradient * (age - 75.0))
        levers = self._lever_arrays()
        rates = year_rates(sc, age, morb, self.pop.conditions, levers)
        self.rates: YearRates = rates
        # Per patient and state: total hazard, cumulative hazards, primary-care demand rate.
        self.packed = np.concatenate([rates.total[..., None], np.cumsum(rates.hazards, axis=-1),
                                      rates.routine[:, :, R_PCP, None]], axis=-1)
        rates.hazards = rates.total = None  # packed now; free the memory
        if plan_year >= 0:
            self.levers_by_year.append(dict(self.levers))
        if plan_year >= self.first_year:
            row = plan_year - self.first_year
            # Raw scores; normalised at the end of plan year 0 (see normalise_risk_scores).
            norm = self._risk_norm if self._risk_norm is not None else 1.0
            self.risk_score[row] = (1.0 / norm) * raw_risk_score(self.pop, age, morb, sc.risk_score,
                                                        levers.coding_intensity)
            if plan_year == 0:
                self._risk_zero = raw_risk_score(self.pop, age, morb, sc.risk_score,
                                                 np.zeros_like(levers.coding_intensity))
            self.age_by_year[row] = age
            self.utility_by_year[row] = rates.utility
        self._u = stream(self.seed_seq, "des", year).random((self.n, UNIFORMS_PER_PATIENT_YEAR))
        self._u_extra: dict[int, int] = {}
        self.clinic_rng = stream(self.seed_seq, "clinic", year)
        self.year_rng = stream(self.seed_seq, "claims", year)
        alive = self.alive
        self.clinics = {}
        cap = self.sc.capacity
        for i in self.providers.primary_care:
            attributed = int(np.count_nonzero(alive & (self.pop.provider == i)))
            slots = cap.pcp_fte_per_1000 * attributed / 1000.0 * cap.visits_per_fte_per_year
            old = getattr(self, "_clinics_prev", {}).get(i)
            clinic = Clinic(slots / DAYS_PER_YEAR, cap.patience_days, cap.unmet_to_ed_share)
            if old is not None:  # the queue carries over the new year
                clinic.queue_pid, clinic.queue_day = old.queue_pid, old.queue_day
            self.clinics[i] = clinic
        self._clinics_prev = self.clinics

    def ages_at(self, sim_year: int) -> np.ndarray:
        """Every patient's age at the start of simulation year ``sim_year``."""
        years_in = np.maximum(sim_year * DAYS_PER_YEAR - np.minimum(self.entered, 1e12), 0.0) / DAYS_PER_YEAR
        return self.pop.age0 + np.where(np.isfinite(self.entered), years_in, 0.0)

    # ------------------------------------------------------------------ DES callbacks
    def uniform_row(self, pid: int) -> list[float]:
        """Patient ``pid``'s block of uniforms for this year."""
        return self._u[pid].tolist()

    def more_uniforms(self, pid: int) -> list[float]:
        """A further block for a patient who used up its year's block (its own stream)."""
        self.uniform_overflows += 1
        k = self._u_extra[pid] = self._u_extra.get(pid, 0) + 1
        return stream(self.seed_seq, "des-overflow", self.year, pid, k).random(
            UNIFORMS_PER_PATIENT_YEAR).tolist()

    def length_of_stay(self, elective: bool, u: float) -> float:
        """Length of stay in days (gamma, by inverse-CDF table at uniform ``u``)."""
        ad = self.sc.clinical
        mean = ad.electives.los_mean_days if elective else ad.admissions.los_mean_days
        return mean * self._los_unplanned[int(u * _QUANTILES)]

    def discharge(self, pid: int, admit: float, wait: float, kind: int, u1: float,
                  u2: float) -> None:
        """Record a discharge and decide post-acute care (uniforms ``u1``, ``u2``)."""
        now = self.env.now
        if now > self.horizon_days:
            return
        snf_days = 0.0
        hh = False
        if u1 < self.rates.p_snf[pid]:
            snf_days = self.sc.clinical.post_acute.snf_los_mean_days * self._los_snf[
                int(u2 * _QUANTILES)]
        else:
            hh = u2 < self.rates.p_home_health[pid]
        a = self.adm
        a["pid"].append(pid)
        a["admit"].append(admit)
        a["discharge"].append(now)
        a["wait"].append(wait)
        a["kind"].append(kind)
        a["snf_days"].append(snf_days)
        a["home_health"].append(hh)

    def death(self, pid: int) -> None:
        """Patient ``pid`` dies now; a new member may take its place."""
        now = self.env.now
        self.alive[pid] = False
        self.exited[pid] = now
        self.pcp_rate[pid] = 0.0
        self.deaths.append((pid, now))
        if self.sc.population.replace_deaths and self.next_entrant < self.n:
            new = self.next_entrant
            self.next_entrant += 1
            self.entered[new] = now
            self.alive[new] = True
            self.env.process(patient_process(self, new))

    def control_change(self, pid: int, uncontrolled: bool) -> None:
        """Diabetic control of ``pid`` changes now."""
        self.dm_uncontrolled[pid] = uncontrolled
        self.control.append((pid, self.env.now, uncontrolled))

    def clinic_day(self, day: int) -> None:
        """Draw day ``day``'s primary-care requests and let every clinic work."""
        rate = self.pcp_rate[: self.next_entrant]  # rows beyond have not joined yet
        total = rate.sum()
        if total <= 0:
            return
        rng = self.clinic_rng
        k = rng.poisson(total / DAYS_PER_YEAR)
        pids = np.searchsorted(np.cumsum(rate), rng.random(k) * total, side="right")
        pids = np.minimum(pids, len(rate) - 1)
        prov = self.pop.provider[pids]
        for i, clinic in self.clinics.items():
            served, waits, ed, lost = clinic.day(float(day), pids[prov == i], self.alive, rng)
            if len(served):
                self.pcp_served.append(served)
                self.pcp_served_day.append(np.full(len(served), day + rng.random()))
                self.pcp_wait.append(waits)
            if len(ed):
                self.unmet_ed.append(ed)
                self.unmet_ed_day.append(np.full(len(ed), float(day) + 0.5))
            self.given_up[self.year] += lost

    def close_year(self, year: int) -> None:
        """End of plan year ``year``: draw its routine claims, call the hook, set up the next."""
        plan_year = year - self.warmup
        if plan_year == 0:
            self._normalise_risk_scores()
        claimgen.close_year(self, year)
        if self.on_year_end is not None and -1 <= plan_year < self.years - 1:
            new = self.on_year_end(plan_year, self)
            if new:
                self.levers.update(new)
        if year + 1 < self.sim_years:
            self._start_year(year + 1)

    def _normalise_risk_scores(self) -> None:
        """Scale scores so that plan year 0's person-year-weighted mean is 1.0 under FFS
        coding (coding intensity 0); later years keep the same scale, so coding intensity
        and case-mix change show up as scores above or below 1."""
        py = claimgen.person_years(self, 0)
        self._risk_norm = float(np.average(self._risk_zero, weights=py))
        self.risk_score[: 1 - self.first_year] /= self._risk_norm
        if self.first_year < 0:  # history rows were already copied into the ledger, raw
            self.ledger.patient_year["risk_score"][: -self.first_year] /= self._risk_norm

    # ------------------------------------------------------------------ run
    def run(self) -> CareRun:
        """Simulate the whole horizon."""
        env = self.env
        for pid in range(self.pop.n_start):
            env.process(patient_process(self, pid))
        env.process(daily_process(self))
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            env.run()
        finally:
            if gc_was_enabled:
                gc.enable()
        self.ledger.finalise()
        start = self.day0 + self.first_year * DAYS_PER_YEAR
        deaths = [d for d in self.deaths if d[1] >= start]
        control = [c for c in self.control if c[1] >= start]
        self.ledger.events = {
            "deaths": {"patient": np.array([d[0] for d in deaths], np.int32),
                       "day": np.array([d[1] - self.day0 for d in deaths])},
            "control": {"patient": np.array([c[0] for c in control], np.int32),
                        "day": np.array([c[1] - self.day0 for c in control]),
                        "uncontrolled": np.array([c[2] for c in control], bool)},
        }
        person_years = float(claimgen.person_years(self).sum())
        span = np.clip(self.exited, 0, self.horizon_days) - np.clip(self.entered, 0, self.horizon_days)
        stats = {
            "patient_years": person_years,
            "simulated_patient_years": float(np.maximum(span, 0).sum() / DAYS_PER_YEAR),
            "claims": len(self.ledger),
            "claims_by_service": self.ledger.count_by_service(),
            "simpy_events": self.events_processed,
            "uniform_overflows": self.uniform_overflows,
            "entrants": self.next_entrant - self.pop.n_start,
            "reserve_exhausted": self.next_entrant >= self.n,
        }
        return CareRun(ledger=self.ledger, population=self.pop, providers=self.providers,
                       levers_by_year=self.levers_by_year, stats=stats)

    @property
    def events_processed(self) -> int:
        """Number of events SimPy scheduled in this run."""
        return int(next(self.env._eid))  # noqa: SLF001


def simulate_population(
    scenario: Scenario,
    seed_seq: np.random.SeedSequence,
    levers: dict[str, Levers] | None = None,
    on_year_end: YearEndHook | None = None,
) -> CareRun:
    """Run the care model of ``scenario`` over its horizon with the streams of ``seed_seq``."""
    sim = CareSimulation(scenario, seed_seq, levers=levers, on_year_end=on_year_end)
    return sim.run()
