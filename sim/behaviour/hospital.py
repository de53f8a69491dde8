"""The hospital as a decision-maker of its own (docs/behaviour.md, section 1).

A hospital that holds an organisation-level contract (a bundle it initiates; any contract
whose ``expected_payoff`` pays it something its levers move) chooses the levers it
controls from its own money: **readmission prevention and discharge destination** (the
transitional-care lever ``t``: readmission hazard and SNF discharge probability), at the
primary-care group's other levers. Its objective, per plan year:

    U_h(t) = M_h(t) + pass_through_h x capability_h x sum_k V_k(t) - C(t)
             - kappa_t / 2 x share x PY x (t - n_t)^2

* ``M_h``: the hospital's fee-for-service margin on the panel's facility claims (allowed x
  payer price factor - amount at reference prices x its cost-to-charge ratio); fewer
  readmissions lose it DRG margin; under bundles only, margin and cost count for the
  targeted share of discharges (the bundle's episodes);
* ``V_k``: the contracts' expected payoffs to the hospital, from their own rules;
* ``C``: the cash cost of transitional care, ``t x transitional_care_usd_per_discharge x
  discharges`` (the hospital's own ``costs``);
* ``share``: the targeted share of discharges (1 unless every contract is a bundle);
* the norm ``n_t`` puts the optimum at the reference ``t`` when the hospital holds no such
  contract (the same calibration as the group's, ``sim.behaviour.model``).

The effort applied to the panel is the larger of the group's and the hospital's (each
runs its own discharge programme; the patient gets the stronger). The group's problem
counts only the levers it controls: it does not count the hospital's contract.
"""

from __future__ import annotations

import numpy as np

from sim.behaviour.model import ProviderProblem
from sim.contracts.expectation import PayoffInputs
from sim.services import BILLED_BY, Service

T = 2  # index of transitional_care_effort in LEVER_NAMES
_FACILITY = np.array([BILLED_BY.get(s) == "hospital" for s in Service])


def hospital_contracts(settlers: list, name: str) -> list:
    """The organisation-level contracts ``name`` holds (fee-for-service excluded)."""
    return [s for s in settlers if getattr(s.config, "type", "ffs") != "ffs"
            and getattr(s.config, "holder", None) == name]


class HospitalProblem:
    """The hospital's choice of transitional-care effort at the group's other levers."""

    def __init__(self, group: ProviderProblem, hospital: int, settlers: list,
                 levers: tuple[float, ...], capability: float) -> None:
        self.group, self.hospital, self.settlers = group, hospital, settlers
        sc, ctx = group.sc, group.ctx
        name = ctx.provider_names[hospital]
        cfg = next(p for p in sc.providers if p.name == name)
        self.params, self.costs = cfg.behavior, cfg.costs
        self.weight = cfg.behavior.pass_through * capability
        self.levers = tuple(levers)
        self.reference_t = float(cfg.levers.transitional_care_effort)
        self.ctc = float(ctx.cost_to_charge[hospital])
        self.norm: float | None = None

    def _levers(self, t: float) -> tuple[float, ...]:
        lv = list(self.levers)
        lv[T] = float(t)
        return tuple(lv)

    def money(self, t: float, contracts: bool = True) -> tuple[float, float]:
        """(margin - effort cash cost, contract payoffs as weighed) at effort ``t``."""
        g = self.group
        exp = g.panel(self._levers(t))
        f = g.ctx.price_factor
        facility = exp.spend * _FACILITY[None, :]
        margin = float((facility.sum(axis=1) * f).sum()
                       - (facility * g.ratio[None, :]).sum() * self.ctc)
        discharges = float(exp.count[:, Service.INPATIENT_FACILITY].sum()
                           + exp.count[:, Service.ELECTIVE_FACILITY].sum())
        # The programme targets the contract's episodes: its cost and the margin it moves
        # are those of the targeted share of discharges (the care model applies the effort
        # to every discharge of the panel: a spillover, docs/behaviour.md section 9).
        share = self.targeted_share(exp, discharges)
        base = share * (margin - t * self.costs.transitional_care_usd_per_discharge
                        * discharges)
        value = 0.0
        if contracts:
            inp = PayoffInputs(provider=self.hospital, exp=exp,
                               sd_per_patient=g.sd_pp, truncation=g.truncation,
                               ffs_revenue=np.zeros(g.n_payers),
                               scope_cost=lambda payer, scope: g.scope_cost(exp, payer, scope))
            for s in self.settlers:
                out = s.expected_payoff(g.ctx, g.year, inp)
                if out is not None:
                    value += self.weight * out[0]
        return base, value

    def targeted_share(self, exp, discharges: float) -> float:
        """Share of discharges the hospital's contracts pay for: their episodes (bundles;
        ``episodes`` of the expected panel), else every discharge."""
        if all(getattr(s.config, "type", "") == "bundled" for s in self.settlers):
            return float(min(1.0, exp.episodes.sum() / max(discharges, 1e-9)))
        return 1.0

    def _py(self) -> float:
        """Person-years the norm cost applies to: the targeted share of the panel."""
        exp = self.group.panel(self._levers(self.reference_t))
        discharges = float(exp.count[:, Service.INPATIENT_FACILITY].sum()
                           + exp.count[:, Service.ELECTIVE_FACILITY].sum())
        return float(exp.person_years.sum()) * self.targeted_share(exp, discharges)

    def calibrate(self) -> None:
        """The norm that makes the reference effort optimal without contracts."""
        step = 1e-4
        r = self.reference_t
        lo, hi = max(r - step, 0.0), min(r + step, 1.0)
        grad = (self.money(hi, False)[0] - self.money(lo, False)[0]) / (hi - lo)
        self.norm = r - grad / (self.params.transitional_effort_cost_usd * self._py())

    def utility(self, t: float) -> float:
        base, value = self.money(t)
        kappa = self.params.transitional_effort_cost_usd
        return base + value - 0.5 * kappa * self._py() * (t - self.norm) ** 2

    def solve(self) -> float:
        """The hospital's optimal effort in [0, 1] (bounded scalar search)."""
        from scipy.optimize import minimize_scalar

        if self.norm is None:
            self.calibrate()
        res = minimize_scalar(lambda t: -self.utility(t) / 1e6, bounds=(0.0, 1.0),
                              method="bounded", options={"xatol": 1e-4})
        return float(res.x)
