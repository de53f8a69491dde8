"""How a primary-care provider chooses its practice levers each year (docs/behaviour.md).

At the start of each plan year, each primary-care provider with ``behavior: incentives``
chooses ``L = (d, p, t, c)`` — discretionary intensity, prevention effort, transitional-
care effort, coding intensity — to maximise

    U(L) = F(L) + pass_through * V(L) - E(L) + altruism * QALY value * Q(L)
           - risk_aversion / 2 * Var(L) - N(L)

* ``F``: fee-for-service margins (fee at the payer's prices minus unit cost at the
  reference fee schedule) on the services of the provider's panel that are still paid
  per service: its own, and the specialists' weighted by ``specialist_margin_weight``;
* ``V``: the expected payoffs of its value-based contracts, each reported by the
  contract itself from its own rules (``expected_payoff``); pay-for-performance
  adjustments of fees count in full, as fees do; the others at pass-through x
  capability (learning curve) x (1 - the share the ratchet takes back), set by
  ``sim.behaviour.dynamics``;
* ``E``: cash cost of care-management, transitional-care and documentation (coding) effort;
* ``Q``: expected QALYs of the panel, minus QALYs lost to deaths;
* ``Var``: variance of the contract payoffs (the organisation's financial risk);
* ``N``: the cost of departing from the provider's norm, quadratic in each lever, with
  norms set so that under the *reference* contract (FFS at the default fee schedule)
  the optimum is the provider's reference levers, and the discretionary curvature set so
  that fee changes move discretionary volume with the elasticity ``fee_elasticity``.

Expected outcomes come from the care model's own rates (``sim.behaviour.expected``).
Levers then move ``adaptation_rate`` of the way from last year's to the optimum. The
incentive reported for each lever is the marginal net revenue (F + V - E, contracts at
face value) of one unit of the lever at the chosen levers, in USD per year.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.behaviour import revenue_cycle
from sim.behaviour.expected import (
    LEVER_NAMES,
    ExpectedPanel,
    PanelSample,
    expected_panel,
    expected_panels,
)
from sim.behaviour.leakage import leakage_aware, outside_shares
from sim.contracts.expectation import PayoffInputs
from sim.scenario.schema import Levers, Prices, Scenario
from sim.services import BILLED_BY, Service, reference_price_ratio
from sim.settlement.context import SettlementContext

BOUNDS = ((0.3, 2.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0))
SAMPLE_SIZE = 1000
_STEP = (1e-4, 1e-4, 1e-4, 1e-4)  # small: the underuse harm bends at intensity 1

#: Services billed by the primary-care provider itself (labs: the share ordered at its visits).
_OWN = {Service.PCP_VISIT: 1.0}
_SPEC = [s for s, k in BILLED_BY.items() if k == "specialist"]


@dataclass
class Decision:
    """A provider's levers for one year and the incentives behind them."""

    provider: str
    year: int
    levers: Levers
    optimum: tuple[float, ...]
    incentives: dict[str, float] = field(default_factory=dict)
    #: The levers this provider decides (a hospital: transitional care only).
    controls: tuple[str, ...] = LEVER_NAMES


def _scale_prices(prices: Prices, factor: float) -> Prices:
    return prices.model_copy(update={k: getattr(prices, k) * factor
                                     for k in Prices.model_fields if k.endswith("_usd")})


class ProviderProblem:
    """The choice problem of one primary-care provider for one plan year."""

    def __init__(self, sc: Scenario, ctx: SettlementContext, settlers: list, year: int,
                 provider: int, sample: PanelSample, reference: Levers,
                 current: tuple[float, ...], sd_per_patient: np.ndarray, truncation: np.ndarray,
                 observed_pc: np.ndarray, estimate: float = 1.0) -> None:
        self.sc, self.ctx, self.settlers, self.year = sc, ctx, settlers, year
        self.provider = provider
        self.sample = sample
        self.name = ctx.provider_names[provider]
        self.params = next(p.behavior for p in sc.providers if p.name == self.name)
        self.costs = next(p.costs for p in sc.providers if p.name == self.name)
        self.reference = tuple(getattr(reference, n) for n in LEVER_NAMES)
        self.n_payers = len(ctx.payer_names)
        self.truncation = truncation
        # Anchor the model's expectation to the spending observed last year (at the levers
        # in force then): expected(L) x observed / expected(current levers).
        self.anchor = np.ones(len(ctx.payer_names))
        now = expected_panel(sc, sample, tuple(current), None, len(ctx.payer_names))
        #: Members per payer the contracts count while the levers are searched.
        self.members = now.person_years.copy()
        model_pc = now.total_by_payer() / np.maximum(now.person_years, 1e-12)
        ok = np.isfinite(observed_pc) & (model_pc > 0)
        self.anchor[ok] = observed_pc[ok] / model_pc[ok]
        # The level is estimated from the provider's own claims, with error (dynamics.py).
        self.anchor *= estimate
        mean_pc = model_pc * self.anchor * ctx.price_factor
        self.sd_pp = np.where(np.isfinite(sd_per_patient), sd_per_patient,
                              self.params_cv(sc, ctx, provider) * mean_pc)
        self.ratio = ctx.reference_ratio
        self.ctc = ctx.variable_cost_to_charge  # decisions at the margin: variable cost
        spec = [i for i, k in enumerate(ctx.provider_kinds) if k == "specialist"]
        self.spec_ctc = float(self.ctc[spec[0]]) if spec else 0.85
        self.coverage = {}
        for s in settlers:
            scope = s.coverage(ctx, provider)
            if scope is not None:
                self.coverage[scope[0]] = scope[1]
        self._cache: dict = {}
        self._price_keys: dict = {}
        self._rounded: dict = {}  # levers -> rounded to 1e-9 (the cache's key)
        #: Per service, the share of care given outside (its levers do not reach it).
        self.leak = outside_shares(sc, len(Service))
        #: Share of organisation-level incentives the provider can act on (learning curve)
        #: and, per contract label, the share of its payoff given back through the next
        #: agreement's rebased benchmark (the ratchet); set by the caller
        #: (``sim.behaviour.dynamics``).
        self.capability = 1.0
        self.ratchet: dict[str, float] = {}
        self.norms: np.ndarray | None = None
        self.kappa: np.ndarray | None = None

    @staticmethod
    def params_cv(sc: Scenario, ctx: SettlementContext, provider: int) -> float:
        name = ctx.provider_names[provider]
        return next(p.behavior.spend_cv for p in sc.providers if p.name == name)

    # ------------------------------------------------------------------ expectations
    def _key(self, levers: tuple[float, ...], prices: Prices | None) -> tuple:
        if prices is None:
            pkey = None
        else:
            pkey = self._price_keys.get(id(prices))
            if pkey is None or pkey[0] is not prices:
                pkey = (prices, tuple(prices.model_dump().values()))
                self._price_keys[id(prices)] = pkey
            pkey = pkey[1]
        rounded = self._rounded.get(levers)
        if rounded is None:
            rounded = self._rounded[levers] = tuple(round(x, 9) for x in levers)
        return (rounded, pkey)

    def panel(self, levers: tuple[float, ...], prices: Prices | None = None) -> ExpectedPanel:
        key = self._key(levers, prices)
        exp = self._cache.get(key)
        if exp is None:
            exp = self.panels([levers], prices)[0]
        return exp

    def panels(self, levers_list: list[tuple[float, ...]], prices: Prices | None = None
               ) -> list[ExpectedPanel]:
        """The expected panels of several lever settings, those not cached yet computed in
        one vectorised pass (bit-identical to one at a time)."""
        keys = [self._key(lv, prices) for lv in levers_list]
        todo: dict[tuple, tuple[float, ...]] = {}
        for key, lv in zip(keys, levers_list, strict=True):
            if key not in self._cache and key not in todo:
                todo[key] = tuple(lv)
        if todo:
            ref = None
            for key, exp in zip(todo, expected_panels(self.sc, self.sample, list(todo.values()),
                                                      prices, self.n_payers), strict=True):
                exp.spend *= self.anchor[:, None]
                exp.count *= self.anchor[:, None]
                if self.leak is not None and todo[key] != self.reference:  # sim.behaviour.leakage
                    if ref is None:
                        ref = self.panel(self.reference, prices)
                    exp = leakage_aware(exp, ref, self.leak)
                self._cache[key] = exp
        return [self._cache[k] for k in keys]

    def _shares(self, exp: ExpectedPanel) -> tuple[np.ndarray, np.ndarray]:
        """Per service: share billed by the provider itself and by the specialists."""
        own = np.zeros(len(Service))
        spec = np.zeros(len(Service))
        own[Service.PCP_VISIT] = 1.0
        own[Service.LAB] = exp.lab_at_pcp_share
        for s in _SPEC:
            spec[s] = 1.0
        spec[Service.LAB] = 1.0 - exp.lab_at_pcp_share
        return own, spec

    def scope_cost(self, exp: ExpectedPanel, payer: int, scope: str) -> tuple[float, float, float]:
        """(own services at unit cost, others' claims at payer prices, covered total)."""
        own, _ = self._shares(exp)
        f = self.ctx.price_factor[payer]
        spend = exp.spend[payer]
        if scope == "primary_care":
            own_spend = spend * own
            return (float((own_spend * self.ratio).sum() * self.ctc[self.provider]), 0.0,
                    float(own_spend.sum() * f))
        own_spend = spend * own
        others = spend * (1.0 - own)
        return (float((own_spend * self.ratio).sum() * self.ctc[self.provider]),
                float(others.sum() * f), float(spend.sum() * f))

    def money(self, levers: tuple[float, ...], prices: Prices | None = None,
              contracts: bool = True) -> tuple[float, float, float, ExpectedPanel]:
        """(FFS margins - effort cash costs, contract payoffs mean as the clinicians weigh it
        (pass-through applied), their variance, panel); the face value of the payoffs is
        kept in ``self.last_face``."""
        base, mean, var, exp, face = self.money_many([levers], prices, contracts)[0]
        self.last_face = face
        return base, mean, var, exp

    def money_many(self, levers_list: list[tuple[float, ...]], prices: Prices | None = None,
                   contracts: bool = True
                   ) -> list[tuple[float, float, float, ExpectedPanel, float]]:
        """:meth:`money` at each of ``levers_list`` (and the payoffs' face value), their
        panels computed in one vectorised pass (:meth:`panels`) and each contract's expected
        payoffs in one call where it has ``expected_payoffs`` (issue 16); each point's
        numbers those of :meth:`money` of the point alone."""
        if not levers_list:
            return []
        exps = self.panels(levers_list, prices)
        parts = self._ffs_many(levers_list, exps, prices, contracts)
        k = len(levers_list)
        mean, var, face = [0.0] * k, [0.0] * k, [0.0] * k
        if contracts:
            inps = [inp for _, _, inp in parts]
            for s in self.settlers:
                many = getattr(s, "expected_payoffs", None)
                outs = (many(self.ctx, self.year, inps) if many is not None
                        else [s.expected_payoff(self.ctx, self.year, inp) for inp in inps])
                weight = 1.0 if s.pays_per_service else self.organisation_weight
                keep = 1.0 - self.ratchet.get(s.label, 0.0)
                for j, out in enumerate(outs):
                    if out is None:
                        continue
                    m, v = out
                    mean[j] += weight * keep * m
                    face[j] += m
                    var[j] += weight * weight * v  # the variance of what is weighed (issue 11)
        res = []
        for j, (exp, (ffs, effort, _)) in enumerate(zip(exps, parts, strict=True)):
            # Revenue cycle (issue 13): expected denials and RADV; a no-op when they are off.
            ffs, m, f = revenue_cycle.adjust(self, exp, contracts, ffs, mean[j], face[j])
            res.append((ffs - effort, m, var[j], exp, f))
        return res

    def _ffs_many(self, levers_list: list[tuple[float, ...]], exps: list[ExpectedPanel],
                  prices: Prices | None, contracts: bool
                  ) -> list[tuple[float, float, PayoffInputs | None]]:
        """Per point: (FFS margins, effort cash costs, the contracts' inputs (None without
        contracts)). The points' margins in one vectorised pass per payer (each row's sums
        NumPy's pairwise sums of that row: the numbers of one point alone)."""
        k = len(exps)
        # Per service: share billed by the provider itself and by the specialists
        # (_shares, one row per point).
        own = np.zeros((k, len(Service)))
        own[:, Service.PCP_VISIT] = 1.0
        own[:, Service.LAB] = [exp.lab_at_pcp_share for exp in exps]
        spec = np.zeros((k, len(Service)))
        spec[:, _SPEC] = 1.0
        spec[:, Service.LAB] = 1.0 - own[:, Service.LAB]
        # Unit costs are at the reference fee schedule whatever prices the panel is priced at.
        ratio = self.ratio if prices is None else self._ratio_for(prices)
        ctc = self.ctc[self.provider]
        ffs = np.zeros(k)
        ffs_revenue = np.zeros((k, self.n_payers))
        for p in range(self.n_payers):
            f = self.ctx.price_factor[p]
            spend = np.array([exp.spend[p] for exp in exps])
            # Issue 13: costs follow care, not what coding adds (sim.coding.fees)
            care = np.array([exp.spend[p] if exp.coding_uplift is None
                             else exp.spend[p] - exp.coding_uplift[p] for exp in exps])
            # Covered own services (either scope covers them) earn no fee.
            covered = contracts and p in self.coverage
            own_unc = np.zeros_like(own) if covered else own
            ffs_revenue[:, p] = (spend * own_unc).sum(axis=1) * f
            ffs += ffs_revenue[:, p] - (care * own_unc * ratio).sum(axis=1) * ctc
            spec_margin = ((spend * spec).sum(axis=1) * f
                           - (care * spec * ratio).sum(axis=1) * self.spec_ctc)
            ffs += self.params.specialist_margin_weight * spec_margin
        ref_totals = self.reference_totals if contracts else None
        out = []
        for j, (levers, exp) in enumerate(zip(levers_list, exps, strict=True)):
            d, pe, te, ci = levers
            py = float(exp.person_years.sum())
            discharges = float(exp.count[:, Service.INPATIENT_FACILITY].sum()
                               + exp.count[:, Service.ELECTIVE_FACILITY].sum())
            effort = (pe * self.costs.care_management_usd_per_patient_year * py
                      + te * self.costs.transitional_care_usd_per_discharge * discharges
                      + ci * self.costs.documentation_usd_per_patient_year * py)
            inp = None
            if contracts:
                inp = PayoffInputs(
                    provider=self.provider, exp=exp,
                    sd_per_patient=self.sd_pp * exp.total_by_payer() / np.maximum(
                        ref_totals, 1e-9),
                    truncation=self.truncation, ffs_revenue=ffs_revenue[j],
                    scope_cost=self._scope_cost_of(exp), members=self.members)
            out.append((float(ffs[j]), effort, inp))
        return out

    def _scope_cost_of(self, exp: ExpectedPanel):
        return lambda payer, scope: self.scope_cost(exp, payer, scope)

    @property
    def organisation_weight(self) -> float:
        """Weight of organisation-level money in the decision: pass-through x capability."""
        return self.params.pass_through * self.capability

    def _ratio_for(self, prices: Prices) -> np.ndarray:
        key = ("ratio", tuple(prices.model_dump().values()))
        if key not in self._cache:
            # the reference schedule: Scenario.reference_prices, else the default (issue 15)
            self._cache[key] = np.array(reference_price_ratio(prices, self.sc.fee_reference))
        return self._cache[key]

    def health(self, exp: ExpectedPanel) -> float:
        """Patient benefit valued in USD (altruism x QALY value x QALYs net of deaths)."""
        b = self.params
        lost = (exp.death_qalys if b.qalys_lost_per_death is None  # the shared rule
                else b.qalys_lost_per_death * exp.deaths)
        return b.altruism_weight * b.qaly_value_usd * (exp.qalys - lost)

    # ------------------------------------------------------------------ objective
    def utility(self, levers: tuple[float, ...], prices: Prices | None = None,
                contracts: bool = True, norms: bool = True) -> float:
        return self.utility_many([levers], prices, contracts, norms)[0]

    def utility_many(self, levers_list: list[tuple[float, ...]], prices: Prices | None = None,
                     contracts: bool = True, norms: bool = True) -> list[float]:
        """The objective at each of ``levers_list`` (:meth:`money_many`: the panels in one
        vectorised pass, each contract's payoffs in one call; each value that of the point
        alone, bit for bit: ``tests/behaviour/test_batched_objective.py``)."""
        out = []
        for levers, (base, mean, var, exp, face) in zip(
                levers_list, self.money_many(levers_list, prices, contracts), strict=True):
            self.last_face = face
            u = base + mean + self.health(exp) - 0.5 * self.params.risk_aversion * var
            if norms and self.norms is not None:
                py = float(exp.person_years.sum())
                dev = np.asarray(levers) - self.norms
                u -= 0.5 * py * float(np.sum(self.kappa * dev * dev))
            out.append(u)
        return out

    @property
    def reference_totals(self) -> np.ndarray:
        """Expected spending per payer at the reference levers (scales payoff variances)."""
        return self.panel(self.reference).total_by_payer()

    def _grad(self, fn_many, levers: tuple[float, ...], only: int | None = None
              ) -> np.ndarray:
        """Central-difference gradient at ``levers`` of the function whose values at a list
        of points ``fn_many`` returns (all the points in one call; ``only``: that component,
        the others left 0)."""
        g = np.zeros(4)
        pts = []
        for i in range(4) if only is None else (only,):
            hi = list(levers)
            lo = list(levers)
            hi[i] = min(levers[i] + _STEP[i], BOUNDS[i][1])
            lo[i] = max(levers[i] - _STEP[i], BOUNDS[i][0])
            pts.append((i, tuple(hi), tuple(lo)))
        vals = iter(fn_many([x for _, hi, lo in pts for x in (hi, lo)]))
        for i, hi, lo in pts:
            g[i] = (next(vals) - next(vals)) / (hi[i] - lo[i])
        return g

    def calibrate(self) -> None:
        """Norms and curvatures so that the reference contract's optimum is the reference."""
        ref = self.reference
        default = self.sc.fee_reference  # Scenario.reference_prices, else Prices() (issue 15)
        up = _scale_prices(default, 1.01)

        def ref_u_many(lvs: list[tuple[float, ...]], prices: Prices = default) -> list[float]:
            return self.utility_many(lvs, prices, contracts=False, norms=False)

        g = self._grad(ref_u_many, ref)
        # only the discretionary component of the gradient at raised fees is used: the
        # others are not computed (6 evaluations fewer, the same numbers)
        g_up0 = self._grad(lambda lvs: ref_u_many(lvs, up), ref, only=0)[0]
        py = float(self.panel(ref).person_years.sum())
        vol = [e.discretionary_volume() for e in
               self.panels([(ref[0] + s, *ref[1:]) for s in (-0.01, 0.01)], default)]
        e_v = (np.log(vol[1]) - np.log(vol[0])) / 0.02 * ref[0]
        dg_dlnf = (g_up0 - g[0]) / np.log(1.01)
        b = self.params
        kappa_d = max(e_v * dg_dlnf / (b.fee_elasticity * ref[0]), 1e-6) / py
        self.kappa = np.array([kappa_d, b.prevention_effort_cost_usd,
                               b.transitional_effort_cost_usd, b.coding_effort_cost_usd])
        self.norms = np.asarray(ref) - g / (self.kappa * py)

    def solve(self, start: tuple[float, ...], warm: tuple[float, ...] | None = None
              ) -> tuple[float, ...]:
        """The levers that maximise the objective: the best of ``start``, ``warm`` (last
        year's optimum) and a coarse grid (the objective need not be concave: a minimum
        savings rate is a cliff), refined by L-BFGS-B, rounded to the grid ``LEVER_GRID``
        (docs/behaviour.md)."""
        return round_levers(self.solve_exact(start, warm))

    def solve_exact(self, start: tuple[float, ...], warm: tuple[float, ...] | None = None
                    ) -> tuple[float, ...]:
        """The optimiser's own answer, before rounding (L-BFGS-B stops early once its
        gradient is settled at the norms' curvature ``kappa``: ``maximise``)."""
        x0 = self.start_point(start, warm)
        return maximise(self.utility, x0, float(self.panel(tuple(x0)).person_years.sum()),
                        curvature=self.kappa, fn_many=self.utility_many)

    def start_point(self, start: tuple[float, ...], warm: tuple[float, ...] | None = None
                    ) -> np.ndarray:
        """Where the optimiser starts: the best of ``start``, ``warm`` and the coarse grid,
        inside ``BOUNDS``."""
        grid = [start] + ([tuple(warm)] if warm is not None and tuple(warm) != tuple(start)
                          else []) + [(d, p, t, start[3]) for d in (0.8, 0.9, 1.0, 1.1)
                                      for p in (0.1, 0.5) for t in (0.1, 0.5)]
        values = self.utility_many([tuple(lv) for lv in grid])
        best = grid[max(range(len(grid)), key=values.__getitem__)]  # the first best, as max
        return np.clip(best, [b[0] for b in BOUNDS], [b[1] for b in BOUNDS])

    def incentives(self, levers: tuple[float, ...]) -> dict[str, float]:
        """Marginal net revenue (FFS margins + contract payoffs at face value - effort cash
        costs) of one unit of each lever, USD per year."""
        def face_many(lvs: list[tuple[float, ...]]) -> list[float]:
            return [base + f for base, _, _, _, f in self.money_many(lvs)]

        g = self._grad(face_many, levers)
        return {name: float(v) for name, v in zip(LEVER_NAMES, g, strict=True)}



# ---------------------------------------------------------------------- the optimiser
#: The optimiser stops when the objective has not improved by more than this (USD per
#: patient-year) over ``_PATIENCE`` consecutive evaluations of value and gradient: a rule's
#: kink at the optimum (a risk-score cap, a corridor) otherwise makes L-BFGS-B's line
#: search fail and restart long after the decision is settled (docs/behaviour.md).
_TOL_USD_PER_PY = 1e-3
_PATIENCE = 6
#: ... or ``_QUICK`` when the gradient at the best point is settled too (``maximise``).
_QUICK = 3
#: A derivative's jump (USD per patient-year per unit of the lever) across zero within
#: this distance (in lever units) is a kink (``maximise``).
_KINK_USD_PER_PY = 50.0
_KINK_STEP = 1e-3
_MAX_EVALS = 60


class _Settled(Exception):
    pass


def forward_grad(fn, x: tuple[float, ...], fx: float, step: float = 1e-5,
                 bounds: tuple = BOUNDS, skip: frozenset = frozenset()) -> np.ndarray:
    """Forward-difference gradient of ``fn`` at ``x`` (backward at an upper bound; the
    components in ``skip`` are left 0)."""
    g = np.zeros(len(x))
    for i, y in stencil(x, step, bounds, skip):
        g[i] = (fn(y) - fx) / (y[i] - x[i])
    return g


def stencil(x: tuple[float, ...], step: float = 1e-5, bounds: tuple = BOUNDS,
            skip: frozenset = frozenset()) -> list[tuple[int, tuple[float, ...]]]:
    """The points :func:`forward_grad` evaluates ``fn`` at, ``(component, point)``."""
    out = []
    for i, (lo, hi) in enumerate(bounds):
        if i in skip:
            continue
        h = step if x[i] + step <= hi else -step
        y = list(x)
        y[i] = min(max(x[i] + h, lo), hi)
        out.append((i, tuple(y)))
    return out


class _Kink(Exception):
    """A lever's derivative jumped across zero: a rule's kink (a cap) is the optimum in it."""

    def __init__(self, index: int) -> None:
        self.index = index


def maximise(fn, x0: np.ndarray, py: float, bounds: tuple = BOUNDS,
             curvature: np.ndarray | None = None, fn_many=None) -> tuple[float, ...]:
    """Maximise ``fn`` over ``bounds`` from ``x0`` (inside them) by L-BFGS-B on
    ``-(fn - fn(x0)) / py`` (USD per patient-year) with a forward-difference gradient,
    stopped once settled: no gain above ``_TOL_USD_PER_PY`` in ``_PATIENCE`` evaluations,
    or ``_MAX_EVALS`` evaluations.

    With ``curvature`` (per lever, a curvature of ``-fn / py`` known in advance: the
    norms' ``kappa``; issue 16):

    * it also stops after ``_QUICK`` evaluations without such a gain when, at the best
      point, the gain a Newton step at that curvature would promise,
      ``sum(g_i^2 / curvature_i) / 2`` of the projected gradient ``g`` per patient-year,
      is below ``_TOL_USD_PER_PY`` too (the last evaluations, 5 calls of ``fn`` each,
      then gain nothing);
    * a lever whose derivative changes sign by more than ``_KINK_USD_PER_PY`` between
      two evaluations less than ``_KINK_STEP`` apart is at a kink of the objective (a
      rule's cap: the REACH or MSSP risk-score cap makes coding intensity's optimum a
      kink), where L-BFGS-B's line searches otherwise oscillate until its patience runs
      out: the lever is held at the best point's value and L-BFGS-B restarts on the
      others (the evaluations count on).

    With ``fn_many`` (``fn`` of a list of points, the list of their values, each equal to
    ``fn`` of the point: :meth:`ProviderProblem.utility_many`), a point and its
    forward-difference stencil are evaluated in one call (issue 16: one vectorised pass
    instead of five; the same values, so the same path and answer).
    """
    from scipy.optimize import minimize  # only when a problem is solved (not under FFS)

    u0 = fn(tuple(float(v) for v in x0))

    best = {"f": 0.0, "x": tuple(float(v) for v in x0), "stale": 0, "n": 0,
            "newton": np.inf}
    lo = np.array([b[0] for b in bounds], dtype=float)
    hi = np.array([b[1] for b in bounds], dtype=float)
    fixed: set[int] = set()  # levers held at a kink, at the best point's value
    last: list = []  # the previous evaluation's (x, gradient per patient-year)

    def settled(stale: int, n: int) -> bool:  # the stopping rule, after n evaluations
        return stale >= _PATIENCE or n >= _MAX_EVALS or (
            stale >= _QUICK and best["newton"] < _TOL_USD_PER_PY)

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        lv = tuple(float(v) for v in x)
        if fn_many is None:
            u = fn(lv)
        else:
            pts = stencil(lv, bounds=bounds, skip=frozenset(fixed))
            if settled(best["stale"] + 1, best["n"] + 1):  # if this one gains nothing
                # it may settle: the point alone first, its stencil only if needed
                vals = [fn_many([lv])[0]]
            else:  # the point and its stencil at once
                vals = fn_many([lv] + [y for _, y in pts])
            u = vals[0]
        f = -(u - u0) / py
        best["n"] += 1
        if f < best["f"] - _TOL_USD_PER_PY:
            best["stale"] = 0
        else:
            best["stale"] += 1
        if f < best["f"]:
            best["f"], best["x"] = f, lv
        if settled(best["stale"], best["n"]):
            raise _Settled
        grad_fn = fn
        if fn_many is not None:  # forward_grad on the values already computed
            if len(vals) == 1 and pts:  # (no stencil when every lever is held)
                vals += fn_many([y for _, y in pts])
            grad_fn = dict(zip((y for _, y in pts), vals[1:], strict=True)).__getitem__
        g = forward_grad(grad_fn, lv, u, bounds=bounds, skip=frozenset(fixed))
        if curvature is not None:
            gp = g / py
            if f <= best["f"]:  # the best point: its Newton gain
                free = ~(((x <= lo) & (gp < 0)) | ((x >= hi) & (gp > 0)))
                best["newton"] = 0.5 * float(np.sum(np.where(free, gp * gp, 0.0)
                                                    / curvature))
            if last:
                x1, g1 = last
                near = float(np.max(np.abs(np.asarray(x) - x1))) < _KINK_STEP
                for i in range(len(x)):
                    if (near and i not in fixed and gp[i] * g1[i] < 0
                            and abs(gp[i] - g1[i]) > _KINK_USD_PER_PY):
                        raise _Kink(i)
            last[:] = [np.asarray(x, dtype=float), gp]
        return f, -g / py

    start = np.asarray(x0, dtype=float)
    while True:
        b = [(v, v) if i in fixed else bd for i, (bd, v) in
             enumerate(zip(bounds, start, strict=True))]
        try:
            res = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=b,
                           options={"maxiter": 30, "ftol": 1e-12, "gtol": 1e-9})
            x = tuple(float(v) for v in res.x)
            if -(fn(x) - u0) / py <= best["f"]:
                return x
            return best["x"]
        except _Settled:
            return best["x"]
        except _Kink as kink:
            start = np.array(best["x"])
            fixed.add(kink.index)
            best["stale"], best["newton"] = 0, np.inf
            last.clear()


#: Grid the chosen optimum is rounded to: floating-point differences between machines
#: (BLAS kernels, libm) far below it then cannot change the levers a run uses.
LEVER_GRID = 1e-4


def on_grid(x: tuple[float, ...], grid: float = LEVER_GRID) -> tuple[float, ...]:
    """``x`` rounded to multiples of ``grid`` (cross-CPU robust optima, docs/behaviour.md)."""
    return tuple(round(round(v / grid) * grid, 10) for v in x)


def round_levers(x: tuple[float, ...], grid: float = LEVER_GRID) -> tuple[float, ...]:
    """``x`` rounded to multiples of ``grid``, kept inside ``BOUNDS``."""
    return tuple(min(max(v, lo), hi) for v, (lo, hi) in zip(on_grid(x, grid), BOUNDS,
                                                             strict=True))
