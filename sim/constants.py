"""Named constants shared by the simulator (layer 0: imports nothing of ``sim``).

Only quantities that mean the same thing everywhere live here. Contract parameters that
happen to share a value (BPCI Advanced's 3% CMS discount, MSSP's +3% cap on risk-score
growth, REACH's discounts by year) belong to their contract's rules, not here.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "DAYS_PER_YEAR",
    "DEFAULT_DISCOUNT_RATE",
    "READMISSION_WINDOW_DAYS",
    "AdmissionKind",
]

#: Days in a plan year: the care model's clock runs in days and its rates are per
#: patient-year of 365 days (no leap days), so a plan year is days ``[365 y, 365 (y + 1))``.
DAYS_PER_YEAR: int = 365

#: A stay counts as a readmission when an unplanned stay of the same patient begins within
#: this many days of its discharge (CMS's 30-day all-cause readmission measures; the care
#: model's raised readmission hazard lasts as long).
READMISSION_WINDOW_DAYS: int = 30

#: Default yearly discount rate for net present values and cost-effectiveness: the US
#: health-economics convention (Second Panel on Cost-Effectiveness in Health and Medicine,
#: Sanders et al., JAMA 2016: 3% a year). Scenarios may set ``economics.discount_rate``.
DEFAULT_DISCOUNT_RATE: float = 0.03


class AdmissionKind(IntEnum):
    """Why a hospital stay began: the ``kind`` column of the ledger's admissions.

    The codes are the care model's hazard indices (``sim.care.model``: ``H_ACSC`` ...
    ``H_ELECTIVE``), so a stay's kind is the hazard that fired it.
    """

    #: an ambulatory-care-sensitive (potentially preventable) condition
    ACSC = 1
    #: any other unplanned stay
    OTHER_UNPLANNED = 2
    #: an unplanned stay within the readmission window after a discharge
    READMISSION = 3
    #: a planned (elective) stay; never counted as a readmission
    ELECTIVE = 4
