"""Service types of the claims ledger: their spending category and who bills them.

Claims are priced at the fee schedule. Every service code has exactly one spending
category (as in CMS's per-capita spending by setting) and one kind of provider that bills
it; laboratory tests are billed by whoever ordered them.
"""

from __future__ import annotations

from enum import IntEnum


class Service(IntEnum):
    """Service type of a claim."""

    PCP_VISIT = 0
    SPECIALIST_VISIT = 1
    LAB = 2
    IMAGING_FACILITY = 3
    IMAGING_PROFESSIONAL = 4
    ED_FACILITY = 5
    ED_PROFESSIONAL = 6
    INPATIENT_FACILITY = 7
    INPATIENT_PROFESSIONAL = 8
    ELECTIVE_FACILITY = 9
    ELECTIVE_PROFESSIONAL = 10
    OUTPATIENT_PROCEDURE_FACILITY = 11
    OUTPATIENT_PROCEDURE_PROFESSIONAL = 12
    CHRONIC_OUTPATIENT = 13
    CHRONIC_PROFESSIONAL = 14
    SNF = 15
    HOME_HEALTH = 16
    OTHER = 17
    IRF = 18  # inpatient rehabilitation facility stay (after joint replacement)


class Category(IntEnum):
    """Spending category (CMS setting)."""

    INPATIENT = 0
    OUTPATIENT = 1
    PROFESSIONAL = 2
    POST_ACUTE = 3
    OTHER = 4


S = Service
CATEGORY_OF: dict[Service, Category] = {
    S.PCP_VISIT: Category.PROFESSIONAL,
    S.SPECIALIST_VISIT: Category.PROFESSIONAL,
    S.LAB: Category.PROFESSIONAL,
    S.IMAGING_FACILITY: Category.OUTPATIENT,
    S.IMAGING_PROFESSIONAL: Category.PROFESSIONAL,
    S.ED_FACILITY: Category.OUTPATIENT,
    S.ED_PROFESSIONAL: Category.PROFESSIONAL,
    S.INPATIENT_FACILITY: Category.INPATIENT,
    S.INPATIENT_PROFESSIONAL: Category.PROFESSIONAL,
    S.ELECTIVE_FACILITY: Category.INPATIENT,
    S.ELECTIVE_PROFESSIONAL: Category.PROFESSIONAL,
    S.OUTPATIENT_PROCEDURE_FACILITY: Category.OUTPATIENT,
    S.OUTPATIENT_PROCEDURE_PROFESSIONAL: Category.PROFESSIONAL,
    S.CHRONIC_OUTPATIENT: Category.OUTPATIENT,
    S.CHRONIC_PROFESSIONAL: Category.PROFESSIONAL,
    S.SNF: Category.POST_ACUTE,
    S.HOME_HEALTH: Category.POST_ACUTE,
    S.OTHER: Category.OTHER,
    S.IRF: Category.POST_ACUTE,  # MedPAC's post-acute sector (IRF, SNF, HHA, LTCH)
}

#: Kind of provider that bills each service ("ordering" = the provider that ordered it).
BILLED_BY: dict[Service, str] = {
    S.PCP_VISIT: "primary_care",
    S.SPECIALIST_VISIT: "specialist",
    S.LAB: "ordering",
    S.IMAGING_FACILITY: "hospital",
    S.IMAGING_PROFESSIONAL: "specialist",
    S.ED_FACILITY: "hospital",
    S.ED_PROFESSIONAL: "specialist",
    S.INPATIENT_FACILITY: "hospital",
    S.INPATIENT_PROFESSIONAL: "specialist",
    S.ELECTIVE_FACILITY: "hospital",
    S.ELECTIVE_PROFESSIONAL: "specialist",
    S.OUTPATIENT_PROCEDURE_FACILITY: "hospital",
    S.OUTPATIENT_PROCEDURE_PROFESSIONAL: "specialist",
    S.CHRONIC_OUTPATIENT: "hospital",
    S.CHRONIC_PROFESSIONAL: "specialist",
    S.SNF: "post_acute",
    S.HOME_HEALTH: "post_acute",
    S.OTHER: "other",
    S.IRF: "post_acute",
}

#: Services that are primary care (the scope of primary-care capitation).
PRIMARY_CARE_SERVICES = frozenset({S.PCP_VISIT})

#: The fee-schedule field (``Prices``) that prices each service.
PRICE_FIELD: dict[Service, str] = {
    S.PCP_VISIT: "pcp_visit_usd",
    S.SPECIALIST_VISIT: "specialist_visit_usd",
    S.LAB: "lab_test_usd",
    S.IMAGING_FACILITY: "imaging_usd",
    S.IMAGING_PROFESSIONAL: "imaging_usd",
    S.ED_FACILITY: "ed_facility_usd",
    S.ED_PROFESSIONAL: "ed_professional_usd",
    S.INPATIENT_FACILITY: "admission_mean_usd",
    S.INPATIENT_PROFESSIONAL: "inpatient_professional_usd",
    S.ELECTIVE_FACILITY: "elective_admission_usd",
    S.ELECTIVE_PROFESSIONAL: "elective_professional_usd",
    S.OUTPATIENT_PROCEDURE_FACILITY: "outpatient_procedure_usd",
    S.OUTPATIENT_PROCEDURE_PROFESSIONAL: "outpatient_procedure_professional_usd",
    S.CHRONIC_OUTPATIENT: "chronic_service_usd",
    S.CHRONIC_PROFESSIONAL: "chronic_service_usd",
    S.SNF: "snf_per_day_usd",
    S.HOME_HEALTH: "home_health_period_usd",
    S.OTHER: "other_claim_usd",
    S.IRF: "irf_stay_usd",
}


def reference_price_ratio(prices: object, reference: object) -> list[float]:
    """Per service code: reference price / scenario price. Providers' unit costs are a
    cost-to-charge ratio of the *reference* (default) fee schedule, so a fee change moves
    margins, not costs."""
    out = []
    for s in Service:
        f = PRICE_FIELD[s]
        p, r = getattr(prices, f), getattr(reference, f)
        out.append(r / p if p > 0 else 1.0)
    return out
