"""The hospital as a decision-maker of its own (docs/behaviour.md, sections 1 and 4).

A hospital that holds an organisation-level contract (a bundle it initiates, a hospital
global budget; any contract whose ``expected_payoff`` pays it something its levers move),
or whose facility prices differ from the default fee schedule, chooses the three levers it
controls from its own money, at the primary-care group's levers:

* ``t``, **transitional care** (readmission prevention and discharge destination: the
  readmission hazard and the SNF discharge probability);
* ``v``, **elective volume** (scales elective admissions by ``v ** elasticity_electives``);
* ``a``, **post-acute intensity** after joint replacement (discharge to SNF/IRF x ``a``,
  SNF length of stay x ``a ** hospital_snf_los_elasticity``).

Its objective, per plan year, ``x = (t, v, a)``:

    U_h(x) = share x [M_h(x) - C(x)] + pass_through_h x capability_h x sum_k V_k(x)
             - kappa_t / 2 x share x PY x (t - n_t)^2 - kappa_v / 2 x share x PY x (v - n_v)^2
             - kappa_a / 2 x episodes x (a - n_a)^2

* ``M_h``: the hospital's fee-for-service margin on the panel's facility claims (allowed x
  payer price factor - amount at reference prices x its *variable* cost-to-charge ratio:
  its capacity costs are fixed, ``sim.economics.costs``); fewer readmissions or electives
  lose it margin;
* ``V_k``: the contracts' expected payoffs to the hospital, from their own rules;
* ``C``: the cash cost of transitional care, ``t x transitional_care_usd_per_discharge x
  discharges`` (the hospital's own ``costs``);
* ``share``: the targeted share of discharges (the episodes' when every contract is a
  bundle, else 1);
* norms ``n`` and the curvature ``kappa_v`` are calibrated so that without contracts, at
  the default fee schedule, the optimum is the hospital's reference levers and a 1% rise
  of facility prices raises elective volume by ``elective_price_elasticity`` % (as the
  group's ``kappa_d``);
  ``kappa_t`` is ``transitional_effort_cost_usd`` and ``kappa_a``
  ``post_acute_effort_cost_usd`` (per expected joint-replacement episode).

The expected panel (``sim.behaviour.expected``) is computed at ``t``; ``v`` and ``a`` act on
it here: elective counts and spending and the episodes scale with ``v**e``; the episodes'
post-acute spending moves by :func:`sim.care.claims.joint_post_acute_usd` at ``a`` minus
at the reference.

**Documentation (CDI) effort** ``e`` (issue 13; ``sim.coding.fees``): every simulated
hospital, whatever it holds, chooses each year (under ``behavior: incentives``) the effort
of its clinical documentation improvement programme, which turns stays coded without MCC
into with-MCC stays (paid at the with-MCC MS-DRG weight) at ``e x
cdi_cost_per_discharge_usd`` per discharge. It is a revenue-cycle decision and is taken at
face value (:meth:`HospitalProblem.cdi_money`): the facility revenue it adds on every stay
of the panel the hospital bills, minus its cash cost, plus its contracts' expected payoffs
at ``e`` (a bundle's target or a global budget takes back what coding adds to the spending
it reconciles), at the clinical levers chosen (or the reference ones when the hospital does
not re-choose them), less ``K``/2 x (e - n_e)^2. As for the other levers, the norm ``n_e``
makes the hospital's reference effort (its documentation today) optimal at the reference
fee schedule without contracts: uplift and cost are linear in ``e``, and without the norm
fee-for-service would always push the effort to full, drifting every FFS baseline away from
the DRG mix it is calibrated to. ``K`` is the full-effort uplift at the reference (an
assumption): facility prices x% above the reference raise the optimum by x/100; a contract
that takes the uplift back lowers it (bounded at 0). The chosen effort moves
``adaptation_rate`` of the way each year, is carried on the group's panel as the
``cdi_effort`` lever (``sim.care.claims`` prices the stays the hospital bills at it) and the
settlement books the programme's cost to the hospital on its own discharges.

The transitional-care effort applied to the panel is the larger of the group's and the
hospital's (each runs its own discharge programme; the patient gets the stronger); elective
volume and post-acute intensity are the hospital's. The group's problem counts only the
levers it controls: it does not count the hospital's contract.
"""

from __future__ import annotations

import copy

import numpy as np

from sim.behaviour.model import ProviderProblem, maximise
from sim.care.claims import ELECTIVE_SD_LOG, joint_post_acute_usd
from sim.coding.fees import cdi_price_factors
from sim.contracts.expectation import PayoffInputs
from sim.scenario.schema import Prices
from sim.services import BILLED_BY, Service

T = 2  # index of transitional_care_effort in LEVER_NAMES
CDI = "cdi_effort"
#: The hospital's levers: the clinical ones, in the order of its decision vector
#: x = (t, v, a), then its documentation (CDI) effort e (issue 13).
HOSPITAL_LEVERS = ("transitional_care_effort", "elective_volume", "post_acute_intensity", CDI)
CLINICAL = HOSPITAL_LEVERS[:3]
#: Levers a hospital alone sets on a group's panel (the group's own levers are LEVER_NAMES).
HOSPITAL_ONLY = HOSPITAL_LEVERS[1:]
BOUNDS = ((0.0, 1.0), (0.5, 1.5), (0.5, 1.5))
#: The CDI efforts the hospital compares (its money is linear in the effort between the
#: kinks of its contracts' payoffs, so a grid finds the optimum without gradients).
CDI_GRID = np.linspace(0.0, 1.0, 11)
_CDI_SERVICES = (Service.INPATIENT_FACILITY, Service.ELECTIVE_FACILITY)
_FACILITY = np.array([BILLED_BY.get(s) == "hospital" for s in Service])
_ELECTIVE = [Service.ELECTIVE_FACILITY, Service.ELECTIVE_PROFESSIONAL]


def cdi_reference(sc, value: float | None) -> float:
    """A ``cdi_effort`` lever's value, unset (None) meaning the scenario's
    ``coding_fees.hospital_cdi_effort``."""
    return float(sc.coding_fees.hospital_cdi_effort if value is None else value)


def hospital_contracts(settlers: list, name: str) -> list:
    """The organisation-level contracts ``name`` holds (fee-for-service excluded)."""
    return [s for s in settlers if getattr(s.config, "type", "ffs") != "ffs"
            and getattr(s.config, "holder", None) == name]


class HospitalProblem:
    """The hospital's choice of (transitional care, elective volume, post-acute intensity)
    at the group's other levers, and of its documentation (CDI) effort
    (:meth:`solve_cdi`)."""

    def __init__(self, group: ProviderProblem, hospital: int, settlers: list,
                 levers: tuple[float, ...], capability: float) -> None:
        self.group, self.hospital, self.settlers = group, hospital, settlers
        sc, ctx = group.sc, group.ctx
        name = ctx.provider_names[hospital]
        cfg = next(p for p in sc.providers if p.name == name)
        self.params, self.costs = cfg.behavior, cfg.costs
        self.weight = cfg.behavior.pass_through * capability
        self.levers = tuple(levers)
        self.reference = tuple(float(getattr(cfg.levers, n)) for n in CLINICAL)
        self.reference_t = self.reference[0]
        #: CDI effort: the hospital's reference (its own ``cdi_effort`` lever, else the
        #: scenario's fixed effort), the one the group's expected panel is priced at (in
        #: force on the panel), and the one the clinical levers are chosen at.
        self.reference_cdi = cdi_reference(sc, cfg.levers.cdi_effort)
        self.cdi_priced = cdi_reference(sc, group.sample.cdi_effort)
        self.cdi = self.cdi_priced
        # Decisions at the margin: the variable part of the unit cost (fixed costs are paid
        # whatever the volume; sim.economics.costs).
        self.ctc = float(ctx.variable_cost_to_charge[hospital])
        self.norm: float | None = None
        self.norms: np.ndarray | None = None
        self.kappa_v = 0.0

    def _levers(self, t: float) -> tuple[float, ...]:
        lv = list(self.levers)
        lv[T] = float(t)
        return tuple(lv)

    def panel(self, x: tuple[float, ...], prices: Prices | None = None):
        """The group's expected panel at transitional care ``t``, with the hospital's elective
        volume ``v``, post-acute intensity ``a`` and CDI effort ``e`` (``x[3]``; else
        ``self.cdi``) applied."""
        exp = self._clinical_panel(tuple(x[:3]), prices)  # type: ignore[arg-type]
        e = float(x[3]) if len(x) > 3 else self.cdi
        return exp if e == self.cdi_priced else self._with_cdi(exp, e, prices)

    def _with_cdi(self, exp, e: float, prices: Prices | None):
        """``exp`` (priced at the CDI effort in force, ``cdi_priced``) with the hospital's
        stays priced at CDI effort ``e`` (``sim.coding.fees.cdi_price_factors``): the
        inside share of its facility stays (outside hospitals code at 0,
        ``sim.behaviour.leakage``); the difference is coding uplift (revenue, not care)."""
        sc = self.group.sc
        before = cdi_price_factors(sc, self.cdi_priced, ELECTIVE_SD_LOG)
        after = cdi_price_factors(sc, e, ELECTIVE_SD_LOG)
        leak = self.group.leak
        out = copy.copy(exp)
        out.spend = exp.spend.copy()
        uplift = (np.zeros_like(exp.spend) if exp.coding_uplift is None
                  else exp.coding_uplift.copy())
        for s, f0, f1 in zip(_CDI_SERVICES, before, after, strict=True):
            inside = 1.0 - (float(leak[s]) if leak is not None else 0.0)
            out.spend[:, s] = exp.spend[:, s] * (inside * f1 / f0 + 1.0 - inside)
            uplift[:, s] += out.spend[:, s] - exp.spend[:, s]
        out.coding_uplift = uplift
        # The episodes' spending is left as it is: a bundle's patient case-mix adjustment
        # raises the target of an episode whose anchor stay gains an MCC
        # (sim.contracts.bundled.rules.case_mix_adjustment), offsetting the uplift.
        return out

    def _clinical_panel(self, x: tuple[float, float, float], prices: Prices | None = None):
        t, v, a = x
        g = self.group
        base = g.panel(self._levers(t), prices)
        sc = g.sc
        le = sc.lever_effects
        m = (v / self.reference[1]) ** le.elasticity_electives
        ref_a = self.reference[2]
        if m == 1.0 and a == ref_a:
            return base
        exp = copy.copy(base)
        exp.spend, exp.count = base.spend.copy(), base.count.copy()
        exp.spend[:, _ELECTIVE] *= m
        exp.count[:, _ELECTIVE] *= m
        exp.episodes = base.episodes * m
        if a != ref_a:
            pr = sc.prices if prices is None else prices
            d, _, te, _ = self._levers(t)
            f = d ** le.elasticity_post_acute * (1.0 - (1.0 - le.transitional_snf_rr) * te)
            cfg = sc.clinical.post_acute.after_joint_replacement
            k = le.hospital_snf_los_elasticity
            delta = float(joint_post_acute_usd(cfg, np.array([f * a]), (a) ** k, pr)[0]
                          - joint_post_acute_usd(cfg, np.array([f * ref_a]), ref_a ** k,
                                                 pr)[0])
            exp.episode_spend = base.episode_spend + delta
            exp.spend[:, Service.SNF] += exp.episodes * delta  # post-acute, one line
        return exp

    def money(self, x, contracts: bool = True, prices: Prices | None = None
              ) -> tuple[float, float]:
        """(share x (margin - effort cash cost), contract payoffs as weighed) at ``x``
        (a scalar: transitional care at the reference elective and post-acute levers)."""
        x = self._x(x)
        g = self.group
        exp = self.panel(x, prices)
        f = g.ctx.price_factor
        ratio = g.ratio if prices is None else g._ratio_for(prices)
        facility = exp.spend * _FACILITY[None, :]
        # costs follow care, not what coding (captured MCCs) adds (sim.coding.fees)
        care = facility if exp.coding_uplift is None else (
            (exp.spend - exp.coding_uplift) * _FACILITY[None, :])
        margin = float((facility.sum(axis=1) * f).sum()
                       - (care * ratio[None, :]).sum() * self.ctc)
        discharges = float(exp.count[:, Service.INPATIENT_FACILITY].sum()
                           + exp.count[:, Service.ELECTIVE_FACILITY].sum())
        # The programme targets the contract's episodes: its cost and the margin it moves
        # are those of the targeted share of discharges (the care model applies the effort
        # to every discharge of the panel: a spillover, docs/behaviour.md section 9).
        share = self.targeted_share(exp, discharges)
        base = share * (margin - x[0] * self.costs.transitional_care_usd_per_discharge
                        * discharges - self.cdi_cost(self.cdi, exp))
        value = self.contract_value(exp, self.weight) if contracts else 0.0
        return base, value

    def contract_value(self, exp, weight: float = 1.0) -> float:
        """The hospital's contracts' expected payoffs on the expected panel ``exp``, each
        weighed by ``weight`` (their own ``expected_payoff``; 0 without contracts)."""
        g = self.group
        value = 0.0
        if not self.settlers:
            return value
        inp = PayoffInputs(provider=self.hospital, exp=exp,
                           sd_per_patient=g.sd_pp, truncation=g.truncation,
                           ffs_revenue=np.zeros(g.n_payers),
                           scope_cost=lambda payer, scope: g.scope_cost(exp, payer, scope))
        for s in self.settlers:
            out = s.expected_payoff(g.ctx, g.year, inp)
            if out is not None:
                value += weight * out[0]
        return value

    def cdi_cost(self, e: float, exp) -> float:
        """Cash cost of the CDI programme at effort ``e`` on the panel's stays the hospital
        bills (the inside share with attribution on): ``e x cdi_cost_per_discharge_usd x
        discharges`` (as the settlement books it)."""
        if e == 0:
            return 0.0
        leak = self.group.leak
        n = sum(float(exp.count[:, s].sum()) * (1.0 - (float(leak[s]) if leak is not None
                                                        else 0.0)) for s in _CDI_SERVICES)
        return e * self.group.sc.coding_fees.cdi_cost_per_discharge_usd * n

    def cdi_money(self, e: float, x: tuple[float, float, float], clinical=None,
                  contracts: bool = True) -> float:
        """What CDI effort ``e`` is worth to the hospital at clinical levers ``x``, at face
        value (up to a constant): its facility revenue from the panel (every discharge the
        programme covers, not only a contract's targeted share) - the programme's cash cost
        + its contracts' expected payoffs (a bundle's or global budget's reconciliation
        takes back what coding adds to the spending it reconciles; none if ``contracts`` is
        False). The care and its cost do not move with ``e``. Face value: documentation is
        a revenue-cycle decision (staff, vendor fees per chart), not clinicians' practice,
        so neither the pass-through nor the learning curve of the clinical levers applies
        (docs/behaviour.md, section 10). ``clinical``: the panel at ``x`` before CDI
        (:meth:`_clinical_panel`), if known."""
        g = self.group
        if clinical is None:
            exp = self.panel((*x, e))
        else:
            exp = clinical if e == self.cdi_priced else self._with_cdi(clinical, e, None)
        f = g.ctx.price_factor
        revenue = float(((exp.spend * _FACILITY[None, :]).sum(axis=1) * f).sum())
        value = self.contract_value(exp) if contracts else 0.0
        return revenue - self.cdi_cost(e, exp) + value

    def cdi_norm(self, xc: tuple[float, float, float]) -> tuple[float, float]:
        """(norm ``n_e``, curvature ``K``) of the CDI choice, as for the other levers: at the
        reference fee schedule and without contracts the hospital's reference effort is
        optimal (its documentation today is its fee-for-service optimum, so fee-for-service
        at the reference leaves it there). ``K`` is the uplift of full effort there (USD a
        year): a change of the net value of full documentation by x% of that uplift moves
        the optimum by x/100 of the effort range (an assumption, docs/coding.md)."""
        ref = self._clinical_panel(xc, self.group.sc.fee_reference)
        m0 = self.cdi_money(0.0, xc, ref, contracts=False)
        m1 = self.cdi_money(1.0, xc, ref, contracts=False)
        g_ref = m1 - m0
        k = g_ref + self.cdi_cost(1.0, ref)
        if k <= 0:
            return self.reference_cdi, 0.0
        return self.reference_cdi - g_ref / k, k

    def solve_cdi(self, x: tuple[float, float, float] | None = None,
                  start: float | None = None) -> float:
        """The hospital's optimal CDI effort in [0, 1] at clinical levers ``x`` (the
        reference levers if None): the effort maximising :meth:`cdi_money` - ``K``/2 x
        (e - ``n_e``)^2 (:meth:`cdi_norm`) over :data:`CDI_GRID` and the quadratic's own
        optimum, ``start`` (the effort in force if None) kept unless another effort gains
        more than $0.01 per person-year. Uplift and cost are linear in the effort, so at the
        reference fee schedule under fee-for-service the optimum is the reference effort;
        higher facility prices raise it, a contract that takes the uplift back lowers it."""
        xc = self.reference if x is None else tuple(float(v) for v in x[:3])
        e0 = float(np.clip(self.cdi if start is None else start, 0.0, 1.0))
        clinical = self._clinical_panel(xc)  # type: ignore[arg-type]
        py = max(float(clinical.person_years.sum()), 1.0)
        norm, k = self.cdi_norm(xc)  # type: ignore[arg-type]
        if k <= 0:
            return e0

        known: dict[float, float] = {}  # each effort's money once (slope, grid, start)

        def money(e: float) -> float:
            if e not in known:
                known[e] = self.cdi_money(e, xc, clinical)  # type: ignore[arg-type]
            return known[e]

        def utility(e: float) -> float:
            return money(e) - 0.5 * k * (e - norm) ** 2

        slope = money(1.0) - money(0.0)
        candidates = [*map(float, CDI_GRID), float(np.clip(norm + slope / k, 0.0, 1.0))]
        u0 = utility(e0)
        best, gain = e0, 0.01 * py
        for e in candidates:
            u = utility(e) - u0
            if u > gain:
                best, gain = e, u
        return best

    def _x(self, x) -> tuple[float, float, float]:
        if np.ndim(x) == 0:
            return (float(x), self.reference[1], self.reference[2])
        return tuple(float(v) for v in x)  # type: ignore[return-value]

    def targeted_share(self, exp, discharges: float) -> float:
        """Share of discharges the hospital's contracts pay for: their episodes (bundles;
        ``episodes`` of the expected panel), else every discharge."""
        if self.settlers and all(getattr(s.config, "type", "") == "bundled"
                                 for s in self.settlers):
            return float(min(1.0, exp.episodes.sum() / max(discharges, 1e-9)))
        return 1.0

    def _scale(self) -> tuple[float, float]:
        """(person-years the t and v norm costs apply to: the targeted share of the panel,
        expected joint-replacement episodes: the a norm cost's)."""
        exp = self.panel(self.reference)
        discharges = float(exp.count[:, Service.INPATIENT_FACILITY].sum()
                           + exp.count[:, Service.ELECTIVE_FACILITY].sum())
        return (float(exp.person_years.sum()) * self.targeted_share(exp, discharges),
                max(float(exp.episodes.sum()), 1e-9))

    def _py(self) -> float:
        return self._scale()[0]

    def _ends(self, i: int, step: float = 1e-4) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The two points of :meth:`_grad`'s central difference in lever ``i``."""
        lo, hi = list(self.reference), list(self.reference)
        lo[i] = max(lo[i] - step, BOUNDS[i][0])
        hi[i] = min(hi[i] + step, BOUNDS[i][1])
        return tuple(lo), tuple(hi)

    def _grad(self, i: int, prices: Prices | None = None) -> float:
        lo, hi = self._ends(i)
        return (self.money(hi, False, prices)[0]
                - self.money(lo, False, prices)[0]) / (hi[i] - lo[i])

    def calibrate(self) -> None:
        """Norms that make the reference levers optimal without contracts, and the elective
        curvature that gives the elective price elasticity."""
        py, episodes = self._scale()
        b = self.params
        # At the reference fee schedule (as the group's norms; Scenario.fee_reference): a
        # facility price change then moves the hospital's levers.
        default = self.group.sc.fee_reference
        # the group's panels of the t-gradient's two ends in one pass (the v and a ends
        # share the reference's)
        self.group.panels([self._levers(x[0]) for x in self._ends(0)[::-1]], default)
        g = np.array([self._grad(i, default) for i in range(3)])
        # kappa_v: a 1% rise of facility prices moves v by elective_price_elasticity % (v
        # scales elective volume by v**e: d ln volume = e d ln v).
        up = _scale_facility(default, 1.01)
        dg = (self._grad(1, up) - g[1]) / np.log(1.01)
        e = self.group.sc.lever_effects.elasticity_electives
        v0 = self.reference[1]
        self.kappa_v = max(e * dg / (b.elective_price_elasticity * v0), 1e-6) / py
        kappa = np.array([b.transitional_effort_cost_usd, self.kappa_v,
                          b.post_acute_effort_cost_usd])
        scale = np.array([py, py, episodes])
        self.kappa = kappa
        self.norms = np.asarray(self.reference) - g / (kappa * scale)
        self.norm = float(self.norms[0])

    def utility(self, x) -> float:
        x = self._x(x)
        base, value = self.money(x)
        py, episodes = self._scale()
        dev = np.asarray(x) - self.norms
        return base + value - 0.5 * float(np.sum(self.kappa * np.array([py, py, episodes])
                                                  * dev * dev))

    def utility_many(self, xs: list) -> list[float]:
        """:meth:`utility` at each of ``xs``, the group's panels at their transitional-care
        efforts computed first in one vectorised pass (``ProviderProblem.panels``; each value
        that of :meth:`utility` of the point alone)."""
        self.group.panels([self._levers(self._x(x)[0]) for x in xs])
        return [self.utility(x) for x in xs]

    def solve_all(self, start: tuple[float, ...] | None = None) -> tuple[float, float, float]:
        """The hospital's optimal (t, v, a) within ``BOUNDS`` (L-BFGS-B from ``start``, else
        the reference levers; ``sim.behaviour.model.maximise``)."""
        if self.norms is None:
            self.calibrate()
        lo = [b[0] for b in BOUNDS]
        hi = [b[1] for b in BOUNDS]
        x0 = np.clip(start if start is not None else self.reference, lo, hi)
        py = max(self._scale()[0], 1.0)
        return maximise(self.utility, x0, py, bounds=BOUNDS,  # type: ignore[return-value]
                        fn_many=self.utility_many)

    def solve(self) -> float:
        """The hospital's optimal transitional-care effort (the other levers optimised too)."""
        return self.solve_all()[0]


def facility_prices_changed(sc) -> bool:
    """Whether the scenario's facility (hospital-billed) prices differ from the reference
    fee schedule's (``Scenario.fee_reference``): the hospital then re-chooses its levers
    under fee-for-service too."""
    from sim.services import PRICE_FIELD

    default = sc.fee_reference
    fields = {PRICE_FIELD[s] for s, k in BILLED_BY.items() if k == "hospital"}
    return any(getattr(sc.prices, f) != getattr(default, f) for f in fields)


def _scale_facility(prices: Prices, factor: float) -> Prices:
    """``prices`` with every facility (hospital-billed) price scaled by ``factor``."""
    from sim.services import PRICE_FIELD

    fields = {PRICE_FIELD[s] for s, k in BILLED_BY.items() if k == "hospital"}
    return prices.model_copy(update={f: getattr(prices, f) * factor for f in fields
                                     if f.endswith("_usd")})
