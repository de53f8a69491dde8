"""The claims of one replication in a layout modelled on CMS's Claim and Claim Line Feed files.

CMS sends ACOs their assigned beneficiaries' Medicare claims as CCLF files (Medicare Shared
Savings Program, *Claim and Claim Line Feed File Data Elements Resource*, v2, April 2021;
ACO-OS *CCLF Information Packet* v28, 2019). This module maps the ledger's claims (one row
per claim: patient, provider, internal service code, plan year, day, amount, and the codes
:mod:`sim.coding.codes` put on them) onto seven of them, with the real field names; every
field, how it is filled and how it differs from the real file is in ``docs/claims.md``:

* ``CCLF1`` Part A claims header: the institutional claims (hospital inpatient, SNF, home
  health, hospital outpatient) with their principal diagnosis; inpatient claims carry the
  stay's dates, discharge status, admission type and its coded MS-DRG;
* ``CCLF2`` Part A revenue centre: one line per institutional claim (revenue centre,
  HCPCS of outpatient lines, the claim's amount);
* ``CCLF3`` Part A procedures: the ICD-10-PCS code of each surgical stay;
* ``CCLF4`` Part A diagnosis: one row per ICD-10-CM code of each institutional claim;
* ``CCLF5`` Part B physician: the professional claims, one line each, with HCPCS/CPT,
  place of service, type of service and up to eight diagnoses;
* ``CCLF6`` Part B DME: the model's "other" claims (DME, hospice and other spending, priced
  as one service), with a DME HCPCS code;
* ``CCLF8`` beneficiary demographics: one row per beneficiary who was a member in a plan
  year.

Claims saved before coding existed (no code columns) export with those fields empty.
Every ledger claim is in exactly one of CCLF1, CCLF5 and CCLF6, with its amount unrounded,
so their row counts and payment sums equal the ledger's. Identifiers are synthetic, made
from the model's indices only (never from anything that identifies a person), and they
cannot be real: ``BENE_MBI_ID`` starts with ``S`` (an MBI starts with a digit 1-9 and never
contains S), provider numbers with ``SYN``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.constants import AdmissionKind
from sim.services import Service
from sim.stay_groups import MS_DRGS, StayGroup

S = Service

#: CCLF claim type codes (CLM_TYPE_CD) of the model's services: 60 inpatient (an inpatient
#: rehabilitation facility stay too: IRFs bill on type of bill 11x), 40 hospital outpatient,
#: 20 SNF, 10 home health, 71 Part B physician (carrier), 82 DMEPOS.
CLAIM_TYPE: dict[Service, str] = {
    S.INPATIENT_FACILITY: "60", S.ELECTIVE_FACILITY: "60",
    S.IMAGING_FACILITY: "40", S.ED_FACILITY: "40", S.OUTPATIENT_PROCEDURE_FACILITY: "40",
    S.CHRONIC_OUTPATIENT: "40",
    S.SNF: "20", S.HOME_HEALTH: "10", S.IRF: "60",
    S.PCP_VISIT: "71", S.SPECIALIST_VISIT: "71", S.LAB: "71", S.IMAGING_PROFESSIONAL: "71",
    S.ED_PROFESSIONAL: "71", S.INPATIENT_PROFESSIONAL: "71", S.ELECTIVE_PROFESSIONAL: "71",
    S.OUTPATIENT_PROCEDURE_PROFESSIONAL: "71", S.CHRONIC_PROFESSIONAL: "71",
    S.OTHER: "82",
}

#: which file each claim type goes to
FILE_OF_TYPE = {"60": "CCLF1", "40": "CCLF1", "20": "CCLF1", "10": "CCLF1", "71": "CCLF5",
                "82": "CCLF6"}

#: type of bill of institutional claims: (CLM_BILL_FAC_TYPE_CD, CLM_BILL_CLSFCTN_CD):
#: 11x hospital inpatient, 13x hospital outpatient, 21x SNF inpatient, 32x home health
BILL_TYPE = {"60": ("1", "1"), "40": ("1", "3"), "20": ("2", "1"), "10": ("3", "2")}

#: place of service (CLM_POS_CD) of professional services: 11 office, 21 inpatient
#: hospital, 22 on-campus outpatient hospital, 23 emergency room
PLACE_OF_SERVICE: dict[Service, str] = {
    S.PCP_VISIT: "11", S.SPECIALIST_VISIT: "11", S.LAB: "11", S.CHRONIC_PROFESSIONAL: "11",
    S.IMAGING_PROFESSIONAL: "22", S.OUTPATIENT_PROCEDURE_PROFESSIONAL: "22",
    S.ED_PROFESSIONAL: "23", S.INPATIENT_PROFESSIONAL: "21", S.ELECTIVE_PROFESSIONAL: "21",
}

#: type of service (CLM_FED_TYPE_SRVC_CD): 1 medical care, 2 surgery, 4 diagnostic
#: radiology, 5 diagnostic laboratory
TYPE_OF_SERVICE: dict[Service, str] = {
    S.PCP_VISIT: "1", S.SPECIALIST_VISIT: "1", S.LAB: "5", S.CHRONIC_PROFESSIONAL: "1",
    S.IMAGING_PROFESSIONAL: "4", S.OUTPATIENT_PROCEDURE_PROFESSIONAL: "2",
    S.ED_PROFESSIONAL: "1", S.INPATIENT_PROFESSIONAL: "1", S.ELECTIVE_PROFESSIONAL: "2",
}

#: the code columns of kept claims (``sim.coding.codes.CODE_COLUMNS``; named here so the
#: reading side does not import the coder)
CODE_COLUMNS = ("hcpcs", "pos", "revenue_center", "dx", "drg", "procedure")

#: days a home health claim covers (a 30-day period since PDGM, 2020)
HOME_HEALTH_DAYS = 30
#: claim-level diagnosis fields of a Part B claim line in CCLF5 (CLM_DGNS_1_CD ...)
N_PART_B_DGNS = 8

CCLF1_COLUMNS = [
    "CUR_CLM_UNIQ_ID", "PRVDR_OSCAR_NUM", "BENE_MBI_ID", "BENE_HIC_NUM", "CLM_TYPE_CD",
    "CLM_FROM_DT", "CLM_THRU_DT", "CLM_BILL_FAC_TYPE_CD", "CLM_BILL_CLSFCTN_CD",
    "PRNCPL_DGNS_CD", "ADMTG_DGNS_CD", "CLM_MDCR_NPMT_RSN_CD", "CLM_PMT_AMT",
    "CLM_NCH_PRMRY_PYR_CD", "PRVDR_FAC_FIPS_ST_CD", "BENE_PTNT_STUS_CD", "DGNS_DRG_CD",
    "CLM_OP_SRVC_TYPE_CD", "FAC_PRVDR_NPI_NUM", "OPRTG_PRVDR_NPI_NUM", "ATNDG_PRVDR_NPI_NUM",
    "OTHR_PRVDR_NPI_NUM", "CLM_ADJSMT_TYPE_CD", "CLM_EFCTV_DT", "CLM_IDR_LD_DT",
    "BENE_EQTBL_BIC_HICN_NUM", "CLM_ADMSN_TYPE_CD", "CLM_ADMSN_SRC_TYPE_CD",
    "CLM_BILL_FREQ_CD", "CLM_QUERY_CD", "DGNS_PRCDR_ICD_IND",
    "VBCSIM_SERVICE", "VBCSIM_PROVIDER", "VBCSIM_STAY_GROUP", "VBCSIM_WITH_MCC",
    "VBCSIM_STAY_REASON",
]
CCLF2_COLUMNS = [
    "CUR_CLM_UNIQ_ID", "CLM_LINE_NUM", "BENE_MBI_ID", "BENE_HIC_NUM", "CLM_TYPE_CD",
    "CLM_LINE_FROM_DT", "CLM_LINE_THRU_DT", "CLM_LINE_PROD_REV_CTR_CD",
    "CLM_LINE_INSTNL_REV_CTR_DT", "CLM_LINE_HCPCS_CD", "BENE_EQTBL_BIC_HICN_NUM",
    "PRVDR_OSCAR_NUM", "CLM_FROM_DT", "CLM_THRU_DT", "CLM_LINE_SRVC_UNIT_QTY",
    "CLM_LINE_CVRD_PD_AMT", "HCPCS_1_MDFR_CD", "HCPCS_2_MDFR_CD", "HCPCS_3_MDFR_CD",
    "HCPCS_4_MDFR_CD", "HCPCS_5_MDFR_CD", "CLM_REV_APC_HIPPS_CD", "VBCSIM_SERVICE",
]
CCLF3_COLUMNS = [
    "CUR_CLM_UNIQ_ID", "BENE_MBI_ID", "BENE_HIC_NUM", "CLM_TYPE_CD", "CLM_VAL_SQNC_NUM",
    "CLM_PRCDR_CD", "CLM_PRCDR_PRFRM_DT", "BENE_EQTBL_BIC_HICN_NUM", "PRVDR_OSCAR_NUM",
    "CLM_FROM_DT", "CLM_THRU_DT", "DGNS_PRCDR_ICD_IND",
]
CCLF4_COLUMNS = [
    "CUR_CLM_UNIQ_ID", "BENE_MBI_ID", "BENE_HIC_NUM", "CLM_TYPE_CD", "CLM_PROD_TYPE_CD",
    "CLM_VAL_SQNC_NUM", "CLM_DGNS_CD", "BENE_EQTBL_BIC_HICN_NUM", "PRVDR_OSCAR_NUM",
    "CLM_FROM_DT", "CLM_THRU_DT", "CLM_POA_IND", "DGNS_PRCDR_ICD_IND", "VBCSIM_STAY_GROUP",
]
CCLF5_COLUMNS = [
    "CUR_CLM_UNIQ_ID", "CLM_LINE_NUM", "BENE_MBI_ID", "BENE_HIC_NUM", "CLM_TYPE_CD",
    "CLM_FROM_DT", "CLM_THRU_DT", "RNDRG_PRVDR_TYPE_CD", "RNDRG_PRVDR_FIPS_ST_CD",
    "CLM_PRVDR_SPCLTY_CD", "CLM_FED_TYPE_SRVC_CD", "CLM_POS_CD", "CLM_LINE_FROM_DT",
    "CLM_LINE_THRU_DT", "CLM_LINE_HCPCS_CD", "CLM_LINE_CVRD_PD_AMT", "CLM_LINE_PRMRY_PYR_CD",
    "CLM_LINE_DGNS_CD", "CLM_RNDRG_PRVDR_TAX_NUM", "RNDRG_PRVDR_NPI_NUM",
    "CLM_CARR_PMT_DNL_CD", "CLM_PRCSG_IND_CD", "CLM_ADJSMT_TYPE_CD", "CLM_EFCTV_DT",
    "CLM_IDR_LD_DT", "CLM_CNTL_NUM", "BENE_EQTBL_BIC_HICN_NUM", "CLM_LINE_ALOWD_CHRG_AMT",
    "CLM_LINE_SRVC_UNIT_QTY", *(f"CLM_DGNS_{k}_CD" for k in range(1, N_PART_B_DGNS + 1)),
    "DGNS_PRCDR_ICD_IND", "VBCSIM_SERVICE", "VBCSIM_PROVIDER",
]
CCLF6_COLUMNS = [
    "CUR_CLM_UNIQ_ID", "CLM_LINE_NUM", "BENE_MBI_ID", "BENE_HIC_NUM", "CLM_TYPE_CD",
    "CLM_FROM_DT", "CLM_THRU_DT", "CLM_FED_TYPE_SRVC_CD", "CLM_POS_CD", "CLM_LINE_FROM_DT",
    "CLM_LINE_THRU_DT", "CLM_LINE_HCPCS_CD", "CLM_LINE_CVRD_PD_AMT", "CLM_PRMRY_PYR_CD",
    "PAYTO_PRVDR_NPI_NUM", "ORDRG_PRVDR_NPI_NUM", "CLM_CARR_PMT_DNL_CD", "CLM_PRCSG_IND_CD",
    "CLM_ADJSMT_TYPE_CD", "CLM_EFCTV_DT", "CLM_IDR_LD_DT", "CLM_CNTL_NUM",
    "BENE_EQTBL_BIC_HICN_NUM", "CLM_LINE_ALOWD_CHRG_AMT", "CLM_DISP_CD", "VBCSIM_SERVICE",
    "VBCSIM_PROVIDER",
]
CCLF8_COLUMNS = [
    "BENE_MBI_ID", "BENE_HIC_NUM", "BENE_FIPS_STATE_CD", "BENE_FIPS_CNTY_CD", "BENE_ZIP_CD",
    "BENE_DOB", "BENE_SEX_CD", "BENE_RACE_CD", "BENE_AGE", "BENE_MDCR_STUS_CD",
    "BENE_DUAL_STUS_CD", "BENE_DEATH_DT", "BENE_RNG_BGN_DT", "BENE_RNG_END_DT",
    "BENE_1ST_NAME", "BENE_MIDL_NAME", "BENE_LAST_NAME", "BENE_ORGNL_ENTLMT_RSN_CD",
    "BENE_ENTLMT_BUYIN_IND", "BENE_PART_A_ENRLMT_BGN_DT", "BENE_PART_B_ENRLMT_BGN_DT",
]
COLUMNS = {"CCLF1": CCLF1_COLUMNS, "CCLF2": CCLF2_COLUMNS, "CCLF3": CCLF3_COLUMNS,
           "CCLF4": CCLF4_COLUMNS, "CCLF5": CCLF5_COLUMNS, "CCLF6": CCLF6_COLUMNS,
           "CCLF8": CCLF8_COLUMNS}
#: the amount columns (USD, unrounded float64) and the date columns (datetime64) per file
AMOUNT_COLUMNS = {"CLM_PMT_AMT", "CLM_LINE_CVRD_PD_AMT", "CLM_LINE_ALOWD_CHRG_AMT"}
DATE_COLUMNS = {"CLM_FROM_DT", "CLM_THRU_DT", "CLM_LINE_FROM_DT", "CLM_LINE_THRU_DT",
                "CLM_LINE_INSTNL_REV_CTR_DT", "CLM_PRCDR_PRFRM_DT",
                "CLM_EFCTV_DT", "BENE_DOB", "BENE_DEATH_DT", "BENE_RNG_BGN_DT",
                "BENE_RNG_END_DT", "BENE_PART_A_ENRLMT_BGN_DT", "BENE_PART_B_ENRLMT_BGN_DT",
                "CLM_IDR_LD_DT"}


def mbi(patient: np.ndarray) -> np.ndarray:
    """Synthetic ``BENE_MBI_ID`` (11 characters, ``S`` + 10 digits) of patient indices:
    the same patient index always gets the same id; never a valid MBI."""
    return np.char.add("S", np.char.zfill(np.asarray(patient, np.int64).astype(str), 10))


def oscar(provider: np.ndarray) -> np.ndarray:
    """Synthetic 6-character provider number (``SYN`` + 3 digits) of provider indices."""
    return np.char.add("SYN", np.char.zfill(np.asarray(provider, np.int64).astype(str), 3))


def claim_ids(year: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Synthetic 13-digit ``CUR_CLM_UNIQ_ID``: ``9`` + plan year (2 digits) + the claim's
    row in the replication's ledger (10 digits); stable for the same saved claims."""
    return (9 * 10**12 + np.asarray(year, np.int64) * 10**10
            + np.asarray(row, np.int64)).astype(str)


def drg_code(group: np.ndarray, mcc: np.ndarray) -> np.ndarray:
    """The MS-DRG (3 digits) of a stay family and severity: the first MS-DRG of the family
    with or without MCC (:data:`sim.stay_groups.MS_DRGS`); empty for families with none."""
    out = np.full(len(group), "", dtype=object)
    for fam, (with_mcc, without) in MS_DRGS.items():
        for flag, codes in ((True, with_mcc), (False, without)):
            if codes:
                out[(group == fam) & (mcc == flag)] = f"{codes[0]:03d}"
    return out


def _dates(start: pd.Timestamp, day: np.ndarray) -> pd.Series:
    """Calendar dates of plan days (day 0 = 1 January of the first calendar year)."""
    return pd.Series(start + pd.to_timedelta(np.floor(np.asarray(day, np.float64)), "D"))


def _service_names(service: np.ndarray) -> np.ndarray:
    names = np.array([s.name.lower() for s in Service], dtype=object)
    return names[np.asarray(service, np.int64)]


def cclf_tables(claims: pd.DataFrame, stays: pd.DataFrame, beneficiaries: pd.DataFrame,
                providers: pd.DataFrame, first_calendar_year: int) -> dict[str, pd.DataFrame]:
    """The five CCLF-like tables of one replication's saved claims (see the module
    docstring; ``claims``, ``stays``, ``beneficiaries``, ``providers`` as kept by
    :func:`sim.replication.claims_tables`)."""
    start = pd.Timestamp(year=first_calendar_year, month=1, day=1)
    c = claims.reset_index(drop=True)
    n = len(c)
    service = c["service"].to_numpy(np.int64)
    ctype = np.array([CLAIM_TYPE[Service(s)] for s in range(len(Service))],
                     dtype=object)[service]
    names = dict(zip(providers["provider"], providers["name"], strict=False))
    base = pd.DataFrame({
        "CUR_CLM_UNIQ_ID": claim_ids(c["year"].to_numpy(), np.arange(n)),
        "BENE_MBI_ID": mbi(c["patient"].to_numpy()),
        "PRVDR_OSCAR_NUM": oscar(c["provider"].to_numpy()),
        "CLM_TYPE_CD": ctype,
        "day": c["day"].to_numpy(np.float64),
        "amount": c["amount"].to_numpy(np.float64),
        "service": service,
        "patient": c["patient"].to_numpy(np.int64),
        "VBCSIM_SERVICE": _service_names(service),
        "VBCSIM_PROVIDER": c["provider"].map(names).fillna("").to_numpy(object),
    })
    for col in CODE_COLUMNS:  # the codes of sim.coding.codes (empty for older saved claims)
        base[col] = (c[col].fillna("").astype(str).to_numpy(object) if col in c
                     else _blank(n))
    base["CLM_FROM_DT"] = _dates(start, base["day"])
    base["CLM_THRU_DT"] = base["CLM_FROM_DT"]
    file_of = base["CLM_TYPE_CD"].map(FILE_OF_TYPE)
    return {
        **_part_a(base[file_of == "CCLF1"].reset_index(drop=True), stays, start),
        "CCLF5": _part_b(base[file_of == "CCLF5"].reset_index(drop=True)),
        "CCLF6": _dme(base[file_of == "CCLF6"].reset_index(drop=True)),
        "CCLF8": _beneficiaries(beneficiaries, start),
    }


def _lookup(codes: dict[Service, str]) -> np.ndarray:
    """A code per service code (empty where ``codes`` has none), for indexing."""
    return np.array([codes.get(s, "") for s in Service], dtype=object)


def _blank(n: int) -> np.ndarray:
    return np.full(n, "", dtype=object)


def _part_a(a: pd.DataFrame, stays: pd.DataFrame, start: pd.Timestamp
            ) -> dict[str, pd.DataFrame]:
    """CCLF1 (header) and CCLF4 (diagnosis) from the institutional claims."""
    n = len(a)
    # acute stays (an IRF claim is type 60 too, but is post-acute care after a stay)
    inpatient = a["service"].isin([S.INPATIENT_FACILITY, S.ELECTIVE_FACILITY]).to_numpy()
    # the stay of each inpatient claim: same patient, dated at its discharge
    s = stays.copy()
    if len(s):
        s["day"] = s["discharge"].astype(np.float32).astype(np.float64)
        s = s.drop_duplicates(["patient", "day"])
        keys = a.loc[inpatient, ["patient", "day"]].astype({"day": np.float32}).astype(
            {"day": np.float64})
        stay = keys.merge(s, on=["patient", "day"], how="left", validate="many_to_one")
    else:
        stay = pd.DataFrame(index=range(int(inpatient.sum())),
                            columns=["admit", "group", "mcc", "kind", "via_ed", "snf_days",
                                     "home_health"])
    out = pd.DataFrame({"CUR_CLM_UNIQ_ID": a["CUR_CLM_UNIQ_ID"],
                        "PRVDR_OSCAR_NUM": a["PRVDR_OSCAR_NUM"],
                        "BENE_MBI_ID": a["BENE_MBI_ID"], "BENE_HIC_NUM": _blank(n),
                        "CLM_TYPE_CD": a["CLM_TYPE_CD"],
                        "CLM_FROM_DT": a["CLM_FROM_DT"], "CLM_THRU_DT": a["CLM_THRU_DT"]})
    bill = a["CLM_TYPE_CD"].map(BILL_TYPE)
    out["CLM_BILL_FAC_TYPE_CD"] = bill.str[0]
    out["CLM_BILL_CLSFCTN_CD"] = bill.str[1]
    principal = a["dx"].str.split(" ").str[0].fillna("").to_numpy(object)
    out["PRNCPL_DGNS_CD"] = principal
    # the admitting diagnosis of a stay: its principal (the model has no separate one)
    out["ADMTG_DGNS_CD"] = np.where(inpatient, principal, "")
    out["CLM_MDCR_NPMT_RSN_CD"] = _blank(n)
    out["CLM_PMT_AMT"] = a["amount"]
    for col in ("CLM_NCH_PRMRY_PYR_CD", "PRVDR_FAC_FIPS_ST_CD", "BENE_PTNT_STUS_CD",
                "DGNS_DRG_CD", "CLM_OP_SRVC_TYPE_CD", "FAC_PRVDR_NPI_NUM",
                "OPRTG_PRVDR_NPI_NUM", "ATNDG_PRVDR_NPI_NUM", "OTHR_PRVDR_NPI_NUM"):
        out[col] = _blank(n)
    out["CLM_ADJSMT_TYPE_CD"] = "0"  # original claim (no adjustments are modelled)
    out["CLM_EFCTV_DT"] = a["CLM_THRU_DT"]
    out["CLM_IDR_LD_DT"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    out["BENE_EQTBL_BIC_HICN_NUM"] = _blank(n)
    out["CLM_ADMSN_TYPE_CD"] = _blank(n)
    out["CLM_ADMSN_SRC_TYPE_CD"] = _blank(n)
    out["CLM_BILL_FREQ_CD"] = "1"  # admit through discharge claim
    out["CLM_QUERY_CD"] = "3"  # final bill
    out["DGNS_PRCDR_ICD_IND"] = "0"  # ICD-10
    out["VBCSIM_SERVICE"] = a["VBCSIM_SERVICE"]
    out["VBCSIM_PROVIDER"] = a["VBCSIM_PROVIDER"]
    out["VBCSIM_STAY_GROUP"] = _blank(n)
    out["VBCSIM_WITH_MCC"] = pd.array([pd.NA] * n, dtype="boolean")
    out["VBCSIM_STAY_REASON"] = _blank(n)
    # inpatient: the stay's dates, discharge status, admission type and MS-DRG
    idx = np.flatnonzero(inpatient)
    if len(idx):
        found = stay["admit"].notna().to_numpy()
        admit = stay["admit"].to_numpy(np.float64)
        out.loc[idx[found], "CLM_FROM_DT"] = _dates(start, admit[found]).to_numpy()
        group = stay["group"].fillna(-1).to_numpy(np.int64)
        mcc = stay["mcc"].fillna(False).to_numpy(bool)
        coded = a.loc[inpatient, "drg"].to_numpy(object)
        out.loc[idx, "DGNS_DRG_CD"] = np.where(coded != "", coded, drg_code(group, mcc))
        if "code_reason" in stay:
            out.loc[idx, "VBCSIM_STAY_REASON"] = stay["code_reason"].fillna("").to_numpy(object)
        fam = np.array([StayGroup(g).name.lower() if g >= 0 else "" for g in group],
                       dtype=object)
        out.loc[idx, "VBCSIM_STAY_GROUP"] = fam
        out.loc[idx[found], "VBCSIM_WITH_MCC"] = mcc[found]
        snf = stay["snf_days"].fillna(0).to_numpy(np.float64) > 0
        hh = stay["home_health"].fillna(False).to_numpy(bool)
        irf = (stay["irf"].fillna(False).to_numpy(bool) if "irf" in stay
               else np.zeros(len(stay), bool))
        # 01 home, 03 SNF, 62 inpatient rehabilitation facility, 06 home health service
        out.loc[idx[found], "BENE_PTNT_STUS_CD"] = np.where(
            snf, "03", np.where(irf, "62", np.where(hh, "06", "01")))[found]
        kind = stay["kind"].fillna(-1).to_numpy(np.int64)
        via_ed = stay["via_ed"].fillna(False).to_numpy(bool)
        # 1 emergency, 2 urgent, 3 elective
        out.loc[idx[found], "CLM_ADMSN_TYPE_CD"] = np.where(
            kind == AdmissionKind.ELECTIVE, "3", np.where(via_ed, "1", "2"))[found]
    # SNF: the covered days after the discharge the claim is dated at; home health: a period
    snf_claim = (a["service"] == S.SNF).to_numpy()
    if snf_claim.any() and len(stays):
        per_day = _snf_days(a[snf_claim], stays)
        out.loc[snf_claim, "CLM_THRU_DT"] = (
            out.loc[snf_claim, "CLM_FROM_DT"]
            + pd.to_timedelta(np.maximum(per_day - 1, 0), "D")).to_numpy()
    hh_claim = (a["service"] == S.HOME_HEALTH).to_numpy()
    out.loc[hh_claim, "CLM_THRU_DT"] = (out.loc[hh_claim, "CLM_FROM_DT"]
                                        + pd.Timedelta(days=HOME_HEALTH_DAYS - 1)).to_numpy()
    out["CLM_EFCTV_DT"] = out["CLM_THRU_DT"]
    return {"CCLF1": out[CCLF1_COLUMNS], "CCLF2": _revenue_lines(out, a),
            "CCLF3": _procedures(out, a, inpatient), "CCLF4": _diagnoses(out, a, inpatient)}


def _revenue_lines(out: pd.DataFrame, a: pd.DataFrame) -> pd.DataFrame:
    """CCLF2: one revenue-centre line per institutional claim (its revenue centre, the
    HCPCS of an outpatient line, the claim's amount)."""
    n = len(out)
    lines = pd.DataFrame({"CUR_CLM_UNIQ_ID": out["CUR_CLM_UNIQ_ID"], "CLM_LINE_NUM": "1",
                          "BENE_MBI_ID": out["BENE_MBI_ID"], "BENE_HIC_NUM": _blank(n),
                          "CLM_TYPE_CD": out["CLM_TYPE_CD"],
                          "CLM_LINE_FROM_DT": out["CLM_FROM_DT"],
                          "CLM_LINE_THRU_DT": out["CLM_THRU_DT"],
                          "CLM_LINE_PROD_REV_CTR_CD": a["revenue_center"].to_numpy(object),
                          "CLM_LINE_INSTNL_REV_CTR_DT": out["CLM_FROM_DT"],
                          "CLM_LINE_HCPCS_CD": a["hcpcs"].to_numpy(object),
                          "BENE_EQTBL_BIC_HICN_NUM": _blank(n),
                          "PRVDR_OSCAR_NUM": out["PRVDR_OSCAR_NUM"],
                          "CLM_FROM_DT": out["CLM_FROM_DT"], "CLM_THRU_DT": out["CLM_THRU_DT"],
                          "CLM_LINE_SRVC_UNIT_QTY": 1.0,
                          "CLM_LINE_CVRD_PD_AMT": out["CLM_PMT_AMT"]})
    for k in range(1, 6):
        lines[f"HCPCS_{k}_MDFR_CD"] = _blank(n)
    lines["CLM_REV_APC_HIPPS_CD"] = _blank(n)
    lines["VBCSIM_SERVICE"] = out["VBCSIM_SERVICE"]
    return lines[CCLF2_COLUMNS]


def _procedures(out: pd.DataFrame, a: pd.DataFrame, inpatient: np.ndarray) -> pd.DataFrame:
    """CCLF3: the ICD-10-PCS procedure of each surgical stay, performed on the admission
    day."""
    has = inpatient & (a["procedure"].to_numpy(object) != "")
    sub = out.loc[has].reset_index(drop=True)
    m = len(sub)
    proc = pd.DataFrame({"CUR_CLM_UNIQ_ID": sub["CUR_CLM_UNIQ_ID"],
                         "BENE_MBI_ID": sub["BENE_MBI_ID"], "BENE_HIC_NUM": _blank(m),
                         "CLM_TYPE_CD": sub["CLM_TYPE_CD"], "CLM_VAL_SQNC_NUM": "1",
                         "CLM_PRCDR_CD": a.loc[has, "procedure"].to_numpy(object),
                         "CLM_PRCDR_PRFRM_DT": sub["CLM_FROM_DT"],
                         "BENE_EQTBL_BIC_HICN_NUM": _blank(m),
                         "PRVDR_OSCAR_NUM": sub["PRVDR_OSCAR_NUM"],
                         "CLM_FROM_DT": sub["CLM_FROM_DT"], "CLM_THRU_DT": sub["CLM_THRU_DT"],
                         "DGNS_PRCDR_ICD_IND": "0"})
    return proc[CCLF3_COLUMNS]


def _diagnoses(out: pd.DataFrame, a: pd.DataFrame, inpatient: np.ndarray) -> pd.DataFrame:
    """CCLF4: one row per diagnosis code of each institutional claim, in order (sequence 1
    the principal); an acute inpatient claim without codes (claims saved before coding)
    keeps one row with an empty code."""
    codes = a["dx"].to_numpy(object)
    keep = (codes != "") | inpatient
    sub = out.loc[keep].reset_index(drop=True)
    lists = pd.Series([c.split(" ") if c else [""] for c in codes[keep]])
    counts = lists.str.len().to_numpy(np.int64)
    rows = np.repeat(np.arange(len(sub)), counts)
    seq = np.concatenate([np.arange(1, k + 1) for k in counts]) if len(counts) else \
        np.zeros(0, np.int64)
    diag = sub.iloc[rows][["CUR_CLM_UNIQ_ID", "BENE_MBI_ID", "BENE_HIC_NUM", "CLM_TYPE_CD",
                           "PRVDR_OSCAR_NUM", "CLM_FROM_DT", "CLM_THRU_DT",
                           "VBCSIM_STAY_GROUP"]].reset_index(drop=True)
    m = len(diag)
    diag["CLM_PROD_TYPE_CD"] = _blank(m)
    diag["CLM_VAL_SQNC_NUM"] = seq.astype(str)
    diag["CLM_DGNS_CD"] = np.concatenate(lists.to_numpy()) if m else _blank(0)
    diag["BENE_EQTBL_BIC_HICN_NUM"] = _blank(m)
    diag["CLM_POA_IND"] = _blank(m)
    diag["DGNS_PRCDR_ICD_IND"] = "0"
    return diag[CCLF4_COLUMNS]


def _snf_days(snf: pd.DataFrame, stays: pd.DataFrame) -> np.ndarray:
    """SNF days of each SNF claim, from the stay discharged the day it is dated."""
    s = stays[["patient", "discharge", "snf_days"]].copy()
    s["day"] = s["discharge"].astype(np.float32).astype(np.float64)
    s = s.drop_duplicates(["patient", "day"])
    keys = snf[["patient", "day"]].astype({"day": np.float32}).astype({"day": np.float64})
    days = keys.merge(s, on=["patient", "day"], how="left")["snf_days"]
    return np.ceil(days.fillna(1).to_numpy(np.float64)).astype(np.int64)


def _part_b(b: pd.DataFrame) -> pd.DataFrame:
    """CCLF5 from the professional claims (one line per claim)."""
    n = len(b)
    svc = b["service"].to_numpy(np.int64)
    out = pd.DataFrame({"CUR_CLM_UNIQ_ID": b["CUR_CLM_UNIQ_ID"], "CLM_LINE_NUM": "1",
                        "BENE_MBI_ID": b["BENE_MBI_ID"], "BENE_HIC_NUM": _blank(n),
                        "CLM_TYPE_CD": b["CLM_TYPE_CD"], "CLM_FROM_DT": b["CLM_FROM_DT"],
                        "CLM_THRU_DT": b["CLM_THRU_DT"]})
    for col in ("RNDRG_PRVDR_TYPE_CD", "RNDRG_PRVDR_FIPS_ST_CD", "CLM_PRVDR_SPCLTY_CD"):
        out[col] = _blank(n)
    out["CLM_FED_TYPE_SRVC_CD"] = _lookup(TYPE_OF_SERVICE)[svc]
    out["CLM_POS_CD"] = np.where(b["pos"] != "", b["pos"], _lookup(PLACE_OF_SERVICE)[svc])
    out["CLM_LINE_FROM_DT"] = b["CLM_FROM_DT"]
    out["CLM_LINE_THRU_DT"] = b["CLM_THRU_DT"]
    out["CLM_LINE_HCPCS_CD"] = b["hcpcs"]
    out["CLM_LINE_CVRD_PD_AMT"] = b["amount"]
    dx = [d.split(" ") if d else [] for d in b["dx"]]
    out["CLM_LINE_PRMRY_PYR_CD"] = _blank(n)
    out["CLM_LINE_DGNS_CD"] = np.array([d[0] if d else "" for d in dx], dtype=object)
    out["CLM_RNDRG_PRVDR_TAX_NUM"] = _blank(n)
    out["RNDRG_PRVDR_NPI_NUM"] = b["PRVDR_OSCAR_NUM"]  # synthetic, not an NPI
    _part_b_status(out, b)
    out["CLM_LINE_SRVC_UNIT_QTY"] = 1.0
    for k in range(1, N_PART_B_DGNS + 1):
        out[f"CLM_DGNS_{k}_CD"] = np.array([d[k - 1] if len(d) >= k else "" for d in dx],
                                           dtype=object)
    out["DGNS_PRCDR_ICD_IND"] = "0"  # ICD-10
    out["VBCSIM_SERVICE"] = b["VBCSIM_SERVICE"]
    out["VBCSIM_PROVIDER"] = b["VBCSIM_PROVIDER"]
    return out[CCLF5_COLUMNS]


def _part_b_status(out: pd.DataFrame, claims: pd.DataFrame) -> None:
    """The processing columns CCLF5 and CCLF6 share: every claim paid and allowed as an
    original claim (denials and adjustments are not modelled yet), effective at its last
    day, allowed at its amount; no load date, control number or BIC-HICN."""
    n = len(out)
    out["CLM_CARR_PMT_DNL_CD"] = "1"  # paid
    out["CLM_PRCSG_IND_CD"] = "A"  # allowed
    out["CLM_ADJSMT_TYPE_CD"] = "0"  # original claim
    out["CLM_EFCTV_DT"] = claims["CLM_THRU_DT"]
    out["CLM_IDR_LD_DT"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    out["CLM_CNTL_NUM"] = _blank(n)
    out["BENE_EQTBL_BIC_HICN_NUM"] = _blank(n)
    out["CLM_LINE_ALOWD_CHRG_AMT"] = claims["amount"]


def _dme(d: pd.DataFrame) -> pd.DataFrame:
    """CCLF6 from the model's "other" claims (DME, hospice and other spending)."""
    n = len(d)
    out = pd.DataFrame({"CUR_CLM_UNIQ_ID": d["CUR_CLM_UNIQ_ID"], "CLM_LINE_NUM": "1",
                        "BENE_MBI_ID": d["BENE_MBI_ID"], "BENE_HIC_NUM": _blank(n),
                        "CLM_TYPE_CD": d["CLM_TYPE_CD"], "CLM_FROM_DT": d["CLM_FROM_DT"],
                        "CLM_THRU_DT": d["CLM_THRU_DT"]})
    out["CLM_FED_TYPE_SRVC_CD"] = _blank(n)
    out["CLM_POS_CD"] = "12"  # home
    out["CLM_LINE_FROM_DT"] = d["CLM_FROM_DT"]
    out["CLM_LINE_THRU_DT"] = d["CLM_THRU_DT"]
    out["CLM_LINE_HCPCS_CD"] = d["hcpcs"]
    out["CLM_LINE_CVRD_PD_AMT"] = d["amount"]
    out["CLM_PRMRY_PYR_CD"] = _blank(n)
    out["PAYTO_PRVDR_NPI_NUM"] = d["PRVDR_OSCAR_NUM"]  # synthetic, not an NPI
    out["ORDRG_PRVDR_NPI_NUM"] = _blank(n)
    _part_b_status(out, d)
    out["CLM_DISP_CD"] = "01"  # debit accepted
    out["VBCSIM_SERVICE"] = d["VBCSIM_SERVICE"]
    out["VBCSIM_PROVIDER"] = d["VBCSIM_PROVIDER"]
    return out[CCLF6_COLUMNS]


def _beneficiaries(b: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """CCLF8: one row per beneficiary who was a member in a plan year."""
    n = len(b)
    first = b["first_plan_year"].to_numpy(np.int64)
    age = np.floor(b["age"].to_numpy(np.float64)).astype(np.int64)
    begin = pd.to_datetime({"year": start.year + first, "month": 1, "day": 1})
    out = pd.DataFrame({"BENE_MBI_ID": mbi(b["patient"].to_numpy()), "BENE_HIC_NUM": _blank(n)})
    for col in ("BENE_FIPS_STATE_CD", "BENE_FIPS_CNTY_CD", "BENE_ZIP_CD"):
        out[col] = _blank(n)
    # a synthetic date of birth: 1 July of the year that gives the age at the first year
    out["BENE_DOB"] = pd.to_datetime({"year": start.year + first - age, "month": 7, "day": 1})
    out["BENE_SEX_CD"] = np.where(b["female"].to_numpy(bool), "2", "1")
    out["BENE_RACE_CD"] = _blank(n)
    out["BENE_AGE"] = age
    out["BENE_MDCR_STUS_CD"] = "10"  # aged without ESRD (the model's population)
    out["BENE_DUAL_STUS_CD"] = _blank(n)
    death = b["death_day"].to_numpy(np.float64)
    dates = _dates(start, np.nan_to_num(death))
    out["BENE_DEATH_DT"] = dates.where(~np.isnan(death))
    out["BENE_RNG_BGN_DT"] = begin
    last = b["last_plan_year"].to_numpy(np.int64)
    out["BENE_RNG_END_DT"] = pd.to_datetime({"year": start.year + last, "month": 12,
                                             "day": 31})
    for col in ("BENE_1ST_NAME", "BENE_MIDL_NAME", "BENE_LAST_NAME",
                "BENE_ORGNL_ENTLMT_RSN_CD", "BENE_ENTLMT_BUYIN_IND"):
        out[col] = _blank(n)
    out["BENE_ORGNL_ENTLMT_RSN_CD"] = "0"  # old age and survivors' insurance
    out["BENE_PART_A_ENRLMT_BGN_DT"] = pd.Series(pd.NaT, index=out.index,
                                                 dtype="datetime64[ns]")
    out["BENE_PART_B_ENRLMT_BGN_DT"] = pd.Series(pd.NaT, index=out.index,
                                                 dtype="datetime64[ns]")
    return out[CCLF8_COLUMNS]


__all__ = ["CLAIM_TYPE", "COLUMNS", "cclf_tables", "claim_ids", "drg_code", "mbi", "oscar"]
