"""Quality measures of a group of patients in a plan year: one definition each, from the ledger.

Both the population metrics (:mod:`sim.metrics`, the group is everyone) and the contracts'
quality scores (:class:`sim.settlement.context.SettlementContext`, the group is a payer's
members attributed to a provider or an ACO) count numerators and denominators here, so a
measure means the same thing in the results table and in a settlement.

=========================== ============================================ ===================
measure                     numerator / denominator                      empty denominator
=========================== ============================================ ===================
readmission_rate_30d        stays discharged in the year followed by an  no stay: NaN
                            unplanned stay within 30 days / those stays
diabetes_controlled_share   diabetics alive and in control at year end   no diabetic: NaN
                            / diabetics alive at year end
annual_visit_share          members with a primary-care visit in the     no member: NaN
                            year / members
ed_visits_per_1000          ED visits (treat-and-release + admitted via  no person-year: NaN
                            the ED) x 1,000 / person-years
acsc_admissions_per_1000    ACSC (preventable) stays x 1,000 /           no person-year: NaN
                            person-years
=========================== ============================================ ===================

**An empty denominator gives NaN: the measure is not scored.** There is nothing to
measure (0 of 0 diabetics is not 0% nor 100% in control), and CMS does the same: a
measure without eligible cases (or below its case minimum) is not scored and the quality
score is the weighted mean of the measures that are (MSSP/APP scoring; MIPS reweighting).
:func:`sim.contracts.quality.measures_from_counts` leaves such a measure out and
:func:`sim.contracts.quality.quality_score` with ``missing="reweight"`` scores the others;
the settlement context does exactly that. A group with no measurable measure at all (no
member in the year) has no quality score (NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.constants import READMISSION_WINDOW_DAYS, AdmissionKind
from sim.ledger import Ledger, frozen_memo, service_rows
from sim.services import Service

__all__ = [
    "MEASURES",
    "MeasureCounts",
    "measure_counts",
    "measure_values",
    "readmitted_within_30d",
]

#: The measures a scenario's quality scale scores (``scenario.quality``), in order.
MEASURES = ("readmission_rate_30d", "diabetes_controlled_share", "annual_visit_share",
            "ed_visits_per_1000", "acsc_admissions_per_1000")


def readmitted_within_30d(adm: dict[str, np.ndarray]) -> np.ndarray:
    """For each stay, whether an unplanned stay of the same patient began within 30 days
    (:data:`~sim.constants.READMISSION_WINDOW_DAYS`) of its discharge. Computed once per
    frozen stays table (the ledger's, after each close): a read-only array, not a copy."""
    n = len(adm.get("patient", ()))
    if n == 0:
        return np.zeros(n, bool)
    cols = (adm["patient"], adm["admit"], adm["discharge"], adm["kind"])
    return frozen_memo(cols, "readmitted_within_30d", lambda: _readmitted(*cols))


def _readmitted(patient: np.ndarray, admit: np.ndarray, discharge: np.ndarray,
                kind: np.ndarray) -> np.ndarray:
    out = np.zeros(len(patient), bool)
    order = np.lexsort((admit, patient))
    p = patient[order]
    nxt_same = np.r_[p[1:] == p[:-1], False]
    gap = np.r_[admit[order][1:], np.inf] - discharge[order]
    nxt_unplanned = np.r_[kind[order][1:] != AdmissionKind.ELECTIVE, False]
    out[order] = nxt_same & (gap <= READMISSION_WINDOW_DAYS) & nxt_unplanned
    out.flags.writeable = False
    return out


def _claim_counts(patient: np.ndarray, service: np.ndarray, n_patients: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Of a year's claims: per patient, whether it had a primary-care visit, and the
    patients of the ED visits (one entry per visit), computed once per frozen claims block."""
    def compute() -> tuple[np.ndarray, np.ndarray]:
        pcp = np.bincount(patient.take(service_rows(service, Service.PCP_VISIT)),
                          minlength=n_patients) > 0
        ed = patient.take(service_rows(service, Service.ED_FACILITY))
        pcp.flags.writeable = False
        ed.flags.writeable = False
        return pcp, ed

    return frozen_memo((patient, service), ("claim_counts", n_patients), compute)


@dataclass(frozen=True)
class MeasureCounts:
    """Numerators and denominators of the quality measures of one group in one year."""

    index_discharges: int
    readmissions_30d: int
    diabetics: int
    diabetics_controlled: int
    members: int
    members_with_visit: int
    person_years: float
    ed_visits: int
    acsc_admissions: int


def measure_counts(
    ledger: Ledger,
    year: int,
    mask: np.ndarray | None = None,
    *,
    claims: dict[str, np.ndarray] | None = None,
    readmitted: np.ndarray | None = None,
) -> MeasureCounts:
    """The counts of the patients in ``mask`` (None: everyone) in plan year ``year``.

    ``claims`` (the year's claims, at least ``patient`` and ``service``) and ``readmitted``
    (:func:`readmitted_within_30d` of all the ledger's stays) may be passed when the caller
    has them already; otherwise they are computed from the ledger.
    """
    if claims is None:
        claims = ledger.claims_in(year)  # the year's block: no copy of other years' claims
    n_patients = ledger.pyear("member", year).shape[0]
    group = np.ones(n_patients, bool) if mask is None else mask
    adm = ledger.admissions
    if adm:
        stays = (adm["year"] == year) & group[adm["patient"]]
        if readmitted is None:
            readmitted = readmitted_within_30d(adm)
        readmissions = int(np.count_nonzero(readmitted[stays]))
        via_ed = int(np.count_nonzero(adm["via_ed"][stays]))
        acsc = int(np.count_nonzero(adm["kind"][stays] == AdmissionKind.ACSC))
        n_stays = int(np.count_nonzero(stays))
    else:
        readmissions = via_ed = acsc = n_stays = 0
    # per patient, any primary-care visit; the ED visits' patients (a patient is in the
    # group or not: filtering the claims by group before counting counts the same)
    pcp, ed = _claim_counts(claims["patient"], claims["service"], n_patients)
    ed_visits = len(ed) if mask is None else int(np.count_nonzero(group[ed]))
    members = ledger.pyear("member", year) & group
    dm = ledger.pyear("diabetic_alive_end", year) & group
    dm_ok = dm & ~ledger.pyear("dm_uncontrolled_end", year)
    return MeasureCounts(
        index_discharges=n_stays,
        readmissions_30d=readmissions,
        diabetics=int(np.count_nonzero(dm)),
        diabetics_controlled=int(np.count_nonzero(dm_ok)),
        members=int(np.count_nonzero(members)),
        members_with_visit=int(np.count_nonzero(pcp & members)),
        person_years=float(ledger.pyear("person_years", year)[group].sum()),
        ed_visits=ed_visits + via_ed,
        acsc_admissions=acsc,
    )


def _ratio(num: float, den: float, per: float = 1.0) -> float:
    """``per x num / den``; NaN (not scored) when the denominator is empty."""
    if den == 0:
        return math.nan
    return per * num / den if per != 1.0 else num / den


def measure_values(counts: MeasureCounts) -> dict[str, float]:
    """The value of every measure of :data:`MEASURES` (NaN: empty denominator)."""
    return {
        "readmission_rate_30d": _ratio(counts.readmissions_30d, counts.index_discharges),
        "diabetes_controlled_share": _ratio(counts.diabetics_controlled, counts.diabetics),
        "annual_visit_share": _ratio(counts.members_with_visit, counts.members),
        "ed_visits_per_1000": _ratio(counts.ed_visits, counts.person_years, 1000.0),
        "acsc_admissions_per_1000": _ratio(counts.acsc_admissions, counts.person_years, 1000.0),
    }
