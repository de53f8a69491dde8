"""When money moves: the paid time of each kind of cash flow, and discounting by it.

Times are in years from the start of plan year 0 (plan year ``y`` runs over ``[y, y+1)``).
A flow of plan year ``y`` (a year's aggregate) is paid at:

* claims (fee-for-service, claims a capitated provider pays others, fee adjustments such as
  pay-for-performance): the middle of the year plus the claims payment lag (Medicare pays
  clean claims within 30 days of receipt and not before day 14 electronically: Social
  Security Act 1816(c)(2), 1842(c)(2));
* capitation: monthly in advance, i.e. on average at ``y + 5.5/12`` (payments on the first
  day of each month);
* reconciliations (shared savings, REACH settlements, bundle reconciliations, capitation
  corridor settlements): after the year ends, ``reconciliation_lag_months`` for money owed
  to the provider and ``repayment_lag_months`` for money the provider owes (MSSP: CMS pays
  earned savings within 30 days of the reconciliation notice, an ACO repays losses within
  90 days of it, 42 CFR 425.604-425.610; notices come about 8 months after the performance
  year);
* provider costs: as incurred, the middle of the year (one-off investments: the start).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Flow kinds paid like claims although their contract calls them settlements: fee
#: adjustments applied to claims as they are paid.
PAID_WITH_CLAIMS = frozenset({"ffs_claims", "capitated_claims", "p4p_adjustment"})


@dataclass(frozen=True)
class PaymentTiming:
    """Payment lags (defaults: ``sim.scenario.payment.Economics``)."""

    claims_lag_days: float = 30.0
    reconciliation_lag_months: float = 9.0
    repayment_lag_months: float = 11.0


def paid_time(year: int, kind: str, amount: float, timing: PaymentTiming,
              capitation_kinds: frozenset[str], settlement_kinds: frozenset[str]) -> float:
    """Years from the start of plan year 0 at which a flow of plan year ``year`` of this
    ``kind`` is paid (``amount`` positive: to the provider; negative: the provider pays)."""
    if kind in PAID_WITH_CLAIMS:
        return year + 0.5 + timing.claims_lag_days / 365.0
    if kind in capitation_kinds:
        return year + 5.5 / 12.0
    if kind in settlement_kinds:
        lag = timing.reconciliation_lag_months if amount >= 0 else timing.repayment_lag_months
        return year + 1.0 + lag / 12.0
    return year + 0.5 + timing.claims_lag_days / 365.0


def discount_factor(t: float, rate: float) -> float:
    """``1 / (1 + rate)^t``: the value at time 0 of a dollar paid at time ``t`` (years)."""
    return float((1.0 + rate) ** -t)


__all__ = ["PAID_WITH_CLAIMS", "PaymentTiming", "discount_factor", "paid_time"]
