"""Scenario schema of the payment side: payers, contracts, the plan, provider economics.

* ``payers`` — who pays for which share of the panel, and at what price level;
* ``plan`` — a timeline of contracts by plan year (a transition plan); each contract
  is selected by its ``type:`` among the registered contract types
  (``sim.contracts.registry``: ``ffs``, ``capitation``, ``bundled``, ``mssp``, ``reach``,
  ``custom``), whose configuration models live in their packages
  (``sim/contracts/<type>/config.py``);
* ``investments`` — one-off and running costs of moving to value-based care;
* ``quality`` — how measures become a 0-100 quality score;
* ``economics`` — calendar and discounting.

Claims are always priced at the fee schedule; every claim of a payer's patient is paid
to the billing provider as fee-for-service unless a capitation contract covers it.
Value-based contracts reconcile against the claims, as the real programmes do.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from sim.constants import DEFAULT_DISCOUNT_RATE
from sim.contracts.config import BASELINE_YEARS, participation_start
from sim.contracts.registry import CONFIGS
from sim.fields import ASSUMPTION, BOUND_NOTE, MAX_FEE_USD, StrictModel, param

#: Largest allowed organisation-level yearly or one-off amount ($100 billion).
MAX_TOTAL_USD = 1e11
TOTAL_NOTE = "At most $100 billion (the bound keeps money totals from overflowing)."


class Payer(StrictModel):
    """A payer covering a share of the panel."""

    name: str = Field(description="Name used as the results `entity`.", min_length=1,
                      pattern=r"^[A-Za-z0-9_.\-]+$")
    share: float = param(1.0, unit="share 0-1", source=ASSUMPTION, ge=0, le=1,
                         description="Share of patients covered by this payer (must sum to 1).")
    price_factor: float = param(
        1.0, unit="multiple of the fee schedule",
        source="Medicare = 1; commercial ~1.4-2.5x Medicare (RAND 2024 hospital prices; "
        "physician ~1.3x, Lopez et al. 2020)", ge=0.1, le=10,
        description="This payer's allowed amounts relative to the fee schedule.")


def _default_payers() -> list[Payer]:
    return [Payer(name="medicare", share=1.0, price_factor=1.0)]


#: A contract of the plan: the configuration model its ``type:`` selects among the
#: registered contract types (``sim.contracts.registry``).
Contract = Annotated[Union[CONFIGS], Field(discriminator="type")]  # noqa: UP007


class PlanPeriod(StrictModel):
    """The contracts in force for a range of plan years."""

    years: str | int | list[int] = Field(
        "all", description="Plan years (0-based): 'all', one year, a list, or a range '0-2'.")
    contracts: list[Contract] = Field(default_factory=list,
                                      description="Contracts in force in these years.")

    @field_validator("years")
    @classmethod
    def _years_ok(cls, v: str | int | list[int]) -> str | int | list[int]:
        if isinstance(v, str) and v != "all":
            parts = v.split("-")
            if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
                raise ValueError("expected 'all', a year, a list of years or a range 'A-B'")
            if int(parts[0]) > int(parts[1]):
                raise ValueError("a range 'A-B' needs A <= B")
        return v

    def year_list(self, horizon: int) -> list[int]:
        """The plan years this period covers."""
        v = self.years
        if v == "all":
            return list(range(horizon))
        if isinstance(v, int):
            return [v]
        if isinstance(v, list):
            return sorted(set(v))
        a, b = (int(p) for p in v.split("-"))
        return list(range(a, b + 1))


class Investment(StrictModel):
    """A cost a provider pays to move to value-based care."""

    provider: str = Field(description="Who pays.")
    label: str = Field("investment", description="What it is (care managers, data system...).")
    year: int = param(0, unit="plan year", source=ASSUMPTION, ge=0, le=100,
                      description="Year of the one-off cost and first year of running costs.")
    one_off_usd: float = param(0.0, unit="USD", source=ASSUMPTION, ge=0, le=MAX_TOTAL_USD,
                               description="One-off cost in `year`. " + TOTAL_NOTE)
    running_usd_per_year: float = param(0.0, unit="USD per year", source=ASSUMPTION, ge=0,
                                        le=MAX_TOTAL_USD,
                                        description="Running cost from `year` on. " + TOTAL_NOTE)
    until_year: int | None = param(None, unit="plan year", source=ASSUMPTION, ge=0, le=100,
                                   description="Last year of running costs (None: the horizon).")


#: Where the default decile benchmarks come from (benchmarks/quality_calibration.py).
APP_CALIBRATION = ("calibrated: benchmarks/quality_calibration.py (CMS MSSP PY2024 ACO PUF: "
                   "decile k of the CMS measure begins (k - 8.31) / 0.758 ACO-SDs from the "
                   "median, placed around the simulated value under FFS practice)")
#: The APP scoring rule.
APP_RULE = "42 CFR 414.1380(b)(1) (MIPS decile points), 414.1367 (APM Performance Pathway)"


class QualityMeasureScale(StrictModel):
    """How one measure earns points: benchmark deciles (APP scoring) or a linear scale."""

    floor: float = param(0.0, unit="measure units", source=ASSUMPTION, ge=-1e9,
                         description="Linear scoring: value scoring 0 points.")
    ceiling: float = param(1.0, unit="measure units", source=ASSUMPTION, ge=-1e9,
                           description="Linear scoring: value scoring 100 points (may be "
                           "below the floor when lower is better).")
    weight: float = param(1.0, unit="relative weight", source=ASSUMPTION, ge=0,
                          description="Weight in the composite score.")
    deciles: list[float] | None = param(
        None, unit="measure units", source=APP_CALIBRATION,
        description="APP scoring: the 9 values where benchmark deciles 2..10 begin, from "
        "worse to better (increasing when higher is better, decreasing when lower is); a "
        "value in decile k earns k points plus the share of the decile covered, decile 10 "
        "earns 10, below decile 2 1 point (" + APP_RULE + "). None: the measure is not "
        "scored under APP scoring.")
    outcome: bool = Field(False, description="APP scoring: an outcome measure (the MSSP "
                          "alternative quality standard needs the 10th percentile on one "
                          "outcome measure, 42 CFR 425.512(a)(4)(ii)).")

    @model_validator(mode="after")
    def _floor_differs(self) -> QualityMeasureScale:
        if self.floor == self.ceiling:
            raise ValueError(f"floor and ceiling must differ (both {self.floor:g})")
        if self.deciles is not None:
            d = [b - a for a, b in zip(self.deciles, self.deciles[1:], strict=False)]
            if len(self.deciles) != 9 or not (all(x > 0 for x in d) or all(x < 0 for x in d)):
                raise ValueError(f"deciles must be 9 values, strictly increasing (higher is "
                                 f"better) or strictly decreasing (lower is better), where "
                                 f"deciles 2..10 begin; got {self.deciles}")
        return self


def _scale(floor: float, ceiling: float, weight: float = 1.0, deciles: list[float] | None = None,
           outcome: bool = False) -> QualityMeasureScale:
    return QualityMeasureScale(floor=floor, ceiling=ceiling, weight=weight, deciles=deciles,
                               outcome=outcome)


class Quality(StrictModel):
    """Quality measures from the simulation and how they become a 0-100 quality score."""

    scoring: Literal["app_deciles", "linear"] = Field(
        "app_deciles", description="app_deciles: CMS's APM Performance Pathway scoring "
        "(each measure with `deciles` earns 1-10 points against its benchmark deciles; "
        "score = points / maximum x 100; " + APP_RULE + "); linear: points linear between "
        "each measure's floor and ceiling, weighted mean x 100.")
    readmission_rate_30d: QualityMeasureScale = Field(
        default_factory=lambda: _scale(0.20, 0.13, 1.0, [
            0.2789, 0.2563, 0.2356, 0.2165, 0.199, 0.1829, 0.1682, 0.1546, 0.1421], True),
        description="30-day all-cause unplanned readmission rate (lower is better); stands "
        "for Measure 479 (hospital-wide readmission). Deciles: " + APP_CALIBRATION + "; "
        "floor/ceiling: assumption around the Medicare range 13-20%.")
    diabetes_controlled_share: QualityMeasureScale = Field(
        default_factory=lambda: _scale(0.55, 0.85, 1.0, [
            0.06817, 0.1151, 0.1877, 0.2911, 0.4218, 0.5646, 0.6973, 0.8037, 0.8792], True),
        description="Share of diabetics with HbA1c controlled; 1 - the share stands for "
        "QualityID 001 (HbA1c poor control). Deciles: " + APP_CALIBRATION + "; "
        "floor/ceiling: assumption.")
    annual_visit_share: QualityMeasureScale = Field(
        default_factory=lambda: _scale(0.70, 0.95, 1.0, [
            0.003573, 0.01015, 0.02851, 0.07744, 0.1936, 0.4072, 0.6627, 0.849, 0.9414]),
        description="Share of members with at least one primary-care visit in the year; "
        "stands for the screening/process measures that need a visit (QualityID 134 "
        "depression screening, 113, 112, 110, 226, 318, 438). Deciles: " + APP_CALIBRATION
        + "; floor/ceiling: assumption.")
    ed_visits_per_1000: QualityMeasureScale = Field(
        default_factory=lambda: _scale(800.0, 450.0, 0.5),
        description="ED visits per 1,000 person-years (lower is better; assumption). Not an "
        "APP measure: no deciles by default, so scored only with `scoring: linear`.")
    acsc_admissions_per_1000: QualityMeasureScale = Field(
        default_factory=lambda: _scale(45.0, 15.0, 1.0, [
            104.6, 86.82, 72.04, 59.77, 49.6, 41.15, 34.15, 28.33, 23.51], True),
        description="Preventable (ACSC) admissions per 1,000 (AHRQ PQI-like); stands for "
        "Measure 484 (admissions for patients with multiple chronic conditions). Deciles: "
        + APP_CALIBRATION + "; floor/ceiling: assumption.")

    @model_validator(mode="after")
    def _some_weight(self) -> Quality:
        names = [n for n in type(self).model_fields if n != "scoring"]
        app = self.scoring == "app_deciles"
        if not any(getattr(self, n).weight > 0 and (not app or getattr(self, n).deciles)
                   for n in names):
            raise ValueError("at least one quality measure needs a positive weight"
                             + (" and deciles (scoring: app_deciles)" if app else ""))
        return self


class Economics(StrictModel):
    """Calendar, discounting, the perspective of cost-effectiveness, payment timing."""

    first_calendar_year: int = param(2025, unit="calendar year", source=ASSUMPTION, ge=2012,
                                     le=2100, description="Calendar year of plan year 0 "
                                     "(programme rules that change by year use it).")
    discount_rate: float = param(DEFAULT_DISCOUNT_RATE, unit="share per year",
                                 source="US health-economics convention (Second Panel, "
                                 "Sanders et al. 2016: 3%)", ge=0,
                                 le=0.5, description="Social discount rate of costs and "
                                 "QALYs (cost-effectiveness, the closed cohort's remaining "
                                 "life expectancy).")
    provider_discount_rate: float = param(
        0.07, unit="share per year",
        source="assumption (cost of capital of US hospitals and physician groups ~6-8%; "
        "docs/economics.md)", ge=0, le=0.5,
        description="Providers' discount rate (cost of capital) for the present value of their "
        "margins by payment date (margin_pv_usd).")
    perspective: Literal["health_sector", "payer"] = Field(
        "health_sector", description="Cost of cost-effectiveness: health_sector (payer "
        "spending on care net of transfers + providers' care-management, transitional-care "
        "and investment costs; Second Panel, Sanders et al. JAMA 2016) or payer (what the "
        "payer pays, transfers included). The other is always shown beside it.")
    claims_payment_lag_days: float = param(
        30.0, unit="days after the service (on average, mid-year)",
        source="Social Security Act 1816(c)(2), 1842(c)(2): clean claims paid within 30 days",
        ge=0, le=365, description="When fee-for-service claims are paid.")
    reconciliation_lag_months: float = param(
        9.0, unit="months after the performance year ends",
        source="42 CFR 425.604-610 (savings paid within 30 days of the reconciliation notice, "
        "issued ~8 months after the year); CMS REACH and BPCI Advanced settlement timelines",
        ge=0, le=36, description="When shared savings and reconciliations owed to a provider "
        "are paid.")
    repayment_lag_months: float = param(
        11.0, unit="months after the performance year ends",
        source="42 CFR 425.605/606/610: shared losses repaid within 90 days of the notice",
        ge=0, le=36, description="When shared losses and reconciliations a provider owes are "
        "repaid.")


class ProviderCosts(StrictModel):
    """What a provider's services cost it."""

    cost_to_charge: float | None = param(
        None, unit="cost per USD of fee-schedule allowed amount",
        source="None = by kind: hospital 1.10 (MedPAC 2024: Medicare margin ~ -10%), "
        "primary care 0.90, specialist 0.85, post-acute 0.85 (SNF Medicare margin ~ +17%), "
        "other 0.90 (assumptions except where cited)", ge=0, le=5,
        description="Unit cost of the provider's own services relative to the fee schedule.")
    fixed_usd_per_year: float = param(0.0, unit="USD per year", source=ASSUMPTION, ge=0,
                                      le=MAX_TOTAL_USD,
                                      description="Fixed costs not tied to volume, on top of "
                                      "the capacity cost (variable_share). " + TOTAL_NOTE)
    variable_share: float | None = param(
        None, unit="share 0-1 of the unit cost",
        source="None = by kind (sim.economics.costs): hospital 0.84 (MedPAC March reports: "
        "Medicare marginal profit ~ +8% vs overall Medicare margin ~ -10%), post-acute 0.85, "
        "primary care and specialists 0.70, other 0.90 (assumptions)", ge=0, le=1,
        description="Share of the unit cost (cost_to_charge) that varies with volume. The rest "
        "is the cost of capacity sized for the panel, paid whether used or not: (1 - share) x "
        "cost_to_charge x the kind's reference allowed amount per capita x population.size "
        "(docs/economics.md).")
    care_management_usd_per_patient_year: float = param(
        240.0, unit="USD per attributed patient-year at full prevention effort",
        source="assumption (CMS chronic care management ~ $60/month for ~1/3 of patients)",
        ge=0, le=MAX_FEE_USD,
        description="Cost of prevention / care-management effort. " + BOUND_NOTE)
    transitional_care_usd_per_discharge: float = param(
        200.0, unit="USD per discharge at full transitional-care effort",
        source="assumption (TCM codes 99495/99496 ~ $200-280)", ge=0, le=MAX_FEE_USD,
        description="Cost of transitional-care effort. " + BOUND_NOTE)
    documentation_usd_per_patient_year: float = param(
        40.0, unit="USD per attributed patient-year at full coding intensity",
        source="assumption: retrospective chart review at vendor fees of ~$20-30 per chart "
        "reviewed, ~1 chart per patient-year, plus coder and clinical-documentation staff "
        "time ~$10-15 per patient-year (docs/coding.md)", ge=0, le=MAX_FEE_USD,
        description="Cash cost of the documentation (HCC recapture) programme: intensity x "
        "this x attributed patient-years. " + BOUND_NOTE)


DEFAULT_COST_TO_CHARGE = {"hospital": 1.10, "primary_care": 0.90, "specialist": 0.85,
                          "post_acute": 0.85, "other": 0.90}


def check_payment_refs(payers: list[Payer], plan: list[PlanPeriod], providers: dict[str, str],
                       investments: list[Investment], horizon: int) -> None:
    """Cross-checks between payers, the plan and providers (raised as ValueError)."""
    names = [p.name for p in payers]
    if len(set(names)) != len(names):
        raise ValueError("payer names must be unique")
    clash = sorted(set(names) & set(providers))
    if clash:
        raise ValueError(f"payer and provider names must differ (each is an `entity` of the "
                         f"results): {', '.join(clash)}")
    if "population" in names or "population" in providers:
        raise ValueError("'population' is the `entity` of the population's results; give the "
                         "payer or provider another name")
    total = sum(p.share for p in payers)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"payer shares must sum to 1, got {total:.6g}")
    for i, period in enumerate(plan):
        for y in period.year_list(horizon):
            if not 0 <= y < horizon:
                raise ValueError(f"plan[{i}].years: year {y} is outside the horizon "
                                 f"0-{horizon - 1}")
        for j, c in enumerate(period.contracts):
            where = f"plan[{i}].contracts[{j}]"
            if c.payer not in names:
                raise ValueError(f"{where}.payer: unknown payer {c.payer!r}; payers: "
                                 f"{', '.join(names)}")
            who = c.holder
            if who not in (None, "all") and who not in providers:
                raise ValueError(f"{where}: unknown provider {who!r}; providers: "
                                 f"{', '.join(providers)}")
            if c.holder_kind is not None and providers.get(who) != c.holder_kind:
                raise ValueError(f"{where}: a {c.type} contract must be held by a "
                                 f"{c.holder_kind} provider, {who!r} is {providers.get(who)!r}")
    seen: dict[tuple[int, str], str] = {}
    covering: dict[tuple[int, str, str], str] = {}
    for period in plan:
        for y in period.year_list(horizon):
            for c in period.contracts:
                group = c.exclusive_group()
                if group is not None:
                    who = c.holder
                    key = (y, f"{c.payer}/{who}/{group}")
                    if key in seen:
                        raise ValueError(f"year {y}: {who} holds two overlapping "
                                         f"{c.type}/{seen[key]} contracts with {c.payer}")
                    seen[key] = c.type
                # Contracts that take claims out of FFS: every scope includes the holder's
                # own primary care of its attributed patients, so two of them overlap.
                what = c.replaces_ffs()
                if what is not None:
                    who = c.holder
                    ckey = (y, c.payer, who)
                    if ckey in covering:
                        raise ValueError(f"year {y}: {who} holds two contracts with {c.payer} "
                                         f"that both pay its primary care instead of FFS: "
                                         f"{covering[ckey]} and {what}")
                    covering[ckey] = what
    for inv in investments:
        if inv.provider not in providers:
            raise ValueError(f"investments: unknown provider {inv.provider!r}")


#: Simulated years whose start-up transient makes them unfit as baseline history.
TRANSIENT_YEARS = 2


def check_history_years(plan: list[PlanPeriod], horizon: int, warmup_years: int) -> None:
    """Refuse contracts whose baseline years the run will not record (raised as ValueError).

    A run keeps at most the last three warm-up years as history (plan years -k..-1,
    k = min(warmup_years - 2, 3): the first two simulated years are a start-up
    transient); capitation without a given rate, bundles, MSSP and REACH
    need the three years before the start of their participation (MSSP: of its first
    agreement period).
    """
    kept = min(max(warmup_years - TRANSIENT_YEARS, 0), BASELINE_YEARS)
    history = ("no history years" if kept == 0 else "history only for plan year -1" if kept == 1
               else f"history only for plan years {-kept}..-1")
    for i, period in enumerate(plan):
        for j, c in enumerate(period.contracts):
            if not c.reads_baseline():
                continue
            where = f"plan[{i}].contracts[{j}]"
            for y in period.year_list(horizon):
                agreement = getattr(c, "agreement_start_year", None)
                if agreement is not None:
                    if agreement > y:
                        raise ValueError(f"{where}.agreement_start_year: {agreement} is after "
                                         f"plan year {y}, in which the contract is in force")
                    start = agreement
                else:
                    start = participation_start(plan, horizon, c.type, c.payer,
                                                c.holder or "", y)
                first = start - BASELINE_YEARS
                if first < -kept:
                    need = TRANSIENT_YEARS + BASELINE_YEARS - start
                    fix = (f"set warmup_years >= {need} or start the contract "
                           f"in plan year {BASELINE_YEARS - kept} or later" if start >= 0 else
                           f"at most {BASELINE_YEARS} warm-up years are kept as history; use "
                           f"agreement_start_year >= 0")
                    raise ValueError(
                        f"{where}: a {c.type} contract starting in plan year {start} needs "
                        f"baseline years {first}..{start - 1}, but warmup_years={warmup_years} "
                        f"keeps {history}; {fix}")
