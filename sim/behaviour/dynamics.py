"""Dynamics of the decision (docs/behaviour.md, section 4): what the year's choice carries
from earlier years and anticipates of later ones.

* **Capability** (start-up and learning curve): an organisation new to value-based
  payment has not yet built the care-management, data and referral infrastructure that
  turns an organisation-level incentive into practice. The share of the incentive it can
  act on starts at ``startup_capability`` and approaches 1 with ``learning_years`` of
  experience (years already spent in a value-based contract it holds).
* **Ratchet** (rebasing anticipated): MSSP rebases an ACO's benchmark at each new
  agreement on the last three years of the agreement before it, so a dollar saved in
  those years lowers the next agreement's benchmark. The decision counts that loss,
  discounted, as a share of the year's payoff given back.
* **Estimation error**: the organisation estimates its spending from its own claims; the
  level it plans against is off by a multiplicative error drawn per year (named stream
  ``behaviour:estimate``), so its perceived position against a benchmark is noisy.
"""

from __future__ import annotations

import math

import numpy as np

from sim.rng import stream
from sim.scenario.schema import Scenario
from sim.settlement.engine import active_contracts

#: MSSP benchmark years are weighted equally for renewing ACOs (42 CFR 425.601(a)(6)(ii)).
_REBASE_YEARS = 3

ESTIMATE_STREAM = "behaviour:estimate"


def _value_based(cfg: object, holder: str) -> bool:
    """Whether ``cfg`` is an organisation-level (not fee-for-service) contract of ``holder``."""
    return getattr(cfg, "type", "ffs") != "ffs" and getattr(cfg, "holder", None) == holder


def experience_years(sc: Scenario, year: int, holder: str) -> int:
    """Plan years before ``year`` in which ``holder`` held a value-based contract."""
    return sum(any(_value_based(cfg, holder) for _, cfg in active_contracts(sc, y))
               for y in range(max(year, 0)))


def capability(startup: float, learning_years: float, experience: float) -> float:
    """Share of an organisation-level incentive the organisation can act on:
    ``startup + (1 - startup) (1 - exp(-experience / learning_years))``."""
    return startup + (1.0 - startup) * (1.0 - math.exp(-experience / learning_years))


def ratchet_share(sc: Scenario, settler: object, year: int, holder: str,
                  discount: float, offset: float) -> float:
    """Share of the contract's payoff in ``year`` that ``holder`` expects to give back
    through the next agreement's rebased benchmark (0 when the contract does not rebase on
    the holder's spending in that year).

    A dollar saved in one of the three equally weighted benchmark years of the next
    agreement lowers that agreement's benchmark by ``(1 - offset) / 3`` in each of its
    ``agreement_years`` years, each worth, at the margin, what a dollar of savings is worth
    now; discounted, the share given back is ``(1 - offset) / 3 x sum_k discount^(years to
    next-agreement year k)``, at most 1. ``offset`` is the part of the ratchet undone by the
    regional adjustment and the prior savings adjustment.
    """
    cfg = getattr(settler, "config", None)
    if getattr(cfg, "type", None) != "mssp" or cfg.holder != holder:
        return 0.0
    from sim.contracts.settler import participation_start

    length = int(cfg.agreement_years)
    start = (cfg.agreement_start_year if cfg.agreement_start_year is not None
             else participation_start(sc, "mssp", cfg.payer, holder, year))
    pos = (year - start) % length
    if pos < length - _REBASE_YEARS:
        return 0.0
    gap = length - pos
    horizon = sum(discount ** (gap + k) for k in range(length))
    return min(1.0, (1.0 - offset) / _REBASE_YEARS * horizon)


def estimate_error(seed_seq: np.random.SeedSequence | None, provider: int, year: int,
                   sd: float) -> float:
    """Multiplicative error (mean 1, lognormal with log-SD ``sd``) of the spending level
    the provider plans ``year`` against; 1 without a seed or with ``sd = 0``."""
    if seed_seq is None or sd <= 0:
        return 1.0
    z = float(stream(seed_seq, ESTIMATE_STREAM, provider, max(year, 0)).standard_normal())
    return math.exp(sd * z - 0.5 * sd * sd)
