"""Hospital global budget: the rule that settles a year (pure; no simulation).

A hospital under a global budget is still paid per claim, and a year-end reconciliation
brings its revenue for the regulated services to the budget:

* **budget** = base revenue per person-year (the mean of the baseline years' regulated
  revenue per person-year of the payer's members) x (1 + growth)^(years since the middle
  baseline year) x this year's person-years (the population served);
* **volume corridor**: revenue within ``budget x (1 +/- corridor)`` is reconciled in full;
  beyond it, the budget moves with revenue by ``variable_cost_factor`` (extra volume paid
  at that share, lost volume refunded at it);
* **reconciliation** = adjusted budget - actual regulated revenue: positive, the payer pays
  the hospital its shortfall; negative, the hospital repays its overrun.

So within the corridor every regulated service the hospital avoids is kept as margin
(revenue fixed, cost saved), and beyond it volume is paid at the variable cost factor, as
in Maryland's Global Budget Revenue (2014-) and Pennsylvania's Rural Health Model (2019-).
"""

from __future__ import annotations

from sim.contracts.statement import Statement, StatementBuilder


def budget_amount(base_per_capita_usd: float, growth_rate: float, years: float,
                  person_years: float) -> float:
    """The year's budget before the volume corridor."""
    if base_per_capita_usd < 0 or person_years < 0:
        raise ValueError("base revenue and person-years must be >= 0")
    return base_per_capita_usd * (1.0 + growth_rate) ** years * person_years


def volume_adjustment(budget_usd: float, actual_usd: float, corridor: float,
                      variable_cost_factor: float) -> tuple[float, str]:
    """The budget's volume adjustment and which edge of the corridor applied."""
    hi, lo = budget_usd * (1.0 + corridor), budget_usd * (1.0 - corridor)
    if actual_usd > hi:
        return variable_cost_factor * (actual_usd - hi), "above"
    if actual_usd < lo:
        return variable_cost_factor * (actual_usd - lo), "below"
    return 0.0, "none"


def settle_global_budget(base_per_capita_usd: float, person_years: float,
                         actual_revenue_usd: float, growth_rate: float = 0.0,
                         years_since_base: float = 0.0, corridor: float = 0.05,
                         variable_cost_factor: float = 0.5) -> Statement:
    """Reconcile a year's regulated revenue to the hospital's global budget.

    Returns a ``"global_budget"`` statement; values ``budget_usd``,
    ``volume_adjustment_usd``, ``adjusted_budget_usd``, ``actual_revenue_usd``,
    ``reconciliation_usd``; fact ``corridor_applied`` (none, above, below).
    """
    if actual_revenue_usd < 0:
        raise ValueError("actual revenue must be >= 0")
    if not (0 <= corridor and 0 <= variable_cost_factor <= 1):
        raise ValueError("corridor must be >= 0 and variable_cost_factor in [0, 1]")
    st = StatementBuilder("global_budget")
    budget = st.line("global budget", budget_amount(base_per_capita_usd, growth_rate,
                                                    years_since_base, person_years),
                     f"{base_per_capita_usd:,.2f} per person-year x (1 + {growth_rate:.2%})"
                     f"^{years_since_base:g} x {person_years:,.1f} person-years")
    adj, edge = volume_adjustment(budget, actual_revenue_usd, corridor, variable_cost_factor)
    st.line("volume adjustment", adj, f"beyond +/-{corridor:.0%}: {variable_cost_factor:.0%} "
            "of the revenue outside the corridor" if edge != "none" else "within the corridor")
    adjusted = budget + adj
    actual = st.line("regulated revenue paid per claim", -actual_revenue_usd)
    recon = st.line("reconciliation (repayment if negative)", adjusted + actual,
                    "adjusted budget - regulated revenue")
    st.fact("corridor_applied", edge)
    st.value("budget_usd", budget)
    st.value("volume_adjustment_usd", adj)
    st.value("adjusted_budget_usd", adjusted)
    st.value("actual_revenue_usd", actual_revenue_usd)
    st.value("reconciliation_usd", recon)
    return st.build(payer_paid_usd=recon)
