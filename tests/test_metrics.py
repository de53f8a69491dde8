"""Metric helpers on hand-made data."""

import numpy as np
import pytest

from sim.care.model import H_ACSC, H_ELECTIVE, H_OTHER, H_READMIT
from sim.constants import AdmissionKind
from sim.ledger import ADMISSION_KINDS
from sim.metrics import top_shares
from sim.quality_measures import readmitted_within_30d


def test_readmission_flags_unplanned_stays_within_30_days():
    adm = {
        "patient": np.array([1, 1, 1, 2, 2, 3]),
        "admit": np.array([0.0, 35.0, 50.0, 10.0, 45.0, 5.0]),
        "discharge": np.array([5.0, 40.0, 55.0, 15.0, 50.0, 8.0]),
        "kind": np.array([2, 2, 4, 1, 3, 2]),
    }
    # p1: day 5 -> 35 is exactly 30 days (counts); day 40 -> 50 is elective (does not).
    # p2: day 15 -> 45 is 30 days (counts); p3 has one stay.
    assert readmitted_within_30d(adm).tolist() == [True, False, False, True, False, False]


def test_readmission_order_independent():
    adm = {"patient": np.array([1, 1]), "admit": np.array([40.0, 0.0]),
           "discharge": np.array([42.0, 10.0]), "kind": np.array([2, 2])}
    assert readmitted_within_30d(adm).tolist() == [False, True]


def test_top_shares():
    x = np.r_[np.full(99, 1.0), 101.0]  # one patient of 100 holds half the spending
    assert top_shares(x, (0.01, 0.5)) == pytest.approx([0.505, 150 / 200])


def test_admission_kinds_are_the_hazards_that_fire_the_stays():
    assert (H_ACSC, H_OTHER, H_READMIT, H_ELECTIVE) == tuple(AdmissionKind)
    assert ADMISSION_KINDS == {1: "acsc", 2: "other_unplanned", 3: "readmission",
                               4: "elective"}
