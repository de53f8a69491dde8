"""Coded claims (sim/coding/codes.py): code mix, validity, severity, determinism.

One synthetic replication's worth of claims and stays (4,000 patients, one plan year) is
coded once per module; the checks are cheap. The tolerances are sampling error (a share
``p`` of ``n`` claims has SD ``sqrt(p (1 - p) / n)``, below 0.005 here) plus the stated
published range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

from sim.coding.codes import CODE_COLUMNS, STAY_CODE_COLUMNS, code_claims, code_sets, table
from sim.constants import AdmissionKind
from sim.scenario.schema import CONDITIONS
from sim.services import Service as S
from sim.stay_groups import StayGroup as G

N_PATIENTS = 4_000
#: prevalences of CONDITIONS (diabetes, heart failure, COPD, CKD, hypertension) in the
#: synthetic panel, near the model's defaults
PREVALENCE = (0.28, 0.14, 0.12, 0.20, 0.60)
COUNTS = {S.PCP_VISIT: 10_000, S.SPECIALIST_VISIT: 10_000, S.LAB: 6_000, S.IMAGING_FACILITY: 1_500,
          S.IMAGING_PROFESSIONAL: 1_500, S.ED_FACILITY: 2_500, S.ED_PROFESSIONAL: 2_500,
          S.OUTPATIENT_PROCEDURE_FACILITY: 800, S.OUTPATIENT_PROCEDURE_PROFESSIONAL: 800,
          S.CHRONIC_OUTPATIENT: 1_500, S.CHRONIC_PROFESSIONAL: 1_500, S.OTHER: 1_500,
          S.SNF: 300, S.HOME_HEALTH: 300}
N_STAYS = 4_000


def _synthetic(seed: int = 11):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(N_PATIENTS)
    liability = (0.6 * z[:, None] + rng.standard_normal((N_PATIENTS, len(CONDITIONS)))
                 ) / np.sqrt(1.36)
    conditions = liability > ndtri(1.0 - np.array(PREVALENCE))
    morbidity = np.exp(0.8 * z)[None, :]
    age = rng.uniform(65, 95, N_PATIENTS)[None, :]
    # stays: kind, family (HF / COPD families only for patients with them), MCC flag
    sp = rng.integers(0, N_PATIENTS, N_STAYS)
    kind = rng.choice([1, 2, 3, 4], N_STAYS, p=[0.15, 0.55, 0.12, 0.18])
    u = rng.random(N_STAYS)
    group = np.full(N_STAYS, G.OTHER_MEDICAL)
    unpl = kind != AdmissionKind.ELECTIVE
    group[unpl & (u < 0.08)] = G.SEPSIS
    group[unpl & (u >= 0.08) & (u < 0.28) & conditions[sp, 1]] = G.HEART_FAILURE
    group[unpl & (u >= 0.28) & (u < 0.43) & conditions[sp, 2]] = G.COPD
    el = ~unpl
    group[el] = np.where(u[el] < 0.5, G.MAJOR_JOINT,
                         np.where(u[el] < 0.58, G.SPINAL_FUSION, G.OTHER_SURGICAL))
    discharge = rng.uniform(0, 360, N_STAYS)
    stays = pd.DataFrame({"patient": sp.astype(np.int32), "admit": discharge - 4,
                          "discharge": discharge, "kind": kind.astype(np.int8),
                          "group": group.astype(np.int8), "mcc": rng.random(N_STAYS) < 0.35,
                          "year": np.zeros(N_STAYS, np.int16)})
    rows = [pd.DataFrame({"patient": rng.integers(0, N_PATIENTS, k).astype(np.int32),
                          "service": np.full(k, int(s), np.int8),
                          "day": rng.uniform(0, 365, k)}) for s, k in COUNTS.items()]
    # the claims of each stay: facility, attending, and a surgeon for elective stays
    for s, m in ((S.INPATIENT_FACILITY, unpl), (S.ELECTIVE_FACILITY, el),
                 (S.INPATIENT_PROFESSIONAL, np.ones(N_STAYS, bool)),
                 (S.ELECTIVE_PROFESSIONAL, el)):
        rows.append(pd.DataFrame({"patient": sp[m].astype(np.int32),
                                  "service": np.full(int(m.sum()), int(s), np.int8),
                                  "day": discharge[m]}))
    claims = pd.concat(rows, ignore_index=True)
    claims["day"] = claims["day"].astype(np.float32)
    claims["provider"] = (claims["patient"] % 7).astype(np.int16)
    claims["year"] = np.int16(0)
    claims["amount"] = rng.lognormal(5, 1, len(claims))
    claims = claims[["patient", "provider", "service", "year", "day", "amount"]]
    return claims, stays, conditions, morbidity, age


@pytest.fixture(scope="module")
def coded():
    claims, stays, conditions, morbidity, age = _synthetic()
    before = claims.copy()
    codes, stay = code_claims(claims, stays, conditions, morbidity, age,
                              np.random.default_rng(5))
    pd.testing.assert_frame_equal(claims, before)  # the claims are not changed
    return claims, stays, conditions, morbidity, codes, stay


def _share(codes: pd.Series) -> dict[str, float]:
    return codes.value_counts(normalize=True).to_dict()


def test_columns_and_every_code_in_the_shipped_tables(coded):
    claims, stays, _, _, codes, stay = coded
    assert list(codes.columns) == CODE_COLUMNS and len(codes) == len(claims)
    assert list(stay.columns) == STAY_CODE_COLUMNS and len(stay) == len(stays)
    sets = code_sets()
    assert set(codes["hcpcs"]) - {""} <= sets["hcpcs"]
    assert set(codes["pos"]) - {""} <= sets["pos"]
    assert set(codes["revenue_center"]) - {""} <= sets["revenue_center"]
    assert set(codes["drg"]) - {""} <= sets["msdrg"]
    assert set(stay["drg"]) <= sets["msdrg"]
    assert set(codes["procedure"]) - {""} <= sets["icd10pcs"]
    dx = {c for d in pd.concat([codes["dx"], stay["dx"]]) for c in d.split(" ")}
    assert dx <= sets["icd10cm"]
    svc = claims["service"].to_numpy()
    professional = np.isin(svc, [S.PCP_VISIT, S.SPECIALIST_VISIT, S.LAB, S.IMAGING_PROFESSIONAL,
                                 S.ED_PROFESSIONAL, S.INPATIENT_PROFESSIONAL,
                                 S.ELECTIVE_PROFESSIONAL, S.OUTPATIENT_PROCEDURE_PROFESSIONAL,
                                 S.CHRONIC_PROFESSIONAL, S.OTHER])
    assert (codes.loc[professional, "hcpcs"] != "").all()
    assert (codes.loc[professional, "pos"] != "").all()
    assert (codes.loc[~professional, "revenue_center"] != "").all()
    assert (codes["dx"] != "").all()
    acute = np.isin(svc, [S.INPATIENT_FACILITY, S.ELECTIVE_FACILITY])
    assert (codes.loc[acute, "drg"] != "").all() and (codes.loc[~acute, "drg"] == "").all()


def test_established_em_level_mix_matches_medicare(coded):
    """Established office visits (PCP and specialists, equal numbers here as in the model's
    defaults): CMS E/M utilisation 2022-2023, all specialties: 99212 ~3-5%, 99213 ~35-40%,
    99214 ~45-50%, 99215 ~8-10%; tolerance: the range plus 1.5 points (sampling SD < 0.4)."""
    _, _, _, _, codes, _ = coded
    est = codes.loc[codes["hcpcs"].isin(["99212", "99213", "99214", "99215"]), "hcpcs"]
    assert len(est) > 15_000
    share = _share(est)
    for code, (lo, hi) in {"99212": (0.03, 0.05), "99213": (0.35, 0.40),
                           "99214": (0.45, 0.50), "99215": (0.08, 0.10)}.items():
        assert lo - 0.015 <= share[code] <= hi + 0.015, (code, share[code])


def test_other_code_mixes_follow_their_tables(coded):
    claims, _, _, _, codes, _ = coded
    svc = claims["service"].to_numpy()
    ed = _share(codes.loc[svc == S.ED_PROFESSIONAL, "hcpcs"])
    t = table("hcpcs")
    want = t[t["group"] == "ed_professional"].set_index("code")["weight"].astype(float)
    for code, w in want.items():
        assert abs(ed.get(code, 0.0) - w) < 0.03, (code, ed.get(code), w)
    pcp = _share(codes.loc[svc == S.PCP_VISIT, "hcpcs"])
    awv = pcp.get("G0438", 0) + pcp.get("G0439", 0)
    assert 0.05 < awv < 0.20  # ~0.35 of patients' first visit of the year
    new_pcp = sum(pcp.get(c, 0) for c in ("99202", "99203", "99204", "99205"))
    assert 0.02 < new_pcp <= 0.06  # new-patient share target 0.05 (capped by first visits)
    # chronic care management only for patients with two or more chronic conditions
    _, _, conditions, _, _, _ = coded
    ccm = codes["hcpcs"] == "99490"
    assert ccm.any()
    assert (conditions[claims.loc[ccm, "patient"]].sum(axis=1) >= 2).all()


def test_drg_mix_of_modelled_reasons_follows_the_discharge_weights(coded):
    """Within the 'other medical' stays of non-ACSC kinds, each reason's share of stays is
    its PUF-anchored weight among the reasons open to the stay (stay_reasons.csv);
    tolerance 0.02 (sampling SD < 0.009 for ~3,000 stays)."""
    _, stays, conditions, _, _, stay = coded
    r = table("stay_reasons")
    pool = r[(r["family"] == "other_medical") & r["kinds"].isin(["other", "unplanned"])
             & (r["condition"] == "")]
    m = ((stays["group"] == G.OTHER_MEDICAL) & (stays["kind"] != AdmissionKind.ACSC)).to_numpy()
    got = stay.loc[m, "reason"].value_counts(normalize=True)
    w = pool.set_index("reason")["weight"].astype(float)
    w = w / w.sum()
    for reason, share in w.items():
        assert abs(got.get(reason, 0.0) - share) < 0.02, (reason, got.get(reason), share)
    # families: sepsis stays are 871/872 with 871 exactly the MCC stays; HF 291-293; LEJR
    for fam, drgs in ((G.SEPSIS, {"871", "872"}), (G.HEART_FAILURE, {"291", "292", "293"}),
                      (G.COPD, {"190", "191", "192"}), (G.MAJOR_JOINT, {"469", "470"}),
                      (G.SPINAL_FUSION, {"450", "451"})):
        f = (stays["group"] == fam).to_numpy()
        assert set(stay.loc[f, "drg"]) <= drgs, fam
    sep = (stays["group"] == G.SEPSIS).to_numpy()
    assert ((stay.loc[sep, "drg"] == "871") == stays.loc[sep, "mcc"]).all()


def test_severity_rises_with_morbidity(coded):
    """The DRG severity tier (0 none, 1 CC, 2 MCC) and the established E/M level rise
    with the patient's morbidity quintile (MCC is the stay's own flag, independent of
    morbidity here, so the rise comes from the CC tier)."""
    claims, stays, _, morbidity, codes, stay = coded
    m = morbidity[0, stays["patient"].to_numpy()]
    q = pd.qcut(m, 5, labels=False)
    sev = stay["severity"].astype(float).groupby(q).mean().to_numpy()
    assert (np.diff(sev) > -0.02).all() and sev[-1] - sev[0] > 0.15, sev
    est = codes["hcpcs"].isin(["99212", "99213", "99214", "99215"]).to_numpy()
    level = codes.loc[est, "hcpcs"].astype(int) - 99210
    qm = pd.qcut(morbidity[0, claims.loc[est, "patient"].to_numpy()], 5, labels=False)
    lv = level.groupby(qm).mean().to_numpy()
    assert (np.diff(lv) > 0).all() and lv[-1] - lv[0] > 0.3, lv


def test_deterministic_for_a_stream(coded):
    claims, stays, conditions, morbidity, _, _ = coded
    c, s = claims.iloc[:6_000], stays.iloc[:500]
    age = np.full_like(morbidity, 75.0)
    one = code_claims(c, s, conditions, morbidity, age, np.random.default_rng(5))
    two = code_claims(c, s, conditions, morbidity, age, np.random.default_rng(5))
    pd.testing.assert_frame_equal(one[0], two[0])
    pd.testing.assert_frame_equal(one[1], two[1])
    other = code_claims(c, s, conditions, morbidity, age, np.random.default_rng(6))
    assert not other[0]["hcpcs"].equals(one[0]["hcpcs"])


def test_drgs_agree_with_the_grouper(coded):
    """Each stay's diagnoses (and procedure) group to its MS-DRG in drgpy's MS-DRG v42
    (an independent implementation of CMS's grouper; optional)."""
    msdrg = pytest.importorskip("drgpy.msdrg")
    engine = msdrg.DRGEngine(version="v42")
    _, _, _, _, _, stay = coded
    sample = stay.iloc[:1500]
    got = [engine.get_drg(d.split(" "), [p] if p else []) for d, p in
           zip(sample["dx"], sample["procedure"], strict=True)]
    bad = sample[np.array(got) != sample["drg"].to_numpy()]
    assert len(bad) == 0, bad.head().to_dict("records")


def test_icd10cm_codes_are_billable():
    """Every shipped ICD-10-CM code is a billable (leaf) code of CMS's list (optional:
    simple-icd-10-cm ships the CMS tabular)."""
    icd = pytest.importorskip("simple_icd_10_cm")
    for code in table("icd10cm")["code"]:
        dotted = code[:3] + ("." + code[3:] if len(code) > 3 else "")
        assert icd.is_valid_item(dotted) and icd.is_leaf(dotted), code
