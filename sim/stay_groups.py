"""Clinical groups of hospital stays: an MS-DRG-like family and a severity (with/without MCC).

The care model makes stays of four kinds (``sim.constants.AdmissionKind``); a payer codes
each with an MS-DRG. Until full MS-DRG coding exists (issue 13), this one small module
stands in for the grouper: it gives every stay a *family* (:class:`StayGroup`, each a set
of MS-DRGs) and a severity flag ``mcc`` (the "with MCC" MS-DRG of the family), drawn with
the frequencies of ``clinical.stay_groups`` from the replication's ``stay_groups`` stream
(a named stream of its own, so no other draw changes). Swap this module to change the
grouping; its interface is :func:`assign` and the two tables :data:`MS_DRGS` and
:data:`CLINICAL_EPISODES`.

Assignment, per stay:

* elective stays flagged as lower-extremity joint replacement -> ``MAJOR_JOINT``; other
  elective stays -> ``SPINAL_FUSION`` with probability ``spinal_fusion_share / (1 -
  joint_replacement_share)`` (so that ``spinal_fusion_share`` is a share of *all* elective
  stays), else ``OTHER_SURGICAL``;
* unplanned stays (ACSC, other, readmission) -> ``SEPSIS`` with probability
  ``sepsis_share``; else, for a patient with heart failure, ``HEART_FAILURE`` with
  probability ``heart_failure_share``; else, for a patient with COPD, ``COPD`` with
  probability ``copd_share``; else ``OTHER_MEDICAL`` (one uniform draw per stay, cut in
  this order).
* severity: a stay is "with MCC" when ``rho * z + sqrt(1 - rho^2) * e`` exceeds the normal
  quantile of ``1 - mcc_share`` of its family, where ``z`` is the standard-normal score of
  the stay's (already drawn) DRG-like payment and ``e`` a fresh normal draw: a Gaussian
  copula, so with-MCC stays are the costlier ones (as MS-DRG 469 pays more than 470) and
  the share with MCC is the family's ``mcc_share`` exactly in expectation.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import numpy as np
from scipy.special import ndtri

from sim.constants import AdmissionKind

__all__ = ["CLINICAL_EPISODES", "MS_DRGS", "StayGroup", "assign", "mcc_share_of"]


class StayGroup(IntEnum):
    """MS-DRG-like family of a stay (the ``group`` column of the ledger's admissions)."""

    OTHER_MEDICAL = 0
    SEPSIS = 1
    HEART_FAILURE = 2
    COPD = 3
    OTHER_SURGICAL = 4
    MAJOR_JOINT = 5
    SPINAL_FUSION = 6


#: MS-DRGs of each family: (with MCC, without MCC), the first of each the family's most
#: frequent. Major joint replacement of the lower extremity is MS-DRG 469/470 and, from
#: FY2024, also 521/522 (hip replacement with a principal diagnosis of hip fracture, split
#: out of 469/470). Spinal fusion except cervical: MS-DRG v41 (FY2024) deleted 453-455
#: (combined anterior/posterior) and 459/460 and created 402 (single-level combined
#: anterior/posterior, no severity split: listed without MCC), 426-428 (multiple-level
#: combined anterior/posterior), 447/448 (multiple-level) and 450/451 (single-level);
#: 456-458 (curvature, malignancy, infection or extensive fusions) remain. Source: CMS
#: MS-DRG definitions manual v41 (FY2024) and v42 (FY2025); FY2024 IPPS final rule.
MS_DRGS: dict[StayGroup, tuple[tuple[int, ...], tuple[int, ...]]] = {
    StayGroup.MAJOR_JOINT: ((469, 521), (470, 522)),
    StayGroup.SPINAL_FUSION: ((450, 447, 426, 456), (451, 448, 402, 427, 428, 457, 458)),
    StayGroup.SEPSIS: ((871,), (872,)),
    StayGroup.HEART_FAILURE: ((291,), (292, 293)),
    StayGroup.COPD: ((190,), (191, 192)),
    StayGroup.OTHER_SURGICAL: ((), ()),
    StayGroup.OTHER_MEDICAL: ((), ()),
}

#: BPCI Advanced clinical episodes (the names a bundle's ``episodes`` list takes) and the
#: family of the anchor stay that opens each.
CLINICAL_EPISODES: dict[str, StayGroup] = {
    "major_joint_lower_extremity": StayGroup.MAJOR_JOINT,
    "sepsis": StayGroup.SEPSIS,
    "heart_failure": StayGroup.HEART_FAILURE,
    "copd": StayGroup.COPD,
    "spinal_fusion": StayGroup.SPINAL_FUSION,
}


def mcc_share_of(cfg: Any) -> np.ndarray:
    """Share of stays with MCC per family (indexed by :class:`StayGroup`)."""
    return np.array([cfg.mcc_share_other_medical, cfg.mcc_share_sepsis,
                     cfg.mcc_share_heart_failure, cfg.mcc_share_copd,
                     cfg.mcc_share_other_surgical, cfg.mcc_share_major_joint,
                     cfg.mcc_share_spinal_fusion])


def assign(kind: np.ndarray, joint: np.ndarray, heart_failure: np.ndarray,
           copd: np.ndarray, payment_z: np.ndarray, cfg: Any, joint_share: float,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Family (int8 :class:`StayGroup` codes) and with-MCC flag of each stay.

    ``kind`` the stays' ``AdmissionKind`` codes, ``joint`` their joint-replacement flag,
    ``heart_failure`` / ``copd`` whether the patient has the condition, ``payment_z`` the
    standard-normal score of each stay's DRG-like payment, ``cfg`` the scenario's
    ``clinical.stay_groups``, ``joint_share`` ``clinical.electives.joint_replacement_share``,
    ``rng`` the year's ``stay_groups`` stream (one uniform and one normal per stay,
    drawn in blocks).
    """
    n = len(kind)
    u = rng.random(n)
    e = rng.standard_normal(n)
    elective = kind == AdmissionKind.ELECTIVE
    group = np.full(n, StayGroup.OTHER_MEDICAL, np.int8)
    non_joint = max(1.0 - joint_share, 1e-12)
    spinal = elective & ~joint & (u < min(cfg.spinal_fusion_share / non_joint, 1.0))
    group[elective] = StayGroup.OTHER_SURGICAL
    group[spinal] = StayGroup.SPINAL_FUSION
    group[elective & joint] = StayGroup.MAJOR_JOINT
    unpl = ~elective
    s, h, c = cfg.sepsis_share, cfg.heart_failure_share, cfg.copd_share
    hf_hi = s + h * heart_failure
    copd_hi = hf_hi + c * copd
    group[unpl & (u < s)] = StayGroup.SEPSIS
    group[unpl & (u >= s) & (u < hf_hi)] = StayGroup.HEART_FAILURE
    group[unpl & (u >= hf_hi) & (u < copd_hi)] = StayGroup.COPD
    share = mcc_share_of(cfg)[group]
    rho = cfg.mcc_payment_correlation
    latent = rho * payment_z + np.sqrt(1.0 - rho * rho) * e
    with np.errstate(divide="ignore"):
        mcc = latent > ndtri(1.0 - share)
    return group, mcc
