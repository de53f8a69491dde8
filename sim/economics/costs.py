"""Provider costs with a fixed and a variable part, by kind of provider.

A provider's unit cost (``cost_to_charge`` x the allowed amount at the reference fee
schedule) is split: the share ``VARIABLE_COST_SHARE[kind]`` varies with volume (supplies,
drugs, hourly staff), the rest is the cost of capacity (beds, buildings, equipment, salaried
staff) and is paid whether it is used or not. The capacity cost is fixed in dollars: the
fixed share of the unit cost of the reference volume of a panel of the scenario's size,
``REFERENCE_ALLOWED_PER_CAPITA[kind]`` (allowed USD per person-year at the default fee
schedule and reference levers, measured with ``benchmarks/reference_volume.py``).
So a hospital whose admissions fall 10% at fixed prices loses their revenue but saves only
their variable cost: its margin falls, as MedPAC's marginal-profit analysis implies.

Sources: hospitals: MedPAC March reports (hospital inpatient and outpatient chapter) put
IPPS hospitals' Medicare *marginal* profit at about +8% (2017-2019) against an overall
Medicare margin near -10%: with a unit cost of 1.10 per payment dollar, variable cost is
about 0.92 per dollar, 84% of the unit cost. Post-acute (SNF, home health): MedPAC reports
Medicare margins of 15-20% and marginal profits well above them; 85% variable is an
assumption. Physician groups (primary care, specialists): 70% variable (assumption:
clinician pay and practice expense are largely fixed in a year). Other suppliers (DME,
hospice): 90% variable (assumption).
"""

from __future__ import annotations

#: Share of the unit cost that varies with volume, by provider kind.
VARIABLE_COST_SHARE: dict[str, float] = {
    "hospital": 0.84, "post_acute": 0.85, "primary_care": 0.70, "specialist": 0.70,
    "other": 0.90,
}

#: Allowed USD per person-year billed by each kind of provider at the default fee schedule
#: and reference levers (default scenario; ``benchmarks/reference_volume.py``).
REFERENCE_ALLOWED_PER_CAPITA: dict[str, float] = {
    "hospital": 6_520.0, "post_acute": 1_265.0, "primary_care": 748.0, "specialist": 3_145.0,
    "other": 839.0,
}


def fixed_cost_usd(kind: str, cost_to_charge: float, variable_share: float,
                   panel_size: int, primary_care_share: float = 1.0,
                   volume_share: float = 1.0) -> float:
    """Yearly cost of the capacity of a provider of ``kind``: the fixed share of the unit
    cost of the reference volume of ``panel_size`` patients (a primary-care group: of its
    ``primary_care_share`` of them), times ``volume_share``, the share of that volume the
    provider gives (below 1 when part of the care leaks to outside providers)."""
    share = (primary_care_share if kind == "primary_care" else 1.0) * volume_share
    return ((1.0 - variable_share) * cost_to_charge * REFERENCE_ALLOWED_PER_CAPITA[kind]
            * panel_size * share)


__all__ = ["REFERENCE_ALLOWED_PER_CAPITA", "VARIABLE_COST_SHARE", "fixed_cost_usd"]
