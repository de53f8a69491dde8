"""The behaviour optimiser before and after issue 16's warm start and early stop, in the
same process: objective evaluations, CPU time of the decisions, and the utility left on
the table.

    python benchmarks/optimiser_evals.py [--scenario scenarios/mssp_two_sided.yaml ...]
        [--seed 1] [--polish 800]

For each scenario one replication (fast engine, behaviour on) is run twice in the same
process, alternately patched:

* ``old``: the optimiser as of commit c0b108d — the best of the current levers and a
  16-point grid, then L-BFGS-B stopped after 6 evaluations without a gain of 0.001 USD
  per patient-year; calibration with the full gradient at raised fees;
* ``new``: the shipped one — last year's optimum is a candidate too (warm start),
  L-BFGS-B also stops after 3 such evaluations when the Newton gain at the norms'
  curvature is below the tolerance, a lever at a kink (its derivative jumping across
  zero) is held there while L-BFGS-B restarts on the others, calibration computes only
  the gradient component it uses.

It reports objective evaluations (points evaluated by ``ProviderProblem.utility_many``,
everything: calibration, grid, L-BFGS-B, incentives) and CPU seconds of ``Behaviour.choose`` per
replication, and the largest difference of a chosen lever between the runs. Then, on
every problem the new run solved, both optimisers are run again (evaluations of the
solve), and each answer is polished by Nelder-Mead (up to ``--polish`` evaluations): the
utility the polish gains over each answer (USD per person-year) is what the optimiser
left on the table; ``new - old`` is the utility of the new answer minus the old one's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

# this tree's sim, not an installed copy (the scripts run from benchmarks/)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _old_solve_exact(self, start, warm=None):  # noqa: ANN001, ANN202 - c0b108d
    import sim.behaviour.model as bm

    grid = [start] + [(d, p, t, start[3]) for d in (0.8, 0.9, 1.0, 1.1)
                      for p in (0.1, 0.5) for t in (0.1, 0.5)]
    best = max(grid, key=lambda lv: self.utility(tuple(lv)))
    x0 = np.clip(best, [b[0] for b in bm.BOUNDS], [b[1] for b in bm.BOUNDS])
    return bm.maximise(self.utility, x0, float(self.panel(tuple(x0)).person_years.sum()))


def _old_calibrate(self):  # noqa: ANN001, ANN202 - c0b108d: the full gradient at raised fees
    import sim.behaviour.model as bm

    ref = self.reference
    default = self.sc.fee_reference
    up = bm._scale_prices(default, 1.01)

    def ref_u(lv, prices=default):  # noqa: ANN001, ANN202
        return self.utility(lv, prices, contracts=False, norms=False)

    g = self._grad(lambda lvs: [ref_u(lv) for lv in lvs], ref)
    g_up = self._grad(lambda lvs: [ref_u(lv, up) for lv in lvs], ref)
    py = float(self.panel(ref).person_years.sum())
    vol = [self.panel((ref[0] + s, *ref[1:]), default).discretionary_volume()
           for s in (-0.01, 0.01)]
    e_v = (np.log(vol[1]) - np.log(vol[0])) / 0.02 * ref[0]
    dg_dlnf = (g_up[0] - g[0]) / np.log(1.01)
    b = self.params
    kappa_d = max(e_v * dg_dlnf / (b.fee_elasticity * ref[0]), 1e-6) / py
    self.kappa = np.array([kappa_d, b.prevention_effort_cost_usd,
                           b.transitional_effort_cost_usd, b.coding_effort_cost_usd])
    self.norms = np.asarray(ref) - g / (self.kappa * py)


#: The scenarios whose problems are solved, one replication each.
SCENARIOS = ["scenarios/mssp_two_sided.yaml", "scenarios/mssp_one_sided.yaml",
             "scenarios/reach_global.yaml", "scenarios/aco_enhanced.yaml"]


class _Counter:
    def __init__(self) -> None:
        self.n = 0


def run(scenario: str, seed: int, old: bool) -> dict:
    """One replication with the old or the new optimiser: evaluations, CPU s of the
    decisions, the chosen levers, and (new) the problems solved."""
    import sim.behaviour.decide as decide
    import sim.behaviour.model as bm
    import sim.replication as rep
    from sim.scenario.loader import load_scenario

    saved = (bm.ProviderProblem.solve_exact, bm.ProviderProblem.calibrate,
             bm.ProviderProblem.utility_many, decide.Behaviour.choose)
    count, cpu, problems, decisions = _Counter(), [0.0], [], []
    # every evaluation of the objective goes through utility_many (utility: a batch of one)
    utility = bm.ProviderProblem.utility_many
    solve_exact = bm.ProviderProblem.solve_exact

    def counted(self, levers_list, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        count.n += len(levers_list)
        return utility(self, levers_list, *a, **k)

    def recorded(self, start, warm=None):  # noqa: ANN001, ANN202
        x = (_old_solve_exact if old else solve_exact)(self, start, warm)
        problems.append((self, tuple(start), None if warm is None else tuple(warm)))
        return x

    choose = decide.Behaviour.choose

    def timed(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        t = time.process_time()
        out = choose(self, *a, **k)
        cpu[0] += time.process_time() - t
        decisions.extend((k2, tuple(v.model_dump().values())) for k2, v in out.items())
        return out

    bm.ProviderProblem.utility_many = counted
    bm.ProviderProblem.solve_exact = recorded
    decide.Behaviour.choose = timed
    if old:
        bm.ProviderProblem.calibrate = _old_calibrate
    try:
        sc = load_scenario(scenario).model_copy(update={"engine": "fast",
                                                        "behavior": "incentives"})
        rep.simulate_replication(sc, 0, np.random.SeedSequence([seed, 0]))
    finally:
        (bm.ProviderProblem.solve_exact, bm.ProviderProblem.calibrate,
         bm.ProviderProblem.utility_many, decide.Behaviour.choose) = saved
    return {"evaluations": count.n, "cpu": cpu[0], "problems": problems,
            "decisions": decisions, "solves": len(problems)}


def polish_gap(problem, x: tuple[float, ...], maxfev: int) -> float:  # noqa: ANN001
    """Utility (USD per person-year) a bounded Nelder-Mead polish from ``x`` gains."""
    from scipy.optimize import minimize

    import sim.behaviour.model as bm

    py = float(problem.panel(tuple(x)).person_years.sum())
    u0 = problem.utility(tuple(x))
    res = minimize(lambda z: -problem.utility(tuple(float(v) for v in z)) / py, np.array(x),
                   method="Nelder-Mead", bounds=bm.BOUNDS,
                   options={"maxfev": maxfev, "xatol": 1e-6, "fatol": 1e-6})
    return max(-float(res.fun) - u0 / py, 0.0)


def main() -> None:
    import sim.behaviour.model as bm

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", nargs="+", default=SCENARIOS)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--polish", type=int, default=800)
    a = ap.parse_args()
    for scenario in a.scenario:
        o = run(scenario, a.seed, old=True)
        n = run(scenario, a.seed, old=False)
        diff = max((max(abs(x - y) for x, y in zip(u, v, strict=True))
                    for (_, u), (_, v) in zip(o["decisions"], n["decisions"], strict=True)),
                   default=0.0)
        print(f"\n{scenario}: replication, old -> new: objective evaluations "
              f"{o['evaluations']} -> {n['evaluations']} ({o['solves']} solves each), "
              f"CPU s of the decisions {o['cpu']:.2f} -> {n['cpu']:.2f}; largest difference "
              f"of a chosen lever {diff:.4f}")
        print("| problem | solve evaluations old | new | new - old (USD/py) | "
              "polish gain old | polish gain new |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for k, (problem, start, warm) in enumerate(n["problems"]):
            cnt = _Counter()
            utility = problem.utility_many

            def counted(levers_list, *args, _u=utility, _c=cnt, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
                _c.n += len(levers_list)
                return _u(levers_list, *args, **kw)

            problem.utility_many = counted
            x_old = _old_solve_exact(problem, start)
            e_old, cnt.n = cnt.n, 0
            x_new = bm.ProviderProblem.solve_exact(problem, start, warm)
            e_new = cnt.n
            del problem.utility_many
            py = float(problem.panel(tuple(x_new)).person_years.sum())
            d_u = (problem.utility(x_new) - problem.utility(x_old)) / py
            g_old = polish_gap(problem, x_old, a.polish)
            g_new = polish_gap(problem, x_new, a.polish)
            print(f"| {k} | {e_old} | {e_new} | {d_u:+.4f} | {g_old:.4f} | {g_new:.4f} |")


if __name__ == "__main__":
    main()
