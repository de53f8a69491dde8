"""Expected outcomes of a lever setting, from the care model's own parameters (analytic).

For a primary-care provider about to choose its levers for the coming year, this module
turns a candidate lever setting into the expected year of its panel: counts and
allowed amounts of every service, coded risk, quality measures and QALYs. It calls the
care model's own rate function (:func:`sim.care.model.year_rates`, as
:class:`sim.care.model.RatesBasis`: its lever-free part once per sample) on a deterministic
sample of the provider's current members and converts rates into expected annual
quantities:

* routine services and hazards are per patient-year; exposure is ``1 - death/2``;
* a diabetic patient's control state is taken at its steady state
  ``rate_to_controlled / (rate_to_controlled + rate_to_uncontrolled)`` under the levers;
* readmissions: each discharge is followed by a 30-day window with the window's
  unplanned-admission hazard ``h_w``: probability ``q = 1 - exp(-h_w 30/365)``, and a
  chain of readmissions adds ``q / (1 - q)`` readmissions per index discharge;
* SNF and home-health stays follow discharges with the model's probabilities;
* spending = counts x fee-schedule prices (mean DRG payment, SNF days x per diem...).

No random numbers are drawn: the expectation is analytic, and cheap enough to be
evaluated a few hundred times per provider and year by the optimiser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.care.model import (
    H_ACSC,
    H_DEATH,
    H_DM,
    H_ELECTIVE,
    H_OTHER,
    H_READMIT,
    R_CHRONIC,
    R_ED,
    R_HH,
    R_OPPROC,
    R_OTHER,
    R_PCP,
    R_SPEC,
    LeverArrays,
    RatesBasis,
    year_rates,
)
from sim.coding import hcc
from sim.constants import DAYS_PER_YEAR, READMISSION_WINDOW_DAYS
from sim.economics import qalys_lost_per_death
from sim.population import raw_risk_score
from sim.scenario.schema import Prices, Scenario
from sim.services import Service as S

N_SERVICES = len(S)
#: Discretionary services (those scaled by discretionary intensity), for volume measures.
DISCRETIONARY = (S.SPECIALIST_VISIT, S.LAB, S.IMAGING_FACILITY, S.IMAGING_PROFESSIONAL,
                 S.OUTPATIENT_PROCEDURE_FACILITY, S.OUTPATIENT_PROCEDURE_PROFESSIONAL,
                 S.ELECTIVE_FACILITY, S.ELECTIVE_PROFESSIONAL, S.SNF, S.HOME_HEALTH)
LEVER_NAMES = ("discretionary_intensity", "prevention_effort", "transitional_care_effort",
               "coding_intensity")


@dataclass
class PanelSample:
    """The patients the expectation is computed on: a provider's current members."""

    age: np.ndarray
    morb: np.ndarray
    conditions: np.ndarray
    coding_u: np.ndarray  # the patients' fixed coding draws (risk score)
    payer: np.ndarray  # payer index per sampled patient
    weight: np.ndarray  # members represented per sampled patient
    risk_norm: float
    hcc: HccSample | None = None  # the prospective CMS-HCC score (None: legacy score)
    #: The hospital's CDI effort in force on the panel (the ``cdi_effort`` lever; None: the
    #: scenario's coding_fees.hospital_cdi_effort): what its facility claims are priced at.
    cdi_effort: float | None = None


@dataclass
class HccSample:
    """What the expected CMS-HCC score of the sampled patients needs (sim.coding.hcc)."""

    female: np.ndarray
    segment: np.ndarray
    orig_disabled: np.ndarray
    draws: np.ndarray  # fixed draws of the HCC states
    z: np.ndarray  # latent morbidity score (the states the coming year's codes see)
    norms: dict[str, float] | None  # provisional before plan year 0 closes; None: raw
    w28: float

    @property
    def fitted(self) -> bool:
        """Whether :meth:`risk_by_payer` has fitted its quartic (encounters no longer used)."""
        return hasattr(self, "_poly")

    def risk_by_payer(self, sc: Scenario, coding_intensity: float, conditions: np.ndarray,
                      age: np.ndarray, p_encounter: np.ndarray | None, payer: np.ndarray,
                      weight: np.ndarray, n_payers: int) -> np.ndarray:
        """Expected mean score per payer at ``coding_intensity``: the exact expectation
        (sim.coding.hcc.expected_raw_scores) at intensities 0, 1/4, ..., 1 on the first
        call, interpolated by a quartic in between (smooth, ~20x cheaper than evaluating it
        at every lever setting). Encounter probabilities are those of the first call (later
        calls may pass None)."""
        if not hasattr(self, "_poly"):
            if p_encounter is None:
                raise ValueError("HccSample.risk_by_payer: the first call needs p_encounter")
            nodes = np.linspace(0.0, 1.0, 5)
            self._poly = np.polyfit(nodes, self.node_means(sc, nodes, conditions, age,
                                                           p_encounter, payer, weight,
                                                           n_payers), 4)  # (5, payers)
        powers = coding_intensity ** np.arange(4, -1, -1)
        return powers @ self._poly

    def node_means(self, sc: Scenario, nodes: np.ndarray, conditions: np.ndarray,
                   age: np.ndarray, p_encounter: np.ndarray, payer: np.ndarray,
                   weight: np.ndarray, n_payers: int) -> np.ndarray:
        """(len(nodes), payers) exact expected mean score per payer at each coding
        intensity of ``nodes``: every node's patients in one call of
        ``hcc.expected_raw_scores`` (a row's score depends on that row alone)."""
        n, k = len(age), len(nodes)
        truth = np.tile(hcc.true_states(conditions, self.z, self.draws), (k, 1))
        demo = hcc.Demographics(np.tile(age, k), np.tile(self.female, k),
                                np.tile(self.segment, k), np.tile(self.orig_disabled, k))
        norms = self.norms or {"V24": 1.0, "V28": 1.0}
        rates = hcc.coding_rates(np.repeat(nodes, n), sc.risk_score)
        risk = hcc.blend(hcc.expected_raw_scores(truth, np.tile(p_encounter, k), rates, demo),
                         norms, self.w28)
        den = np.maximum(np.bincount(payer, weights=weight, minlength=n_payers), 1e-12)
        bins = np.repeat(np.arange(k) * n_payers, n) + np.tile(payer, k)
        return (np.bincount(bins, weights=np.tile(weight, k) * risk, minlength=k * n_payers)
                .reshape(k, n_payers) / den)


@dataclass
class ExpectedPanel:
    """Expected year of a provider's panel under one lever setting (all payers)."""

    levers: tuple[float, float, float, float]
    person_years: np.ndarray  # (payers,)
    spend: np.ndarray  # (payers, services) allowed USD at the fee schedule
    count: np.ndarray  # (payers, services)
    lab_at_pcp_share: float  # share of labs ordered at (and billed by) primary care
    risk: np.ndarray  # (payers,) mean coded risk score
    measures: dict[str, float]
    qalys: float
    deaths: float
    episodes: np.ndarray  # (payers,) joint-replacement episodes
    episode_spend: np.ndarray  # (payers,) mean spending per episode (stay + 90 days)
    death_qalys: float = 0.0  # QALYs the expected deaths take away (sim.economics)
    #: (payers, services) the part of ``spend`` that coding buys (higher E/M levels,
    #: captured MCCs: sim.coding.fees): revenue, not care; None: none
    coding_uplift: np.ndarray | None = None

    def total(self, payer: int) -> float:
        """Expected allowed spending of one payer's patients in the panel."""
        return float(self.spend[payer].sum())

    def total_by_payer(self) -> np.ndarray:
        """Expected allowed spending per payer."""
        return self.spend.sum(axis=1)

    def discretionary_volume(self) -> float:
        """Spending on discretionary services at fixed prices (a volume index)."""
        return float(self.spend[:, list(DISCRETIONARY)].sum())


def coding_price_factors(sc: Scenario, coding_intensity: np.ndarray,
                         cdi_effort: float | None = None
                         ) -> tuple[np.ndarray | float, np.ndarray | float, float, float]:
    """Expected price factors of coding (:mod:`sim.coding.fees`): PCP and specialist office
    visits at each row's ``coding_intensity`` (1 at 0 or with level pricing off), unplanned
    and elective facility stays at the hospital's CDI effort ``cdi_effort`` (the candidate
    lever; None: ``coding_fees.hospital_cdi_effort``; 1 at effort 0)."""
    from sim.coding import fees

    cf = sc.coding_fees
    em_pcp = em_spec = 1.0
    if cf.em_level_pricing:
        em_pcp = fees.em_price_factor("pcp", coding_intensity, cf.em_high_level_gain)
        em_spec = fees.em_price_factor("specialist", coding_intensity, cf.em_high_level_gain)
    from sim.care.claims import ELECTIVE_SD_LOG

    ip_unpl, ip_el = fees.cdi_price_factors(sc, cf.hospital_cdi_effort if cdi_effort is None
                                            else cdi_effort, ELECTIVE_SD_LOG)
    return em_pcp, em_spec, ip_unpl, ip_el


def expected_panel(sc: Scenario, sample: PanelSample, levers: tuple[float, float, float, float],
                   prices: Prices | None = None, n_payers: int = 1) -> ExpectedPanel:
    """The expected year of the sampled panel under ``levers`` (d, p, t, c)."""
    return expected_panels(sc, sample, [levers], prices, n_payers)[0]


def expected_panels_direct(sc: Scenario, sample: PanelSample,
                           levers_list: Sequence[tuple[float, float, float, float]],
                           prices: Prices | None = None, n_payers: int = 1
                           ) -> list[ExpectedPanel]:
    """The plain definition of :func:`expected_panels` (the reference its fast path is
    tested against, ``tests/behaviour/test_panel_expectation.py``; ~9x slower per setting): the care
    model's :func:`~sim.care.model.year_rates` on the sample at each setting, in one
    vectorised pass: the sample is stacked once per lever setting (rows ``k n + i``), so
    every per-patient quantity is computed exactly as for one setting, and each setting's
    totals are reduced over its own block of rows (same summation order as
    :func:`expected_panel` of that setting alone: the results are bit-identical)."""
    pr = sc.prices if prices is None else prices
    n = len(sample.age)
    k_sets = len(levers_list)
    lv = LeverArrays(*(np.repeat(np.array([float(x[j]) for x in levers_list]), n)
                       for j in range(4)))
    age = np.tile(sample.age, k_sets)
    conditions = np.tile(sample.conditions, (k_sets, 1))
    r = year_rates(sc, age, np.tile(sample.morb, k_sets), conditions, lv)
    dm = conditions[:, 0]
    to_ctl = r.hazards[:, 2, H_DM]
    to_unc = r.hazards[:, 0, H_DM]
    p_unc = np.where(dm, to_unc / np.maximum(to_unc + to_ctl, 1e-12), 0.0)
    w0, w2 = 1.0 - p_unc, p_unc  # mixture over control states 0 and 2

    def mix(arr: np.ndarray, window: int = 0) -> np.ndarray:
        return w0 * arr[:, 0 + window] + w2 * arr[:, 2 + window]

    h = {k: mix(r.hazards[..., k]) for k in (H_DEATH, H_ACSC, H_OTHER, H_ELECTIVE)}
    hw = mix(r.hazards[..., H_ACSC] + r.hazards[..., H_OTHER] + r.hazards[..., H_READMIT], 1)
    routine = {k: mix(r.routine[..., k]) for k in (R_PCP, R_SPEC, R_ED, R_OPPROC, R_CHRONIC,
                                                    R_OTHER, R_HH)}
    expo = 1.0 - 0.5 * np.minimum(h[H_DEATH], 1.0)
    cl = sc.clinical
    q = 1.0 - np.exp(-hw * READMISSION_WINDOW_DAYS / DAYS_PER_YEAR)
    index = (h[H_ACSC] + h[H_OTHER] + h[H_ELECTIVE]) * expo
    readm = index * q / np.maximum(1.0 - q, 1e-9)
    acsc = h[H_ACSC] * expo
    unplanned = (h[H_ACSC] + h[H_OTHER]) * expo + readm
    elective = h[H_ELECTIVE] * expo
    discharges = unplanned + elective
    snf = discharges * r.p_snf
    hh = discharges * (1.0 - r.p_snf) * r.p_home_health + routine[R_HH] * expo
    pcp = routine[R_PCP] * expo
    spec = routine[R_SPEC] * expo
    visits = pcp + spec
    labs = visits * r.labs_per_visit
    imaging = visits * r.imaging_per_visit
    ed_tr = routine[R_ED] * expo
    ed_adm = unplanned * cl.admissions.via_ed_share
    op = routine[R_OPPROC] * expo
    chronic = routine[R_CHRONIC] * expo
    other = routine[R_OTHER] * expo
    prof = pr.chronic_service_professional_share
    fac = pr.imaging_facility_share
    counts = np.zeros((n * k_sets, N_SERVICES))
    spend = np.zeros((n * k_sets, N_SERVICES))
    snf_days = cl.post_acute.snf_los_mean_days
    # Coding changes what FFS pays (issue 13; sim.coding.fees): office visits by the E/M
    # level mix at the group's coding intensity, stays by the hospital's MCC capture.
    em_pcp, em_spec, ip_unpl, ip_el = coding_price_factors(sc, lv.coding_intensity,
                                                           sample.cdi_effort)
    for code, cnt, price in (
        (S.PCP_VISIT, pcp, pr.pcp_visit_usd * em_pcp),
        (S.SPECIALIST_VISIT, spec, pr.specialist_visit_usd * em_spec),
        (S.LAB, labs, pr.lab_test_usd),
        (S.IMAGING_FACILITY, imaging, pr.imaging_usd * fac),
        (S.IMAGING_PROFESSIONAL, imaging, pr.imaging_usd * (1 - fac)),
        (S.ED_FACILITY, ed_tr, pr.ed_facility_usd),
        (S.ED_PROFESSIONAL, ed_tr + ed_adm, pr.ed_professional_usd),
        (S.INPATIENT_FACILITY, unplanned, pr.admission_mean_usd * ip_unpl),
        (S.INPATIENT_PROFESSIONAL, unplanned, pr.inpatient_professional_usd),
        (S.ELECTIVE_FACILITY, elective, pr.elective_admission_usd * ip_el),
        (S.ELECTIVE_PROFESSIONAL, elective, pr.elective_professional_usd),
        (S.OUTPATIENT_PROCEDURE_FACILITY, op, pr.outpatient_procedure_usd),
        (S.OUTPATIENT_PROCEDURE_PROFESSIONAL, op, pr.outpatient_procedure_professional_usd),
        (S.CHRONIC_OUTPATIENT, chronic * (1 - prof), pr.chronic_service_usd),
        (S.CHRONIC_PROFESSIONAL, chronic * prof, pr.chronic_service_usd),
        (S.SNF, snf, snf_days * pr.snf_per_day_usd),
        (S.HOME_HEALTH, hh, pr.home_health_period_usd),
        (S.OTHER, other, pr.other_claim_usd),
    ):
        counts[:, code] = cnt
        spend[:, code] = cnt * price

    wt = np.tile(sample.weight, k_sets)
    # One bin per (setting, payer): np.bincount adds in row order, as np.add.at does.
    block = np.repeat(np.arange(k_sets) * n_payers, n)
    bins = block + np.tile(sample.payer, k_sets)
    n_bins = k_sets * n_payers

    def by_payer(x: np.ndarray) -> np.ndarray:  # (k_sets, n_payers)
        return np.bincount(bins, weights=x, minlength=n_bins).reshape(k_sets, n_payers)

    payer_rows = [None if bool((sample.payer == p).all()) else np.flatnonzero(sample.payer == p)
                  for p in range(n_payers)]

    def by_payer_service(x: np.ndarray) -> np.ndarray:  # (k_sets, n_payers, services)
        # A sum over the rows of a C-ordered block adds them in row order, as np.add.at.
        xw = (x * wt[:, None]).reshape(k_sets, n, N_SERVICES)
        out = np.zeros((k_sets, n_payers, N_SERVICES))
        for p, rows in enumerate(payer_rows):
            if rows is None:
                out[:, p] = xw.sum(axis=1)
            elif len(rows):
                out[:, p] = xw[:, rows].sum(axis=1)
        return out

    def total(x: np.ndarray) -> np.ndarray:  # (k_sets,) each setting's own pairwise sum
        return x.reshape(k_sets, n).sum(axis=1)

    by_payer_spend = by_payer_service(spend)
    by_payer_uplift = None
    if not all(np.all(np.asarray(x) == 1.0) for x in (em_pcp, em_spec, ip_unpl, ip_el)):
        uplift = np.zeros_like(spend)
        for code, factor in ((S.PCP_VISIT, em_pcp), (S.SPECIALIST_VISIT, em_spec),
                             (S.INPATIENT_FACILITY, ip_unpl), (S.ELECTIVE_FACILITY, ip_el)):
            uplift[:, code] = spend[:, code] * (1.0 - 1.0 / np.asarray(factor))
        by_payer_uplift = by_payer_service(uplift)
    by_payer_count = by_payer_service(counts)
    py = by_payer(wt * expo)

    util = np.where(dm, w0 * r.utility[:, 0] + w2 * r.utility[:, 1], r.utility[:, 0])
    deaths = h[H_DEATH] * expo
    qalys = total(wt * (util * expo - cl.utility.admission_qaly_loss * unplanned))
    death_total = total(wt * deaths)
    # The one rule for the value of a death (docs/economics.md), deaths at mid-year.
    death_qalys = total(wt * deaths * qalys_lost_per_death(
        age + 0.5, sc.population.female_share, util, sc.economics.discount_rate))

    if sample.hcc is not None:
        # Prospective score: what this year's coding documents is scored next year; the
        # provider weighs it as if it set this year's score (steady state, docs/coding.md).
        enc = hcc.encounter_probability(visits + discharges)
        risk_by_payer = np.stack([sample.hcc.risk_by_payer(
            sc, float(x[3]), sample.conditions, sample.age, enc[k * n:(k + 1) * n],
            sample.payer, sample.weight, n_payers) for k, x in enumerate(levers_list)])
    else:
        # The coded risk score of each setting on the sample itself (its matrix product is
        # left exactly as for one setting).
        risk = np.concatenate([
            raw_risk_score(sample, sample.age, sample.morb, sc.risk_score,  # type: ignore[arg-type]
                           np.full(n, float(x[3]))) / sample.risk_norm for x in levers_list])
        members = np.bincount(sample.payer, weights=sample.weight, minlength=n_payers)
        risk_by_payer = by_payer(wt * risk) / np.maximum(members, 1e-12)[None, :]

    total_w = float(sample.weight.sum())
    sum_py = total(wt * expo)
    readm_share = total(wt * readm) / np.maximum(total(wt * discharges), 1e-12)
    dm_w = total(wt * dm)
    controlled = total(wt * dm * (1 - p_unc)) / np.maximum(dm_w, 1e-12)
    visit_share = total(wt * (1 - np.exp(-pcp))) / total_w
    ed_rate = 1000.0 * total(wt * (ed_tr + ed_adm)) / sum_py
    acsc_rate = 1000.0 * total(wt * acsc) / sum_py
    any_dm = bool(sample.conditions[:, 0].any())
    joint = elective * cl.electives.joint_replacement_share
    episodes = by_payer(wt * joint)
    # Episode: the stay, its professional fee and what follows discharge within 90 days.
    per_ep = (pr.elective_admission_usd + pr.elective_professional_usd
              + r.p_snf * snf_days * pr.snf_per_day_usd
              + (1 - r.p_snf) * r.p_home_health * pr.home_health_period_usd
              + q * (pr.admission_mean_usd + pr.inpatient_professional_usd) * 3.0)
    ep_spend = by_payer(wt * joint * per_ep)
    lab_share = total(wt * pcp) / np.maximum(total(wt * visits), 1e-12)
    return [ExpectedPanel(
        levers=tuple(float(x) for x in levers), person_years=py[k], spend=by_payer_spend[k],
        count=by_payer_count[k], lab_at_pcp_share=float(lab_share[k]),
        risk=risk_by_payer[k],
        measures={
            "readmission_rate_30d": float(readm_share[k]),
            "diabetes_controlled_share": float(controlled[k]) if any_dm else 1.0,
            "annual_visit_share": float(visit_share[k]),
            "ed_visits_per_1000": float(ed_rate[k]),
            "acsc_admissions_per_1000": float(acsc_rate[k]),
        },
        qalys=float(qalys[k]), deaths=float(death_total[k]),
        episodes=episodes[k], episode_spend=ep_spend[k] / np.maximum(episodes[k], 1e-12),
        death_qalys=float(death_qalys[k]),
        coding_uplift=None if by_payer_uplift is None else by_payer_uplift[k])
        for k, levers in enumerate(levers_list)]


def expected_panels(sc: Scenario, sample: PanelSample,
                    levers_list: Sequence[tuple[float, float, float, float]],
                    prices: Prices | None = None, n_payers: int = 1) -> list[ExpectedPanel]:
    """The expected year of the sampled panel under each of ``levers_list`` (d, p, t, c:
    each one lever value for every sampled patient).

    Fast path (issue 16) of :func:`expected_panels_direct`, equal to it to floating-point
    rounding (relative differences ~1e-15; ``tests/behaviour/test_panel_expectation.py``,
    ``benchmarks/panel_expectation.py``): what no lever changes is computed once per
    sample (:func:`_basis`: the care model's :class:`~sim.care.model.RatesBasis`, payer
    weights, life expectancy); a setting's care part (every count and outcome, summed per
    payer in one matrix product, :func:`_care_part`) is kept by (d, p, t) — the
    optimiser's forward differences move one lever at a time, and coding intensity does
    not enter the care model's rates; the coding price factors and the coded risk are
    kept by what they read; prices enter last (spending = counts x prices)."""
    pr = sc.prices if prices is None else prices
    b = _basis(sc, sample, n_payers)
    settings = [tuple(float(v) for v in levers) for levers in levers_list]
    # the care parts not kept yet, all in one vectorised pass (bit-identical to one by one)
    cares = {(d, p, t): b.care.get((d, p, t)) for d, p, t, _ in settings}
    todo = [key for key, care in cares.items() if care is None]
    if todo:
        for key, care in zip(todo, _care_parts(b, sc, todo), strict=True):
            cares[key] = care
            if len(b.care) >= _CARE_CACHE:
                del b.care[next(iter(b.care))]
            b.care[key] = care
    # Settings priced alike (the same coding factors) are assembled together: every
    # quantity element by element as for one setting, one row per setting.
    groups: dict[int, list[int]] = {}
    priced = []
    for i, (_, _, _, c) in enumerate(settings):
        price = _prices(b, pr, _coding(b, sc, sample, c))
        priced.append(price)
        groups.setdefault(id(price), []).append(i)
    out: list[ExpectedPanel | None] = [None] * len(settings)
    for rows in groups.values():
        price = priced[rows[0]]
        coding = price.coding
        parts = [cares[settings[i][:3]] for i in rows]
        sums = np.stack([part.sums for part in parts])  # (G, payers, quantities)
        tot = np.stack([part.total for part in parts])  # (G, quantities)
        count = sums[:, :, :N_SERVICES].copy()
        spend = count * price.unit
        uplift = None if coding.uplift is None else spend * coding.uplift
        sum_py = tot[:, _C["expo"]]
        episodes = sums[:, :, _C["joint"]].copy()
        # Episode: the stay, its professional fee and what follows discharge within 90 days.
        ep_spend = (price.episode_stay * episodes
                    + price.episode_snf * sums[:, :, _C["joint_snf"]]
                    + pr.home_health_period_usd * sums[:, :, _C["joint_hh"]]
                    + price.episode_readmission * sums[:, :, _C["joint_q"]])
        ep_spend = ep_spend / np.maximum(episodes, 1e-12)
        person_years = sums[:, :, _C["expo"]].copy()
        lab = (tot[:, _C["pcp"]] / np.maximum(tot[:, _C["visits"]], 1e-12)).tolist()
        readm = (tot[:, _C["readm"]] / np.maximum(tot[:, _C["discharges"]], 1e-12)).tolist()
        dm = ((tot[:, _C["dm_controlled"]] / max(b.dm_w, 1e-12)).tolist() if b.any_dm
              else [1.0] * len(rows))
        visit = (tot[:, _C["any_pcp_visit"]] / b.total_w).tolist()
        ed = (1000.0 * tot[:, _C["ed"]] / sum_py).tolist()
        acsc = (1000.0 * tot[:, _C["acsc"]] / sum_py).tolist()
        qalys, deaths = tot[:, _C["qalys"]].tolist(), tot[:, _C["deaths"]].tolist()
        death_qalys = tot[:, _C["death_qalys"]].tolist()
        for g, i in enumerate(rows):
            d, p, t, c = settings[i]
            out[i] = ExpectedPanel(
                levers=(d, p, t, c), person_years=person_years[g], spend=spend[g],
                count=count[g], lab_at_pcp_share=lab[g],
                risk=_risk(b, sc, sample, c, parts[g]).copy(),
                measures={"readmission_rate_30d": readm[g],
                          "diabetes_controlled_share": dm[g],
                          "annual_visit_share": visit[g],
                          "ed_visits_per_1000": ed[g],
                          "acsc_admissions_per_1000": acsc[g]},
                qalys=qalys[g], deaths=deaths[g], episodes=episodes[g],
                episode_spend=ep_spend[g], death_qalys=death_qalys[g],
                coding_uplift=None if uplift is None else uplift[g])
    return out  # type: ignore[return-value]


#: Care parts kept per sample (the optimiser's forward-difference gradient varies one lever
#: at a time: a change of coding intensity alone reuses the care part of its base point).
_CARE_CACHE = 16
#: Rows of a care part's per-patient matrix after the services' counts (``_care_part``).
_SUMS = ("expo", "readm", "discharges", "dm_controlled", "any_pcp_visit", "ed", "acsc", "pcp",
         "visits", "joint", "joint_snf", "joint_hh", "joint_q", "deaths", "death_qalys",
         "qalys")
_C = {name: N_SERVICES + i for i, name in enumerate(_SUMS)}


@dataclass
class _CarePart:
    """What a setting's (d, p, t) decide, summed per payer (independent of prices and of
    coding intensity)."""

    sums: np.ndarray  # (payers, N_SERVICES + len(_SUMS)): weighted counts, then _SUMS
    total: np.ndarray  # (N_SERVICES + len(_SUMS),) sums over payers
    p_encounter_rate: np.ndarray  # (n,) visits + discharges (the CMS-HCC fit's encounters)


@dataclass
class _Coding:
    """Coding's price factors at one coding intensity (and CDI effort)."""

    factors: tuple  # coding_price_factors' (em_pcp, em_spec, ip_unpl, ip_el)
    uplift: np.ndarray | None  # (N_SERVICES,) share of spending coding buys; None: none


@dataclass
class _Prices:
    """Unit prices of one fee schedule at one coding's factors."""

    prices: Prices
    coding: _Coding
    unit: np.ndarray  # (N_SERVICES,) allowed USD per unit
    episode_stay: float  # an episode's stay and professional fee
    episode_snf: float  # a SNF stay after it
    episode_readmission: float  # its readmissions (x 3: the 90-day window)


class _PanelBasis:
    """What the expectation of one sample needs that no lever changes, computed once per
    sample (and scenario, payer count): the care model's lever-free rates
    (:class:`sim.care.model.RatesBasis`), the payer weights, the discounted life
    expectancy at death, members; and the caches of the parts that depend on some levers
    only (care part by (d, p, t), coding by what coding_price_factors reads, risk by c)."""

    def __init__(self, sc: Scenario, sample: PanelSample, n_payers: int) -> None:
        self.sc, self.n_payers = sc, n_payers
        self.key = _sample_key(sample)
        n = self.n = len(sample.age)
        self.rates = RatesBasis(sc, sample.age, sample.morb, sample.conditions)
        self.dm = self.rates.dm  # 1.0: diabetic
        # weight of each sampled patient in each payer's sums: (n, payers)
        self.w_payer = np.zeros((n, n_payers))
        self.w_payer[np.arange(n), sample.payer] = sample.weight
        self.total_w = float(sample.weight.sum())
        self.dm_w = float(np.sum(sample.weight * self.dm))
        self.any_dm = bool(self.dm.any())
        self.members = np.bincount(sample.payer, weights=sample.weight, minlength=n_payers)
        # The one rule for the value of a death (docs/economics.md), deaths at mid-year: QALYs
        # lost = utility x discounted life expectancy (linear in the utility).
        self.life = qalys_lost_per_death(sample.age + 0.5, sc.population.female_share, 1.0,
                                         sc.economics.discount_rate)
        self.care: dict[tuple[float, float, float], _CarePart] = {}
        self.coding: dict[tuple, _Coding] = {}
        self.prices: dict[tuple, _Prices] = {}
        self.risk: dict = {}  # coded risk per payer by c (CMS-HCC: by ("hcc", c, fit))

    def fits(self, sc: Scenario, sample: PanelSample, n_payers: int) -> bool:
        """Whether this basis was computed for ``sc``, ``sample``'s arrays and ``n_payers``."""
        return (sc is self.sc and n_payers == self.n_payers
                and all(a is b for a, b in zip(_sample_key(sample), self.key, strict=True)))


def _sample_key(sample: PanelSample) -> tuple:
    """What a basis is computed from (compared by identity: the arrays are not copied)."""
    return (sample.age, sample.morb, sample.conditions, sample.payer, sample.weight,
            sample.coding_u, sample.risk_norm, sample.hcc)


def _basis(sc: Scenario, sample: PanelSample, n_payers: int) -> _PanelBasis:
    """The sample's :class:`_PanelBasis` (kept on the sample; rebuilt if the scenario, the
    sample's arrays or the payer count differ from those it was computed for)."""
    b = getattr(sample, "_basis", None)
    if b is None or not b.fits(sc, sample, n_payers):
        b = _PanelBasis(sc, sample, n_payers)
        sample._basis = b  # type: ignore[attr-defined]  # not a field: == and repr ignore it
    return b


def _care_part(b: _PanelBasis, sc: Scenario, d: float, p: float, t: float) -> _CarePart:
    """The expected year's counts and outcomes of the sample at (d, p, t), weighted and
    summed per payer (the formulas of the module docstring, on the care model's rates at
    the diabetic patients' steady state, :meth:`sim.care.model.RatesBasis.steady`)."""
    return _care_parts(b, sc, [(d, p, t)])[0]


def _care_parts(b: _PanelBasis, sc: Scenario, settings: list[tuple[float, float, float]]
                ) -> list[_CarePart]:
    """:func:`_care_part` of several settings ``(d, p, t)`` in one vectorised pass (the
    care model's :meth:`~sim.care.model.RatesBasis.steady_many`; each setting's rows
    multiplied and summed per payer as :func:`_care_part` does, one matrix product per
    setting: bit-identical to it, ``tests/behaviour/test_batched_objective.py``)."""
    r = b.rates.steady_many(settings)
    k = len(settings)
    cl, pr = sc.clinical, sc.prices
    expo = 1.0 - 0.5 * np.minimum(r.death, 1.0)
    q = 1.0 - np.exp(-r.window * READMISSION_WINDOW_DAYS / DAYS_PER_YEAR)
    readm = (r.acsc + r.other + r.elective) * expo * q / np.maximum(1.0 - q, 1e-9)
    unplanned = (r.acsc + r.other) * expo + readm
    elective = r.elective * expo
    discharges = unplanned + elective
    rt = r.routine
    pcp = rt[:, R_PCP] * expo
    spec = rt[:, R_SPEC] * expo
    visits = pcp + spec
    imaging = visits * r.imaging_per_visit[:, None]
    ed_tr = rt[:, R_ED] * expo
    chronic = rt[:, R_CHRONIC] * expo
    op = rt[:, R_OPPROC] * expo
    prof = pr.chronic_service_professional_share
    joint = elective * cl.electives.joint_replacement_share
    deaths = r.death * expo
    p_snf = r.p_snf
    x = np.zeros((k, N_SERVICES + len(_SUMS), b.n))  # per setting, one row per quantity
    for row, v in (
        (S.PCP_VISIT, pcp),
        (S.SPECIALIST_VISIT, spec),
        (S.LAB, visits * r.labs_per_visit[:, None]),
        (S.IMAGING_FACILITY, imaging),
        (S.IMAGING_PROFESSIONAL, imaging),
        (S.ED_FACILITY, ed_tr),
        (S.ED_PROFESSIONAL, ed_tr + unplanned * cl.admissions.via_ed_share),
        (S.INPATIENT_FACILITY, unplanned),
        (S.INPATIENT_PROFESSIONAL, unplanned),
        (S.ELECTIVE_FACILITY, elective),
        (S.ELECTIVE_PROFESSIONAL, elective),
        (S.OUTPATIENT_PROCEDURE_FACILITY, op),
        (S.OUTPATIENT_PROCEDURE_PROFESSIONAL, op),
        (S.CHRONIC_OUTPATIENT, chronic * (1 - prof)),
        (S.CHRONIC_PROFESSIONAL, chronic * prof),
        (S.SNF, discharges * p_snf),
        (S.HOME_HEALTH, discharges * (1.0 - p_snf) * r.p_home_health[:, None]
         + rt[:, R_HH] * expo),
        (S.OTHER, rt[:, R_OTHER] * expo),
        (_C["expo"], expo),
        (_C["readm"], readm),
        (_C["discharges"], discharges),
        (_C["dm_controlled"], b.dm - r.p_unc),  # diabetic x (1 - p_unc)
        (_C["any_pcp_visit"], 1.0 - np.exp(-pcp)),
        (_C["acsc"], r.acsc * expo),
        (_C["pcp"], pcp),
        (_C["visits"], visits),
        (_C["joint"], joint),
        # an episode's post-discharge quantities, priced in expected_panels
        (_C["joint_snf"], joint * p_snf),
        (_C["joint_hh"], joint * ((1.0 - p_snf) * r.p_home_health[:, None])),
        (_C["joint_q"], joint * q),
        (_C["deaths"], deaths),
        (_C["death_qalys"], deaths * (r.utility * b.life)),
        (_C["qalys"], r.utility * expo - cl.utility.admission_qaly_loss * unplanned),
    ):
        x[:, row] = v
    x[:, _C["ed"]] = x[:, S.ED_PROFESSIONAL]
    # a stack of matrix products: one BLAS call per setting, as _care_part's
    sums = np.ascontiguousarray(np.matmul(x, b.w_payer).transpose(0, 2, 1))  # (K, payers, rows)
    enc = visits + discharges
    return [_CarePart(sums=sums[i], total=sums[i].sum(axis=0), p_encounter_rate=enc[i])
            for i in range(k)]


def _coding(b: _PanelBasis, sc: Scenario, sample: PanelSample, c: float) -> _Coding:
    """Coding's price factors at coding intensity ``c`` (kept by ``c`` and the sample's CDI
    effort, which coding_price_factors reads; issue 13)."""
    key = (c, sample.cdi_effort)
    coding = b.coding.get(key)
    if coding is None:
        # Coding changes what FFS pays (issue 13; sim.coding.fees): office visits by the
        # E/M level mix at the group's coding intensity, stays by the hospital's MCC capture.
        factors = coding_price_factors(sc, c, key[1])  # type: ignore[arg-type]
        uplift = None
        if not all(float(f) == 1.0 for f in factors):
            uplift = np.zeros(N_SERVICES)
            for code, f in zip(_CODED, factors, strict=True):
                uplift[code] = 1.0 - 1.0 / float(f)
        coding = b.coding[key] = _Coding(factors, uplift)
    return coding


#: The services coding_price_factors' four factors price, in its order.
_CODED = (S.PCP_VISIT, S.SPECIALIST_VISIT, S.INPATIENT_FACILITY, S.ELECTIVE_FACILITY)


def _prices(b: _PanelBasis, pr: Prices, coding: _Coding) -> _Prices:
    """Unit prices of fee schedule ``pr`` at ``coding``'s factors (kept per schedule
    object and coding)."""
    key = (id(pr), id(coding))
    got = b.prices.get(key)
    if got is not None and got.prices is pr and got.coding is coding:
        return got
    if len(b.prices) >= 64:
        b.prices.clear()
    snf_days = b.sc.clinical.post_acute.snf_los_mean_days
    em_pcp, em_spec, ip_unpl, ip_el = coding.factors
    fac = pr.imaging_facility_share
    unit = np.zeros(N_SERVICES)
    for code, v in (
        (S.PCP_VISIT, pr.pcp_visit_usd * em_pcp),
        (S.SPECIALIST_VISIT, pr.specialist_visit_usd * em_spec),
        (S.LAB, pr.lab_test_usd),
        (S.IMAGING_FACILITY, pr.imaging_usd * fac),
        (S.IMAGING_PROFESSIONAL, pr.imaging_usd * (1 - fac)),
        (S.ED_FACILITY, pr.ed_facility_usd),
        (S.ED_PROFESSIONAL, pr.ed_professional_usd),
        (S.INPATIENT_FACILITY, pr.admission_mean_usd * ip_unpl),
        (S.INPATIENT_PROFESSIONAL, pr.inpatient_professional_usd),
        (S.ELECTIVE_FACILITY, pr.elective_admission_usd * ip_el),
        (S.ELECTIVE_PROFESSIONAL, pr.elective_professional_usd),
        (S.OUTPATIENT_PROCEDURE_FACILITY, pr.outpatient_procedure_usd),
        (S.OUTPATIENT_PROCEDURE_PROFESSIONAL, pr.outpatient_procedure_professional_usd),
        (S.CHRONIC_OUTPATIENT, pr.chronic_service_usd),
        (S.CHRONIC_PROFESSIONAL, pr.chronic_service_usd),
        (S.SNF, snf_days * pr.snf_per_day_usd),
        (S.HOME_HEALTH, pr.home_health_period_usd),
        (S.OTHER, pr.other_claim_usd),
    ):
        unit[code] = float(v)
    got = b.prices[key] = _Prices(
        prices=pr, coding=coding, unit=unit,
        episode_stay=pr.elective_admission_usd + pr.elective_professional_usd,
        episode_snf=snf_days * pr.snf_per_day_usd,
        episode_readmission=(pr.admission_mean_usd + pr.inpatient_professional_usd) * 3.0)
    return got


def _risk(b: _PanelBasis, sc: Scenario, sample: PanelSample, c: float,
          care: _CarePart) -> np.ndarray:
    """Mean coded risk score per payer at coding intensity ``c``."""
    if sample.hcc is not None:
        # Prospective score: what this year's coding documents is scored next year; the
        # provider weighs it as if it set this year's score (steady state, docs/coding.md).
        # Encounters enter only the sample's first fit (HccSample.risk_by_payer).
        if sample.hcc.fitted:  # the quartic's value, kept by c (callers copy it)
            key = ("hcc", c, id(sample.hcc._poly))  # type: ignore[attr-defined]
            risk = b.risk.get(key)
            if risk is None:
                risk = b.risk[key] = sample.hcc.risk_by_payer(
                    sc, c, sample.conditions, sample.age, None, sample.payer, sample.weight,
                    b.n_payers)
            return risk
        enc = hcc.encounter_probability(care.p_encounter_rate)
        return sample.hcc.risk_by_payer(sc, c, sample.conditions, sample.age, enc,
                                        sample.payer, sample.weight, b.n_payers)
    risk = b.risk.get(c)
    if risk is None:
        # Legacy: the coded risk score of the setting on the sample itself.
        score = raw_risk_score(sample, sample.age, sample.morb,  # type: ignore[arg-type]
                               sc.risk_score, np.full(b.n, c)) / sample.risk_norm
        risk = b.risk[c] = (score @ b.w_payer) / np.maximum(b.members, 1e-12)
    return risk
