"""Jargon explained where it first appears: the first mention of a term on the page gets a
short explanation in parentheses; later mentions stay as they are.

    >>> j = Jargon()
    >>> j.explain("VaR95 is low; VaR95 again")   # doctest: +ELLIPSIS
    'VaR95 (value at risk: the 5th percentile ...) is low; VaR95 again'
"""

from __future__ import annotations

import re

#: term -> (pattern, explanation); checked in this order (longer terms first)
TERMS: tuple[tuple[str, str, str], ...] = (
    ("CVaR95", r"\bCVaR95\b", "conditional value at risk: the mean of the worst 5% of "
     "replications"),
    ("VaR95", r"(?<!C)\bVaR95\b", "value at risk: the 5th percentile of the plan-total margin, "
     "so 1 replication in 20 does worse"),
    ("QALY", r"\bQALYs?\b", "quality-adjusted life year: a year in full health counts 1, a "
     "year in poorer health less"),
    ("ICER", r"\bICER\b", "incremental cost-effectiveness ratio: extra payer spending per "
     "QALY gained"),
    ("NMB", r"\b(?:NMB|net monetary benefit)\b", "willingness to pay per QALY x QALYs gained "
     "minus extra spending; positive means worth it"),
    ("NPV", r"\b(?:NPV|net present value)\b", "future years' amounts discounted to the first "
     "plan year and summed"),
    ("MSR", r"\bMSR\b", "minimum savings rate: savings below this share of the benchmark are "
     "not shared"),
    ("CEAC", r"\bCEAC\b", "cost-effectiveness acceptability curve"),
    ("MSSP", r"\bMSSP\b", "Medicare Shared Savings Program: a provider group shares savings against a "
     "benchmark"),
    ("ACO", r"\bACO\b", "accountable care organisation"),
    ("FFS", r"\bFFS\b", "fee-for-service: paid per service"),
    ("PMPM", r"\bPMPM\b", "per member per month"),
)


class Jargon:
    """Explains each term of :data:`TERMS` at its first mention across calls (page order)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def explain(self, text: str) -> str:
        """``text`` with the first mention of each not yet seen term explained."""
        for term, pattern, meaning in TERMS:
            if term in self.seen:
                continue
            m = re.search(pattern, text)
            if m is None:
                continue
            self.seen.add(term)
            # after the mention, or after its own parenthesis if one follows at once
            end = m.end()
            if text[end:end + 1] == ")":  # already in parentheses: "(VaR95)" -> "(VaR95: ...)"
                text = text[:end] + f": {meaning}" + text[end:]
            else:
                text = text[:end] + f" ({meaning})" + text[end:]
        return text


__all__ = ["TERMS", "Jargon"]
