"""The care model as a stepper: population -> one simulation year at a time -> ledger.

:class:`CareSimulation` holds one run of the care model. The caller drives it year by
year (``sim.replication`` does, with behaviour and settlement in between)::

    care = CareSimulation(scenario, seed_seq)
    while not care.done:
        care.start_year(levers)       # rates of the year from ages, morbidity, levers
        care.run_to_year_end()        # the SimPy processes, up to the year boundary
        record = care.close_year()    # routine claims drawn, the year into the ledger

Warm-up years (simulated before plan year 0 so the panel reaches a steady state) are
stepped like any other; they are discarded at their close except the last
``history_years``, which are recorded as plan years ``-k..-1`` (baselines of contracts).
:meth:`CareSimulation.panel` is the read-only view of the panel that behaviour reads
between years; :func:`simulate_population` runs all years with fixed levers.

Random numbers: each named stream comes from the replication's ``SeedSequence`` via
``sim.rng.stream``. DES clocks use a per-patient block of uniforms per year (row ``pid``
of one array), so a patient gets the same numbers in every scenario of an experiment
(common random numbers) for as long as its history is the same.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy.special import gammaincinv

from sim.attribution import MA_KEY, UsualSource, medicare_advantage
from sim.care import claims as claimgen
from sim.care.clinic import Clinic
from sim.care.des import (
    QUANTILES,
    UNIFORMS_PER_PATIENT_YEAR,
    DesState,
    StayTables,
)
from sim.care.fast import FastState, resolve_engine
from sim.care.leakage import LeakageYear, mix_parts
from sim.care.model import (
    N_STATES,
    R_PCP,
    R_SPEC,
    ROUTINE,
    LeverArrays,
    _lever_free,
    pack_parts,
    rates_of,
    year_parts,
)
from sim.coding import hcc
from sim.constants import DAYS_PER_YEAR, READMISSION_WINDOW_DAYS
from sim.ledger import Ledger
from sim.population import (
    Population,
    draw_enrolment,
    evolve_morbidity,
    generate_population,
    morbidity,
    raw_risk_score,
)
from sim.providers import ProviderTable
from sim.rng import stream
from sim.scenario.schema import Levers, Scenario


def _gamma_table(shape: float) -> list[float]:
    """Mid-quantiles of a unit-mean gamma distribution (inverse-CDF sampling by table)."""
    q = (np.arange(QUANTILES) + 0.5) / QUANTILES
    # = scipy.stats.gamma.ppf(q, shape, scale=1 / shape), bit for bit, without importing
    # scipy.stats (a fifth of a second in every worker process)
    values = gammaincinv(shape, q) * (1.0 / shape) + 0.0
    return (values / values.mean()).tolist()


#: Free heap (bytes, malloc's count) above which :func:`_trim_heap` gives it back to the
#: operating system (judgement: what a process may keep beyond its working set).
TRIM_FREE_BYTES = 128 * 2**20


def _trim_heap() -> None:
    """Give the heap memory freed with a closed year back to the operating system (glibc's
    ``malloc_trim``; elsewhere nothing) once malloc counts more than
    :data:`TRIM_FREE_BYTES` of its heap free: otherwise the next year's arrays are laid
    out beside the freed space and the resident size grows year by year. Below that the
    freed space is kept for the next year's arrays, which reuse it (~20 MiB at 10,000
    patients, ~70 at 30,000: the same resident size as with a trim every year): trimming
    it cost 0.1-0.3 CPU s a replication at 10,000 patients, in page faults when the memory
    is touched again. (malloc still counts trimmed pages free, so after a large release,
    e.g. a finished replication's ledger, every year is trimmed again, as before.) Where
    the free space is not known (no ``mallinfo2``, glibc < 2.33), always trimmed."""
    trim = _malloc_trim()
    if trim is None:
        return
    free = _heap_free_bytes()
    if free is None or free > TRIM_FREE_BYTES:
        trim(0)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _heap_free_bytes() -> int | None:
    """Free bytes in glibc's heap (``mallinfo2().fordblks``), or None where unknown."""
    info = _mallinfo2()
    return None if info is None else int(info().fordblks)


@functools.cache
def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    try:
        fn = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _MallInfo2
    fn.argtypes = []
    return fn


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (loaded once), or None where there is none."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _same_levers(a: LeverArrays, b: LeverArrays) -> bool:
    """Whether two patients' lever arrays are equal (bit for bit)."""
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if (x is None) != (y is None) or (x is not None and not (
                x.shape == y.shape and x.tobytes() == y.tobytes())):
            return False
    return True


def _count_true(flags: np.ndarray) -> np.ndarray:
    """Per row, the number of true flags of a boolean (n, k) matrix, k < 256 (as
    ``flags.sum(axis=1)``, column by column: ~3x cheaper than the row reduction)."""
    if flags.shape[1] == 0 or flags.shape[1] > 255:
        return flags.sum(axis=1)
    count = flags[:, 0].astype(np.uint8)
    for j in range(1, flags.shape[1]):
        count += flags[:, j]
    return count.astype(np.int64)


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


@dataclass
class CareRun:
    """What a run of the care model produced."""

    ledger: Ledger
    population: Population
    providers: ProviderTable
    levers_by_year: list[dict[str, Levers]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class YearRecord:
    """What closing a simulation year reports."""

    sim_year: int
    plan_year: int  # negative: a warm-up year
    recorded: bool  # its claims and patient-years are in the ledger
    last: bool  # the last year of the horizon
    complete_through: float  # plan day up to which every hospital stay begun is recorded


@dataclass(frozen=True)
class PanelView:
    """Read-only view of the panel between two years (what behaviour may know of it).

    Arrays are per patient row (read-only); ``age`` is every patient's age at the start of
    the coming year; ``risk_norm`` the scale of recorded risk scores (None until plan year
    0 has closed: recorded scores are raw until then).
    """

    age: np.ndarray
    z: np.ndarray
    alive: np.ndarray
    provider: np.ndarray
    payer: np.ndarray
    conditions: np.ndarray
    coding_u: np.ndarray
    risk_norm: float | None
    providers: ProviderTable
    levers: Mapping[str, Levers]
    hcc: hcc.HccPanel | None = None  # the prospective CMS-HCC score (None: legacy model)


class CareSimulation:
    """One run of the care model, stepped a simulation year at a time (no globals)."""

    def __init__(self, sc: Scenario, seed_seq: np.random.SeedSequence,
                 levers: dict[str, Levers] | None = None) -> None:
        self.sc = sc
        self.seed_seq = seed_seq
        self.years = sc.horizon_years  # plan years (reported)
        self.warmup = sc.warmup_years  # simulated before plan year 0, not reported
        self.sim_years = self.warmup + self.years
        self.horizon_days = float(self.sim_years * DAYS_PER_YEAR)
        self.day0 = float(self.warmup * DAYS_PER_YEAR)  # simulation day of plan year 0 start
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
        # Dual status, originally disabled, the HCC states' fixed draws (own streams).
        self.pop.segment, self.pop.orig_disabled = draw_enrolment(
            sc.population, stream(seed_seq, "enrolment"), len(self.pop))
        self.pop.hcc_draws = stream(seed_seq, "hcc_truth").standard_normal(
            (len(self.pop), len(hcc.LIABILITIES)))
        # Map local primary-care index -> provider index.
        self.pop.provider = np.asarray(self.providers.primary_care, np.int16)[self.pop.provider]
        n = len(self.pop)
        self.n = n
        self.levers: dict[str, Levers] = {p.name: p.levers for p in sc.providers}
        if levers:
            self.levers.update(levers)
        self.z = self.pop.z.copy()
        ad = sc.clinical
        self.engine = resolve_engine(sc)  # "des" or "fast" (sim.care.fast)
        self.des = (FastState if self.engine == "fast" else DesState)(
            n=n, n_start=n0, provider=self.pop.provider,
            dm_uncontrolled=~self.pop.dm_controlled0 & self.pop.conditions[:, 0],
            horizon_days=self.horizon_days,
            beds=max(1, int(round(sc.capacity.beds_per_1000 * n0 / 1000.0))),
            replace_deaths=sc.population.replace_deaths,
            stays=StayTables(ad.admissions.los_mean_days, ad.electives.los_mean_days,
                             ad.post_acute.snf_los_mean_days,
                             _gamma_table(ad.admissions.los_shape), _gamma_table(2.0)),
            seed_seq=seed_seq)
        self._init_recorded(-sc.history_years)  # warm-up years kept as history: -k..-1
        self.levers_by_year: list[dict[str, Levers]] = []
        self._risk_norm: float | None = None
        self._risk_zero: np.ndarray | None = None
        # Prospective CMS-HCC score (sim.coding.hcc); None: the legacy concurrent score.
        self.hcc: hcc.ScoreKeeper | None = (
            hcc.ScoreKeeper(sc.risk_score, sc.economics.first_calendar_year, n)
            if sc.risk_score.model == "cms_hcc" else None)
        self.year = -1  # the simulation year started last
        self.rates = None
        self._clinics: dict[int, Clinic] = {}
        self.stats: dict[str, Any] = {}
        self._gc_was_enabled = gc.isenabled()
        # Attribution on: each patient's outside share of primary care, the year's leakage
        # (new named streams only: with attribution off nothing here is drawn).
        self.usual: UsualSource | None = None
        self._leak: LeakageYear | None = None
        if sc.attribution.enabled:
            self.usual = UsualSource(n, sc.attribution, stream(seed_seq, "attribution"))

    def _init_recorded(self, first_year: int) -> None:
        """(Re)set what is kept per recorded year (plan years ``first_year``.. the last;
        row = plan year - first_year) and the empty ledger. Called before any recorded year
        has started; ``sim.care.warmup`` calls it again to record warm-up history for other
        scenarios, or to drop it (anything kept per recorded year belongs here)."""
        old_first = getattr(self, "first_year", first_year)
        self.first_year = first_year
        self.n_recorded = self.years - first_year
        keeper = getattr(self, "hcc", None)  # scores awaiting normalisation, by recorded row
        if keeper is not None and keeper.pending:
            keeper.pending = {row + old_first - first_year: v
                              for row, v in keeper.pending.items()
                              if 0 <= row + old_first - first_year < self.n_recorded}
        n = self.n
        self.risk_score = np.zeros((self.n_recorded, n))
        self.age_by_year = np.zeros((self.n_recorded, n))
        self.utility_by_year = np.zeros((self.n_recorded, n, 2))
        self.ledger = Ledger(first_year=first_year)
        self.ledger.provider_names = self.providers.names

    # ------------------------------------------------------------------ buffers
    def _buffer(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A work array kept from year to year (its contents are not: each user fills it
        whole): a large array allocated every year is new memory to the process every year
        (page faults, ~2.7 us a page here), one kept is not."""
        bufs = self.__dict__.setdefault("_buffers", {})
        got = bufs.get(name)
        if got is None or got.shape != shape or got.dtype != dtype:
            got = bufs[name] = np.empty(shape, dtype)
        return got

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (``sim.care.warmup`` snapshots) without the work buffers and memos."""
        state = self.__dict__.copy()
        for key in ("_buffers", "_lever_memo", "_event_memo"):
            state.pop(key, None)
        return state

    # ------------------------------------------------------------------ the steps
    @property
    def next_plan_year(self) -> int:
        """The plan year :meth:`start_year` starts next (negative: a warm-up year)."""
        return self.year + 1 - self.warmup

    def start_year(self, levers: Mapping[str, Levers] | None = None) -> None:
        """Set up the next simulation year with ``levers`` (by provider name) replacing the
        current ones: ages, morbidity drift, rates, risk scores, uniforms, clinics."""
        if levers:
            self.levers.update(levers)
        year = self.year = self.year + 1
        sc = self.sc
        plan_year = year - self.warmup
        if year > 0:
            self.z = evolve_morbidity(self.z, stream(self.seed_seq, "morbidity", year),
                                      sc.population.morbidity_persistence)
        age = self.ages_at(year)
        morb = morbidity(self.z, sc.population.morbidity_sd) * np.exp(
            sc.population.morbidity_age_gradient * (age - 75.0))
        lever_arrays = self._lever_arrays()
        # The rates as columns (sim.care.model.YearParts: the year_rates tables, mixed and
        # packed column by column, the same doubles); the lever-free parts once for both
        # lever settings.
        cond = self.pop.conditions
        base = _lever_free(sc, age, morb, cond)
        parts = year_parts(sc, age, morb, cond, lever_arrays, base)
        if self.usual is not None:  # leakage: a share of care outside, at reference practice
            if year > 0:
                self.usual.advance(stream(self.seed_seq, "attribution", year))
            ref_levers = self._lever_arrays(reference=True)
            # the same levers give the same rates (year_parts is a pure function)
            ref = parts if _same_levers(ref_levers, lever_arrays) else year_parts(
                sc, age, morb, cond, ref_levers, base)
            parts, self._leak = mix_parts(parts, ref, self.usual.share,
                                          sc.attribution.outside_share, self.providers.outside)
        # Per patient and state: total hazard, cumulative hazards, primary-care demand rate.
        # The routine table in a buffer kept from year to year (the claims and the
        # documentation read it until this year closes, nothing after). The packed table is
        # new every year: it is 4 MiB or more from 8,000 patients, which NumPy advises the
        # kernel to back with huge pages (few page faults), and the executor's random reads
        # of it looked ~5% slower from a kept buffer (3 runs each: not conclusive).
        rates = rates_of(parts, hazards=False,  # packed below: no hazard table
                         routine_out=self._buffer("routine", (self.n, N_STATES, len(ROUTINE)),
                                                  np.float64))
        packed = pack_parts(parts)
        self.rates = rates
        if plan_year >= 0:
            self.levers_by_year.append(dict(self.levers))
        if plan_year >= self.first_year:
            row = plan_year - self.first_year
            if self.hcc is not None:  # prospective: from last year's documented diagnoses
                if self.hcc.codes is None:  # the first simulated year: no year before it
                    self._document_initial(rates, lever_arrays)
                self.risk_score[row] = self._hcc_score(row, plan_year, age)
            else:
                # Raw scores; normalised at the end of plan year 0 (_normalise_risk_scores).
                norm = self._risk_norm if self._risk_norm is not None else 1.0
                self.risk_score[row] = (1.0 / norm) * raw_risk_score(
                    self.pop, age, morb, sc.risk_score, lever_arrays.coding_intensity)
                if plan_year == 0:
                    self._risk_zero = raw_risk_score(
                        self.pop, age, morb, sc.risk_score,
                        np.zeros_like(lever_arrays.coding_intensity))
            self.age_by_year[row] = age
            self.utility_by_year[row] = rates.utility
        des = self.des
        cap = sc.capacity
        clinics = {}
        for i in self.providers.primary_care:
            attributed = int(np.count_nonzero(des.alive & (self.pop.provider == i)))
            slots = cap.pcp_fte_per_1000 * attributed / 1000.0 * cap.visits_per_fte_per_year
            old = self._clinics.get(i)
            clinic = Clinic(slots / DAYS_PER_YEAR, cap.patience_days, cap.unmet_to_ed_share)
            if old is not None:  # the queue carries over the new year
                clinic.queue_pid, clinic.queue_day = old.queue_pid, old.queue_day
            clinics[i] = clinic
        self._clinics = clinics
        des.begin_year(year, packed,
                       stream(self.seed_seq, "des", year).random((self.n, UNIFORMS_PER_PATIENT_YEAR))
                       if self.engine == "des" else None,
                       rates.p_snf, rates.p_home_health, clinics,
                       stream(self.seed_seq, "clinic", year))

    def run_to_year_end(self) -> None:
        """Run the SimPy processes to the end of the current year (the cyclic garbage
        collector is off while processes run: they allocate many small objects)."""
        gc.disable()
        try:
            self.des.run_to_year_end()
        finally:
            if self._gc_was_enabled:
                gc.enable()

    def close_year(self) -> YearRecord:
        """Close the current year: its routine claims and patient-year records go to the
        ledger (recorded years only); after the last year, the processes are let run out
        and the simulation state is freed."""
        year = self.year
        plan_year = year - self.warmup
        des = self.des
        if plan_year == 0:
            self._normalise_risk_scores()
        # this year's diagnoses: next year's score (none is kept for a year not recorded)
        if self.hcc is not None and plan_year + 1 >= self.first_year:
            self._document_year(year)
        recorded = plan_year >= self.first_year
        if recorded:
            row = plan_year - self.first_year
            claimgen.close_year(
                self.ledger, plan_year, sc=self.sc, providers=self.providers, pop=self.pop,
                des=des, rates=self.rates, rng=stream(self.seed_seq, "claims", year),
                day0=self.day0, n_recorded=self.n_recorded, utility=self.utility_by_year[row],
                risk_score=self.risk_score[row], age=self.age_by_year[row],
                group_rng=stream(self.seed_seq, "stay_groups", year),
                pac_rng=stream(self.seed_seq, "joint_post_acute", year), leak=self._leak,
                leak_rng=stream(self.seed_seq, "leakage", year) if self._leak is not None
                else None,
                # coding changes what FFS pays (issue 13; sim.coding.fees)
                coding_intensity=self._lever_arrays().coding_intensity,
                fee_rng=stream(self.seed_seq, "coding_fees", year),
                cdi_effort=self._lever_arrays().cdi_effort)  # the hospital's CDI
            if self.usual is not None:  # enrolled in Medicare Advantage this year
                self.ledger.patient_year.setdefault(
                    MA_KEY, np.zeros((self.n_recorded, self.n), bool))[row] = medicare_advantage(
                        self.sc.attribution, stream(self.seed_seq, "medicare_advantage", year),
                        self.n)
            self.ledger.close_year(plan_year)
            self._record_events()
        else:
            des.log.clear()
        last = year + 1 >= self.sim_years
        if last:
            self._finish()
        else:  # the year's tables are no longer needed (processes index them, keep none)
            self.rates = des.packed = des.u = None
        open_stays = float(des.stay_admit.min()) - self.day0 if not last else math.inf
        through = min(open_stays, (plan_year + 1) * DAYS_PER_YEAR)
        _trim_heap()
        return YearRecord(sim_year=year, plan_year=plan_year, recorded=recorded, last=last,
                          complete_through=through)

    def runout_complete(self, plan_year: int, record: YearRecord) -> bool:
        """Whether everything that the figures of ``plan_year`` depend on is recorded: the
        year itself and every stay begun up to ``READMISSION_WINDOW_DAYS`` after it (30-day
        readmissions), or the horizon was reached."""
        return record.last or record.complete_through >= (
            (plan_year + 1) * DAYS_PER_YEAR + READMISSION_WINDOW_DAYS)

    def panel(self) -> PanelView:
        """Read-only view of the panel after the year just closed (ages at the next)."""
        pop = self.pop
        return PanelView(
            age=_read_only(self.ages_at(self.year + 1)), z=_read_only(self.z),
            alive=_read_only(self.des.alive), provider=_read_only(pop.provider),
            payer=_read_only(pop.payer), conditions=_read_only(pop.conditions),
            coding_u=_read_only(pop.coding_u), risk_norm=self._risk_norm,
            providers=self.providers, levers=MappingProxyType(dict(self.levers)),
            hcc=None if self.hcc is None else hcc.HccPanel(
                female=_read_only(pop.female), segment=_read_only(pop.segment),
                orig_disabled=_read_only(pop.orig_disabled), draws=_read_only(pop.hcc_draws),
                norms=None if self.hcc.current_norms is None
                else MappingProxyType(self.hcc.current_norms),
                w28=self.hcc.w28(self.year + 1 - self.warmup)))

    def result(self) -> CareRun:
        """The run's ledger, population, providers, levers per plan year and statistics."""
        return CareRun(ledger=self.ledger, population=self.pop, providers=self.providers,
                       levers_by_year=self.levers_by_year, stats=self.stats)

    # ------------------------------------------------------------------ helpers
    def ages_at(self, sim_year: int) -> np.ndarray:
        """Every patient's age at the start of simulation year ``sim_year``."""
        entered = self.des.entered
        years_in = np.maximum(sim_year * DAYS_PER_YEAR - np.minimum(entered, 1e12), 0.0) / DAYS_PER_YEAR
        return self.pop.age0 + np.where(np.isfinite(entered), years_in, 0.0)

    def _lever_arrays(self, reference: bool = False) -> LeverArrays:
        """Each patient's levers: its group's this year, or (``reference``) the reference
        levers the scenario gives the group (what outside providers practise)."""
        names = self.providers.names
        ref = {p.name: p.levers for p in self.sc.providers}
        chosen = [(ref if reference else self.levers).get(name) for name in names]
        # Kept for the same lever objects (Levers are frozen): asked for several times a
        # year (start, claims, documentation), computed once; read-only arrays.
        memo = self.__dict__.setdefault("_lever_memo", {})
        got = memo.get(reference)
        if got is not None and len(got[0]) == len(chosen) and all(
                a is b for a, b in zip(got[0], chosen, strict=True)):
            return got[1]
        table = {f: np.zeros(len(names)) for f in Levers.model_fields}
        for i, lv in enumerate(chosen):
            lv = Levers() if lv is None else lv
            for f in Levers.model_fields:
                table[f][i] = getattr(lv, f)
        prov = self.pop.provider
        arrays = {f: table[f][prov] for f in Levers.model_fields}
        for a in arrays.values():
            a.flags.writeable = False
        out = LeverArrays(**arrays)
        memo[reference] = (chosen, out)
        return out

    # ------------------------------------------------------------------ CMS-HCC score
    def _demographics(self, age: np.ndarray) -> hcc.Demographics:
        pop = self.pop
        return hcc.Demographics(age=age, female=pop.female, segment=pop.segment,
                                orig_disabled=pop.orig_disabled)

    def _document(self, encounter: np.ndarray, intensity: np.ndarray,
                  rng: np.random.Generator, next_plan_year: int) -> None:
        """Document the year just simulated (or, first, the year before the simulation):
        the codes that score plan year ``next_plan_year``."""
        assert self.hcc is not None
        truth = hcc.true_states(self.pop.conditions, self.z, self.pop.hcc_draws)
        # memory: 216 B a patient, in one buffer kept from year to year (the same draws as a
        # new array; not pickled, see __getstate__)
        u = rng.random((self.n, len(hcc.STATES), 3), dtype=np.float32,
                       out=self._buffer("hcc_u", (self.n, len(hcc.STATES), 3), np.float32))
        self.hcc.document_year(truth, encounter, intensity, u, next_plan_year)

    def _in_panel(self, year: int) -> np.ndarray:
        """Patients in the panel at some time of simulation year ``year``."""
        des = self.des
        return (des.entered < (year + 1) * DAYS_PER_YEAR) & (des.exited > year * DAYS_PER_YEAR)

    def _document_initial(self, rates: Any, levers: LeverArrays) -> None:
        """Diagnoses of the year before the first simulated one: encounters drawn from the
        first year's primary-care and specialist visit rates (stream ``hcc_initial``)."""
        rng = stream(self.seed_seq, "hcc_initial")
        visits = rates.routine[:, 0, R_PCP] + rates.routine[:, 0, R_SPEC]
        encounter = (rng.random(self.n) < hcc.encounter_probability(visits)) & self._in_panel(0)
        self._document(encounter, levers.coding_intensity, rng, self.year - self.warmup)

    def _document_year(self, year: int) -> None:
        """Document the year just simulated: a patient with a primary-care visit, a hospital
        stay or (drawn from the year's rate, stream ``hcc_encounter``) a specialist visit
        had an encounter; codes follow the attributed provider's coding levers."""
        log = self.des.log
        encounter = np.zeros(self.n, bool)
        for served in log.pcp_served:
            encounter[served] = True
        encounter[np.asarray(log.adm["pid"], np.int64)] = True
        p_spec = hcc.encounter_probability(self.rates.routine[:, 0, R_SPEC])
        encounter |= stream(self.seed_seq, "hcc_encounter", year).random(self.n) < p_spec
        encounter &= self._in_panel(year)
        self._document(encounter, self._lever_arrays().coding_intensity,
                       stream(self.seed_seq, "hcc", year), year + 1 - self.warmup)

    def _hcc_score(self, row: int, plan_year: int, age: np.ndarray) -> np.ndarray:
        """Score of a recorded year from last year's codes, and what a record review of
        those codes finds (ledger patient-year rows ``hcc_*``, :func:`hcc.radv_view`)."""
        keeper = self.hcc
        assert keeper is not None and keeper.codes is not None
        demo = self._demographics(age)
        score = keeper.score(row, plan_year, demo,
                             self._in_panel(self.year).astype(float))
        py = self.ledger.patient_year
        fam = keeper.truth_families
        assert fam is not None
        coded = hcc.truth_families(keeper.codes != hcc.NOT_CODED)  # families coded
        for key, value in (("hcc_true_families", _count_true(fam)),
                           ("hcc_recaptured_families", _count_true(coded & fam))):
            py.setdefault(key, np.zeros((self.n_recorded, self.n)))[row] = value
        if keeper.norms is not None:
            self._record_radv(row, keeper.radv(keeper.codes, demo, plan_year))
        return score

    def _record_radv(self, row: int, view: dict[str, np.ndarray]) -> None:
        py = self.ledger.patient_year
        for key, value in view.items():
            py.setdefault(f"hcc_{key}", np.zeros((self.n_recorded, self.n)))[row] = value

    def _normalise_hcc(self, py: np.ndarray) -> None:
        keeper = self.hcc
        assert keeper is not None
        pending = dict(keeper.pending)
        for row, score in keeper.normalise(py).items():
            self.risk_score[row] = score
            if row < -self.first_year:  # history rows were already copied into the ledger
                self.ledger.patient_year["risk_score"][row] = score
            raw, _, codes, demo = pending[row]
            self._record_radv(row, keeper.radv(codes, demo, row + self.first_year, raw))
        keeper.pending.clear()
        self._risk_norm = 1.0  # recorded scores are normalised from now on

    def _normalise_risk_scores(self) -> None:
        """Scale scores so that plan year 0's person-year-weighted mean is 1.0 under FFS
        coding (coding intensity 0); later years keep the same scale, so coding intensity
        and case-mix change show up as scores above or below 1."""
        py = claimgen.person_years(self.des.entered, self.des.exited, self.day0, 0)
        if self.hcc is not None:
            self._normalise_hcc(py)
            return
        self._risk_norm = float(np.average(self._risk_zero, weights=py))
        self._risk_zero = None
        self.risk_score[: 1 - self.first_year] /= self._risk_norm
        if self.first_year < 0:  # history rows were already copied into the ledger, raw
            self.ledger.patient_year["risk_score"][: -self.first_year] /= self._risk_norm

    def _record_events(self) -> None:
        """Deaths and diabetic-control changes of the recorded years so far, into the ledger."""
        start = self.day0 + self.first_year * DAYS_PER_YEAR
        deaths = self._events_since("deaths", self.des.deaths, start, (np.int32, float))
        control = self._events_since("control", self.des.control, start,
                                     (np.int32, float, bool))
        self.ledger.events = {
            "deaths": {"patient": deaths[0], "day": deaths[1] - self.day0},
            "control": {"patient": control[0], "day": control[1] - self.day0,
                        "uncontrolled": control[2]},
        }

    def _events_since(self, kind: str, records: list[tuple], start: float,
                      dtypes: tuple[Any, ...]) -> list[np.ndarray]:
        """The fields (arrays of ``dtypes``) of the records of an append-only event list
        whose day (field 1) is at least ``start``, in list order: kept between calls, so
        each year converts only the records added since (the list, its length and ``start``
        checked; the same values as converting the whole list)."""
        memo = self.__dict__.setdefault("_event_memo", {})
        got = memo.get(kind)
        if got is None or got[0] is not records or got[1] != start or got[2] > len(records):
            got = (records, start, 0, [np.array([], t) for t in dtypes])
        new = [r for r in records[got[2]:] if r[1] >= start]
        fields = got[3]
        if new:
            cols = list(zip(*new, strict=True))
            fields = [np.concatenate([old, np.array(col, t)])
                      for old, col, t in zip(fields, cols, dtypes, strict=True)]
        memo[kind] = (records, start, len(records), fields)
        return fields

    def _finish(self) -> None:
        """After the last year: run out the remaining events, keep the statistics, free the
        simulation state (rate tables, uniforms, the SimPy environment)."""
        des = self.des
        gc.disable()
        try:
            events = des.drain()
        finally:
            if self._gc_was_enabled:
                gc.enable()
        self._record_events()
        person_years = float(sum(claimgen.person_years(des.entered, des.exited, self.day0, y)
                                 for y in range(self.years)).sum())
        span = (np.clip(des.exited, 0, self.horizon_days)
                - np.clip(des.entered, 0, self.horizon_days))
        self.stats = {
            "patient_years": person_years,
            "simulated_patient_years": float(np.maximum(span, 0).sum() / DAYS_PER_YEAR),
            "claims": len(self.ledger),
            "claims_by_service": self.ledger.count_by_service(),
            "simpy_events": events,
            "uniform_overflows": des.uniform_overflows,
            "entrants": des.next_entrant - self.pop.n_start,
            "reserve_exhausted": des.next_entrant >= self.n,
            "engine": self.engine,
            **getattr(des, "capacity_stats", {}),
        }
        self.rates = des.packed = des.u = des.p_snf = des.p_home_health = None
        des.env = des.beds = des.year_end_event = None
        self._clinics = des.clinics = {}
        # The processes still waiting for a next year form reference cycles with their
        # events: collect them now rather than at some later allocation (the fast engine
        # has no processes).
        if self.engine == "des":
            gc.collect()


#: Chooses the levers of the next plan year from the plan year just closed (from -1, the
#: last warm-up year) and the panel: levers by provider name, or None to keep them.
LeverChoice = Callable[[int, PanelView], Mapping[str, Levers] | None]


def simulate_population(
    scenario: Scenario,
    seed_seq: np.random.SeedSequence,
    levers: dict[str, Levers] | None = None,
    choose_levers: LeverChoice | None = None,
) -> CareRun:
    """Run the care model of ``scenario`` over its horizon with the streams of ``seed_seq``:
    ``levers`` (by provider name) replace the scenario's from the start; ``choose_levers``,
    if given, is asked before every plan year that follows a simulated year."""
    care = CareSimulation(scenario, seed_seq, levers=levers)
    for _ in range(care.sim_years):
        new = None
        if choose_levers is not None and care.next_plan_year >= 0 and care.year >= 0:
            new = choose_levers(care.next_plan_year - 1, care.panel())
        care.start_year(new)
        care.run_to_year_end()
        care.close_year()
    return care.result()
