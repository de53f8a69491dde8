"""Health-economic conventions shared by outcomes, behaviour, settlement and comparisons.

Layer 0 (imports nothing of ``sim`` but constants): pure functions and one data file.

* :mod:`sim.economics.outcomes` — the life table and the one rule for the QALYs a death
  takes away (remaining, discounted, quality-adjusted life expectancy), used for the
  closed cohort's terminal value and by the behaviour model;
* :mod:`sim.economics.timing` — when each kind of cash flow is paid;
* :mod:`sim.economics.costs` — fixed and variable parts of provider costs by kind.

Conventions and sources: ``docs/economics.md``.
"""

from __future__ import annotations

from sim.economics.costs import VARIABLE_COST_SHARE, fixed_cost_usd
from sim.economics.outcomes import life_expectancy, qalys_lost_per_death
from sim.economics.timing import PaymentTiming, discount_factor, paid_time

__all__ = [
    "VARIABLE_COST_SHARE",
    "PaymentTiming",
    "discount_factor",
    "fixed_cost_usd",
    "life_expectancy",
    "paid_time",
    "qalys_lost_per_death",
]
