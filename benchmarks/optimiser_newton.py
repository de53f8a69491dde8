"""A quasi-Newton optimiser started from the norms' known curvature, against the shipped
L-BFGS-B, on the problems one replication solves: measured, not adopted (issue 16 item 4).

    python benchmarks/optimiser_newton.py [--scenario scenarios/mssp_two_sided.yaml ...]
        [--seed 1] [--speculative] [--polish 600]

The providers' objective is the norms' quadratic (curvature ``kappa`` per lever, known
before the solve) plus money and health terms that are nearly flat in comparison. The
candidate is a projected BFGS ascent whose Hessian starts at ``diag(kappa)``, so that its
first step is Newton's step for the quadratic part; a trial point is accepted when it
gains, else the step shrinks (x 0.2, 4 tries), the Hessian is reset to ``diag(kappa)``
once, and then the shipped ``maximise`` (L-BFGS-B) takes over from the best point (the
REACH problems' objective is rugged at the forward-difference scale, where the quasi-Newton
step fails). It stops, as the shipped one, when the Newton gain at ``kappa`` is below
0.001 USD per patient-year. A lever whose derivative jumps across zero by more than 50
USD/py within 1e-3 is held (a rule's kink), as the shipped one does.

Each problem of one replication per scenario (fast engine, behaviour on) is solved by both
from the same start grid (3 runs each, panels recomputed each time, the fastest counted):
objective points, CPU s, the utility of the candidate's answer minus the shipped one's
(USD per patient-year) and, with ``--polish N``, what a Nelder-Mead polish of up to N
evaluations still gains over each answer. ``--speculative`` evaluates each trial point
together with its gradient stencil (one call instead of two: the cost of a call is mostly
fixed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

# this tree's sim, not an installed copy (the scripts run from benchmarks/)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TOL_USD_PER_PY = 1e-3


def newton(fn_many, x0: np.ndarray, py: float, kappa: np.ndarray, bounds: tuple,
           speculative: bool = False, max_points: int = 60) -> tuple[tuple[float, ...], bool]:
    """Projected BFGS ascent of ``fn_many`` from ``x0``, Hessian started at ``diag(kappa)``
    (per patient-year); the point reached and whether it converged (else the caller hands
    over to L-BFGS-B)."""
    import sim.behaviour.model as bm

    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    n = len(x0)
    points = [0]
    stencils: dict[tuple[float, ...], tuple[list, list]] = {}

    def evaluate(lv: tuple[float, ...], with_stencil: bool) -> float:
        pts = bm.stencil(lv, bounds=bounds) if with_stencil else []
        vals = fn_many([lv] + [y for _, y in pts])
        points[0] += len(vals)
        if with_stencil:
            stencils[lv] = (pts, vals[1:])
        return vals[0] / py

    def gradient(lv: tuple[float, ...], u: float) -> np.ndarray:
        if lv not in stencils:
            pts = bm.stencil(lv, bounds=bounds)
            vals = fn_many([y for _, y in pts])
            points[0] += len(vals)
            stencils[lv] = (pts, vals)
        pts, vals = stencils[lv]
        g = np.zeros(n)
        for (i, y), v in zip(pts, vals, strict=True):
            g[i] = (v / py - u) / (y[i] - lv[i])
        return g

    kap = np.asarray(kappa, float)
    x = np.asarray(x0, float)
    lv = tuple(float(v) for v in x)
    u = evaluate(lv, True)
    g = gradient(lv, u)
    hess = np.diag(kap)  # of -u per patient-year
    fixed = np.zeros(n, bool)
    reset = False
    while points[0] < max_points:
        free = ~(((x <= lo) & (g < 0)) | ((x >= hi) & (g > 0))) & ~fixed
        f = np.flatnonzero(free)
        if not len(f) or 0.5 * float(np.sum(g[f] ** 2 / kap[f])) < TOL_USD_PER_PY:
            return tuple(float(v) for v in x), True
        sf = np.linalg.solve(hess[np.ix_(f, f)], g[f])
        if float(g[f] @ sf) <= 0:  # not an ascent direction: back to the known curvature
            hess, sf = np.diag(kap), g[f] / kap[f]
        step = np.zeros(n)
        step[f] = sf
        alpha, gained = 1.0, False
        for _ in range(4):
            xn = np.clip(x + alpha * step, lo, hi)
            ln = tuple(float(v) for v in xn)
            un = evaluate(ln, speculative)
            if un > u:
                gained = True
                break
            alpha *= 0.2
        if not gained:
            if reset:
                return tuple(float(v) for v in x), False
            hess, reset = np.diag(kap), True
            continue
        reset = False
        gn = gradient(ln, un)
        s = xn - x
        kink = (np.abs(s) < 1e-3) & (gn * g < 0) & (np.abs(gn - g) > 50.0) & ~fixed
        if kink.any():
            fixed |= kink
            hess = np.diag(kap)
        y = g - gn
        sy = float(s @ y)
        if sy > 1e-12 * float(s @ s):
            hs = hess @ s
            hess = hess - np.outer(hs, hs) / float(s @ hs) + np.outer(y, y) / sy
        x, u, g = xn, un, gn
    return tuple(float(v) for v in x), False


def candidate_solve(problem, start, warm, speculative: bool) -> tuple[float, ...]:  # noqa: ANN001
    """``ProviderProblem.solve_exact`` with the candidate in place of L-BFGS-B (the same
    start point), L-BFGS-B taking over where it does not converge."""
    import sim.behaviour.model as bm

    x0 = problem.start_point(start, warm)
    py = float(problem.panel(tuple(x0)).person_years.sum())
    x, done = newton(problem.utility_many, x0, py, problem.kappa, bm.BOUNDS, speculative)
    if done:
        return x
    return bm.maximise(problem.utility, np.asarray(x),
                       float(problem.panel(tuple(x)).person_years.sum()),
                       curvature=problem.kappa, fn_many=problem.utility_many)


def problems_of(scenario: str, seed: int) -> list:
    """The (problem, start, warm) of every solve of one replication (recorded by
    ``optimiser_evals.run`` with the shipped optimiser)."""
    from optimiser_evals import run  # beside this script

    return run(scenario, seed, old=False)["problems"]


def timed(problem, solve) -> tuple[tuple[float, ...], int, float]:  # noqa: ANN001
    """The answer, the objective points evaluated and the fastest CPU s of 3 runs."""
    shipped_many = problem.utility_many
    count = [0]

    def counted(levers_list, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        count[0] += len(levers_list)
        return shipped_many(levers_list, *a, **k)

    problem.utility_many = counted
    best = np.inf
    try:
        for _ in range(3):
            problem._cache.clear()  # noqa: SLF001 - panels recomputed in each run
            count[0] = 0
            t = time.process_time()
            x = solve()
            best = min(best, time.process_time() - t)
    finally:
        del problem.utility_many
    return x, count[0], best


def main() -> None:
    from optimiser_evals import SCENARIOS, polish_gap  # beside this script

    import sim.behaviour.model as bm

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", nargs="+", default=SCENARIOS)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--speculative", action="store_true")
    ap.add_argument("--polish", type=int, default=0)
    a = ap.parse_args()
    print("| scenario | year | points shipped | candidate | CPU s shipped | candidate | "
          "candidate - shipped (USD/py) | polish gain shipped | candidate |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    tot = np.zeros(4)
    worst = 0.0
    for scenario in a.scenario:
        for problem, start, warm in problems_of(scenario, a.seed):
            xs, ns, ts = timed(problem, lambda p=problem, s=start, w=warm:
                               bm.ProviderProblem.solve_exact(p, s, w))
            xc, nc, tc = timed(problem, lambda p=problem, s=start, w=warm:
                               candidate_solve(p, s, w, a.speculative))
            py = float(problem.panel(tuple(xs)).person_years.sum())
            du = (problem.utility(xc) - problem.utility(xs)) / py
            worst = min(worst, du)
            gaps = ((f"{polish_gap(problem, xs, a.polish):.4f}",
                     f"{polish_gap(problem, xc, a.polish):.4f}") if a.polish else ("", ""))
            tot += (ns, nc, ts, tc)
            print(f"| {os.path.basename(scenario)} | {problem.year} | {ns} | {nc} | {ts:.3f} | "
                  f"{tc:.3f} | {du:+.4f} | {gaps[0]} | {gaps[1]} |")
    print(f"\nall problems: points {tot[0]:.0f} -> {tot[1]:.0f} ({tot[1] / tot[0] - 1:+.0%}), "
          f"CPU s {tot[2]:.3f} -> {tot[3]:.3f} ({tot[3] / tot[2] - 1:+.1%}); worst candidate - "
          f"shipped {worst:+.4f} USD/py")


if __name__ == "__main__":
    main()
