"""The contracts' expected payoffs: the scalar path (one settlement statement per payoff
table entry) vs the vectorised one, in the same process, on the calls a replication makes.

    python benchmarks/expected_payoffs.py [--scenario scenarios/mssp_two_sided.yaml ...]
        [--seed 1] [--repeat 3]

One replication of each scenario is run (fast engine, behaviour on) while every call of an
MSSP or REACH settler's ``expected_payoffs`` is recorded (context, year, inputs). The calls
are then replayed in their order, each path starting from the same context cache without
the payoff tables (so each builds its tables as in the run), and timed in CPU seconds:

* ``scalar``: the path before issue 16's vectorisation, kept here as it was:
  ``settle_performance_year`` / ``settle_reach`` per table entry, the benchmark, risk ratio
  and quality score from their statements;
* ``one by one``: the shipped ``expected_payoff`` (``earned_by_expenditure`` /
  ``paid_by_expenditure`` fill the missing entries in one call; no statements), one
  candidate at a time;
* ``batched``: the shipped ``expected_payoffs``, each recorded call's candidates (the
  optimiser's point and its forward-difference stencil, issue 16) at once.

It reports CPU ms per payoff for each, the speed-up, the largest difference of the means
(USD) and of the variances (relative) between the scalar and the batched paths, and whether
the batched payoffs equal the one-by-one ones exactly.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _old_mssp(self, ctx, year: int, inp):  # noqa: ANN001, ANN202 - the pre-issue-16 path
    from sim.contracts.expectation import expected_by_savings_rate
    from sim.contracts.mssp.rules import settle_performance_year
    from sim.contracts.mssp.settler import (
        _RATES,
        LOW_REVENUE_SHARE,
        OutsideWorld,
        historical_part,
        quality_standard,
    )
    from sim.contracts.quality import score_measures
    from sim.contracts.settler import participation_start

    cfg = self.config
    if ctx.provider_index(cfg.aco) != inp.provider:
        return None
    world = OutsideWorld.of(cfg)
    hb = ctx.memo(("historical", self.label, year), lambda: historical_part(
        ctx, self, "mssp", year, cfg.agreement_start_year, cfg.agreement_years, world))
    p = hb.payer
    py = float(inp.exp.person_years[p])
    benchmark = float(hb.updated(year, py, float(inp.exp.risk[p]))["benchmark_usd"])
    mu, sd = inp.spending(ctx, p)
    score = float(score_measures(inp.exp.measures, ctx.quality_scale)["score"])
    revenue = float(inp.ffs_revenue[p])
    start = cfg.agreement_start_year if cfg.agreement_start_year is not None else \
        participation_start(ctx.scenario, "mssp", cfg.payer, cfg.aco, year)
    period_start = start + (year - start) // cfg.agreement_years * cfg.agreement_years
    cal = ctx.scenario.economics.first_calendar_year
    n = inp.head_count(p)

    def earned(expenditure: float, q: float, revenue_share: float) -> float:
        e = max(expenditure, 0.0)
        rev = revenue_share * benchmark
        return float(settle_performance_year(
            track=cfg.track, assigned_beneficiaries=n, benchmark_usd=benchmark,
            expenditure_usd=e, quality_score=q,
            quality_standard=quality_standard(q, cfg, cal + year, (10.0, 10.0)),
            msr=cfg.msr, mlr=cfg.mlr, low_revenue=rev < LOW_REVENUE_SHARE * e,
            participant_revenue_usd=rev, performance_year=cal + year,
            agreement_start_year=cal + period_start)["earned_usd"])

    key = ("mssp_curve", self.label, year, n)
    return expected_by_savings_rate(ctx, key, _RATES, earned, benchmark, mu, sd,
                                    coords=((score, 2.0), (revenue / benchmark, 0.05)))


def _old_reach(self, ctx, year: int, inp):  # noqa: ANN001, ANN202 - the pre-issue-16 path
    from sim.contracts.expectation import expected_by_savings_rate
    from sim.contracts.mssp.rules import sequestration_rate
    from sim.contracts.quality import score_measures
    from sim.contracts.reach.rules import settle_reach
    from sim.contracts.reach.settler import _RATES

    cfg = self.config
    if ctx.provider_index(cfg.aco) != inp.provider:
        return None
    p = ctx.payer_index(cfg.payer)
    py = float(inp.exp.person_years[p])
    _, benchmark, pcc, charge = self.benchmark(ctx, year, py, float(inp.exp.risk[p]))
    mu, sd = inp.spending(ctx, p)
    if cfg.primary_care_capitation:
        mu -= inp.scope_cost(p, "primary_care")[2]
    mu -= self.base(ctx, year).stop_loss_pc_usd * py
    score = float(score_measures(inp.exp.measures, ctx.quality_scale)["score"])
    cal = ctx.scenario.economics.first_calendar_year + year
    seq = sequestration_rate(cal) if cfg.sequestration is None else cfg.sequestration
    mm = 12.0 * py

    def paid(expenditure: float, q: float, pcc_share: float, charge_share: float) -> float:
        return float(settle_reach(cfg.option, benchmark, max(expenditure, 0.0), q, cal,
                                  cfg.discount, cfg.quality_withhold,
                                  pcc_share * benchmark / mm if mm > 0 else 0.0, mm,
                                  sequestration=seq,
                                  stop_loss_charge_usd=charge_share * benchmark
                                  ).payer_paid_usd)

    key = ("reach_curve", self.label, year)
    coords = ((score, 2.0), (mm * pcc / benchmark, 0.01), (charge / benchmark, 0.01))
    mean, var = expected_by_savings_rate(ctx, key, _RATES, paid, benchmark, mu, sd,
                                         coords=coords)
    if cfg.primary_care_capitation:
        mean -= inp.scope_cost(p, "primary_care")[0]
    return mean, var


def record(scenario: str, seed: int) -> list[tuple]:
    """The (settler, context, year, inputs) of every MSSP/REACH expected-payoff call of one
    replication (fast engine, behaviour on)."""
    import sim.replication as rep
    from sim.contracts.mssp.settler import MSSPSettler
    from sim.contracts.reach.settler import REACHSettler
    from sim.scenario.loader import load_scenario

    calls: list[tuple] = []
    originals = {}
    for cls in (MSSPSettler, REACHSettler):
        orig = cls.expected_payoffs  # every call goes through it (expected_payoff: one)
        originals[cls] = orig

        def wrapped(self, ctx, year, inps, _orig=orig):  # noqa: ANN001, ANN202
            calls.append((self, ctx, year, list(inps)))
            return _orig(self, ctx, year, inps)

        cls.expected_payoffs = wrapped
    try:
        sc = load_scenario(scenario).model_copy(update={"engine": "fast",
                                                        "behavior": "incentives"})
        rep.simulate_replication(sc, 0, np.random.SeedSequence([seed, 0]))
    finally:
        for cls, orig in originals.items():
            cls.expected_payoffs = orig
    return calls


def replay(calls: list[tuple], mode: str) -> tuple[float, list]:
    """CPU seconds and results of the calls (``mode``: ``scalar``, ``single``: the shipped
    ``expected_payoff`` candidate by candidate, ``batched``: ``expected_payoffs`` of each
    call's candidates at once), each context's cache reset to its state without payoff
    tables and per-year benchmark constants."""
    from sim.contracts.mssp.settler import MSSPSettler

    tables = ("mssp_curve", "reach_curve", "reach_benchmark_constants")
    for ctx in {id(c[1]): c[1] for c in calls}.values():
        ctx._cache = {k: v for k, v in ctx._cache.items()
                      if not (isinstance(k, tuple) and k and k[0] in tables)}
    for _, _, _, inps in calls:
        for inp in inps:
            inp.__dict__.pop("_quality", None)
    for ctx in {id(c[1]): c[1] for c in calls}.values():  # update factors cached
        for k, v in ctx._cache.items():
            if isinstance(k, tuple) and k and k[0] == "historical":
                v.__dict__.pop("_update_factors", None)
    out = []
    t = time.process_time()
    for s, ctx, year, inps in calls:
        if mode == "scalar":
            fn = _old_mssp if isinstance(s, MSSPSettler) else _old_reach
            out.extend(fn(s, ctx, year, inp) for inp in inps)
        elif mode == "single":
            out.extend(s.expected_payoff(ctx, year, inp) for inp in inps)
        else:
            out.extend(s.expected_payoffs(ctx, year, inps))
    return time.process_time() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", nargs="+", default=["scenarios/mssp_two_sided.yaml",
                                                      "scenarios/reach_global.yaml"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print("| scenario | payoffs | batches | scalar ms/payoff | one by one ms/payoff | "
          "batched ms/payoff | speed-up (scalar / batched) | max abs diff mean (USD) | "
          "max rel diff variance | batched = one by one |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for scenario in a.scenario:
        calls = record(scenario, a.seed)
        times: dict[str, list[float]] = {"scalar": [], "single": [], "batched": []}
        res = {}
        for _ in range(a.repeat):  # alternately, the same window
            for mode in times:
                t, res[mode] = replay(calls, mode)
                times[mode].append(t)
        pairs = [(o, n) for o, n in zip(res["scalar"], res["batched"], strict=True)
                 if o is not None]
        dm = max((abs(o[0] - n[0]) for o, n in pairs), default=0.0)
        dv = max((abs(o[1] - n[1]) / max(abs(o[1]), 1e-300) for o, n in pairs), default=0.0)
        k = max(len(res["scalar"]), 1)
        ms = {m: np.median(t) * 1e3 / k for m, t in times.items()}
        print(f"| {scenario} | {k} | {len(calls)} | {ms['scalar']:.3f} | {ms['single']:.3f} | "
              f"{ms['batched']:.3f} | {ms['scalar'] / ms['batched']:.1f}x | {dm:.2e} | "
              f"{dv:.1e} | {res['single'] == res['batched']} |")

if __name__ == "__main__":
    main()
