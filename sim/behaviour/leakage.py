"""Leakage in the expected payoff: the group's levers do not reach care given outside.

With attribution on, a share of each patient's care is given by providers outside the
simulated ones, at reference practice (``sim.care.leakage``): the care model mixes every
rate, ``x = x_L + w (x_ref - x_L)``, with ``w`` the outside share
(``attribution.primary_care_outside_share`` for primary-care visits,
``attribution.outside_share`` for everything else). The expected panel a provider plans
with (``sim.behaviour.expected``) is computed at its levers for the whole panel, as if its
levers reached all of its patients' care; :func:`leakage_aware` mixes it the same way, so
a contract's expected expenditure (which counts leaked care) moves with the levers by
``1 - w`` of what the panel alone would say. Fees are unaffected in effect: the outside
part does not depend on the levers, so the margins' gradients are the inside part's.

Applied in one place: ``ProviderProblem.panel`` (``sim.behaviour.model``), on the anchored
panel of each lever setting, with the reference levers' panel as ``ref``.
"""

from __future__ import annotations

import copy

import numpy as np

from sim.scenario.schema import Scenario
from sim.services import Service


def outside_shares(sc: Scenario, n_services: int) -> np.ndarray | None:
    """Per service: the share of the panel's care given outside (None: attribution off, or
    no leakage)."""
    att = sc.attribution
    if not att.enabled or (att.outside_share == 0 and att.primary_care_outside_share == 0):
        return None
    w = np.full(n_services, float(att.outside_share))
    w[Service.PCP_VISIT] = float(att.primary_care_outside_share)
    return w


def leakage_aware(exp, ref, w: np.ndarray | None):
    """``exp`` (an expected panel at some levers) with the outside share ``w`` of each
    service at the reference panel ``ref``'s value: ``exp + w (ref - exp)`` for spending and
    counts; QALYs and deaths with the non-primary-care share."""
    if w is None or exp is ref:
        return exp
    out = copy.copy(exp)
    out.spend = exp.spend + w[None, :] * (ref.spend - exp.spend)
    out.count = exp.count + w[None, :] * (ref.count - exp.count)
    s = float(w[Service.SPECIALIST_VISIT])
    out.qalys = exp.qalys + s * (ref.qalys - exp.qalys)
    out.deaths = exp.deaths + s * (ref.deaths - exp.deaths)
    out.death_qalys = exp.death_qalys + s * (ref.death_qalys - exp.death_qalys)
    return out
