"""Close a plan year: turn the DES records of the year into priced claims, vectorised.

Routine services are Poisson processes with a constant rate within each recorded interval
of a patient's life, so their counts are drawn for all intervals at once
(``Poisson(rate * duration)``) and their days uniformly within the interval — exact, and
hundreds of times cheaper than scheduling one event per claim. Tests and imaging are
ordered at office visits (Poisson per visit). Hospital stays are priced at discharge
(DRG-like lognormal payment rising with length of stay) and dated at discharge, as are
their professional fees,
post-acute care and, for stays that came through the emergency department, the ED
physician's fee. Post-acute care after a lower-extremity joint replacement is Medicare's
(discharge to SNF, IRF, home with home health or home; :func:`joint_post_acute`) rather
than the generic draw of the discharge.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaincinv, gammaln

from sim import stay_groups
from sim.care.des import DesState
from sim.care.leakage import LeakageYear
from sim.care.model import R_CHRONIC, R_ED, R_HH, R_OPPROC, R_OTHER, R_PCP, R_SPEC, YearRates
from sim.coding import fees
from sim.coding.codes import CodingParams
from sim.constants import DAYS_PER_YEAR as DAYS
from sim.constants import AdmissionKind
from sim.ledger import Ledger
from sim.population import Population
from sim.providers import ProviderTable
from sim.scenario.schema import CONDITIONS, JointReplacementPostAcute, Scenario
from sim.services import Service as S

#: SD of the log payment of an elective stay around the fee schedule's amount.
ELECTIVE_SD_LOG = 0.2
_CI = {name: i for i, name in enumerate(CONDITIONS)}


def _lognormal(rng: np.random.Generator, mean: float, sd_log: float, n: int) -> np.ndarray:
    """Lognormal amounts with the given arithmetic mean."""
    return mean * np.exp(sd_log * rng.standard_normal(n) - 0.5 * sd_log * sd_log)


def _z_score(amount: np.ndarray, mean: float, sd_log: float) -> np.ndarray:
    """The standard-normal score of lognormal amounts drawn by :func:`_lognormal`."""
    if sd_log <= 0 or mean <= 0:
        return np.zeros(len(amount))
    return (np.log(amount / mean) + 0.5 * sd_log * sd_log) / sd_log


def _expand(counts: np.ndarray, pid: np.ndarray, t0: np.ndarray, t1: np.ndarray,
            rng: np.random.Generator, span: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Patients and uniform days of ``counts`` events in each interval (``span``: ``t1 -
    t0`` if already known, the same differences)."""
    idx = np.repeat(np.arange(len(counts)), counts)
    width = (t1 - t0 if span is None else span)[idx]
    day = t0[idx] + rng.random(len(idx)) * width
    return pid[idx], day


def joint_destinations(cfg: JointReplacementPostAcute, factor: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities of discharge to SNF, to IRF and home with home health after a joint
    replacement stay, at the levers' institutional ``factor`` (:func:`joint_post_acute`)."""
    inst0 = cfg.snf_share + cfg.irf_share
    inst = np.minimum(inst0 * factor, 1.0)
    scale = inst / inst0 if inst0 > 0 else np.zeros_like(inst)
    p_hh = np.clip(cfg.home_health_share + inst0 - inst, 0.0, 1.0 - inst)
    return cfg.snf_share * scale, cfg.irf_share * scale, p_hh


def joint_post_acute_usd(cfg: JointReplacementPostAcute, factor: np.ndarray,
                         los_factor: np.ndarray | float, prices) -> np.ndarray:
    """Expected post-acute spending (SNF, IRF, home health) per joint-replacement stay,
    the expectation of what :func:`joint_post_acute` draws (the hospital's decision uses
    it, ``sim.behaviour.hospital``)."""
    p_snf, p_irf, p_hh = joint_destinations(cfg, factor)
    hh = (p_hh + (p_snf + p_irf) * cfg.home_health_after_institutional) * cfg.home_health_periods
    return (p_snf * cfg.snf_los_mean_days * los_factor * prices.snf_per_day_usd
            + p_irf * prices.irf_stay_usd + hh * prices.home_health_period_usd)


def joint_post_acute(cfg: JointReplacementPostAcute, factor: np.ndarray,
                     rng: np.random.Generator, los_factor: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Post-acute care after lower-extremity joint replacement stays: SNF days, IRF stay
    flag and home-health periods of each stay.

    ``cfg`` is ``clinical.post_acute.after_joint_replacement``; ``factor`` the practice
    levers' factor on institutional discharge per stay (``YearRates.institutional_pac_factor``,
    1 at FFS practice); ``rng`` the year's ``joint_post_acute`` stream (three uniforms per
    stay, drawn as one block). The institutional shares (SNF, IRF) are scaled by
    ``factor`` (at most 1 in total); what they lose goes home with home health (or, when
    ``factor`` > 1, what they gain comes from home health first, then from home without
    services). SNF days are gamma (shape 2) with mean ``snf_los_mean_days``; home health
    follows a SNF or IRF stay with probability ``home_health_after_institutional``.
    ``los_factor`` (per stay; the hospital's post-acute lever, ``None``: 1) scales the SNF
    days.
    """
    n = len(factor)
    u = rng.random((n, 3))
    p_snf, p_irf, p_hh = joint_destinations(cfg, factor)
    to_snf = u[:, 0] < p_snf
    to_irf = ~to_snf & (u[:, 0] < p_snf + p_irf)
    to_hh = ~to_snf & ~to_irf & (u[:, 0] < p_snf + p_irf + p_hh)
    snf_days = np.where(to_snf, cfg.snf_los_mean_days * gammaincinv(2.0, u[:, 1]) / 2.0, 0.0)
    if los_factor is not None:
        snf_days = snf_days * los_factor
    institutional = to_snf | to_irf
    hh = to_hh | (institutional & (u[:, 2] < cfg.home_health_after_institutional))
    return snf_days, to_irf, np.where(hh, cfg.home_health_periods, 0).astype(np.int64)


def person_years(entered: np.ndarray, exited: np.ndarray, day0: float, year: int
                 ) -> np.ndarray:
    """Person-years of membership per patient in plan year ``year`` (plan year 0 starts on
    simulation day ``day0``)."""
    lo, hi = day0 + year * DAYS, day0 + (year + 1) * DAYS
    start = np.clip(entered, lo, hi)
    end = np.clip(exited, lo, hi)
    return np.maximum(end - start, 0.0) / DAYS


def close_year(led: Ledger, year: int, *, sc: Scenario, providers: ProviderTable,
               pop: Population, des: DesState, rates: YearRates, rng: np.random.Generator,
               day0: float, n_recorded: int, utility: np.ndarray, risk_score: np.ndarray,
               age: np.ndarray, group_rng: np.random.Generator,
               pac_rng: np.random.Generator, leak: LeakageYear | None = None,
               leak_rng: np.random.Generator | None = None,
               coding_intensity: np.ndarray | None = None,
               fee_rng: np.random.Generator | None = None,
               cdi_effort: np.ndarray | None = None) -> None:
    """Turn the DES records of the year just simulated into plan year ``year``'s claims,
    hospital stays, patient-year rows and year statistics (days counted from the start of
    plan year 0 on simulation day ``day0``), and clear the records.

    ``utility``, ``risk_score`` and ``age`` are the year's per-patient rows (set when the
    year started); ``rng`` is the year's ``claims`` stream, ``group_rng`` its
    ``stay_groups`` stream (clinical group and severity of the stays, ``sim.stay_groups``),
    ``pac_rng`` its ``joint_post_acute`` stream (post-acute care after joint replacement,
    :func:`joint_post_acute`).
    With ``leak`` (attribution on), the leaked share of services is billed by the outside
    providers (:mod:`sim.care.leakage`), routed with ``leak_rng`` (the year's ``leakage``
    stream).
    With ``fee_rng`` (the year's ``coding_fees`` stream) coding changes what is paid
    (:mod:`sim.coding.fees`): office visits are paid their E/M level's relative value at the
    ``coding_intensity`` of each patient's group (per patient; outside providers at 0), and
    the billing hospital's documentation (CDI) effort turns stays without MCC into with-MCC
    stays paid at the with-MCC MS-DRG weight: ``cdi_effort`` per patient (the effort of the
    hospital on the patient's panel, the ``cdi_effort`` lever; NaN or None:
    ``coding_fees.hospital_cdi_effort``), 0 at outside hospitals. Per billing hospital ``h``
    the year's statistics keep what the captured MCCs added to its payments
    (``cdi_uplift_inpatient_usd:h``, ``cdi_uplift_elective_usd:h``) and its effort-weighted
    discharges (``cdi_effort_discharges:h``, what its programme costs are booked on).
    """
    log = des.log
    d0 = day0
    pr = sc.prices
    kinds = providers.by_kind
    hosp, spec, post, other = kinds["hospital"], kinds["specialist"], kinds["post_acute"], \
        kinds["other"]

    iv = getattr(log, "iv", None)  # the fast engine's intervals as arrays (sim.care.fast)
    if iv is not None:
        log.iv = None
        pid, t0, t1, state = iv[0], iv[1] - d0, iv[2] - d0, iv[3]
    else:
        pid = np.asarray(log.iv_pid, np.int64)
        t0 = np.asarray(log.iv_t0) - d0
        t1 = np.asarray(log.iv_t1) - d0
        state = np.asarray(log.iv_state, np.int64)
    for records in (log.iv_pid, log.iv_t0, log.iv_t1, log.iv_state):
        records.clear()  # cleared in place: patient processes hold references to these lists
    span = t1 - t0
    dur_years = span / DAYS
    routine = rates.routine[pid, state]  # (n_intervals, R)

    def draw(r: int) -> tuple[np.ndarray, np.ndarray]:
        return _expand(rng.poisson(routine[:, r] * dur_years), pid, t0, t1, rng, span)

    def out_of(share: np.ndarray) -> np.ndarray | None:
        """Which services are given outside (None: leakage off)."""
        return None if leak is None else leak.route(share, leak_rng)

    def billed(inside: int | np.ndarray, kind: str, out: np.ndarray | None, n: int
               ) -> int | np.ndarray:
        """Billing provider of ``n`` services: ``inside``, or the outside provider of
        ``kind`` where ``out``."""
        if out is None:
            return inside
        return np.where(out, leak.outside[kind], np.broadcast_to(inside, (n,)))

    # Office visits and what is ordered at them.
    pcp_pid = np.concatenate(log.pcp_served) if log.pcp_served else np.empty(0, np.int64)
    pcp_day = (np.concatenate(log.pcp_served_day) if log.pcp_served_day else np.empty(0)) - d0
    waits = np.concatenate(log.pcp_wait) if log.pcp_wait else np.empty(0)
    log.pcp_served, log.pcp_served_day, log.pcp_wait = [], [], []
    pcp_prov = pop.provider[pcp_pid]
    pcp_out = out_of(leak.routine[pcp_pid, R_PCP]) if leak is not None else None
    pcp_prov = billed(pcp_prov, "primary_care", pcp_out, len(pcp_pid))
    cf = sc.coding_fees
    level_pricing = fee_rng is not None and cf.em_level_pricing

    def visit_amounts(who: str, price: float, v_pid: np.ndarray,
                      v_out: np.ndarray | None, v_prov: int | np.ndarray) -> np.ndarray:
        """Office visits paid by E/M level (sim.coding.fees), else the visit price."""
        if not level_pricing:
            return np.full(len(v_pid), price)
        ci = (np.zeros(len(v_pid)) if coding_intensity is None
              else np.asarray(coding_intensity, np.float64)[v_pid])
        if v_out is not None:  # outside providers code at the reference
            ci = np.where(v_out, 0.0, ci)
        # the visits' rank scores from their patients' (fees.normal_scores_of: the same
        # doubles as ranking risk_score[v_pid])
        return fees.visit_amounts(who, price, None, ci, fee_rng,
                                  cf.em_high_level_gain, CodingParams().morbidity_correlation,
                                  v_prov, normal_scores=fees.normal_scores_of(risk_score, v_pid))

    led.add_claims(year, pcp_pid, pcp_prov, S.PCP_VISIT, pcp_day,
                   visit_amounts("pcp", pr.pcp_visit_usd, pcp_pid, pcp_out, pcp_prov))
    spec_pid, spec_day = draw(R_SPEC)
    spec_out = out_of(leak.routine[spec_pid, R_SPEC]) if leak is not None else None
    spec_prov = billed(spec, "specialist", spec_out, len(spec_pid))
    led.add_claims(year, spec_pid, spec_prov, S.SPECIALIST_VISIT, spec_day,
                   visit_amounts("specialist", pr.specialist_visit_usd, spec_pid, spec_out,
                                 spec_prov))
    for v_pid, v_day, v_prov, v_out in ((pcp_pid, pcp_day, pcp_prov, pcp_out),
                                        (spec_pid, spec_day, np.broadcast_to(
                                            spec_prov, (len(spec_pid),)), spec_out)):
        if v_out is None:
            labs, img = rates.labs_per_visit[v_pid], rates.imaging_per_visit[v_pid]
        else:  # outside visits order at reference practice
            labs = np.where(v_out, leak.labs_ref[v_pid], leak.labs_lev[v_pid])
            img = np.where(v_out, leak.imaging_ref[v_pid], leak.imaging_lev[v_pid])
        n_lab = rng.poisson(labs)
        idx = np.repeat(np.arange(len(v_pid)), n_lab)
        led.add_claims(year, v_pid[idx], v_prov[idx], S.LAB, v_day[idx],
                       np.full(len(idx), pr.lab_test_usd))
        n_img = rng.poisson(img)
        idx = np.repeat(np.arange(len(v_pid)), n_img)
        fac = pr.imaging_usd * pr.imaging_facility_share
        i_out = None if v_out is None else v_out[idx]
        led.add_claims(year, v_pid[idx], billed(hosp, "hospital", i_out, len(idx)),
                       S.IMAGING_FACILITY, v_day[idx], np.full(len(idx), fac))
        led.add_claims(year, v_pid[idx], billed(spec, "specialist", i_out, len(idx)),
                       S.IMAGING_PROFESSIONAL, v_day[idx], np.full(len(idx), pr.imaging_usd - fac))

    # Emergency visits not leading to admission (incl. given-up primary-care requests).
    ed_pid, ed_day = draw(R_ED)
    n_ed_tr = len(ed_pid)
    if log.unmet_ed:
        ed_pid = np.concatenate([ed_pid, *log.unmet_ed])
        ed_day = np.concatenate([ed_day, *(d - d0 for d in log.unmet_ed_day)])
    n_ed_unmet = len(ed_pid) - n_ed_tr
    log.unmet_ed, log.unmet_ed_day = [], []
    ed_out = None
    if leak is not None:  # ED visits after a request the group's clinic left unmet: inside
        ed_out = np.zeros(len(ed_pid), bool)
        ed_out[:n_ed_tr] = out_of(leak.routine[ed_pid[:n_ed_tr], R_ED])
    led.add_claims(year, ed_pid, billed(hosp, "hospital", ed_out, len(ed_pid)), S.ED_FACILITY,
                   ed_day, np.full(len(ed_pid), pr.ed_facility_usd))
    led.add_claims(year, ed_pid, billed(spec, "specialist", ed_out, len(ed_pid)),
                   S.ED_PROFESSIONAL, ed_day, np.full(len(ed_pid), pr.ed_professional_usd))

    # Ambulatory procedures, chronic services, other claims, community home health.
    op_pid, op_day = draw(R_OPPROC)
    op_out = out_of(leak.routine[op_pid, R_OPPROC]) if leak is not None else None
    led.add_claims(year, op_pid, billed(hosp, "hospital", op_out, len(op_pid)),
                   S.OUTPATIENT_PROCEDURE_FACILITY, op_day,
                   np.full(len(op_pid), pr.outpatient_procedure_usd))
    led.add_claims(year, op_pid, billed(spec, "specialist", op_out, len(op_pid)),
                   S.OUTPATIENT_PROCEDURE_PROFESSIONAL, op_day,
                   np.full(len(op_pid), pr.outpatient_procedure_professional_usd))
    ch_pid, ch_day = draw(R_CHRONIC)
    amount = _lognormal(rng, pr.chronic_service_usd, pr.chronic_service_sd_log, len(ch_pid))
    prof = rng.random(len(ch_pid)) < pr.chronic_service_professional_share
    ch_out = out_of(leak.routine[ch_pid, R_CHRONIC]) if leak is not None else None
    ch_spec = billed(spec, "specialist", ch_out, len(ch_pid))
    ch_hosp = billed(hosp, "hospital", ch_out, len(ch_pid))
    led.add_claims(year, ch_pid[prof], ch_spec if ch_out is None else ch_spec[prof],
                   S.CHRONIC_PROFESSIONAL, ch_day[prof], amount[prof])
    led.add_claims(year, ch_pid[~prof], ch_hosp if ch_out is None else ch_hosp[~prof],
                   S.CHRONIC_OUTPATIENT, ch_day[~prof], amount[~prof])
    ot_pid, ot_day = draw(R_OTHER)
    ot_out = out_of(leak.routine[ot_pid, R_OTHER]) if leak is not None else None
    led.add_claims(year, ot_pid, billed(other, "other", ot_out, len(ot_pid)), S.OTHER, ot_day,
                   _lognormal(rng, pr.other_claim_usd, 1.0, len(ot_pid)))
    hh_pid, hh_day = draw(R_HH)
    hh_out = out_of(leak.routine[hh_pid, R_HH]) if leak is not None else None
    led.add_claims(year, hh_pid, billed(post, "post_acute", hh_out, len(hh_pid)),
                   S.HOME_HEALTH, hh_day, np.full(len(hh_pid), pr.home_health_period_usd))

    # Hospital stays discharged this year.
    a = {k: np.asarray(v) for k, v in log.adm.items()}
    a["admit"] = a["admit"] - d0
    a["discharge"] = a["discharge"] - d0
    for v in log.adm.values():
        v.clear()
    n_adm = len(a["pid"])
    a_pid = a["pid"].astype(np.int64)
    kind = a["kind"].astype(np.int8)
    los = a["discharge"] - a["admit"] - a["wait"]
    elective = kind == AdmissionKind.ELECTIVE
    ad = sc.clinical.admissions
    e = pr.admission_los_elasticity
    k_shape = ad.los_shape
    # E[(L/mean)^e] for L ~ gamma(k): Gamma(k+e) / (Gamma(k) k^e)
    norm = np.exp(gammaln(k_shape + e) - gammaln(k_shape) - e * np.log(k_shape))
    unpl = ~elective
    drg = _lognormal(rng, pr.admission_mean_usd, pr.admission_cost_sd_log, n_adm)
    payment_z = _z_score(drg, pr.admission_mean_usd, pr.admission_cost_sd_log)
    drg *= (np.maximum(los, 0.1) / ad.los_mean_days) ** e / norm
    day = a["discharge"]
    # A stay's hazard kind is its DES hazard index (AdmissionKind); outside stays bill their
    # facility, professional, ED and post-acute claims outside.
    s_out = (out_of(leak.hazards[a_pid, kind.astype(np.int64)]) if leak is not None
             else np.zeros(n_adm, bool))
    s_hosp = billed(hosp, "hospital", s_out if leak is not None else None, n_adm)
    s_spec = billed(spec, "specialist", s_out if leak is not None else None, n_adm)
    s_post = billed(post, "post_acute", s_out if leak is not None else None, n_adm)

    def sel(prov: int | np.ndarray, mask: np.ndarray) -> int | np.ndarray:
        return prov if leak is None else prov[mask]

    # The claims stream's draws in their original order (stay payments, elective amounts,
    # via-ED and joint flags), then family and MCC flag (stay_groups stream), then
    # documentation's MCC capture (coding_fees stream), then the claims in their order.
    el_amount = _lognormal(rng, pr.elective_admission_usd, ELECTIVE_SD_LOG, int(elective.sum()))
    payment_z[elective] = _z_score(el_amount, pr.elective_admission_usd, ELECTIVE_SD_LOG)
    via_ed = unpl & (rng.random(n_adm) < ad.via_ed_share)
    joint = elective & (rng.random(n_adm) < sc.clinical.electives.joint_replacement_share)
    hf, copd = pop.conditions[a_pid, _CI["heart_failure"]], pop.conditions[a_pid, _CI["copd"]]
    group, mcc = stay_groups.assign(kind, joint, hf, copd, payment_z, sc.clinical.stay_groups,
                                    sc.clinical.electives.joint_replacement_share, group_rng)
    cdi_stats: dict[str, float] = {}  # per billing hospital: CDI uplift and effort
    if fee_rng is not None:  # documentation (CDI) captures MCCs (sim.coding.fees)
        effort = np.where(s_out, 0.0, cdi_effort_of(cdi_effort, a_pid, cf.hospital_cdi_effort))
        upgraded, factor = fees.mcc_upgrade(group, mcc, effort, cf.cdi_mcc_capture_at_full,
                                            fee_rng)
        mcc = mcc | upgraded
        cdi_stats = _cdi_by_hospital(np.broadcast_to(s_hosp, (n_adm,)), unpl, effort,
                                     drg * (factor - 1.0),
                                     _scatter(elective, el_amount * (factor[elective] - 1.0)))
        drg = drg * factor
        el_amount = el_amount * factor[elective]
    led.add_claims(year, a_pid[unpl], sel(s_hosp, unpl), S.INPATIENT_FACILITY, day[unpl],
                   drg[unpl])
    led.add_claims(year, a_pid[unpl], sel(s_spec, unpl), S.INPATIENT_PROFESSIONAL, day[unpl],
                   np.full(int(unpl.sum()), pr.inpatient_professional_usd))
    led.add_claims(year, a_pid[elective], sel(s_hosp, elective), S.ELECTIVE_FACILITY,
                   day[elective], el_amount)
    led.add_claims(year, a_pid[elective], sel(s_spec, elective), S.ELECTIVE_PROFESSIONAL,
                   day[elective], np.full(int(elective.sum()), pr.elective_professional_usd))
    led.add_claims(year, a_pid[via_ed], sel(s_spec, via_ed), S.ED_PROFESSIONAL, day[via_ed],
                   np.full(int(via_ed.sum()), pr.ed_professional_usd))
    # Post-acute care: the DES's generic draw, except after joint replacement (own stream).
    snf_days = np.asarray(a["snf_days"], float).copy()
    hh = a["home_health"].astype(bool)
    irf = np.zeros(n_adm, bool)
    hh_periods = hh.astype(np.int64)
    if joint.any():
        jp = joint_post_acute(sc.clinical.post_acute.after_joint_replacement,
                              rates.institutional_pac_factor[a_pid[joint]], pac_rng,
                              None if rates.episode_snf_los_factor is None
                              else rates.episode_snf_los_factor[a_pid[joint]])
        snf_days[joint], irf[joint], hh_periods[joint] = jp
        hh[joint] = jp[2] > 0
    snf = snf_days > 0
    led.add_claims(year, a_pid[snf], sel(s_post, snf), S.SNF, day[snf], snf_days[snf] * pr.snf_per_day_usd)
    led.add_claims(year, a_pid[irf], sel(s_post, irf), S.IRF, day[irf],
                   np.full(int(irf.sum()), pr.irf_stay_usd))
    hh_idx = np.repeat(np.arange(n_adm), hh_periods)  # one claim per 30-day period
    led.add_claims(year, a_pid[hh_idx], sel(s_post, hh_idx), S.HOME_HEALTH, day[hh_idx],
                   np.full(len(hh_idx), pr.home_health_period_usd))
    led.add_admissions({
        "patient": a_pid.astype(np.int32), "admit": a["admit"], "discharge": day,
        "bed_wait": a["wait"], "kind": kind, "via_ed": via_ed, "joint_replacement": joint,
        "group": group, "mcc": mcc,
        "snf_days": snf_days, "home_health": hh, "irf": irf,
        "year": np.full(n_adm, year, np.int16),
    })

    # Patient-year records: person-time, QALYs, risk score.
    n = len(pop)
    py = person_years(des.entered, des.exited, d0, year)
    util = utility
    dm_unc = (state >> 1).astype(bool)
    qaly = np.bincount(pid, weights=util[pid, dm_unc.astype(int)] * dur_years, minlength=n)
    qaly += np.bincount(a_pid, weights=util[a_pid, 0] * los / DAYS, minlength=n)
    qaly -= sc.clinical.utility.admission_qaly_loss * np.bincount(a_pid[unpl], minlength=n)
    member = py > 0
    row = year - led.first_year
    diabetic_alive = pop.conditions[:, 0] & des.alive
    # The closed cohort (members at the start of plan year 0) and what its terminal value
    # needs: who is alive at the year's end, with which utility (sim.metrics, sim.economics).
    cohort = (des.entered <= d0) & (des.exited > d0)
    utility_end = np.where(des.dm_uncontrolled, util[:, 1], util[:, 0])
    for key, value in (("person_years", py), ("qalys", qaly), ("member", member),
                       ("cohort", cohort), ("alive_end", des.alive.copy()),
                       ("utility_end", utility_end), ("female", pop.female),
                       ("diabetic_alive_end", diabetic_alive),
                       ("dm_uncontrolled_end", des.dm_uncontrolled.copy()),
                       ("risk_score", risk_score), ("age", age)):
        led.patient_year.setdefault(key, np.zeros((n_recorded, n), value.dtype))[row] = value

    dm = pop.conditions[:, 0] & des.alive
    n_dm = int(dm.sum())
    given_up, log.given_up = log.given_up, 0.0
    led.year_stats[year] = ({
        "members_end": float(des.alive.sum()),
        "diabetics_end": float(n_dm),
        "diabetics_controlled_end": float((dm & ~des.dm_uncontrolled).sum()),
        "pcp_wait_days_mean": float(waits.mean()) if len(waits) else 0.0,
        "pcp_requests_given_up": float(given_up),
        "ed_from_unmet_pcp": float(n_ed_unmet),
        "bed_wait_days_mean": float(a["wait"].mean()) if n_adm else 0.0,
    })
    # CDI: revenue, not care (the settlement does not cost it), and the programme's effort
    led.year_stats[year].update(cdi_stats)


def cdi_effort_of(per_patient: np.ndarray | None, patients: np.ndarray,
                  default: float) -> np.ndarray | float:
    """CDI effort on the stays of ``patients``: the ``cdi_effort`` lever of each patient's
    panel (``per_patient``), ``default`` (``coding_fees.hospital_cdi_effort``) where it is
    unset (NaN) or without levers."""
    if per_patient is None:
        return default
    e = np.asarray(per_patient, np.float64)[patients]
    return np.where(np.isnan(e), default, e)


def _scatter(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(mask))
    out[mask] = values
    return out


def _cdi_by_hospital(hospital: np.ndarray, unplanned: np.ndarray, effort: np.ndarray,
                     uplift_unplanned: np.ndarray, uplift_elective: np.ndarray
                     ) -> dict[str, float]:
    """Per billing hospital ``h`` of the stays (those with effort only: outside hospitals
    code at 0): what captured MCCs added to its unplanned and elective facility payments,
    and the sum of its stays' efforts (discharges x effort: what the programme costs are
    booked on, sim.settlement.engine). Empty when no stay had any effort."""
    out: dict[str, float] = {}
    effort = np.broadcast_to(np.asarray(effort, np.float64), hospital.shape)
    for h in np.unique(hospital[effort > 0]):
        m = hospital == h
        out[f"cdi_uplift_inpatient_usd:{h}"] = float(uplift_unplanned[m & unplanned].sum())
        out[f"cdi_uplift_elective_usd:{h}"] = float(uplift_elective[m & ~unplanned].sum())
        out[f"cdi_effort_discharges:{h}"] = float(effort[m].sum())
    return out
