"""ACO REACH settler: the REACH benchmark (historical/regional blend, normalised and
capped risk, coding intensity, retrospective trend), discount, stop-loss, withhold,
corridors, sequestration and optional percentage-based primary-care capitation.

The historical baseline is the aligned beneficiaries' per-capita spending in the three
years before the ACO joined (:func:`sim.contracts.mssp.settler.historical_part`, 10/30/60%,
each beneficiary's spending truncated as MSSP does); the regional rate is
``regional_to_aco_ratio`` × that baseline (the region's FFS spending at the ACO's
risk); the normalisation factor is the payer population's mean risk score in BY3
grown by ``reference_risk_growth_per_year`` (the outside world's coding drift). With
primary-care capitation, the ACO's own primary care of aligned patients is paid by a
PMPM equal to the PCC percentage × the benchmark per member-month (Base PCC: the ACO's
primary-care share of its aligned patients' BY3 spending) and counts as expenditure;
the reconciliation is :func:`sim.contracts.reach.rules.settle_reach`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.contracts.capitation.settler import in_scope
from sim.contracts.expectation import PayoffInputs, expected_by_savings_rate_many
from sim.contracts.mssp.rules import sequestration_rate
from sim.contracts.mssp.settler import HistoricalBenchmark, historical_part
from sim.contracts.reach.config import REACHContract
from sim.contracts.reach.rules import (
    normalised_risk_ratio,
    normalised_risk_ratio_value,
    paid_by_expenditure,
    pcc_pmpm,
    reach_benchmark,
    retrospective_trend_adjustment,
    settle_reach,
    stop_loss_payout,
)
from sim.contracts.settler import (
    CAPITATION,
    SETTLEMENT,
    BaseSettler,
    Book,
    Context,
    per_capita,
)
from sim.contracts.statement import Statement

AGREEMENT_YEARS = 5
_RATES = np.linspace(-0.6, 0.6, 241)  # savings-rate grid for expected payoffs (corridors to 50%)


@dataclass
class ReachBase:
    """What a REACH benchmark needs from before the performance year."""

    hist: HistoricalBenchmark
    reference_risk_by3: float  # normalisation factor in BY3 (payer population mean)
    primary_care_share: float  # Base PCC percentage (aligned patients, BY3)
    stop_loss_pc_usd: float  # expected stop-loss payout per person-year (BY mean)


def _annual(ctx: Context, year: int, payer: int) -> tuple[np.ndarray, np.ndarray]:
    """Truncated annualised spending and person-years per patient."""
    spend, _ = ctx.truncated_spend(year, payer)
    py = ctx.person_years(year)
    return np.where(py > 0, spend / np.maximum(py, 1e-12), 0.0), py


class REACHSettler(BaseSettler):
    """``type: reach``."""

    type_name = "reach"
    config_model = REACHContract
    flow_kinds = {"capitation": CAPITATION, "reach_reconciliation": SETTLEMENT}
    shown_statements = ("reach", "reach_benchmark")

    def covered(self, ctx: Context, year: int, claims: dict[str, np.ndarray]
                ) -> np.ndarray | None:
        cfg = self.config
        if not cfg.primary_care_capitation:
            return None
        return in_scope(ctx, claims, ctx.payer_index(cfg.payer), ctx.provider_index(cfg.aco),
                        "primary_care")

    def coverage(self, ctx: Context, provider: int) -> tuple[int, str] | None:
        cfg = self.config
        if not cfg.primary_care_capitation or ctx.provider_index(cfg.aco) != provider:
            return None
        return ctx.payer_index(cfg.payer), "primary_care"

    def base(self, ctx: Context, year: int) -> ReachBase:
        """The historical baseline and the BY3 quantities of the agreement containing
        ``year`` (memoised)."""
        cfg = self.config

        def compute() -> ReachBase:
            hist = historical_part(ctx, self, "reach", year, None, AGREEMENT_YEARS,
                                   cfg.trend_per_year)
            p, a, by3 = hist.payer, hist.aco, hist.by3
            everyone = ctx.members(by3, p)
            ref = float(np.average(ctx.risk(by3)[everyone],
                                   weights=ctx.person_years(by3)[everyone]))
            c = ctx.claims(by3)
            aligned = ctx.members(by3, p, a)
            total = float(ctx.spend_per_patient(by3)[aligned].sum())
            own_pc = float(c["paid"][in_scope(ctx, c, p, a, "primary_care")].sum())
            share = own_pc / total if total > 0 else 0.0
            sl = 0.0
            if cfg.stop_loss_attachment_usd is not None:
                per_py = []
                for by in (by3 - 2, by3 - 1, by3):
                    annual, py = _annual(ctx, by, p)
                    m = ctx.members(by, p, a)
                    per_py.append(stop_loss_payout(annual[m], py[m], cfg.stop_loss_attachment_usd,
                                                   cfg.stop_loss_share) / float(py[m].sum()))
                sl = float(np.mean(per_py))
            return ReachBase(hist, ref, share, sl)

        return ctx.memo(("reach_base", self.label, year), compute)

    def benchmark(self, ctx: Context, year: int, person_years: float, risk: float
                  ) -> tuple[list[Statement], float, float, float]:
        """REACH benchmark statements and ``(benchmark_usd, PCC PMPM, stop-loss charge)``
        for ``person_years`` aligned at mean risk ``risk``."""
        cfg = self.config
        b = self.base(ctx, year)
        hb = b.hist
        k = year - hb.by3
        trend = (1.0 + cfg.trend_per_year) ** k
        actual = trend if cfg.actual_trend_per_year is None else \
            (1.0 + cfg.actual_trend_per_year) ** k
        rta = retrospective_trend_adjustment(trend, actual, cap=cfg.rta_cap)
        ref_py = b.reference_risk_by3 * (1.0 + cfg.reference_risk_growth_per_year) ** k
        risk_st = normalised_risk_ratio(risk, ref_py, hb.by3_risk, b.reference_risk_by3,
                                        cfg.risk_score_cap, cfg.coding_intensity_factor)
        bench = reach_benchmark(hb.per_capita_usd, cfg.regional_to_aco_ratio * hb.per_capita_usd,
                                person_years, ctx.scenario.economics.first_calendar_year + year,
                                trend, float(risk_st["risk_ratio"]), rta, cfg.regional_weight)
        total = float(bench["benchmark_usd"])
        pcc = 0.0
        if cfg.primary_care_capitation:
            pct = b.primary_care_share if cfg.pcc_percentage is None else cfg.pcc_percentage
            pcc = pcc_pmpm(float(bench["benchmark_pc_usd"]) / 12.0, pct)
        charge = b.stop_loss_pc_usd * trend * person_years
        return [hb.statement, risk_st, bench], total, pcc, charge

    def benchmark_usd(self, ctx: Context, year: int, person_years: float, risk: float
                      ) -> tuple[float, float, float]:
        """``benchmark(...)[1:]`` without the statements (the same arithmetic, tested
        equal): for the expected payoffs, which need it for every candidate lever setting."""
        cfg = self.config
        b = self.base(ctx, year)
        hb = b.hist
        k = year - hb.by3

        def constants() -> tuple[float, float, float, float]:
            trend = (1.0 + cfg.trend_per_year) ** k
            actual = trend if cfg.actual_trend_per_year is None else \
                (1.0 + cfg.actual_trend_per_year) ** k
            rta = retrospective_trend_adjustment(trend, actual, cap=cfg.rta_cap)
            ref_py = b.reference_risk_by3 * (1.0 + cfg.reference_risk_growth_per_year) ** k
            return trend, rta, ref_py, float(reach_benchmark(
                hb.per_capita_usd, cfg.regional_to_aco_ratio * hb.per_capita_usd, 1.0,
                ctx.scenario.economics.first_calendar_year + year, trend, 1.0, 1.0,
                cfg.regional_weight)["blended_pc_usd"])

        trend, rta, ref_py, blended = ctx.memo(("reach_benchmark_constants", self.label, year),
                                               constants)
        ratio = normalised_risk_ratio_value(risk, ref_py, hb.by3_risk, b.reference_risk_by3,
                                            cfg.risk_score_cap, cfg.coding_intensity_factor)
        if person_years < 0 or not ratio > 0:
            raise ValueError("person_years must be >= 0 and the risk ratio positive")
        pc = blended * ratio * rta
        total = pc * person_years
        pcc = 0.0
        if cfg.primary_care_capitation:
            pct = b.primary_care_share if cfg.pcc_percentage is None else cfg.pcc_percentage
            pcc = pcc_pmpm(pc / 12.0, pct)
        return total, pcc, b.stop_loss_pc_usd * trend * person_years

    def settle(self, ctx: Context, year: int, book: Book
               ) -> list[tuple[str, Statement]]:
        cfg = self.config
        p, a = ctx.payer_index(cfg.payer), ctx.provider_index(cfg.aco)
        spend, _ = ctx.truncated_spend(year, p)
        _, py, risk = per_capita(ctx, year, p, a, spend)
        members = ctx.members(year, p, a)
        sts, benchmark, pcc, charge = self.benchmark(ctx, year, py, risk)
        expenditure = float(spend[members].sum())
        payout = 0.0
        if cfg.stop_loss_attachment_usd is not None:
            annual, pys = _annual(ctx, year, p)
            payout = stop_loss_payout(annual[members], pys[members],
                                      cfg.stop_loss_attachment_usd, cfg.stop_loss_share)
        if cfg.primary_care_capitation:
            # Covered claims were not paid FFS: take them out of the FFS expenditure.
            c = ctx.claims(year)
            cov = in_scope(ctx, c, p, a, "primary_care")
            expenditure -= float(c["paid"][cov].sum())
        score, _ = ctx.quality(year, members, f"{cfg.payer}/{cfg.aco}")
        cal = ctx.scenario.economics.first_calendar_year + year
        seq = sequestration_rate(cal) if cfg.sequestration is None else cfg.sequestration
        st = settle_reach(cfg.option, benchmark, max(expenditure, 0.0), score, cal, cfg.discount,
                          cfg.quality_withhold, pcc, 12.0 * py, sequestration=seq,
                          stop_loss_charge_usd=charge, stop_loss_payout_usd=payout)
        book.pay(year, cfg.payer, cfg.aco, st["pcc_usd"], "capitation", self.label)
        book.pay(year, cfg.payer, cfg.aco, st["shared_savings_usd"], "reach_reconciliation",
                 self.label)
        return [*((cfg.aco, s) for s in sts), (cfg.aco, st)]

    def expected_payoff(self, ctx: Context, year: int, inp: PayoffInputs
                        ) -> tuple[float, float] | None:
        """Mean and variance of the ACO's PCC plus reconciliation in ``year``."""
        return self.expected_payoffs(ctx, year, [inp])[0]

    def expected_payoffs(self, ctx: Context, year: int, inps: list[PayoffInputs]
                         ) -> list[tuple[float, float] | None]:
        """:meth:`expected_payoff` of several candidates' inputs, their moments computed
        together (:func:`sim.contracts.expectation.expected_by_savings_rate_many`: each
        bit-identical to its own call; issue 16)."""
        args = [self._payoff_args(ctx, year, inp) for inp in inps]
        todo = [a for a in args if a is not None]
        got = iter(expected_by_savings_rate_many(
            ctx, [a[0] for a in todo], _RATES, [a[1] for a in todo], [a[2] for a in todo],
            [a[3] for a in todo], [a[4] for a in todo], [a[5] for a in todo],
            vectorised=True) if todo else [])
        out: list[tuple[float, float] | None] = []
        for a in args:
            if a is None:
                out.append(None)
                continue
            mean, var = next(got)
            if a[6] is not None:  # the ACO now bears its own primary care at cost
                mean -= a[6]
            out.append((mean, var))
        return out

    def _payoff_args(self, ctx: Context, year: int, inp: PayoffInputs) -> tuple | None:
        """``(table key, rule, benchmark, mean, SD, coordinates, own primary care at cost
        or None)`` of the expected payoff under ``inp``
        (:func:`sim.contracts.expectation.expected_by_savings_rate`), or None (the contract
        pays ``inp.provider`` nothing)."""
        cfg = self.config
        if ctx.provider_index(cfg.aco) != inp.provider:
            return None
        p = ctx.payer_index(cfg.payer)
        py = float(inp.exp.person_years[p])
        benchmark, pcc, charge = self.benchmark_usd(ctx, year, py, float(inp.exp.risk[p]))
        mu, sd = inp.spending(ctx, p)
        if cfg.primary_care_capitation:
            mu -= inp.scope_cost(p, "primary_care")[2]
        mu -= self.base(ctx, year).stop_loss_pc_usd * py  # expected payouts
        score = inp.quality(ctx)
        cal = ctx.scenario.economics.first_calendar_year + year
        seq = sequestration_rate(cal) if cfg.sequestration is None else cfg.sequestration
        mm = 12.0 * py

        def paid(expenditure: np.ndarray, q: float, pcc_share: float, charge_share: float
                 ) -> np.ndarray:
            # the capitation and the stop-loss charge as shares of the benchmark (grid values)
            return paid_by_expenditure(cfg.option, benchmark, np.maximum(expenditure, 0.0), q,
                                       cal, cfg.discount, cfg.quality_withhold,
                                       pcc_share * benchmark / mm if mm > 0 else 0.0, mm,
                                       sequestration=seq,
                                       stop_loss_charge_usd=charge_share * benchmark)

        # Tabulated at grid points of the quality score and of the capitation's and the
        # stop-loss charge's shares of the benchmark, interpolated: continuous in each.
        key = ("reach_curve", self.label, year)
        coords = ((score, 2.0), (mm * pcc / benchmark, 0.01), (charge / benchmark, 0.01))
        own = inp.scope_cost(p, "primary_care")[0] if cfg.primary_care_capitation else None
        return key, paid, benchmark, mu, sd, coords, own
