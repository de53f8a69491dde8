"""Specialists respond to their fees (issue 14 item 2): a simple supply rule.

Specialists are not optimisers here. Their volume of visits and ambulatory procedures
follows their fees with a constant elasticity, adjusting partially each year:

    target_y = F ** (epsilon x (1 - w))
    S_y      = S_{y-1} + adaptation_rate x (target_y - S_{y-1}),   S_{-1} = 1

* ``F``: the specialists' fee index, the geometric mean over the fees they bill for the
  services they scale (``specialist_visit_usd``, ``outpatient_procedure_professional_usd``)
  of the scenario's fee over the default fee schedule's (1 at the default schedule);
* ``epsilon``: the specialist provider's ``behavior.fee_elasticity`` (1.5, Clemens &
  Gottlieb, AER 2014: a 2% fee rise raised care ~3% within a few years; partial adjustment
  with the specialists' ``adaptation_rate`` gives the smaller short-run response they found);
* ``w``: the primary-care group's ``specialist_margin_weight``. The group counts that share
  of the specialists' margins as its own and already moves their volume through its
  discretionary intensity ``d`` (a multispecialty group, ``w = 1``, the default: the rule
  then adds nothing); the rest of the specialists (independent of the group) respond on
  their own.

``S`` multiplies the specialist-visit and ambulatory-procedure rates of the group's panel
(``LeverArrays.specialist_volume``, ``sim.care.model``). Under ``behavior: fixed`` nobody
responds (``S = 1``).
"""

from __future__ import annotations

import math

from sim.scenario.schema import Scenario

#: The fees the rule reads: those of the services the specialists' volume scales.
FEES = ("specialist_visit_usd", "outpatient_procedure_professional_usd")


def fee_index(sc: Scenario) -> float:
    """Geometric mean of the specialists' fees over the reference fee schedule's
    (``Scenario.fee_reference``: the default schedule unless ``reference_prices`` is set)."""
    default = sc.fee_reference
    logs = [math.log(getattr(sc.prices, f) / getattr(default, f)) for f in FEES
            if getattr(default, f) > 0 and getattr(sc.prices, f) > 0]
    return math.exp(sum(logs) / len(logs)) if logs else 1.0


def target_volume(sc: Scenario, elasticity: float, group_weight: float) -> float:
    """The specialists' long-run volume factor at the scenario's fees."""
    return fee_index(sc) ** (elasticity * (1.0 - group_weight))


def next_volume(sc: Scenario, group: str, previous: float) -> float:
    """This year's specialist volume factor on ``group``'s panel, from last year's."""
    spec = [p for p in sc.providers if p.kind == "specialist"]
    if sc.behavior == "fixed" or not spec:
        return 1.0
    g = next(p for p in sc.providers if p.name == group)
    b = spec[0].behavior
    target = target_volume(sc, b.fee_elasticity, g.behavior.specialist_margin_weight)
    return previous + b.adaptation_rate * (target - previous)
