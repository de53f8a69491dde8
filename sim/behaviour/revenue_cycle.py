"""The revenue cycle in the expected payoff: denials and RADV as behaviour weighs them.

Settlement denies, reworks and writes off claims (:mod:`sim.coding.denials`) and audits
the coded scores behind risk-adjusted capitation (:mod:`sim.coding.radv`) when the
scenario's ``revenue_cycle`` block switches them on. A provider choosing its levers
(:class:`sim.behaviour.model.ProviderProblem`) expects both:

* **Denials** (:func:`expected_denial_loss`): of the fee-for-service claims it bills, the
  share ``denial_rate x (1 - reworked_share)`` of each claim type is written off (revenue
  lost) and ``denial_rate x reworked_share`` reworked at ``rework_cost_usd`` a claim. The
  specialists' claims count with the same ``specialist_margin_weight`` as their margins.
  Rework is paid ``rework_delay_days`` later; the decision year is not discounted, so the
  delay costs nothing here (it shows in ``days_in_ar``).
* **RADV** (:func:`expected_radv_recovery`): under a ``radv_audited`` contract (MA-style
  capitation) the audit recovers, in expectation, ``audit_probability x gross capitation x
  unsupported share of the coded score``: the extrapolated recovery of a random sample is
  an unbiased estimate of the contract's payment error (:func:`sim.coding.radv.
  extrapolated_recovery`). The unsupported share rises with coding intensity: with the
  CMS-HCC score (:func:`unsupported_share_hcc`) it is ``1 - E[supported] / E[coded]``, the
  supported score being the expected score with the unsupported-code rates set to 0
  (upcodes fall back to the documented lower HCC, phantom codes to none: what
  :func:`sim.coding.hcc.radv_view` finds); with the legacy score it is
  ``1 - sim.coding.radv.supported_share``. The recovery is repaid ``recovery_lag_years``
  later, not discounted either. It is weighed like the contract's own payoff
  (pass-through x capability x (1 - ratchet)).

Not modelled (second order): written-off claims lower the payer's expenditure, so an
ACO's savings rise a little; a capitated provider does not pay others' written-off claims.

:func:`adjust` applies both to ``ProviderProblem.money`` in one call; with both off (the
default) it returns its inputs untouched, so decisions are bit-identical.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.coding import hcc
from sim.coding.denials import CLAIM_TYPE_OF_SERVICE, type_params
from sim.coding.radv import supported_share
from sim.contracts.capitation.rules import capitation_revenue
from sim.scenario.revenue_cycle import Denials
from sim.services import Service

#: Intensities at which the unsupported share is evaluated exactly (then a quartic).
_NODES = np.linspace(0.0, 1.0, 5)


def denial_rates(cfg: Denials) -> tuple[np.ndarray, np.ndarray]:
    """Per service code: (share of its billed revenue written off, reworked claims per
    claim x rework cost in USD), from the claim type's denial parameters."""
    p = type_params(cfg)
    kind = CLAIM_TYPE_OF_SERVICE
    off = p.denial_rate[kind] * (1.0 - p.reworked_share[kind])
    rework = p.denial_rate[kind] * p.reworked_share[kind] * p.rework_cost_usd[kind]
    return off, rework


def expected_denial_loss(revenue: np.ndarray, count: np.ndarray, cfg: Denials
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Expected (written-off revenue, rework cost) in USD of billed claims: ``revenue`` and
    ``count`` of shape ``(..., services)`` (billed USD at the payer's prices and claims);
    the result has the leading shape (sums over services). Vectorised over any leading
    axes (payers, lever settings)."""
    off, rework = denial_rates(cfg)
    return (np.asarray(revenue, float) @ off, np.asarray(count, float) @ rework)


def expected_radv_recovery(gross_capitation_usd: np.ndarray | float,
                           unsupported_share: np.ndarray | float,
                           audit_probability: float) -> np.ndarray:
    """Expected RADV recovery (USD): ``audit_probability x gross x unsupported share``."""
    return (audit_probability * np.asarray(gross_capitation_usd, float)
            * np.clip(np.asarray(unsupported_share, float), 0.0, 1.0))


def unsupported_share_hcc(sc: Any, hs: Any, conditions: np.ndarray,
                          age: np.ndarray, p_encounter: np.ndarray, weight: np.ndarray,
                          intensity: np.ndarray | float) -> np.ndarray:
    """Share of the expected coded CMS-HCC score the record does not support at coding
    ``intensity`` (sim.behaviour.expected.HccSample ``hs``; exact, not interpolated):
    ``1 - E[supported] / E[coded]`` over the weighted patients."""
    truth = hcc.true_states(conditions, hs.z, hs.draws)
    demo = hcc.Demographics(age, hs.female, hs.segment, hs.orig_disabled)
    norms = hs.norms or {"V24": 1.0, "V28": 1.0}
    out = []
    for c in np.atleast_1d(np.asarray(intensity, float)):
        rates = hcc.coding_rates(np.full(len(age), c), sc.risk_score)
        clean = hcc.CodingRates(rates.recapture, rates.specificity,
                                np.zeros(len(age)), np.zeros(len(age)))
        coded = hcc.blend(hcc.expected_raw_scores(truth, p_encounter, rates, demo), norms,
                          hs.w28)
        sup = hcc.blend(hcc.expected_raw_scores(truth, p_encounter, clean, demo), norms,
                        hs.w28)
        out.append(1.0 - np.sum(weight * sup) / max(np.sum(weight * coded), 1e-12))
    return np.array(out)


def _unsupported_poly(problem: Any, exp: Any) -> np.ndarray:
    """Quartic in coding intensity of the unsupported share on the problem's sample, fitted
    once per problem at :data:`_NODES` (encounter probability: the panel's first expected
    rate of visits and stays, the same for every patient; an approximation)."""
    poly = getattr(problem, "_revenue_cycle_poly", None)
    if poly is None:
        s = problem.sample
        py = max(float(exp.person_years.sum()), 1e-12)
        rate = float(exp.count[:, [Service.PCP_VISIT, Service.SPECIALIST_VISIT,
                                   Service.INPATIENT_FACILITY,
                                   Service.ELECTIVE_FACILITY]].sum()) / py
        p_enc = np.full(len(s.age), hcc.encounter_probability(np.array([rate]))[0])
        shares = unsupported_share_hcc(problem.sc, s.hcc, s.conditions, s.age, p_enc,
                                       s.weight, _NODES)
        poly = np.polyfit(_NODES, shares, 4)
        problem._revenue_cycle_poly = poly
    return poly


def unsupported_share(problem: Any, exp: Any, intensity: float) -> float:
    """Unsupported share of the coded score of the problem's panel (all its payers'
    members: the share hardly differs by payer) at ``intensity``."""
    sc = problem.sc
    if getattr(problem.sample, "hcc", None) is None:
        return float(1.0 - supported_share(np.array([intensity]), sc.risk_score,
                                           sc.revenue_cycle.radv)[0])
    return float(np.polyval(_unsupported_poly(problem, exp), intensity))


def radv_by_contract(problem: Any, exp: Any) -> list[tuple[Any, float]]:
    """Expected RADV recovery (USD, face value) of each ``radv_audited`` contract (settler)
    of the problem's provider at the panel ``exp``'s levers."""
    sc, ctx = problem.sc, problem.ctx
    cfg = sc.revenue_cycle.radv
    out: list[tuple[Any, float]] = []
    for s in problem.settlers:
        if not getattr(s, "radv_audited", False):
            continue
        c = s.config
        if ctx.provider_index(c.provider) != problem.provider:
            continue
        p = ctx.payer_index(c.payer)
        pr = s.pricing(ctx, problem.year)
        gross = capitation_revenue(pr["benchmark_pmpm_usd"], 12.0 * float(exp.person_years[p]),
                                   float(exp.risk[p]), c.discount, pr["risk_normaliser"],
                                   c.coding_adjustment)["gross"]
        share = unsupported_share(problem, exp, float(exp.levers[3]))
        out.append((s, float(expected_radv_recovery(gross, share, cfg.audit_probability))))
    return out


def denial_loss(problem: Any, exp: Any, contracts: bool) -> float:
    """Expected written-off revenue + rework cost of the claims the provider bills (its own
    services not covered by a contract) plus the specialists' at
    ``specialist_margin_weight``, USD."""
    cfg = problem.sc.revenue_cycle.denials
    own, spec = problem._shares(exp)
    f = np.asarray(problem.ctx.price_factor, float)[:, None]
    billed = np.tile(own, (problem.n_payers, 1))
    if contracts:
        for p in problem.coverage:
            billed[p] = 0.0
    share = billed + problem.params.specialist_margin_weight * spec[None, :]
    off, rework = expected_denial_loss(exp.spend * f * share, exp.count * share, cfg)
    return float(off.sum() + rework.sum())


def adjust(problem: Any, exp: Any, contracts: bool, ffs: float, mean: float, face: float
           ) -> tuple[float, float, float]:
    """``ProviderProblem.money``'s (FFS margin, weighed contract payoffs, face value) with
    the revenue cycle: the denial loss off the FFS margin; each audited contract's expected
    RADV recovery off the payoffs (weighed like the contract). Unchanged when
    ``revenue_cycle`` denials and RADV are off."""
    rc = problem.sc.revenue_cycle
    if rc.denials.enabled:
        ffs = ffs - denial_loss(problem, exp, contracts)
    if rc.radv.enabled and contracts:
        for s, rec in radv_by_contract(problem, exp):
            weight = 1.0 if s.pays_per_service else problem.organisation_weight
            mean = mean - weight * (1.0 - problem.ratchet.get(s.label, 0.0)) * rec
            face = face - rec
    return ffs, mean, face


__all__ = ["adjust", "denial_loss", "denial_rates", "expected_denial_loss",
           "expected_radv_recovery", "radv_by_contract", "unsupported_share",
           "unsupported_share_hcc"]
