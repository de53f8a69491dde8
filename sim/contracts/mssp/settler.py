"""MSSP settler: benchmark from the ACO's own history, then the programme's settlement.

For plan year ``y`` of an agreement period starting in year ``A`` (the first year of the
ACO's continuous participation, or the configured year; a new period every
``agreement_years``): baseline years are ``A-3..A-1``; each baseline year's per-capita
spending of the ACO's assigned beneficiaries (the payer's members attributed to it),
each beneficiary's annualised spending truncated at the 99th percentile of the payer's
whole simulated population, is trended and restated in BY3 risk and weighted 10/30/60%
in every agreement period from 2019 (equally before); the regional adjustment (the
region's spending from :class:`OutsideWorld`: a settable ratio to the ACO's historical
benchmark or a regional rate) and, for renewals from 2024, the prior-savings adjustment
from the savings of the previous agreement's last three years are added; the
performance-year benchmark applies the update factor to ``y`` (national-regional
blended growth, with the ACPT from 2024) and the risk ratio (positive growth capped at
3%). Because a new
agreement rebases on the latest three years, savings earned in one agreement lower the
next benchmark: the ratchet. Expenditure is the truncated spending of the year's
assigned beneficiaries; the settlement itself is
:func:`sim.contracts.mssp.rules.settle_performance_year`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.contracts.expectation import PayoffInputs, expected_by_savings_rate_many
from sim.contracts.mssp.benchmark import (
    RULES_2024_FROM,
    acpt_weight,
    agreement_period,
    benchmark_adjustment,
    blended_update_factor,
    historical_benchmark,
    prior_savings_adjustment,
    regional_adjustment,
    updated_benchmark,
    updated_benchmark_usd,
)
from sim.contracts.mssp.config import MSSPContract
from sim.contracts.mssp.rules import earned_by_expenditure, settle_performance_year
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


@dataclass(frozen=True)
class OutsideWorld:
    """The comparison population of an ACO benchmark: national and regional growth and
    the region's spending level (42 CFR 425.601(a)(8)-(b), 425.652-425.660)."""

    national_growth: float = 0.0  # per year, risk-adjusted
    regional_growth: float | None = None  # None: national_growth
    national_weight: float = 0.0  # ACO's share of the region's assignable beneficiaries
    acpt: float | None = None  # None: national_growth
    acpt_weight: float | None = None  # None: the rule (1/3; 1/6 in PY2024)
    regional_ratio: float = 1.0  # region over the ACO's historical benchmark (BY3)
    regional_pc_usd: float | None = None  # region at risk 1.0 (BY3); overrides the ratio
    national_ratio: float = 1.0  # nation over region (base of the caps)
    negative_offset: float = 0.0
    prior_savings: bool = True
    prior_agreements: int = 0
    regional_adjustment: bool = True

    @classmethod
    def of(cls, cfg: object) -> OutsideWorld:
        """From an MSSP contract configuration."""
        g = cfg.trend_per_year  # type: ignore[attr-defined]
        return cls(g, cfg.regional_growth_per_year, cfg.aco_share_of_region,  # type: ignore[attr-defined]
                   cfg.acpt_per_year, cfg.acpt_weight, cfg.regional_to_aco_ratio,  # type: ignore[attr-defined]
                   cfg.regional_per_capita_usd, cfg.national_to_regional_ratio,  # type: ignore[attr-defined]
                   cfg.negative_regional_offset, cfg.prior_savings_adjustment,  # type: ignore[attr-defined]
                   cfg.prior_agreement_periods)  # type: ignore[attr-defined]

    def growth(self, years: int) -> float:
        """National-regional blended growth factor over ``years`` (BYs to BY3)."""
        g_r = self.national_growth if self.regional_growth is None else self.regional_growth
        return (self.national_weight * (1.0 + self.national_growth) ** years
                + (1.0 - self.national_weight) * (1.0 + g_r) ** years)

    def update(self, years: int, performance_year: int, agreement_start: int) -> Statement:
        """Update factor statement from BY3 to a performance year ``years`` later."""
        g_r = self.national_growth if self.regional_growth is None else self.regional_growth
        acpt = self.national_growth if self.acpt is None else self.acpt
        w = acpt_weight(performance_year, agreement_start)
        if self.acpt_weight is not None and w > 0:
            w = self.acpt_weight
        return blended_update_factor((1.0 + self.national_growth) ** years,
                                     (1.0 + g_r) ** years, self.national_weight,
                                     (1.0 + acpt) ** years, w)


@dataclass
class HistoricalBenchmark:
    """The part of an ACO benchmark known before its performance year."""

    statements: list[Statement]  # historical benchmark and its adjustments, per capita
    per_capita_usd: float  # historical benchmark (BY3 dollars and risk)
    adjustment_pc_usd: float  # regional or prior-savings adjustment
    by3_risk: float
    by3: int
    world: OutsideWorld
    payer: int
    aco: int
    agreement_start: int  # calendar year
    first_calendar_year: int

    @property
    def statement(self) -> Statement:
        return self.statements[0]

    def update_statement(self, year: int) -> Statement:
        return self.world.update(year - self.by3, self.first_calendar_year + year,
                                 self.agreement_start)

    def update_factor(self, year: int) -> float:
        """The update factor from BY3 to ``year`` (computed once per year)."""
        cache = self.__dict__.setdefault("_update_factors", {})
        if year not in cache:
            cache[year] = float(self.update_statement(year)["update_factor"])
        return cache[year]

    def updated_usd(self, year: int, person_years: float, risk: float) -> float:
        """``updated(year, person_years, risk)["benchmark_usd"]`` without the statement."""
        return updated_benchmark_usd(self.per_capita_usd, self.by3_risk, risk,
                                     self.update_factor(year), person_years,
                                     adjustment_pc_usd=self.adjustment_pc_usd)

    def updated(self, year: int, person_years: float, risk: float) -> Statement:
        """Performance-year benchmark for ``person_years`` at mean risk ``risk``."""
        return updated_benchmark(self.per_capita_usd, self.by3_risk, risk,
                                 self.update_factor(year), person_years,
                                 adjustment_pc_usd=self.adjustment_pc_usd)


def historical_part(ctx: Context, settler: BaseSettler, contract_type: str, year: int,
                    agreement_start: int | None, agreement_years: int,
                    world: OutsideWorld | float) -> HistoricalBenchmark:
    """The historical benchmark of an ACO's agreement period containing ``year``, with its
    regional and prior-savings adjustments (``world``: the comparison population, or a
    plain trend per year with no adjustments)."""
    if not isinstance(world, OutsideWorld):
        world = OutsideWorld(national_growth=float(world), prior_savings=False,
                             regional_adjustment=False)
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
    cal = ctx.scenario.economics.first_calendar_year
    cal_start = cal + period.start_year
    number = period.number + world.prior_agreements
    trend_to_by3 = [world.growth(bys[2] - by) for by in bys]
    hist = historical_benchmark(pcs, risks, number, trend_to_by3, cal_start)
    hb_pc = float(hist["historical_benchmark_pc_usd"])
    statements = [hist]
    adjustment = 0.0
    if world.regional_adjustment:
        regional = (world.regional_ratio * hb_pc if world.regional_pc_usd is None
                    else world.regional_pc_usd * risks[2])
        national = world.national_ratio * regional
        reg = regional_adjustment(hb_pc, regional, national, number, cal_start,
                                  negative_offset=world.negative_offset)
        psa_pc = 0.0
        statements.append(reg)
        if world.prior_savings and cal_start >= RULES_2024_FROM and period.number > 1:
            savings = [_savings_pc(ctx, settler, contract_type, by, start, agreement_years,
                                   world) for by in bys]
            psa = prior_savings_adjustment(savings, national)
            statements.append(psa)
            psa_pc = float(psa["prior_savings_adjustment_pc_usd"])
        adj = benchmark_adjustment(float(reg["regional_adjustment_computed_pc_usd"]), psa_pc,
                                   cal_start)
        statements.append(adj)
        adjustment = float(adj["adjustment_pc_usd"])
    return HistoricalBenchmark(statements, hb_pc, adjustment, risks[2], bys[2], world, p, a,
                               cal_start, cal)


def _savings_pc(ctx: Context, settler: BaseSettler, contract_type: str, by: int,
                start: int, agreement_years: int, world: OutsideWorld) -> float | None:
    """Per-capita savings (benchmark − expenditure; losses negative) of a benchmark year
    that was a performance year of the ACO's earlier agreement period, else None."""
    if by < start:
        return None
    _, bench, py, exp, _ = ctx.memo(("aco_benchmark", settler.label, by), lambda: aco_benchmark(
        ctx, settler, contract_type, by, start, agreement_years, world))
    return (bench - exp) / py


def aco_benchmark(ctx: Context, settler: BaseSettler, contract_type: str, year: int,
                  agreement_start: int | None, agreement_years: int,
                  world: OutsideWorld | float
                  ) -> tuple[list[tuple[str, Statement]], float, float, float, float]:
    """Benchmark statements and ``(benchmark_usd, person_years, expenditure_usd, risk)`` of an
    ACO's performance year."""
    hb = historical_part(ctx, settler, contract_type, year, agreement_start, agreement_years,
                         world)
    spend, _ = ctx.truncated_spend(year, hb.payer)
    _, py, risk_py = per_capita(ctx, year, hb.payer, hb.aco, spend)
    upd = hb.updated(year, py, risk_py)
    m = ctx.members(year, hb.payer, hb.aco)
    expenditure = float(spend[m].sum())
    out = [(settler.holder, st) for st in hb.statements]
    if hb.world.regional_adjustment:
        out.append((settler.holder, hb.update_statement(year)))
    return ([*out, (settler.holder, upd)], float(upd["benchmark_usd"]), py, expenditure,
            risk_py)


def expected_benchmark(ctx: Context, settler: BaseSettler, contract_type: str,
                       year: int, agreement_start: int | None, agreement_years: int,
                       world: OutsideWorld | float, inp: PayoffInputs
                       ) -> tuple[int, float, float]:
    """``(payer, person-years, benchmark USD)`` of an ACO's coming year under the expected
    panel ``inp.exp`` (its risk score moves the benchmark, within the cap)."""
    hb = ctx.memo(("historical", settler.label, year), lambda: historical_part(
        ctx, settler, contract_type, year, agreement_start, agreement_years, world))
    py = float(inp.exp.person_years[hb.payer])
    return hb.payer, py, hb.updated_usd(year, py, float(inp.exp.risk[hb.payer]))


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
            OutsideWorld.of(cfg))
        members = ctx.members(year, p, a)
        label = f"{cfg.payer}/{cfg.aco}"
        score, _ = ctx.quality(year, members, label)
        standard = quality_standard(score, cfg, ctx.scenario.economics.first_calendar_year
                                    + year, ctx.quality_points(year, label))
        # Participant revenue: FFS paid to the ACO, plus its own services a capitation
        # contract pays instead (at their FFS value, as they count in the expenditure).
        c = ctx.claims(year)
        covered = ctx.covered(year)[0]
        # nothing covered: no own services paid by capitation (an empty sum, 0.0)
        capitated_usd = float(c["paid"][covered & (c["provider"] == a) & (c["payer"] == p)]
                              .sum()) if covered.any() else 0.0
        revenue = float(ctx.ffs_paid(year)[p, a]) + capitated_usd
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
        return self.expected_payoffs(ctx, year, [inp])[0]

    def expected_payoffs(self, ctx: Context, year: int, inps: list[PayoffInputs]
                         ) -> list[tuple[float, float] | None]:
        """:meth:`expected_payoff` of several candidates' inputs, their moments computed
        together (:func:`sim.contracts.expectation.expected_by_savings_rate_many`: each
        bit-identical to its own call; issue 16)."""
        cfg = self.config
        if all(ctx.provider_index(cfg.aco) != inp.provider for inp in inps):
            return [None] * len(inps)
        # what every candidate shares, once
        start = cfg.agreement_start_year if cfg.agreement_start_year is not None else \
            participation_start(ctx.scenario, "mssp", cfg.payer, cfg.aco, year)
        period_start = start + (year - start) // cfg.agreement_years * cfg.agreement_years
        world = OutsideWorld.of(cfg)
        args = [self._payoff_args(ctx, year, inp, period_start, world) for inp in inps]
        todo = [a for a in args if a is not None]
        got = iter(expected_by_savings_rate_many(
            ctx, [a[0] for a in todo], _RATES, [a[1] for a in todo], [a[2] for a in todo],
            [a[3] for a in todo], [a[4] for a in todo], [a[5] for a in todo],
            vectorised=True) if todo else [])
        return [None if a is None else next(got) for a in args]

    def _payoff_args(self, ctx: Context, year: int, inp: PayoffInputs, period_start: int,
                     world: OutsideWorld) -> tuple | None:
        """``(table key, rule, benchmark, mean, SD, coordinates)`` of the expected payoff
        under ``inp`` (:func:`sim.contracts.expectation.expected_by_savings_rate`), or None
        (the contract pays ``inp.provider`` nothing); ``period_start``: the first plan year
        of the agreement period, ``world``: ``OutsideWorld.of(config)``."""
        cfg = self.config
        if ctx.provider_index(cfg.aco) != inp.provider:
            return None
        p, py, benchmark = expected_benchmark(ctx, self, "mssp", year, cfg.agreement_start_year,
                                              cfg.agreement_years, world, inp)
        mu, sd = inp.spending(ctx, p)
        score = inp.quality(ctx)
        revenue = float(inp.ffs_revenue[p])
        cal = ctx.scenario.economics.first_calendar_year
        n = inp.head_count(p)

        def earned(expenditure: np.ndarray, q: float, revenue_share: float) -> np.ndarray:
            e = np.maximum(expenditure, 0.0)
            rev = revenue_share * benchmark
            return earned_by_expenditure(
                track=cfg.track, assigned_beneficiaries=n, benchmark_usd=benchmark,
                expenditure_usd=e, quality_score=q,
                # below the standard, expect the alternative one (every PY2024 ACO under
                # the 40th percentile met it, CMS PY2024 PUF): the measures' points are
                # not part of the expected panel
                quality_standard=quality_standard(q, cfg, cal + year, (10.0, 10.0)),
                msr=cfg.msr, mlr=cfg.mlr, low_revenue=rev < LOW_REVENUE_SHARE * e,
                participant_revenue_usd=rev, performance_year=cal + year,
                agreement_start_year=cal + period_start)

        # Tabulated at the 2-point quality grid and the 5%-of-benchmark revenue grid
        # around the panel's values and interpolated: continuous in both.
        key = ("mssp_curve", self.label, year, n)
        return key, earned, benchmark, mu, sd, ((score, 2.0), (revenue / benchmark, 0.05))
