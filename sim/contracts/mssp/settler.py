"""MSSP settler: benchmark from the ACO's own history, then the programme's settlement.

For plan year ``y`` of an agreement period starting in year ``A`` (the first year of the
ACO's continuous participation, or the configured year; a new period every
``agreement_years``): baseline years are ``A-3..A-1``; each baseline year's per-capita
spending of the ACO's assigned beneficiaries (the payer's members attributed to it),
each beneficiary's annualised spending truncated at the 99th percentile of the payer's
whole simulated population, is trended and restated in BY3 risk and weighted 10/30/60%
(first agreement) or equally (later agreements); the performance-year benchmark applies
the trend to ``y`` and the risk ratio (positive growth capped at 3%). Because a new
agreement rebases on the latest three years, savings earned in one agreement lower the
next benchmark: the ratchet. Expenditure is the truncated spending of the year's
assigned beneficiaries; the settlement itself is
:func:`sim.contracts.mssp.rules.settle_performance_year`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.contracts.expectation import PayoffInputs, expected_by_savings_rate
from sim.contracts.mssp.benchmark import (
    agreement_period,
    historical_benchmark,
    updated_benchmark,
)
from sim.contracts.mssp.config import MSSPContract
from sim.contracts.mssp.rules import settle_performance_year
from sim.contracts.quality import quality_standard_met
from sim.contracts.settler import (
    SETTLEMENT,
    BaseSettler,
    Book,
    Context,
    check_history,
    participation_start,
    per_capita,
)
from sim.contracts.statement import Statement

LOW_REVENUE_SHARE = 0.35  # 42 CFR 425.20: participants' revenue < 35% of expenditure
_RATES = np.linspace(-0.4, 0.4, 161)  # savings-rate grid (0.5% steps) for expected payoffs


@dataclass
class HistoricalBenchmark:
    """The part of an ACO benchmark known before its performance year."""

    statement: Statement  # historical benchmark (BY1..BY3), per capita
    per_capita_usd: float
    by3_risk: float
    by3: int
    trend: float
    payer: int
    aco: int

    def updated(self, year: int, person_years: float, risk: float) -> Statement:
        """Performance-year benchmark for ``person_years`` at mean risk ``risk``."""
        return updated_benchmark(self.per_capita_usd, self.by3_risk, risk,
                                 (1.0 + self.trend) ** (year - self.by3), person_years)


def historical_part(ctx: Context, settler: BaseSettler, contract_type: str, year: int,
                    agreement_start: int | None, agreement_years: int, trend: float
                    ) -> HistoricalBenchmark:
    """The historical benchmark of an ACO's agreement period containing ``year``."""
    cfg = settler.config
    p, a = ctx.payer_index(cfg.payer), ctx.provider_index(settler.holder)
    start = agreement_start if agreement_start is not None else participation_start(
        ctx.scenario, contract_type, cfg.payer, settler.holder, year)
    period = agreement_period(year, start, agreement_years)
    bys = period.baseline_years
    check_history(ctx, bys, f"{contract_type} benchmark of {settler.holder}")
    pcs, risks = [], []
    for by in bys:
        spend, _ = ctx.truncated_spend(by, p)
        pc, _, risk = per_capita(ctx, by, p, a, spend)
        pcs.append(pc)
        risks.append(risk)
    trend_to_by3 = [(1.0 + trend) ** (bys[2] - by) for by in bys]
    hist = historical_benchmark(pcs, risks, period.number, trend_to_by3)
    return HistoricalBenchmark(hist, float(hist["historical_benchmark_pc_usd"]), risks[2],
                               bys[2], trend, p, a)


def aco_benchmark(ctx: Context, settler: BaseSettler, contract_type: str, year: int,
                  agreement_start: int | None, agreement_years: int, trend: float
                  ) -> tuple[list[tuple[str, Statement]], float, float, float, float]:
    """Benchmark statements and ``(benchmark_usd, person_years, expenditure_usd, risk)`` of an
    ACO's performance year (shared by MSSP and REACH)."""
    hb = historical_part(ctx, settler, contract_type, year, agreement_start, agreement_years,
                         trend)
    spend, _ = ctx.truncated_spend(year, hb.payer)
    _, py, risk_py = per_capita(ctx, year, hb.payer, hb.aco, spend)
    upd = hb.updated(year, py, risk_py)
    m = ctx.members(year, hb.payer, hb.aco)
    expenditure = float(spend[m].sum())
    return ([(settler.holder, hb.statement), (settler.holder, upd)], float(upd["benchmark_usd"]),
            py, expenditure, risk_py)


def expected_benchmark(ctx: Context, settler: BaseSettler, contract_type: str,
                       year: int, agreement_start: int | None, agreement_years: int,
                       trend: float, inp: PayoffInputs) -> tuple[int, float, float]:
    """``(payer, person-years, benchmark USD)`` of an ACO's coming year under the expected
    panel ``inp.exp`` (its risk score moves the benchmark, within the cap)."""
    hb = ctx.memo(("historical", settler.label, year), lambda: historical_part(
        ctx, settler, contract_type, year, agreement_start, agreement_years, trend))
    py = float(inp.exp.person_years[hb.payer])
    return hb.payer, py, float(hb.updated(year, py, float(inp.exp.risk[hb.payer]))["benchmark_usd"])


def quality_standard(score: float, cfg: object, performance_year: int = 2024,
                     points: tuple[float, float] = (float("nan"), float("nan"))) -> str:
    """MSSP quality standard met, alternative or failed for a score in a calendar
    performance year (:func:`sim.contracts.quality.quality_standard_met`: the year's
    percentile score unless the contract sets ``quality_standard_score``; the alternative
    standard from the outcome/other measures' decile ``points`` unless it sets
    ``alternative_standard_score``)."""
    return quality_standard_met(
        score, performance_year, points[0], points[1],
        cfg.quality_standard_score, cfg.alternative_standard_score)  # type: ignore[attr-defined]


class MSSPSettler(BaseSettler):
    """``type: mssp``."""

    type_name = "mssp"
    config_model = MSSPContract
    flow_kinds = {"shared_savings": SETTLEMENT}
    shown_statements = ("mssp", "mssp_benchmark")

    def settle(self, ctx: Context, year: int, book: Book
               ) -> list[tuple[str, Statement]]:
        cfg = self.config
        p, a = ctx.payer_index(cfg.payer), ctx.provider_index(cfg.aco)
        out, benchmark, _, expenditure, _ = aco_benchmark(
            ctx, self, "mssp", year, cfg.agreement_start_year, cfg.agreement_years,
            cfg.trend_per_year)
        members = ctx.members(year, p, a)
        label = f"{cfg.payer}/{cfg.aco}"
        score, _ = ctx.quality(year, members, label)
        standard = quality_standard(score, cfg, ctx.scenario.economics.first_calendar_year
                                    + year, ctx.quality_points(year, label))
        # Participant revenue: FFS paid to the ACO, plus its own services a capitation
        # contract pays instead (at their FFS value, as they count in the expenditure).
        c = ctx.claims(year)
        capitated = ctx.covered(year)[0] & (c["provider"] == a) & (c["payer"] == p)
        revenue = float(ctx.ffs_paid(year)[p, a]) + float(c["paid"][capitated].sum())
        start = cfg.agreement_start_year if cfg.agreement_start_year is not None else \
            participation_start(ctx.scenario, "mssp", cfg.payer, cfg.aco, year)
        period_start = start + (year - start) // cfg.agreement_years * cfg.agreement_years
        cal = ctx.scenario.economics.first_calendar_year
        st = settle_performance_year(
            track=cfg.track, assigned_beneficiaries=int(members.sum()), benchmark_usd=benchmark,
            expenditure_usd=expenditure, quality_score=score, quality_standard=standard,
            msr=cfg.msr, mlr=cfg.mlr, low_revenue=revenue < LOW_REVENUE_SHARE * expenditure,
            participant_revenue_usd=revenue, performance_year=cal + year,
            agreement_start_year=cal + period_start)
        book.pay(year, cfg.payer, cfg.aco, st["earned_usd"], "shared_savings", self.label)
        return [*out, (cfg.aco, st)]

    def expected_payoff(self, ctx: Context, year: int, inp: PayoffInputs
                        ) -> tuple[float, float] | None:
        """Mean and variance of the ACO's earned savings (or owed losses) in ``year``."""
        cfg = self.config
        if ctx.provider_index(cfg.aco) != inp.provider:
            return None
        p, py, benchmark = expected_benchmark(ctx, self, "mssp", year, cfg.agreement_start_year,
                                              cfg.agreement_years, cfg.trend_per_year, inp)
        mu, sd = inp.spending(ctx, p)
        score = inp.quality(ctx)
        revenue = float(inp.ffs_revenue[p])
        start = cfg.agreement_start_year if cfg.agreement_start_year is not None else \
            participation_start(ctx.scenario, "mssp", cfg.payer, cfg.aco, year)
        period_start = start + (year - start) // cfg.agreement_years * cfg.agreement_years
        cal = ctx.scenario.economics.first_calendar_year
        n = max(int(round(py)), 1)

        def earned(expenditure: float) -> float:
            e = max(expenditure, 0.0)
            return float(settle_performance_year(
                track=cfg.track, assigned_beneficiaries=n, benchmark_usd=benchmark,
                expenditure_usd=e, quality_score=score,
                # below the standard, expect the alternative one (every PY2024 ACO under
                # the 40th percentile met it, CMS PY2024 PUF): the measures' points are
                # not part of the expected panel
                quality_standard=quality_standard(score, cfg, cal + year, (10.0, 10.0)),
                msr=cfg.msr, mlr=cfg.mlr, low_revenue=revenue < LOW_REVENUE_SHARE * e,
                participant_revenue_usd=revenue, performance_year=cal + year,
                agreement_start_year=cal + period_start)["earned_usd"])

        key = ("mssp_curve", self.label, year, n, round(score * 2) / 2,
               round(revenue / benchmark, 3))
        return expected_by_savings_rate(ctx, key, _RATES, earned, benchmark, mu, sd)
