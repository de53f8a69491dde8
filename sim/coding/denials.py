"""Claim denials, rework and write-off: what becomes of each submitted claim.

Each claim of a plan year gets one of three outcomes (``revenue_cycle.denials``, by claim
type, :data:`CLAIM_TYPE_OF_SERVICE`):

* ``CLEAN`` — paid at first submission, at the usual claims lag;
* ``REWORKED`` — denied, reworked by the billing provider (at ``rework_cost_usd``) and
  paid in full ``rework_delay_days`` later;
* ``WRITTEN_OFF`` — denied and never paid: the payer does not pay it, so it is not in the
  payer's expenditure (MSSP and REACH expenditure and benchmarks, capitation baselines are
  sums of paid claims); the provider bears the cost of the care all the same.

Outcomes are drawn from the named stream ``"denials"`` of the replication and the plan
year (two uniforms per claim, in ledger order), so the same year always gets the same
outcomes whichever settlement asks; a new stream, so no other draw changes. With denials
off (the default) every claim is ``CLEAN`` and nothing is drawn.

Money adds up by construction: ``paid = allowed x price factor`` for clean and reworked
claims, 0 for written-off ones; ``paid + written_off == allowed x price factor`` claim by
claim.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.rng import stream
from sim.scenario.revenue_cycle import ClaimTypeDenials, Denials
from sim.services import CATEGORY_OF, Category, Service

CLEAN, REWORKED, WRITTEN_OFF = 0, 1, 2

#: Claim types, in the order of :data:`CLAIM_TYPE_OF_SERVICE`'s codes.
CLAIM_TYPES = ("professional", "outpatient_facility", "inpatient")

_TYPE_OF_CATEGORY = {
    Category.PROFESSIONAL: 0,
    Category.OTHER: 0,  # Part B supplier claims (DME and the like) are professional claims
    Category.OUTPATIENT: 1,
    Category.INPATIENT: 2,
    Category.POST_ACUTE: 2,  # SNF, home health and IRF: institutional (Part A) claims
}

#: Claim-type code (index into :data:`CLAIM_TYPES`) of each service code.
CLAIM_TYPE_OF_SERVICE = np.array([_TYPE_OF_CATEGORY[CATEGORY_OF[s]] for s in Service],
                                 dtype=np.int8)
CLAIM_TYPE_OF_SERVICE.setflags(write=False)


class TypeParams(NamedTuple):
    """Per claim type (arrays indexed by claim-type code)."""

    denial_rate: np.ndarray
    reworked_share: np.ndarray
    rework_cost_usd: np.ndarray


def type_params(cfg: Denials) -> TypeParams:
    """The scenario's denial parameters as arrays by claim-type code."""
    types: list[ClaimTypeDenials] = [getattr(cfg, t) for t in CLAIM_TYPES]
    return TypeParams(np.array([t.initial_denial_rate for t in types]),
                      np.array([t.reworked_share for t in types]),
                      np.array([t.rework_cost_usd for t in types]))


def outcomes(service: np.ndarray, uniforms: np.ndarray, cfg: Denials) -> np.ndarray:
    """Outcome code of each claim from its service and two uniforms per claim (``uniforms``
    of shape ``(n, 2)``): denied if the first is below the type's denial rate, then
    reworked if the second is below the type's reworked share."""
    p = type_params(cfg)
    kind = CLAIM_TYPE_OF_SERVICE[service]
    denied = uniforms[:, 0] < p.denial_rate[kind]
    reworked = denied & (uniforms[:, 1] < p.reworked_share[kind])
    out = np.zeros(len(service), np.int8)
    out[denied] = WRITTEN_OFF
    out[reworked] = REWORKED
    return out


def draw_outcomes(seed_seq: np.random.SeedSequence | None, year: int, service: np.ndarray,
                  cfg: Denials) -> np.ndarray:
    """Outcome of each claim of plan ``year`` (``service``: the year's service codes in
    ledger order): all ``CLEAN`` when denials are off or no seed is given (a context built
    outside a replication, e.g. the behaviour model's)."""
    n = len(service)
    if not cfg.enabled or seed_seq is None or n == 0:
        return np.zeros(n, np.int8)
    # plan years may be negative (history): shift them to a non-negative stream key
    rng = stream(seed_seq, "denials", year + 1000)
    return outcomes(service, rng.random((n, 2)), cfg)


def rework_cost(service: np.ndarray, outcome: np.ndarray, cfg: Denials) -> np.ndarray:
    """Administrative cost of each claim to its billing provider (USD): the type's rework
    cost for reworked claims, 0 otherwise."""
    cost = type_params(cfg).rework_cost_usd[CLAIM_TYPE_OF_SERVICE[service]]
    return np.where(outcome == REWORKED, cost, 0.0)


__all__ = ["CLAIM_TYPES", "CLAIM_TYPE_OF_SERVICE", "CLEAN", "REWORKED", "WRITTEN_OFF",
           "draw_outcomes", "outcomes", "rework_cost", "type_params"]
