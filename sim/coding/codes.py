"""Codes on the simulated claims: HCPCS/CPT, place of service, revenue centre, MS-DRG, ICD-10-CM.

The care model draws claims with 18 internal service codes and an amount
(:mod:`sim.services`); a billing office puts real codes on them. This module does that
*after* the claims are drawn, from the ledger's claim columns, the hospital stays (family
and MCC flag, :mod:`sim.stay_groups`), the patients' chronic conditions
(:data:`sim.scenario.schema.CONDITIONS`), a morbidity score per patient-year and a random
stream of its own (``claim_codes``), so no amount, count or other draw of the model changes.
The code sets and the frequencies are small CSV files in ``sim/coding/data/`` (each with
its source and year in its header); CPT codes are shipped as codes only, without the AMA's
descriptors.

Per claim (:func:`code_claims`, columns :data:`CODE_COLUMNS`):

* ``hcpcs`` — professional claims: office E/M (new 99202-99205 / established 99212-99215;
  level drawn by an ordered probit on the patient's morbidity, so the level mix matches the
  CMS E/M utilisation shares and sicker patients get higher levels), annual wellness visits
  (G0438/G0439), transitional care management (99495/99496) after a discharge, chronic care
  management (99490), labs, imaging, ambulatory procedures, ED E/M (99281-99285), initial
  hospital care (99221-99223), the surgeon's procedure of an elective stay, Part B drugs,
  DME; outpatient facility claims the HCPCS of their revenue line; empty for stays and
  post-acute claims (paid by DRG, HIPPS or CMG).
* ``pos`` — place of service of professional and DME claims (11 office, 12 home, 19/22
  outpatient hospital, 21 inpatient, 23 ED).
* ``revenue_center`` — institutional claims: the revenue centre of their (one) line.
* ``dx`` — ICD-10-CM codes, space-separated, principal first: from the reason of the claim
  (stay reason, ED reason, the test or procedure's indication, the AWV) and then the
  patient's chronic conditions (combination codes where the guidelines require them:
  E11.22, I11.0, I12.9, I13.0).
* ``drg`` — acute inpatient facility claims: the MS-DRG (v42) of the stay's reason and
  severity tier; ``procedure`` — the ICD-10-PCS code of a surgical stay.

Stays (:func:`code_claims`'s second table): ``reason`` (a row of ``stay_reasons.csv``
chosen within the stay's family, by kind of stay and the patient's conditions, with the
published Medicare discharge weights), ``severity`` (0 without CC/MCC, 1 with CC, 2 with
MCC: MCC is the stay's own ``mcc`` flag; CC is drawn by an ordered probit on morbidity, and
a chronic CC code the patient carries, such as CKD stage 4 or hypertensive heart and kidney
disease, makes the stay "with CC" as a grouper would), ``drg``, ``dx`` and ``procedure``.
The diagnoses of a stay group to its DRG in CMS's grouper (checked with ``drgpy`` in
``tests/test_coding_codes.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri
from scipy.stats import rankdata

from sim.constants import AdmissionKind
from sim.scenario.schema import CONDITIONS
from sim.services import Service
from sim.stay_groups import StayGroup

__all__ = ["CODE_COLUMNS", "STAY_CODE_COLUMNS", "CodingParams", "code_claims", "code_sets",
           "table"]

DATA = Path(__file__).parent / "data"
S = Service
_CI = {name: i for i, name in enumerate(CONDITIONS)}

#: columns :func:`code_claims` adds to the claims
CODE_COLUMNS = ["hcpcs", "pos", "revenue_center", "dx", "drg", "procedure"]
#: columns it adds to the stays
STAY_CODE_COLUMNS = ["reason", "severity", "drg", "dx", "procedure"]


@dataclass(frozen=True)
class CodingParams:
    """Frequencies of the coding choices that no code table holds (judgement, sourced)."""

    #: correlation of an E/M level (and a stay's CC) with the patient's morbidity score in
    #: the ordered probit: judgement (sicker patients get higher levels; the level mix
    #: itself is the table's, whatever this value)
    morbidity_correlation: float = 0.5
    #: share of PCP / specialist office visits billed as new-patient visits: judgement
    #: from CMS E/M utilisation (new visits ~5% of primary care and ~20% of specialists'
    #: office E/M of Medicare patients)
    new_share_pcp: float = 0.05
    new_share_specialist: float = 0.20
    #: chance that a patient's first PCP visit of a year is an annual wellness visit:
    #: about 30% of FFS beneficiaries had an AWV in 2022 (CMS) and ~85% see primary care
    awv_share: float = 0.35
    #: chance that the first PCP visit within 14 days of a discharge is billed as TCM:
    #: TCM is billed after ~14% of eligible discharges (Bindman & Cox, JAMA IM 2018: 9% in
    #: 2016, rising), about half of which have a visit in that window
    tcm_share: float = 0.25
    #: chance that a visit's principal diagnosis is one of the patient's chronic
    #: conditions (if any): judgement
    chronic_visit_share: float = 0.7
    #: share of heart-failure patients whose HF is systolic (I50.22) rather than diastolic
    #: (I50.32) when documented specifically: HFrEF ~ half of Medicare HF (judgement)
    systolic_share: float = 0.5
    #: share of CKD patients coded stage 4 (a CC) rather than stage 3: judgement (stage 3
    #: is ~80% of stage 3-4 CKD in Medicare; USRDS 2023)
    ckd_stage4_share: float = 0.2


@cache
def table(name: str) -> pd.DataFrame:
    """A code table of ``sim/coding/data`` (every column a string; ``#`` lines are its
    header notes)."""
    return pd.read_csv(DATA / f"{name}.csv", comment="#", dtype=str, keep_default_na=False)


def code_sets() -> dict[str, frozenset[str]]:
    """The codes of every shipped table: ``icd10cm``, ``hcpcs``, ``msdrg``,
    ``revenue_center``, ``pos``, ``icd10pcs`` (the procedures of ``stay_reasons``)."""
    reasons = table("stay_reasons")
    return {"icd10cm": frozenset(table("icd10cm")["code"]),
            "hcpcs": frozenset(table("hcpcs")["code"]),
            "msdrg": frozenset(table("msdrg")["drg"]),
            "revenue_center": frozenset(table("revenue_centers")["code"]),
            "pos": frozenset(table("place_of_service")["code"]),
            "icd10pcs": frozenset(c for c in reasons["procedure_pcs"] if c)}


def cc_level(code: str) -> int:
    """0 none, 1 CC, 2 MCC: the code's severity as a secondary diagnosis (MS-DRG v42)."""
    return _CC_LEVEL.get(code, 0)


_CC_LEVEL: dict[str, int] = {}


def _counts(code: str, principal: str) -> int:
    """Severity ``code`` adds as a secondary diagnosis beside ``principal``: its CC/MCC
    level, except where the grouper's CC exclusions drop it (CKD beside an acute kidney
    failure principal)."""
    if principal[:3] == "N17" and code[:3] == "N18":
        return 0
    return cc_level(code)


def _init() -> None:
    if not _CC_LEVEL:
        for c, lvl in zip(table("icd10cm")["code"], table("icd10cm")["cc_mcc"], strict=True):
            _CC_LEVEL[c] = {"none": 0, "CC": 1, "MCC": 2}[lvl]


# ----------------------------------------------------------------------------- helpers

def _normal_scores(x: np.ndarray) -> np.ndarray:
    """Standard-normal scores of ``x`` by rank (ties averaged): marginally N(0, 1)."""
    n = len(x)
    if n == 0:
        return np.zeros(0)
    return ndtri((rankdata(x) - 0.5) / n)


def _ordered(score: np.ndarray, e: np.ndarray, shares: np.ndarray, rho: float) -> np.ndarray:
    """Index of the category of an ordered probit: ``rho * score + sqrt(1 - rho^2) * e``
    cut at the normal quantiles of the cumulative ``shares`` (so with ``score`` N(0, 1) the
    categories have ``shares`` in expectation, higher ``score`` higher categories)."""
    p = np.asarray(shares, np.float64)
    cuts = ndtri(np.clip(np.cumsum(p / p.sum())[:-1], 1e-12, 1 - 1e-12))
    latent = rho * score + np.sqrt(1.0 - rho * rho) * e
    return np.searchsorted(cuts, latent)


def _pick(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw: index ``j`` with probability ``weights[i, j] / sum``."""
    cum = np.cumsum(weights, axis=1)
    total = cum[:, -1:]
    total = np.where(total > 0, total, 1.0)
    return np.minimum((cum / total < u[:, None]).sum(axis=1), weights.shape[1] - 1)


def _group(name: str) -> pd.DataFrame:
    t = table("hcpcs")
    return t[t["group"] == name].reset_index(drop=True)


def _choose(group: str, cond: np.ndarray, u: np.ndarray) -> pd.DataFrame:
    """Rows of the HCPCS ``group`` drawn per claim, a code with a ``condition`` only for
    patients with it (``cond``: the claims' patients' conditions)."""
    g = _group(group)
    w = np.tile(g["weight"].astype(float).to_numpy(), (len(u), 1))
    for j, c in enumerate(g["condition"]):
        if c:
            w[:, j] *= cond[:, _CI[c]]
    return g.iloc[_pick(w, u)].reset_index(drop=True)


def _code_at_level(group: str, level: np.ndarray) -> np.ndarray:
    """The code of E/M ``group`` at each ``level`` (2-5)."""
    g = _group(group)
    by_level = dict(zip(g["level"].astype(int), g["code"], strict=True))
    return np.array([by_level[int(x)] for x in level], object)


def _level_codes(group: str, score: np.ndarray, e: np.ndarray, rho: float) -> np.ndarray:
    g = _group(group).sort_values("level", kind="stable")
    idx = _ordered(score, e, g["weight"].astype(float).to_numpy(), rho)
    return g["code"].to_numpy(object)[idx]


# ----------------------------------------------------------------------------- diagnoses

class _Chronic:
    """The chronic-condition codes of each patient (fixed per patient: HF type and CKD
    stage drawn once)."""

    def __init__(self, conditions: np.ndarray, u: np.ndarray, p: CodingParams) -> None:
        self.c = np.asarray(conditions, bool)
        self.systolic = u[:, 0] < p.systolic_share
        self.stage4 = u[:, 1] < p.ckd_stage4_share
        self._memo: dict[tuple[int, bool, str], list[str]] = {}

    def codes(self, patient: int, *, hf_specific: bool = True, principal: str = "") -> list[str]:
        """The patient's chronic codes in a fixed order, combination codes applied;
        without the condition of ``principal`` (and, with an HF principal, hypertension
        coded I10/I12.9 so the acute HF code stays the principal)."""
        key = (patient, hf_specific, principal if principal[:3] in _CHRONIC_STEMS else "")
        got = self._memo.get(key)
        if got is None:
            got = self._memo[key] = self._codes(patient, hf_specific, key[2])
        return [x for x in got if x != principal] if principal else list(got)

    def _codes(self, patient: int, hf_specific: bool, principal: str) -> list[str]:
        c = self.c[patient]
        dm, hf, copd, ckd, htn = (c[_CI[k]] for k in
                                  ("diabetes", "heart_failure", "copd", "ckd", "hypertension"))
        hf_principal = principal.startswith("I50") or principal.startswith("I11") or \
            principal.startswith("I13")
        out: list[str] = []
        if htn:
            if hf and ckd and not hf_principal:
                out.append("I130")
            elif hf and not hf_principal:
                out.append("I110")
            elif ckd:
                out.append("I129")
            else:
                out.append("I10")
        if hf and not hf_principal:
            out.append(("I5022" if self.systolic[patient] else "I5032") if hf_specific
                       else "I509")
        if dm and not principal.startswith("E11"):
            out.append("E1122" if ckd else "E119")
        if copd and not principal.startswith("J44"):
            out.append("J449")
        if ckd:
            out.append("N184" if self.stage4[patient] else "N1830")
        return [x for x in out if x != principal]


#: stems of principal diagnoses that change how the chronic conditions are coded
_CHRONIC_STEMS = frozenset({"I50", "I11", "I13", "E11", "J44"})


def _join(principal: str, rest: list[str], limit: int = 25) -> str:
    seen = [principal] if principal else []
    for code in rest:
        if code and code not in seen:
            seen.append(code)
    return " ".join(seen[:limit])


# ----------------------------------------------------------------------------- stays

_SEVERITY_MCC = ("J9601", "G9341", "N170", "E43")
_SEVERITY_CC = ("N179", "E871", "D62")
_SURGICAL = {StayGroup.MAJOR_JOINT, StayGroup.SPINAL_FUSION, StayGroup.OTHER_SURGICAL}


def _stay_codes(stays: pd.DataFrame, chronic: _Chronic, score: np.ndarray,
                rng: np.random.Generator, p: CodingParams) -> pd.DataFrame:
    """Reason, severity tier, MS-DRG, diagnoses and procedure of each stay."""
    m = len(stays)
    u = rng.random((m, 3))
    e = rng.standard_normal(m)
    out = pd.DataFrame({c: np.full(m, "", object) for c in STAY_CODE_COLUMNS})
    out["severity"] = np.zeros(m, np.int8)
    if m == 0:
        return out
    reasons = table("stay_reasons")
    fam_of = {g.name.lower(): int(g) for g in StayGroup}
    r_family = reasons["family"].map(fam_of).to_numpy()
    r_weight = reasons["weight"].astype(float).to_numpy()
    kind = stays["kind"].to_numpy(np.int64)
    group = stays["group"].to_numpy(np.int64)
    patient = stays["patient"].to_numpy(np.int64)
    cond = chronic.c[patient]
    w = (group[:, None] == r_family[None, :]) * r_weight[None, :]
    kinds = reasons["kinds"].to_numpy()
    acsc = kind == AdmissionKind.ACSC
    for j, k in enumerate(kinds):
        if k == "acsc":
            w[:, j] *= acsc
        elif k == "other":
            w[:, j] *= ~acsc
        if reasons["condition"].iloc[j]:
            w[:, j] *= cond[:, _CI[reasons["condition"].iloc[j]]]
    # a family whose every reason needs a condition the patient lacks: ignore the condition
    empty = w.sum(axis=1) == 0
    if empty.any():
        w[empty] = (group[empty, None] == r_family[None, :]) * r_weight[None, :]
    pick = _pick(w, u[:, 0])
    row = reasons.iloc[pick].reset_index(drop=True)
    # severity: MCC is the stay's own flag; CC by an ordered probit on morbidity
    mcc = stays["mcc"].to_numpy(bool)
    cc_share = pd.to_numeric(row["cc_share"], errors="coerce").fillna(0.0).to_numpy()
    rho = p.morbidity_correlation
    with np.errstate(divide="ignore"):
        cc = (rho * score + np.sqrt(1 - rho * rho) * e) > ndtri(1.0 - cc_share)
    tier = np.where(mcc, 2, np.where(cc & (cc_share > 0), 1, 0))
    drg_cols = row[["drg_none", "drg_cc", "drg_mcc"]].to_numpy(object)
    dx = np.empty(m, object)
    for i in range(m):
        principal = row["principal_dx"].iat[i]
        t = int(tier[i])
        codes = chronic.codes(int(patient[i]), hf_specific=t >= 1, principal=principal)
        extra: list[str] = []
        if t == 2:
            opts = [c for c in _SEVERITY_MCC if c[:3] != principal[:3]]
            extra.append(opts[int(u[i, 1] * len(opts))])
        elif t == 1 and max((_counts(c, principal) for c in codes), default=0) < 1:
            opts = [c for c in _SEVERITY_CC if c[:3] != principal[:3]]
            extra.append(opts[int(u[i, 1] * len(opts))])
        # a chronic CC the patient carries makes the stay "with CC" (as a grouper would)
        if t == 0 and max((_counts(c, principal) for c in codes), default=0) >= 1:
            t = 1
        tier[i] = t
        dx[i] = _join(principal, extra + codes)
    out["reason"] = row["reason"].to_numpy(object)
    out["severity"] = tier.astype(np.int8)
    out["drg"] = drg_cols[np.arange(m), tier]
    out["dx"] = dx
    out["procedure"] = row["procedure_pcs"].to_numpy(object)
    return out


def _stay_of(claims: pd.DataFrame, stays: pd.DataFrame, mask: np.ndarray) -> np.ndarray:
    """Row in ``stays`` of each claim in ``mask`` (same patient, dated at the discharge),
    -1 where none."""
    out = np.full(int(mask.sum()), -1, np.int64)
    if not len(stays) or not mask.any():
        return out
    s = pd.DataFrame({"patient": stays["patient"].to_numpy(np.int64),
                      "day": stays["discharge"].to_numpy().astype(np.float32).astype(np.float64),
                      "row": np.arange(len(stays))}).drop_duplicates(["patient", "day"])
    keys = pd.DataFrame({"patient": claims.loc[mask, "patient"].to_numpy(np.int64),
                         "day": claims.loc[mask, "day"].to_numpy().astype(np.float32)
                         .astype(np.float64)})
    found = keys.merge(s, on=["patient", "day"], how="left")["row"]
    return found.fillna(-1).to_numpy(np.int64)


def _last_stay(claims: pd.DataFrame, stays: pd.DataFrame, mask: np.ndarray) -> np.ndarray:
    """Row in ``stays`` of the patient's latest stay discharged on or before each claim in
    ``mask`` (-1 where none): the stay a post-acute claim follows."""
    n = int(mask.sum())
    if not len(stays) or n == 0:
        return np.full(n, -1, np.int64)
    s = pd.DataFrame({"patient": stays["patient"].to_numpy(np.int64),
                      "day": stays["discharge"].to_numpy(np.float64),
                      "row": np.arange(len(stays))}).sort_values("day", kind="stable")
    q = pd.DataFrame({"patient": claims.loc[mask, "patient"].to_numpy(np.int64),
                      "day": claims.loc[mask, "day"].to_numpy(np.float64) + 1e-3,
                      "order": np.arange(n)}).sort_values("day", kind="stable")
    got = pd.merge_asof(q, s, on="day", by="patient", direction="backward")
    return got.sort_values("order")["row"].fillna(-1).to_numpy(np.int64)


# ----------------------------------------------------------------------------- claims

def code_claims(claims: pd.DataFrame, stays: pd.DataFrame, conditions: np.ndarray,
                morbidity: np.ndarray, age: np.ndarray, rng: np.random.Generator,
                params: CodingParams | None = None, prices=None
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The codes of every claim (:data:`CODE_COLUMNS`, aligned with ``claims``' rows) and
    of every stay (:data:`STAY_CODE_COLUMNS`, aligned with ``stays``' rows).

    ``claims`` has the ledger's columns (``patient``, ``provider``, ``service``, ``year``
    (plan year >= 0), ``day``, ``amount``); ``stays`` the admissions' (``patient``,
    ``discharge``, ``kind``, ``group``, ``mcc``); ``conditions`` the bool matrix (patients x
    :data:`CONDITIONS`); ``morbidity`` and ``age`` per plan year and patient (rows = plan
    years 0, 1, ...); ``rng`` the replication's ``claim_codes`` stream. Deterministic for a
    given stream; changes nothing it is given. With ``prices`` (the scenario's fee
    schedule, whose office visits were paid by E/M level, :mod:`sim.coding.fees`), an office
    E/M visit is coded at the level its amount paid (:func:`sim.coding.fees.em_level_of`),
    so the code matches the payment; without, the level is drawn here.
    """
    _init()
    p = params or CodingParams()
    c = claims.reset_index(drop=True)
    n = len(c)
    st = stays.reset_index(drop=True) if len(stays) else stays
    conditions = np.asarray(conditions, bool)
    chronic = _Chronic(conditions, rng.random((len(conditions), 2)), p)
    patient = c["patient"].to_numpy(np.int64)
    year = c["year"].to_numpy(np.int64)
    service = c["service"].to_numpy(np.int64)
    morb = np.asarray(morbidity, np.float64)[year, patient] if n else np.zeros(0)
    ages = np.asarray(age, np.float64)[year, patient] if n else np.zeros(0)
    cond = conditions[patient] if n else np.zeros((0, len(CONDITIONS)), bool)
    # stays first (one block of draws), then one block per claim
    if len(st):
        s_morb = np.asarray(morbidity, np.float64)[st["year"].to_numpy(np.int64),
                                                    st["patient"].to_numpy(np.int64)]
    else:
        s_morb = np.zeros(0)
    stay = _stay_codes(st, chronic, _normal_scores(s_morb), rng, p)
    u = rng.random((n, 4))
    e = rng.standard_normal(n)
    rho = p.morbidity_correlation
    out = pd.DataFrame({col: np.full(n, "", object) for col in CODE_COLUMNS})
    hcpcs = out["hcpcs"].to_numpy(object)
    pos = out["pos"].to_numpy(object)
    rev = out["revenue_center"].to_numpy(object)
    principal = np.full(n, "", object)
    drg = out["drg"].to_numpy(object)
    proc = out["procedure"].to_numpy(object)

    def sel(*services: Service) -> np.ndarray:
        return np.isin(service, [int(s) for s in services])

    # --- stays: facility, attending and surgeon claims, ED claims at a via-ED discharge
    stay_claim = sel(S.INPATIENT_FACILITY, S.ELECTIVE_FACILITY, S.INPATIENT_PROFESSIONAL,
                     S.ELECTIVE_PROFESSIONAL, S.ED_PROFESSIONAL, S.ED_FACILITY)
    srow = np.full(n, -1, np.int64)
    srow[stay_claim] = _stay_of(c, st, stay_claim)
    has = srow >= 0
    s_dx = stay["dx"].to_numpy(object)
    s_principal = np.array([d.split(" ")[0] if d else "" for d in s_dx], object)
    principal[has] = s_principal[srow[has]]
    fac = sel(S.INPATIENT_FACILITY, S.ELECTIVE_FACILITY) & has
    drg[fac] = stay["drg"].to_numpy(object)[srow[fac]]
    proc[fac] = stay["procedure"].to_numpy(object)[srow[fac]]
    surgical = np.isin(st["group"].to_numpy(np.int64), [int(g) for g in _SURGICAL]) \
        if len(st) else np.zeros(0, bool)
    fac_all = sel(S.INPATIENT_FACILITY, S.ELECTIVE_FACILITY)
    rev[fac_all] = "0120"
    rev[fac & surgical[np.maximum(srow, 0)]] = "0360"
    # attending physician: initial hospital care, level by the stay's severity and morbidity
    att = sel(S.INPATIENT_PROFESSIONAL)
    sev = np.zeros(n)
    sev[has] = stay["severity"].to_numpy(np.float64)[srow[has]]
    hcpcs[att] = _level_codes("inpatient_initial",
                              _normal_scores(sev[att] + 0.5 * _normal_scores(morb[att])),
                              e[att], rho)
    pos[att] = "21"
    # surgeon: the procedure of the stay's reason
    surg = sel(S.ELECTIVE_PROFESSIONAL)
    reasons = table("stay_reasons").set_index("reason")
    cpt = stay["reason"].map(reasons["surgeon_cpt"]).fillna("").to_numpy(object) \
        if len(st) else np.zeros(0, object)
    hcpcs[surg & has] = cpt[srow[surg & has]]
    hcpcs[surg & ~has] = "27447"
    pos[surg] = "21"
    # --- emergency department
    ed_p, ed_f = sel(S.ED_PROFESSIONAL), sel(S.ED_FACILITY)
    hcpcs[ed_p] = _level_codes("ed_professional", _normal_scores(morb[ed_p]), e[ed_p], rho)
    pos[ed_p] = "23"
    hcpcs[ed_f] = _level_codes("ed_facility", _normal_scores(morb[ed_f]), e[ed_f], rho)
    rev[ed_f] = "0450"
    ed = (ed_p | ed_f) & ~has
    principal[ed] = _dx_choice("ed_reason", cond[ed], u[ed, 1], chronic, patient[ed])
    # --- office visits: TCM, AWV, new and established E/M
    paid = None
    if prices is not None:
        from sim.coding.fees import em_level_of

        paid = np.zeros(n, np.int64)
        amount = c["amount"].to_numpy(np.float64)
        for svc, who, price in ((S.PCP_VISIT, "pcp", prices.pcp_visit_usd),
                                (S.SPECIALIST_VISIT, "specialist", prices.specialist_visit_usd)):
            m = service == int(svc)
            if m.any():
                paid[m] = em_level_of(who, amount[m], price)
    _visits(c, st, stay, hcpcs, pos, principal, cond, morb, ages, u, e, chronic, p, paid)
    # --- labs, imaging, procedures, chronic services, DME
    for svc, group, place in ((S.LAB, "lab", "11"), (S.IMAGING_PROFESSIONAL, "imaging", None),
                              (S.IMAGING_FACILITY, "imaging", ""),
                              (S.OUTPATIENT_PROCEDURE_PROFESSIONAL, "outpatient_procedure",
                               "22"),
                              (S.OUTPATIENT_PROCEDURE_FACILITY, "outpatient_procedure", ""),
                              (S.OTHER, "dme", "12")):
        m = sel(svc)
        if not m.any():
            continue
        rows = _choose(group, cond[m], u[m, 1])
        hcpcs[m] = rows["code"].to_numpy(object)
        if place is None:  # imaging read: office, on- or off-campus hospital (judgement)
            pos[m] = np.array(["11", "22", "19"], object)[
                np.searchsorted([0.30, 0.85], u[m, 2])]
        elif place:
            pos[m] = place
        else:
            rev[m] = rows["revenue"].to_numpy(object)
        principal[m] = _indication(rows["dx"].to_numpy(object), patient[m], chronic)
    _chronic_services(c, hcpcs, pos, rev, principal, cond, u, patient, chronic)
    # --- post-acute: the PPS line; diagnoses from the stay it follows
    for svc, code in ((S.SNF, "0022"), (S.HOME_HEALTH, "0023"), (S.IRF, "0024")):
        m = sel(svc)
        if not m.any():
            continue
        rev[m] = code
        last = _last_stay(c, st, m)
        after = np.where(last >= 0, s_principal[np.maximum(last, 0)] if len(st) else "", "")
        joint = np.zeros(len(last), bool)
        if len(st):
            joint = (last >= 0) & (st["group"].to_numpy()[np.maximum(last, 0)]
                                   == StayGroup.MAJOR_JOINT)
            hip = stay["reason"].to_numpy(object)[np.maximum(last, 0)] == "hip_replacement"
        else:
            hip = joint
        after = np.where(joint, "Z471", after)
        fallback = _indication(np.full(len(last), "", object), patient[m], chronic)
        principal[m] = np.where(after == "", fallback, after)
        implant = np.where(joint, np.where(hip, "Z96641", "Z96651"), "")
        principal[m] = np.array([f"{a} {b}".strip() for a, b in zip(principal[m], implant,
                                                                    strict=True)], object)
    # --- diagnoses of every claim: principal, then the patient's chronic codes
    dx = np.empty(n, object)
    inpatient_fac = fac
    s_dx_rows = srow
    for i in range(n):
        if inpatient_fac[i]:
            dx[i] = s_dx[s_dx_rows[i]]
            continue
        parts = principal[i].split(" ") if principal[i] else []
        first = parts[0] if parts else ""
        dx[i] = _join(first, parts[1:] + chronic.codes(int(patient[i]), principal=first),
                      limit=12)
    out["hcpcs"], out["pos"], out["revenue_center"] = hcpcs, pos, rev
    out["dx"], out["drg"], out["procedure"] = dx, drg, proc
    return out, stay


def _dx_choice(group: str, cond: np.ndarray, u: np.ndarray, chronic: _Chronic,
               patient: np.ndarray) -> np.ndarray:
    """A principal diagnosis drawn from ``dx_choices.csv``'s ``group``."""
    t = table("dx_choices")
    g = t[t["group"] == group].reset_index(drop=True)
    w = np.tile(g["weight"].astype(float).to_numpy(), (len(u), 1))
    for j, c in enumerate(g["condition"]):
        if c:
            w[:, j] *= cond[:, _CI[c]]
    return g["code"].to_numpy(object)[_pick(w, u)] if len(u) else np.zeros(0, object)


def _indication(codes: np.ndarray, patient: np.ndarray, chronic: _Chronic) -> np.ndarray:
    """The principal diagnosis of a test, procedure or supply: its table's indication, a
    condition's specific code where the indication is a condition's generic one, else the
    patient's first chronic code, else hyperlipidaemia (E78.5)."""
    out = np.empty(len(codes), object)
    for i, code in enumerate(codes):
        mine = chronic.codes(int(patient[i]))
        if code in ("E119", "I509", "J449"):
            same = [m for m in mine if m[:3] == code[:3]]
            out[i] = same[0] if same else code
        elif code:
            out[i] = code
        else:
            out[i] = mine[0] if mine else "E785"
    return out


def _visits(c: pd.DataFrame, st: pd.DataFrame, stay: pd.DataFrame, hcpcs: np.ndarray,
            pos: np.ndarray, principal: np.ndarray, cond: np.ndarray, morb: np.ndarray,
            ages: np.ndarray, u: np.ndarray, e: np.ndarray, chronic: _Chronic,
            p: CodingParams, paid: np.ndarray | None = None) -> None:
    """Office visits: TCM after a discharge, AWV, new or established E/M (in that order);
    ``paid``: the E/M level (2-5) each claim's amount paid (None: drawn here)."""
    service = c["service"].to_numpy(np.int64)
    patient = c["patient"].to_numpy(np.int64)
    day = c["day"].to_numpy(np.float64)
    year = c["year"].to_numpy(np.int64)
    rho = p.morbidity_correlation
    for svc, who in ((S.PCP_VISIT, "pcp"), (S.SPECIALIST_VISIT, "specialist")):
        m = service == svc
        idx = np.flatnonzero(m)
        if not len(idx):
            continue
        order = idx[np.lexsort((day[idx], patient[idx]))]
        frame = pd.DataFrame({"i": order, "patient": patient[order],
                              "provider": c["provider"].to_numpy()[order],
                              "year": year[order], "day": day[order]})
        done = np.zeros(len(c), bool)
        # a visit while the patient is in a SNF after a stay: nursing facility care, POS 31
        if len(st) and "snf_days" in st:
            snf = pd.DataFrame({"patient": st["patient"].to_numpy(np.int64),
                                "dday": st["discharge"].to_numpy(np.float64),
                                "until": st["discharge"].to_numpy(np.float64)
                                + st["snf_days"].to_numpy(np.float64)})
            snf = snf[snf["until"] > snf["dday"]].sort_values("dday")
            if len(snf):
                got = pd.merge_asof(frame.sort_values("day", kind="stable"), snf,
                                    left_on="day", right_on="dday", by="patient",
                                    direction="backward")
                ni = got.loc[got["day"] < got["until"], "i"].to_numpy(np.int64)
                if len(ni):
                    hcpcs[ni] = _level_codes("em_nursing_facility", _normal_scores(morb[ni]),
                                             e[ni], rho)
                    pos[ni] = "31"
                    done[ni] = True
        if who == "pcp":
            # TCM: the first PCP visit 1-14 days after an acute discharge
            if len(st):
                disc = pd.DataFrame({"patient": st["patient"].to_numpy(np.int64),
                                     "dday": st["discharge"].to_numpy(np.float64),
                                     "srow": np.arange(len(st))}).sort_values("dday")
                q = frame[~done[frame["i"]]].sort_values("day", kind="stable")
                got = pd.merge_asof(q, disc, left_on="day", right_on="dday", by="patient",
                                    direction="backward")
                gap = got["day"] - got["dday"]
                cand = got[(gap >= 1) & (gap <= 14)].drop_duplicates("srow")
                ci = cand["i"].to_numpy(np.int64)
                take = ci[u[ci, 2] < p.tcm_share]
                gap_t = (cand.set_index("i").loc[take, "day"]
                         - cand.set_index("i").loc[take, "dday"]).to_numpy()
                high = (gap_t <= 7) & (u[take, 3] < 0.4 / 0.7)  # 99496 needs a 7-day visit
                hcpcs[take] = np.where(high, "99496", "99495")
                pos[take] = "11"
                srow = cand.set_index("i").loc[take, "srow"].to_numpy(np.int64)
                s_dx = stay["dx"].to_numpy(object)[srow]
                principal[take] = [d.split(" ")[0] for d in s_dx]
                done[take] = True
            # AWV: the first PCP visit of a patient-year
            first = frame[~done[frame["i"]]].drop_duplicates(["patient", "year"])["i"]
            fi = first.to_numpy(np.int64)
            awv = fi[u[fi, 2] < p.awv_share]
            if len(awv):
                seen = pd.Series(patient[awv]).duplicated().to_numpy()
                initial = ~seen & (ages[awv] < 67)
                hcpcs[awv] = np.where(initial, "G0438", "G0439")
                pos[awv] = "11"
                principal[awv] = np.where(cond[awv].any(axis=1), "Z0001", "Z0000")
                done[awv] = True
        rest = frame[~done[frame["i"]]]
        # new patient: the first visit of a patient to a provider, with the chance that
        # makes new visits the target share of the service's visits
        first_pair = ~rest.duplicated(["patient", "provider"]).to_numpy()
        target = p.new_share_pcp if who == "pcp" else p.new_share_specialist
        ri = rest["i"].to_numpy(np.int64)
        chance = min(1.0, target * len(ri) / max(first_pair.sum(), 1))
        new = first_pair & (u[ri, 3] < chance)
        for is_new, kind in ((True, "new"), (False, "established")):
            sub = ri[new == is_new]
            if len(sub):
                hcpcs[sub] = _level_codes(f"em_{kind}_{who}", _normal_scores(morb[sub]),
                                          e[sub], rho)
                if paid is not None:  # the level the visit was paid at (sim.coding.fees)
                    hcpcs[sub] = _code_at_level(f"em_{kind}_{who}", paid[sub])
        if who == "pcp":
            pos[ri] = "11"
        else:  # provider-based clinics bill on-campus or off-campus (judgement)
            pos[ri] = np.array(["11", "22", "19"], object)[
                np.searchsorted([0.85, 0.95], u[ri, 2])]
        # principal: a chronic condition (most visits) or a general reason (nursing
        # facility visits too)
        nf = frame["i"].to_numpy(np.int64)
        nf = nf[pos[nf] == "31"]
        ri = np.concatenate([ri, nf])
        for i in ri:
            mine = chronic.codes(int(patient[i]))
            if mine and u[i, 1] < p.chronic_visit_share:
                principal[i] = mine[int(u[i, 1] / p.chronic_visit_share * len(mine))]
        gen = ri[principal[ri] == ""]
        principal[gen] = _dx_choice("visit_general", cond[gen], u[gen, 2], chronic,
                                    patient[gen])


def _chronic_services(c: pd.DataFrame, hcpcs: np.ndarray, pos: np.ndarray, rev: np.ndarray,
                      principal: np.ndarray, cond: np.ndarray, u: np.ndarray,
                      patient: np.ndarray, chronic: _Chronic) -> None:
    """Chronic-service claims (drugs, infusions, therapy, care management), coded by the
    claim's amount within its service: the cheapest quarter care management (99490, for
    patients with two or more chronic conditions) or therapy, the next quarter drug
    administration, the rest a Part B drug."""
    service = c["service"].to_numpy(np.int64)
    amount = c["amount"].to_numpy(np.float64)
    for svc, professional in ((S.CHRONIC_PROFESSIONAL, True), (S.CHRONIC_OUTPATIENT, False)):
        m = np.flatnonzero(service == svc)
        if not len(m):
            continue
        q = (rankdata(amount[m]) - 0.5) / len(m)
        low, mid = m[q < 0.25], m[(q >= 0.25) & (q < 0.5)]
        high = m[q >= 0.5]
        for sub, group in ((low, "chronic_low"), (mid, "chronic_mid"), (high, "chronic_drug")):
            if not len(sub):
                continue
            rows = _choose(group, cond[sub], u[sub, 1])
            hcpcs[sub] = rows["code"].to_numpy(object)
            principal[sub] = _indication(rows["dx"].to_numpy(object), patient[sub], chronic)
            if professional:
                pos[sub] = "11"
            else:
                rev[sub] = rows["revenue"].to_numpy(object)
        if professional and len(low):
            ccm = low[cond[low].sum(axis=1) >= 2]
            hcpcs[ccm] = "99490"
            principal[ccm] = _indication(np.full(len(ccm), "", object), patient[ccm], chronic)
