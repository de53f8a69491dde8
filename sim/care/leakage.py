"""Leakage: the share of each patient's care given by providers outside the simulated ones.

With attribution on, a patient's care is a mixture: a share ``w`` comes from outside
providers at reference practice (the levers the scenario gives each group, which the
groups' contracts do not move), the rest from the simulated providers at the levers
chosen this year. Every rate is mixed, ``x = x_lev + w (x_ref - x_lev)`` (exactly
``x_lev`` when the levers are the reference ones, so fee-for-service draws are unchanged),
and each service is billed outside with probability ``w x_ref / x``: the expected leaked
volume ``w x_ref`` does not depend on the levers. ``w`` is the patient's usual-source
share (:class:`sim.attribution.UsualSource`) for primary-care visits and
``attribution.outside_share`` for everything else. Services ordered at a visit (tests,
imaging) and the professional, post-acute and ED fees of a stay follow the visit or stay.
Approximations: outside primary-care visits still queue at the group's clinic, and the
post-acute probabilities after a stay (outside or not) are the mixed ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.care.model import H_READMIT, HAZARDS, R_PCP, ROUTINE, YearParts


@dataclass
class LeakageYear:
    """The year's outside shares (per patient) and the outside providers."""

    routine: np.ndarray  # (n, R): share of each routine service given outside
    hazards: np.ndarray  # (n, H): share of each hazard's events outside
    labs_ref: np.ndarray  # (n,) tests per visit at reference practice (outside visits)
    labs_lev: np.ndarray  # (n,) tests per visit at the chosen levers (inside visits)
    imaging_ref: np.ndarray
    imaging_lev: np.ndarray
    outside: dict[str, int]  # kind -> outside provider index

    def route(self, share: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Which of the services with outside probabilities ``share`` are given outside."""
        return rng.random(len(share)) < share


def _blend(lev: np.ndarray, ref: np.ndarray, w: np.ndarray | float) -> np.ndarray:
    """The mixed rate ``lev + w (ref - lev)``: ``lev`` itself when ``ref`` is ``lev`` and
    that is exact (``lev - lev`` is +0, ``w x +0`` is ±0 for a finite ``w``, and adding
    ±0 leaves every finite value but -0 unchanged)."""
    if ref is lev and np.isfinite(w).all() and np.isfinite(lev).all() \
            and not np.signbit(lev).any():
        return lev
    return lev + w * (ref - lev)


def _share(mixed: np.ndarray, ref: np.ndarray, w: np.ndarray | float) -> np.ndarray:
    """The outside share ``w ref / mixed`` of a mixed rate (0 where it is 0), in [0, 1]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(mixed > 0, w * ref / mixed, 0.0)
    return np.clip(share, 0.0, 1.0)


def mix_parts(lev: YearParts, ref: YearParts, pc_share: np.ndarray, other_share: float,
              outside: dict[str, int]) -> tuple[YearParts, LeakageYear]:
    """The year's rates with leakage, and what the claims need to bill it outside: each
    column of the rates (:class:`sim.care.model.YearParts`) blended with the reference
    practice's, a column that several states share (the same arrays in ``lev`` and
    ``ref``) mixed once (issue 16: ~3x cheaper than mixing the laid-out tables, the same
    doubles: ``tests/care/test_year_parts.py``)."""
    n = lev.n
    memo: dict[tuple[int, int, int], tuple[np.ndarray | float, object, object]] = {}

    def mixed(x_lev: np.ndarray | float, x_ref: np.ndarray | float,
              w: np.ndarray | float) -> np.ndarray | float:
        key = (id(x_lev), id(x_ref), id(w))
        got = memo.get(key)
        if got is None:  # the operands are kept with the result: their ids stay theirs
            got = memo[key] = (_blend(x_lev, x_ref, w), x_lev, x_ref)
        return got[0]

    w_of = [pc_share if k == R_PCP else other_share for k in range(len(ROUTINE))]
    routine = [[mixed(a, b, w_of[k]) for a, b in zip(lev.routine[k], ref.routine[k],
                                                      strict=True)]
               for k in range(len(ROUTINE))]
    hazards = [[mixed(a, b, other_share) for a, b in zip(lev.hazards[k], ref.hazards[k],
                                                         strict=True)]
               for k in range(len(HAZARDS))]
    # Only the shares used are computed: state 0 of the routine services and hazards,
    # state 1 of the readmission hazard.
    share_r = np.empty((n, len(ROUTINE)))
    for k in range(len(ROUTINE)):
        share_r[:, k] = _share(routine[k][0], ref.routine[k][0], w_of[k])
    h_share = np.empty((n, len(HAZARDS)))
    for k in range(len(HAZARDS)):
        h_share[:, k] = _share(np.asarray(hazards[k][0], np.float64),  # NumPy's 0 / 0
                               np.asarray(ref.hazards[k][0], np.float64), other_share)
    h_share[:, H_READMIT] = _share(hazards[H_READMIT][1], ref.hazards[H_READMIT][1],
                                   other_share)
    los = lev.episode_snf_los_factor
    if los is not None:
        los = _blend(los, ref.episode_snf_los_factor if ref.episode_snf_los_factor is not None
                     else np.ones_like(los), other_share)
    parts = YearParts(
        n=n, hazards=hazards, routine=routine,
        p_snf=_blend(lev.p_snf, ref.p_snf, other_share),
        p_home_health=_blend(lev.p_home_health, ref.p_home_health, other_share),
        institutional_pac_factor=_blend(lev.institutional_pac_factor,
                                        ref.institutional_pac_factor, other_share),
        labs_per_visit=_blend(lev.labs_per_visit, ref.labs_per_visit, other_share),
        imaging_per_visit=_blend(lev.imaging_per_visit, ref.imaging_per_visit, other_share),
        utility=lev.utility, episode_snf_los_factor=los)
    leak = LeakageYear(routine=share_r, hazards=h_share,
                       labs_ref=ref.labs_per_visit, labs_lev=lev.labs_per_visit,
                       imaging_ref=ref.imaging_per_visit, imaging_lev=lev.imaging_per_visit,
                       outside=outside)
    return parts, leak
