"""The life table and the value of a death in QALYs: one rule for outcomes and behaviour.

A death at age ``a`` takes away the patient's remaining life expectancy, quality-adjusted
by the patient's utility and discounted at the social rate: with the life table's one-year
death probabilities ``q_x`` (deaths spread evenly within a year of age),

    QALE(a) = u x sum_k  S(k) (1 - q_{a+k} / 2) / (1 + r)^(k + 1/2),   S(k) = prod_{j<k} (1 - q_{a+j})

(fractional ages interpolate linearly between whole ages). The same quantity values the
closed cohort's survivors at the horizon (the terminal value of ``sim.metrics``) and the
deaths the behaviour model weighs, so a death costs the same QALYs in both.
Life table: SSA period life table 2021 (2020 Trustees Report, intermediate assumptions),
``data/ssa_period_life_table_2021.csv``; utilities are held at their last value (no
further decline with age), a simplification ``docs/economics.md`` states.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

LIFE_TABLE = Path(__file__).with_name("data") / "ssa_period_life_table_2021.csv"
LIFE_TABLE_SOURCE = ("SSA Office of the Chief Actuary, period life table for calendar year 2021, "
                     "2020 Trustees Report (intermediate assumptions)")
FIRST_AGE = 50
LAST_AGE = 119


@lru_cache(maxsize=1)
def _q() -> tuple[np.ndarray, np.ndarray]:
    """One-year death probabilities (male, female) for ages ``FIRST_AGE..LAST_AGE``."""
    lines = [ln for ln in LIFE_TABLE.read_text(encoding="utf-8").splitlines()
             if ln and not ln.startswith("#")]
    rows = np.array([[float(x) for x in ln.split(",")] for ln in lines[1:]])
    ages = rows[:, 0].astype(int)
    if ages[0] != FIRST_AGE or ages[-1] != LAST_AGE or len(ages) != LAST_AGE - FIRST_AGE + 1:
        raise ValueError(f"{LIFE_TABLE}: expected ages {FIRST_AGE}-{LAST_AGE}")
    return rows[:, 1], rows[:, 2]


@lru_cache(maxsize=32)
def _table(discount_rate: float) -> np.ndarray:
    """(2, ages) discounted life expectancy at each whole age, male row 0, female row 1."""
    v = 1.0 / (1.0 + discount_rate)
    out = np.zeros((2, LAST_AGE - FIRST_AGE + 2))  # one extra age: 0 years left after 119
    for s, q in enumerate(_q()):
        q = np.append(q, 1.0)  # nobody survives past the table
        e = 0.0
        for i in range(len(q) - 1, -1, -1):  # backwards: e_x = L_x + p_x v e_{x+1}
            e = (1.0 - q[i] / 2.0) * v**0.5 + (1.0 - q[i]) * v * e
            out[s, i] = e
    return out


def life_expectancy(age: np.ndarray | float, female: np.ndarray | float,
                    discount_rate: float = 0.0) -> np.ndarray:
    """Remaining life expectancy in years (discounted at ``discount_rate``) at ``age``;
    ``female`` is a bool or a share 0-1 (a mix of the two sexes). Ages below 50 are
    treated as 50."""
    table = _table(float(discount_rate))
    a = np.clip(np.asarray(age, dtype=float), FIRST_AGE, LAST_AGE + 1) - FIRST_AGE
    lo = np.floor(a).astype(int)
    hi = np.minimum(lo + 1, table.shape[1] - 1)
    w = a - lo
    by_sex = table[:, lo] * (1.0 - w) + table[:, hi] * w
    f = np.asarray(female, dtype=float)
    return (1.0 - f) * by_sex[0] + f * by_sex[1]


def qalys_lost_per_death(age: np.ndarray | float, female: np.ndarray | float,
                         utility: np.ndarray | float, discount_rate: float) -> np.ndarray:
    """QALYs a death at ``age`` takes away: the remaining life expectancy, discounted at
    ``discount_rate`` and weighted by ``utility`` (the one rule of ``docs/economics.md``)."""
    return np.asarray(utility, dtype=float) * life_expectancy(age, female, discount_rate)


__all__ = ["LIFE_TABLE", "LIFE_TABLE_SOURCE", "life_expectancy", "qalys_lost_per_death"]
